"""Load an S3 prefix into a Redshift table on demand, from the trigger form.

The form refuses malformed values (bucket, prefix, table and role patterns; format and mode lists); the first
task refuses inconsistent ones (upsert without keys, replace_partition without a partition). A dry run runs
the checks (bucket, region, the role's access) and skips the COPY.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_redshift_s3.example_dag_defaults import (
    AWS_CONN_ID,
    BUCKET,
    BUCKET_PATTERN,
    CLUSTER,
    COLUMN_PATTERN,
    PREFIX,
    PREFIX_PATTERN,
    REDSHIFT_CONN_ID,
    ROLE_ARN,
    ROLE_ARN_PATTERN,
    TABLE,
    TABLE_PATTERN,
    default_args,
)
from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

with DAG(
    dag_id="s3_to_redshift_manual",
    description="Load one S3 prefix into a Redshift table, triggered from the UI with a form.",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    default_args=default_args(retries=1),
    tags=["redshift", "s3", "copy", "manual", "example"],
    doc_md=__doc__,
    render_template_as_native_obj=True,  # lists and numbers from the form reach the operators as such
    params={
        "bucket": Param(
            BUCKET,
            type="string",
            pattern=BUCKET_PATTERN,
            title="S3 bucket",
            description="The bucket name only, e.g. demo-bucket (no s3://).",
        ),
        "prefix": Param(
            f"{PREFIX}/",
            type="string",
            minLength=1,
            pattern=PREFIX_PATTERN,
            title="Key prefix",
            description="Load every object under this prefix, e.g. sales/2026-11-27/ (no leading /, no "
            "s3://, no wildcard).",
        ),
        "table": Param(
            TABLE,
            type="string",
            pattern=TABLE_PATTERN,
            title="Target table",
            description="schema.table; it must exist.",
        ),
        "format": Param(
            "csv",
            type="string",
            enum=["csv", "json", "parquet"],
            title="File format",
            description="csv (with one header row), json ('auto') or parquet.",
        ),
        "compression": Param(
            "gzip",
            type="string",
            enum=["none", "gzip", "bzip2", "zstd"],
            title="Compression",
            description="Of the csv or json files, e.g. gzip for part-0.csv.gz (parquet: none).",
        ),
        "mode": Param(
            "append",
            type="string",
            enum=["append", "replace", "replace_partition", "upsert"],
            title="Load mode",
            description="append: add new files only; replace: replace every row; replace_partition: replace "
            "the rows of one partition; upsert: merge on the upsert keys.",
        ),
        "upsert_keys": Param(
            [],
            type="array",
            items={"type": "string", "pattern": COLUMN_PATTERN},
            title="Upsert keys",
            description="Key columns, one per line (mode upsert only).",
        ),
        "partition_column": Param(
            None,
            type=["null", "string"],
            pattern=COLUMN_PATTERN,
            title="Partition column",
            description="mode replace_partition only, e.g. load_date.",
        ),
        "partition_value": Param(
            None,
            type=["null", "string"],
            title="Partition value",
            description="mode replace_partition only, e.g. 2026-11-27.",
        ),
        "iam_role_arn": Param(
            ROLE_ARN,
            type="string",
            pattern=ROLE_ARN_PATTERN,
            title="IAM role for COPY",
            description="arn:aws:iam::<account>:role/<name>, attached to the cluster.",
        ),
        "cluster_identifier": Param(CLUSTER, type="string", minLength=1, title="Redshift cluster"),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Run the checks only; do not load.",
        ),
    },
) as dag:

    @task
    def validate_request(**context: Any) -> dict[str, Any]:
        """Refuse inconsistent Params with a message that names the fix; return the COPY's format."""
        from airflow.sdk.exceptions import AirflowFailException

        params = context["params"]
        mode = params["mode"]
        if mode == "upsert" and not params["upsert_keys"]:
            raise AirflowFailException(
                "mode is 'upsert' but upsert_keys is empty: expected the key columns. Fix: fill "
                "'Upsert keys'."
            )
        if mode == "replace_partition" and not (params["partition_column"] and params["partition_value"]):
            raise AirflowFailException(
                "mode is 'replace_partition' but the partition column or value is empty. Fix: fill "
                "'Partition column' and 'Partition value'."
            )
        formats = {
            "csv": {"type": "csv", "header_rows": 1},
            "json": {"type": "json"},
            "parquet": {"type": "parquet"},
        }
        input_format = dict(formats[params["format"]])
        if params["compression"] != "none":
            if params["format"] == "parquet":
                raise AirflowFailException(
                    f"format is 'parquet' and compression is {params['compression']!r}: Parquet files carry "
                    "their own compression and COPY takes none. Fix: set 'Compression' to none."
                )
            input_format["compression"] = params["compression"]
        return {"input_format": input_format, "dry_run": bool(params["dry_run"])}

    request = validate_request()
    verify_bucket = S3VerifyBucketOperator(
        task_id="verify_bucket",
        bucket="{{ params.bucket }}",
        prefix="{{ params.prefix }}",
        cluster_identifier="{{ params.cluster_identifier }}",
        iam_role_arn="{{ params.iam_role_arn }}",
        data_format="{{ params.format }}",
        require_objects=True,
        aws_conn_id=AWS_CONN_ID,
    )

    @task.short_circuit
    def unless_dry_run(checked: dict[str, Any]) -> bool:
        """Skip the load on a dry run."""
        return not checked["dry_run"]

    load = S3ToRedshiftCopyOperator(
        task_id="load",
        bucket="{{ params.bucket }}",
        prefix="{{ params.prefix }}",
        table="{{ params.table }}",
        iam_role_arn="{{ params.iam_role_arn }}",
        cluster_identifier="{{ params.cluster_identifier }}",
        redshift_conn_id=REDSHIFT_CONN_ID,
        aws_conn_id=AWS_CONN_ID,
        input_format="{{ ti.xcom_pull(task_ids='validate_request')['input_format'] }}",
        mode="{{ params.mode }}",
        upsert_keys="{{ params.upsert_keys or None }}",
        partition_column="{{ params.partition_column }}",
        partition_value="{{ params.partition_value }}",
    )
    request >> verify_bucket >> unless_dry_run(request) >> load


if __name__ == "__main__":
    dag.test()
