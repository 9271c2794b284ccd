"""A one-task DAG loading CSV files into chosen columns (column_list), for the OpenLineage test."""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

with DAG("column_list_load", schedule=None, catchup=False) as dag:
    S3ToRedshiftCopyOperator(
        task_id="load",
        bucket="{{ dag_run.conf['bucket'] }}",
        prefix="in/",
        table="{{ dag_run.conf['table'] }}",
        column_list=["label", "n"],
        iam_role_arn="{{ dag_run.conf['role'] }}",
        input_format="csv",
    )
