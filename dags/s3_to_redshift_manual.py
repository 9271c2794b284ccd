"""Load an S3 prefix into a Redshift table on demand, from the trigger form.

The form's defaults load one sample day of ``make airflow`` (gzip CSV) into its ``load_date`` partition of
``public.sales``: run ``redshift_s3_setup`` first, it attaches the role COPY uses. The form refuses malformed
values (bucket, prefix, table and role patterns; format and mode lists); the first task lists every
inconsistent one at once (upsert without keys, replace_partition without a partition, parquet with a
compression). A dry run runs the checks (bucket, region, the role's access) and skips the COPY.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_redshift_s3.example_dag_defaults import (
    AWS_CONN_ID,
    BUCKET,
    BUCKET_PATTERN,
    BUCKET_RULE,
    CLUSTER,
    COLUMN_PATTERN,
    COLUMN_RULE,
    PREFIX,
    PREFIX_PATTERN,
    PREFIX_RULE,
    REDSHIFT_CONN_ID,
    ROLE_ARN,
    ROLE_ARN_PATTERN,
    ROLE_ARN_RULE,
    SAMPLE_DAY,
    TABLE,
    TABLE_PATTERN,
    TABLE_RULE,
    default_args,
    refuse_params,
)
from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

with DAG(
    dag_id="s3_to_redshift_manual",
    description="Load one S3 prefix into a Redshift table, triggered from the UI with a form.",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    # Never runs by itself (no schedule): unpaused, the first trigger from the form runs at once.
    is_paused_upon_creation=False,
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
            description=f"The bucket name only: {BUCKET_RULE}.",
        ),
        "prefix": Param(
            f"{PREFIX}/{SAMPLE_DAY}/",
            type="string",
            minLength=1,
            pattern=PREFIX_PATTERN,
            title="Key prefix",
            description=f"Load every object under this prefix, e.g. {PREFIX}/{SAMPLE_DAY}/ (one day); "
            f"{PREFIX_RULE}.",
        ),
        "table": Param(
            TABLE,
            type="string",
            pattern=TABLE_PATTERN,
            title="Target table",
            description=f"{TABLE_RULE}; it must exist.",
        ),
        "format": Param(
            "csv",
            type="string",
            enum=["csv", "json", "parquet"],
            title="File format",
            description="csv (with one header row), json ('auto': keys match the column names) or parquet.",
        ),
        "compression": Param(
            "gzip",
            type="string",
            enum=["none", "gzip", "bzip2", "zstd"],
            title="Compression",
            description="Of the csv or json files, e.g. gzip for part-0.csv.gz (parquet: none).",
        ),
        "mode": Param(
            "replace_partition",
            type="string",
            enum=["append", "replace", "replace_partition", "upsert"],
            title="Load mode",
            description="replace_partition: replace the rows of one partition, filled with the partition "
            "value (for files without that column); append: add new files only; replace: replace every "
            "row; upsert: merge on the upsert keys.",
        ),
        "partition_column": Param(
            "load_date",
            type=["null", "string"],
            pattern=COLUMN_PATTERN,
            title="Partition column",
            description=f"Mode replace_partition only: {COLUMN_RULE}, e.g. load_date.",
        ),
        "partition_value": Param(
            SAMPLE_DAY,
            type=["null", "string"],
            title="Partition value",
            description=f"Mode replace_partition only, e.g. {SAMPLE_DAY}: the day of the files.",
        ),
        "upsert_keys": Param(
            None,
            type=["null", "array"],
            items={"type": "string", "pattern": COLUMN_PATTERN},
            title="Upsert keys",
            description="Mode upsert only: the key columns, one per line.",
        ),
        "on_duplicate_keys": Param(
            "fail",
            type="string",
            enum=["fail", "keep_greatest", "keep_last_file"],
            title="Duplicate keys in the files",
            description="Mode upsert only, when several rows of the files share a key: fail (name them); "
            "keep_greatest (the greatest 'Order column'); keep_last_file (the row of the file listed last).",
        ),
        "duplicate_order_column": Param(
            None,
            type=["null", "string"],
            pattern=COLUMN_PATTERN,
            title="Order column",
            description=f"With keep_greatest only: {COLUMN_RULE}, e.g. updated_at.",
        ),
        "on_changed_file": Param(
            "fail",
            type="string",
            enum=["fail", "reload", "skip"],
            title="Files rewritten since loaded",
            description="Mode append only, for a file loaded before under another ETag: fail (name it); "
            "reload (its old rows stay: they are then there twice); skip.",
        ),
        "iam_role_arn": Param(
            ROLE_ARN,
            type="string",
            pattern=ROLE_ARN_PATTERN,
            title="IAM role for COPY",
            description=f"{ROLE_ARN_RULE}, attached to the cluster (redshift_s3_setup attaches it).",
        ),
        "cluster_identifier": Param(
            CLUSTER, type="string", minLength=1, title="Redshift cluster", description="Its identifier."
        ),
        "transport": Param(
            "redshift_connector",
            type="string",
            enum=["redshift_connector", "data_api"],
            title="Transport",
            description="redshift_connector: a connection to the cluster. data_api: the Redshift Data API "
            "over HTTPS, for workers with no network path to the cluster (same connection's database and "
            "login).",
        ),
        "dry_run": Param(
            False,
            type=["null", "boolean"],
            title="Dry run",
            description="On: run the checks only; do not load.",
        ),
    },
) as dag:

    @task
    def validate_request(**context: Any) -> dict[str, Any]:
        """Refuse inconsistent Params, every one at once with its fix; return the COPY's format."""
        params = context["params"]
        mode, problems = params["mode"], []
        if mode == "upsert" and not params["upsert_keys"]:
            problems.append(
                ("fill 'Upsert keys', one key column per line", "mode is 'upsert' but upsert_keys is empty")
            )
        if mode == "replace_partition":
            empty = [
                title
                for name, title in (
                    ("partition_column", "Partition column"),
                    ("partition_value", "Partition value"),
                )
                if not params[name]
            ]
            if empty:
                problems.append(
                    (
                        " and ".join(f"fill '{title}'" for title in empty)
                        + ", or choose another 'Load mode'",
                        "mode is 'replace_partition' but the partition column or value is empty",
                    )
                )
        duplicates, order = params["on_duplicate_keys"], params["duplicate_order_column"]
        if (duplicates == "keep_greatest") != bool(order):
            problems.append(
                (
                    "fill 'Order column' with keep_greatest, or empty it otherwise",
                    f"duplicate keys rule is {duplicates!r} and the order column is {order!r}",
                )
            )
        if params["format"] == "parquet" and params["compression"] != "none":
            problems.append(
                (
                    "set 'Compression' to none",
                    f"format is 'parquet' and compression is {params['compression']!r}: Parquet files carry "
                    "their own compression",
                )
            )
        refuse_params(problems)
        formats = {
            "csv": {"type": "csv", "header_rows": 1},
            "json": {"type": "json"},
            "parquet": {"type": "parquet"},
        }
        input_format = dict(formats[params["format"]])
        if params["compression"] != "none":
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
        partition_column="{{ params.partition_column if params.mode == 'replace_partition' else None }}",
        partition_value="{{ params.partition_value if params.mode == 'replace_partition' else None }}",
        on_duplicate_keys="{{ params.on_duplicate_keys if params.mode == 'upsert' else 'fail' }}",
        duplicate_order_column="{{ params.duplicate_order_column if params.mode == 'upsert' and "
        "params.on_duplicate_keys == 'keep_greatest' else None }}",
        on_changed_file="{{ params.on_changed_file if params.mode == 'append' else None }}",
        transport="{{ params.transport }}",
    )
    request >> verify_bucket >> unless_dry_run(request) >> load


if __name__ == "__main__":
    dag.test()
