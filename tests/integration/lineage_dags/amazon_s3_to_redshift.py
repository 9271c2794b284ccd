"""The Amazon provider's S3ToRedshiftOperator on one key, for the OpenLineage comparison test."""

from __future__ import annotations

from airflow.providers.amazon.aws.transfers.s3_to_redshift import S3ToRedshiftOperator
from airflow.sdk import DAG

with DAG("amazon_s3_to_redshift", schedule=None, catchup=False) as dag:
    S3ToRedshiftOperator(
        task_id="load",
        schema="{{ dag_run.conf['schema'] }}",
        table="sales",
        s3_bucket="{{ dag_run.conf['bucket'] }}",
        s3_key="{{ dag_run.conf['key'] }}",
        redshift_conn_id="redshift_default",
        aws_conn_id="aws_copy_role",  # the COPY's role is the connection's role_arn extra
        copy_options=["CSV", "IGNOREHEADER 1"],
    )
