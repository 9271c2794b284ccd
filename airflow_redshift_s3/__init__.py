"""Load Amazon S3 data into Amazon Redshift from Apache Airflow 3."""

from __future__ import annotations

__version__ = "0.1.0"
