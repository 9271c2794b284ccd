"""COPY from Amazon S3 the way Redshift runs it: the access checks, the objects, the formats, the runner."""
