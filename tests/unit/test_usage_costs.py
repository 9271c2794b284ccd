"""Failures by category, cross-region bytes and RPU-seconds of the usage report.

The local stack has neither ``sys_query_history.error_message`` nor ``sys_serverless_usage`` (real Redshift
and Serverless only): the tests of those paths answer the report's queries with rows shaped like Redshift's,
from a stand-in that only knows which view a query reads. The local stack's own paths are in
tests/integration/test_cli_report.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from airflow_redshift_s3.usage_costs import failure_category, format_costs, read_report

ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"
DAY = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 12, 1, 12, 0)

# Redshift's messages, as the COPY operator's tests (tests/unit/transfers/test_copy_errors.py) know them
MESSAGES = {
    "permission": f"Not authorized to get credentials of role {ROLE}, should retry : 0",
    "region": "S3ServiceException:The bucket you are attempting to access must be addressed using the "
    "specified endpoint.,Status 301,Error PermanentRedirect",
    "format": "Load into table 'orders' failed. Check 'stl_load_errors' system table for details.",
    "config": "S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket",
}


@pytest.mark.parametrize("category", sorted(MESSAGES))
def test_a_failed_copy_gets_the_category_the_operator_would_give(category):
    assert failure_category(MESSAGES[category], rejected_rows=False) == category


def test_rejected_rows_are_a_format_failure_and_no_text_is_unknown():
    assert failure_category(None, rejected_rows=True) == "format"
    assert failure_category(None, rejected_rows=False) == "unknown"
    # a retryable failure (a concurrent transaction) is none of the four
    assert failure_category("ERROR: 1023 DETAIL: Serializable isolation violation on table", False) == "other"


class RedshiftViews:
    """Answers each query of the report from rows keyed by the system view it reads (see the module doc)."""

    def __init__(self, views: dict[str, Sequence[Sequence[Any]]]) -> None:
        self.views = views

    def __call__(self, sql: str) -> Sequence[Sequence[Any]]:
        if "sys_serverless_usage" in sql:
            return self.views["sys_serverless_usage"]
        if "JOIN sys_query_history" in sql:
            return self.views["copies"]
        if "FROM sys_query_history" in sql:
            return self.views["error_message"]
        if "sys_load_error_detail" in sql:
            return self.views["sys_load_error_detail"]
        if "'aborted'" in sql and "query_id FROM sys_load_history" in sql:
            return self.views["aborted"]
        if "FROM sys_load_history" in sql:
            return self.views["sys_load_history"]
        return []  # the ledger and its history: empty


def test_real_redshifts_views_give_categories_cross_region_bytes_and_rpu_seconds():
    run_sql = RedshiftViews({
        "sys_load_history": [("orders", DAY, 5, 3_000_000, 3)],
        "aborted": [("orders", DAY, 11), ("orders", DAY, 12), ("orders", DAY, 13)],
        "sys_load_error_detail": [(13,)],
        "error_message": [(11, MESSAGES["permission"]), (12, MESSAGES["region"])],
        "copies": [
            ("orders", DAY, 3 * 1024**3, "COPY orders FROM 's3://b/p/' CSV REGION AS 'eu-west-1'"),
            # LIKE '%REGION%' also matches a path: the clause itself is what counts
            ("orders", DAY, 999, "COPY orders FROM 's3://b/regional/' CSV"),
        ],
        "sys_serverless_usage": [(DAY, 96.0)],
    })  # fmt: skip
    report = read_report(run_sql, "public.ledger", 7, NOW, price_per_gb=0.09)
    (row,) = report.rows
    assert row.failures == {"permission": 1, "region": 1, "format": 1}
    assert row.cross_region_bytes == 3 * 1024**3
    assert report.rpu_seconds == {DAY: 96.0}
    summary = report.summary()
    assert summary["transfer_cost_estimate"] == pytest.approx(0.27)
    assert summary["totals"]["failed"] == 3 and summary["totals"]["seconds"] == 3.0
    lines = format_costs(report)
    assert lines[0] == (
        f"Cross-region: {3 * 1024**3} bytes (3.000 GB), estimated transfer cost $0.2700 at $0.09 per GB "
        "(--transfer-price-per-gb)"
    )
    assert lines[2] == "RPU-seconds of the load minutes: 2026-11-30: 96.0"


def test_views_that_cannot_be_read_are_said_not_guessed():
    def run_sql(sql: str) -> Sequence[Sequence[Any]]:
        if "sys_serverless_usage" in sql or "sys_query_history" in sql:
            raise RuntimeError('relation "sys_serverless_usage" does not exist')
        return []

    report = read_report(run_sql, "public.ledger", 7, NOW)
    assert report.rpu_seconds is None and report.summary()["rpu_seconds"] is None
    assert report.rpu_note.startswith("RPU-seconds unavailable")
    assert report.cross_region_note.startswith("cross-region bytes unknown")
