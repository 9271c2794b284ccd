"""One converter per source format, from S3 object bytes to the input of PostgreSQL's COPY FROM STDIN."""
