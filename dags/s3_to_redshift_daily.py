"""Load one day of files from S3 into a Redshift table partition, once a day, idempotently.

ensure role -> verify bucket -> wait for ``<prefix>/<ds>/_SUCCESS`` (deferrable) -> COPY with
``replace_partition`` on ``load_date = ds`` -> check the partition's row count against the COPY summary.
A rerun or a backfill of a day replaces that day's rows and nothing else.
"""

from __future__ import annotations

import datetime
import logging
import os
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_redshift_s3.operators.redshift_iam import RedshiftEnsureIamRoleOperator
from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator
from airflow_redshift_s3.sensors.s3_prefix import S3PrefixSensor
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

DAY_PREFIX = "{{ params.prefix.rstrip('/') }}/{{ ds }}/"

# Defaults point at the local stack; override them with REDSHIFT_S3_<NAME> environment variables
# (read when the file is parsed, no I/O) or per run through the Params.
log = logging.getLogger(__name__)

OWNER = os.environ.get("REDSHIFT_S3_OWNER", "data-platform")
CLUSTER = os.environ.get("REDSHIFT_S3_CLUSTER", "local-cluster")
REGION = os.environ.get("REDSHIFT_S3_REGION", "us-east-1")
BUCKET = os.environ.get("REDSHIFT_S3_BUCKET", "demo-bucket")
PREFIX = os.environ.get("REDSHIFT_S3_PREFIX", "sales")
TABLE = os.environ.get("REDSHIFT_S3_TABLE", "public.sales")
ROLE_NAME = os.environ.get("REDSHIFT_S3_ROLE_NAME", "redshift-copy-role")
ROLE_ARN = os.environ.get("REDSHIFT_S3_ROLE_ARN", f"arn:aws:iam::123456789012:role/{ROLE_NAME}")
AWS_CONN_ID = os.environ.get("REDSHIFT_S3_AWS_CONN_ID", "aws_default")
REDSHIFT_CONN_ID = os.environ.get("REDSHIFT_S3_REDSHIFT_CONN_ID", "redshift_default")
# How often to poll while a role is being attached; the local stack applies a role in under a second.
WAITER_DELAY = float(os.environ.get("REDSHIFT_S3_WAITER_DELAY", "15"))

# JSON-schema patterns the trigger forms enforce before a run is created.
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
PREFIX_PATTERN = r"^(?!/)(?!s3://)[^*?\[\]\x00-\x1f]*$"
TABLE_PATTERN = r"^([A-Za-z_][A-Za-z0-9_$]{0,126}\.)?[A-Za-z_][A-Za-z0-9_$]{0,126}$"
COLUMN_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]{0,126}$"
ROLE_ARN_PATTERN = r"^(default|arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512})$"
ROLE_NAME_PATTERN = r"^[A-Za-z0-9+=,.@_-]{1,64}$"


def default_args(**extra: Any) -> dict[str, Any]:
    """Return the default_args every DAG here uses: an owner and retries for transient failures only.

    The package's permission, region, format and configuration errors are ``AirflowFailException``: they
    fail the task at once whatever ``retries`` says.
    """
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": log_failure,
    }
    args.update(extra)
    return args


def log_failure(context: Any) -> None:
    """Log what failed: the task, the run, the error and the load summary if any (never credentials)."""
    ti = context.get("ti") or context.get("task_instance")
    error = context.get("exception")
    summary = None
    if ti is not None:
        try:
            summary = ti.xcom_pull(task_ids="load")
        except Exception:  # a callback must never raise
            summary = None
    log.error(
        "Task %s of DAG %s, run %s failed: %s. Load summary: %s",
        getattr(ti, "task_id", "?"),
        getattr(ti, "dag_id", "?"),
        getattr(ti, "run_id", "?"),
        error,
        _safe_summary(summary),
    )


def _safe_summary(summary: Any) -> Any:
    if not isinstance(summary, dict):
        return summary
    keep = (
        "table",
        "mode",
        "files_found",
        "files_loaded",
        "files_skipped",
        "rows_loaded",
        "rows_deleted",
        "rows_inserted",
        "copy_query_id",
        "warnings",
    )
    return {key: summary.get(key) for key in keep}


with DAG(
    dag_id="s3_to_redshift_daily",
    description="Load s3://<bucket>/<prefix>/<ds>/ into one partition of a Redshift table every day.",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,  # backfill with `airflow backfill create` when needed: each day is idempotent
    max_active_runs=3,
    default_args=default_args(),
    tags=["redshift", "s3", "copy", "example"],
    doc_md=__doc__,
    params={
        "bucket": Param(BUCKET, type="string", pattern=BUCKET_PATTERN, title="S3 bucket"),
        "prefix": Param(
            PREFIX,
            type="string",
            minLength=1,
            pattern=PREFIX_PATTERN,
            title="Key prefix",
            description="The day's files are under <prefix>/<ds>/, closed by a _SUCCESS marker.",
        ),
        "table": Param(TABLE, type="string", pattern=TABLE_PATTERN, title="Target table (schema.table)"),
        "partition_column": Param(
            "load_date", type="string", pattern=COLUMN_PATTERN, title="Partition column"
        ),
        "iam_role_arn": Param(ROLE_ARN, type="string", pattern=ROLE_ARN_PATTERN, title="COPY IAM role"),
        "cluster_identifier": Param(CLUSTER, type="string", minLength=1, title="Redshift cluster"),
        "header_rows": Param(1, type="integer", minimum=0, maximum=1, title="CSV header rows"),
    },
) as dag:
    ensure_role = RedshiftEnsureIamRoleOperator(
        task_id="ensure_role",
        iam_role_arn="{{ params.iam_role_arn }}",
        cluster_identifier="{{ params.cluster_identifier }}",
        waiter_delay=WAITER_DELAY,
        aws_conn_id=AWS_CONN_ID,
    )
    verify_bucket = S3VerifyBucketOperator(
        task_id="verify_bucket",
        bucket="{{ params.bucket }}",
        prefix=DAY_PREFIX,
        cluster_identifier="{{ params.cluster_identifier }}",
        iam_role_arn="{{ params.iam_role_arn }}",
        on_region_mismatch="set_region",
        aws_conn_id=AWS_CONN_ID,
    )
    wait_for_files = S3PrefixSensor(
        task_id="wait_for_files",
        bucket="{{ params.bucket }}",
        prefix=DAY_PREFIX,
        success_marker="_SUCCESS",
        deferrable=True,
        poke_interval=60,
        timeout=datetime.timedelta(hours=12).total_seconds(),
        aws_conn_id=AWS_CONN_ID,
    )
    load = S3ToRedshiftCopyOperator(
        task_id="load",
        bucket="{{ params.bucket }}",
        prefix=DAY_PREFIX,
        key_pattern="*.csv*",
        table="{{ params.table }}",
        iam_role_arn="{{ params.iam_role_arn }}",
        cluster_identifier="{{ params.cluster_identifier }}",
        redshift_conn_id=REDSHIFT_CONN_ID,
        aws_conn_id=AWS_CONN_ID,
        input_format={"type": "csv", "header_rows": "{{ params.header_rows }}"},
        mode="replace_partition",
        partition_column="{{ params.partition_column }}",
        partition_value="{{ ds }}",
    )

    @task
    def check_row_count(summary: dict[str, Any], **context: Any) -> dict[str, Any]:
        """Fail when the partition does not hold the rows the COPY reported."""
        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook
        from airflow.sdk.exceptions import AirflowException

        from airflow_redshift_s3.sql import parse_table_name, quote_identifier

        params, ds = context["params"], context["ds"]
        table = parse_table_name(params["table"])
        column = quote_identifier(params["partition_column"], "partition column")
        hook = RedshiftSQLHook(redshift_conn_id=REDSHIFT_CONN_ID, aws_conn_id=AWS_CONN_ID)
        # The value is bound, never formatted into the statement.
        row = hook.get_first(f"SELECT COUNT(*) FROM {table.sql} WHERE {column} = %s", parameters=(ds,))
        found = int(row[0]) if row else 0
        if summary.get("files_loaded", 0) == 0 and summary.get("files_skipped", 0) > 0:
            # The same files were loaded before: COPY did nothing, the partition holds that load.
            expected = None
        else:
            expected = int(summary.get("rows_inserted") or summary.get("rows_loaded") or 0)
        if expected is not None and found != expected:
            raise AirflowException(
                f"Partition {params['partition_column']} = {ds} of {table} holds {found} row(s); the COPY "
                f"reported {expected}. Fix: look for a concurrent writer of that partition, then rerun the "
                "day."
            )
        return {"table": str(table), "partition": ds, "rows": found, "expected": expected}

    counted = check_row_count(load.output)
    ensure_role >> verify_bucket >> wait_for_files >> load


if __name__ == "__main__":
    dag.test()
