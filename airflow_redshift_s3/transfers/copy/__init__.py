"""The parts of S3ToRedshiftCopyOperator, in the order of a load.

``request`` checks the arguments (no network); ``listing`` lists the files; ``catalog`` reads the target
table; ``preflight`` runs the role, region, access and format checks; ``plan`` builds each mode's SQL;
``load`` runs the one transaction; ``guards`` holds the data-safety rules; ``errors`` explains a failed COPY.
"""
