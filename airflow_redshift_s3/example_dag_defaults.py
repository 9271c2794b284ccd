"""Defaults and helpers shared by the example DAGs in ``dags/``: settings, form patterns, default_args.

Settings come from ``REDSHIFT_S3_<NAME>`` environment variables (read when a DAG file is parsed; no I/O),
with defaults that point at the local Redshift stack.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from airflow_redshift_s3 import rules

# Defaults point at the local stack; override them with REDSHIFT_S3_<NAME> environment variables
# (read once, when this module is first imported; no I/O) or per run through the Params.
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
# The sample day `make airflow` puts in S3 as gzip CSV: the manual DAG's form loads it by default.
SAMPLE_DAY = os.environ.get("REDSHIFT_S3_SAMPLE_DAY", "2026-11-23")
# The AssetAlias the daily load adds its table's Asset to: DAGs scheduled on it run after each load.
DAILY_LOADED_ALIAS = "s3_to_redshift_daily.loaded_table"
# How often to poll while a role is being attached; the local stack applies a role in under a second.
WAITER_DELAY = float(os.environ.get("REDSHIFT_S3_WAITER_DELAY", "15"))

# JSON-schema patterns the trigger forms enforce before a run is created. Each ends with END, not "$":
# Airflow validates Params on the server with Python's re, where "$" also matches before a final newline
# ("items\n" would pass); END ends the string in Python and in the browser's JavaScript alike.
END = rules.FORM_END
BUCKET_PATTERN = rules.form_pattern(rules.BUCKET_NAME)
PREFIX_PATTERN = r"^(?!/)(?!s3://)[^*?\[\]\x00-\x1f]*" + END
TABLE_PATTERN = r"^([A-Za-z_][A-Za-z0-9_$]{0,126}\.)?[A-Za-z_][A-Za-z0-9_$]{0,126}" + END
COLUMN_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]{0,126}" + END
ROLE_ARN_PATTERN = rules.form_pattern(f"default|{rules.ROLE_ARN}")
ROLE_NAME_PATTERN = rules.form_pattern(rules.ROLE_NAME)


# The same rules in words, for the Param descriptions: the form shows them under each field.
BUCKET_RULE = "3-63 lowercase letters, digits, dots and hyphens, e.g. demo-bucket (no s3://, no /)"
PREFIX_RULE = "no leading /, no s3://, no wildcard (* ? [ ])"
TABLE_RULE = "schema.table or table: letters, digits, _ and $, not starting with a digit"
COLUMN_RULE = "a column name: letters, digits, _ and $, not starting with a digit"
ROLE_ARN_RULE = "arn:aws:iam::<12-digit account>:role/<name>, or default"


def refuse_params(problems: list[tuple[str, str]]) -> None:
    """Fail the task with every form problem at once, the fixes first; do nothing when there is none.

    :param problems: ``(fix, what was found)`` per field, each fix naming the field by its form title.
    """
    if not problems:
        return
    from airflow.sdk.exceptions import AirflowFailException

    lines = [f"Fix: {fix} ({found})." for fix, found in problems]
    raise AirflowFailException(
        f"Fix the trigger form ({len(problems)} field(s)), then trigger again:\n" + "\n".join(lines)
    )


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
    # The error (its fix first) right after the task's name; the long summary on a line of its own after it.
    log.error(
        "Task %s of DAG %s, run %s failed. Error: %s\nLoad summary: %s",
        getattr(ti, "task_id", "?"),
        getattr(ti, "dag_id", "?"),
        getattr(ti, "run_id", "?"),
        error,
        _safe_summary(summary) if summary is not None else "none (no load finished in this run)",
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
