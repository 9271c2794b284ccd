"""The example DAGs' shared default_args and failure callback."""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow_redshift_s3.example_dag_defaults import default_args, log_failure


class _TaskInstance:
    task_id, dag_id, run_id = "check_row_count", "s3_to_redshift_daily", "scheduled__2026-11-27"

    def __init__(self, summary=None, error=None):
        self.summary, self.error = summary, error

    def xcom_pull(self, task_ids):
        assert task_ids == "load"
        if self.error:
            raise self.error
        return self.summary


def test_default_args_retry_with_backoff_and_log_failures():
    args = default_args(retries=1)
    assert args["retries"] == 1 and args["retry_exponential_backoff"] is True
    assert args["max_retry_delay"] == timedelta(minutes=10)
    assert args["on_failure_callback"] is log_failure


def test_failure_callback_logs_the_error_and_the_summary_fields_only(caplog):
    summary = {"table": "public.sales", "rows_inserted": 3, "files_loaded": 1, "manifest": "s3://b/m",
               "credentials": "aws_secret_access_key=SECRET"}  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="airflow_redshift_s3.example_dag_defaults"):
        log_failure({"ti": _TaskInstance(summary), "exception": ValueError("partition holds 4 rows")})
    (record,) = caplog.records
    text = record.getMessage()
    assert "Task check_row_count of DAG s3_to_redshift_daily, run scheduled__2026-11-27 failed" in text
    assert "'rows_inserted': 3" in text and "Error: partition holds 4 rows" in text
    assert "SECRET" not in text and "manifest" not in text


def test_failure_callback_never_raises(caplog):
    with caplog.at_level(logging.ERROR, logger="airflow_redshift_s3.example_dag_defaults"):
        log_failure({"ti": _TaskInstance(error=RuntimeError("API server gone")), "exception": None})
        log_failure({})
    assert "none (no load finished in this run)" in caplog.records[0].getMessage()
    assert len(caplog.records) == 2
