"""The usage report's HTML page, opened from disk in Chromium: its charts render, offline.

The page is what ``airflow-redshift-s3 report --html`` writes (and ``make demo`` ends with) for real loads
on the local stack: two tables over two days, and a COPY that Redshift rejects. A page that loaded
anything (a script from a CDN, a font) would show it here as a request that is not the file itself.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_redshift_s3.ledger import LedgerEntry, create_ledger, insert_entries
from airflow_redshift_s3.sql import TableName

pytestmark = pytest.mark.browser


def _entry(load_id: str, table: str, rows: int, when: dt.datetime) -> LedgerEntry:
    schema, name = table.split(".")
    return LedgerEntry(load_id, table, schema, name, "bucket", f"{load_id}.csv", "etag", 10 * rows, "append",
                       None, None, rows, 1, "dag", "run", "load", -1, 1, when)  # fmt: skip


def _loads(local_redshift_env: Any, connection: Any, schema: str, bucket: str, role: str) -> dict[str, Any]:
    """Record loads of two tables over two days in a ledger, COPY once and fail once; return what to see."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    yesterday = now - dt.timedelta(days=1)
    sales, refunds = f"{schema}.sales", f"{schema}.refunds"
    ledger = TableName("ledger", schema)
    cursor = connection.cursor()
    for table in (sales, refunds):
        cursor.execute(f"CREATE TABLE {table} (n int)")
    entries = [
        _entry("l1", sales, 40, yesterday),
        _entry("l2", sales, 25, now),
        _entry("l3", refunds, 7, now),
    ]
    for statement in [create_ledger(ledger), *insert_entries(ledger, entries)]:
        cursor.execute(statement.sql, statement.params)
    connection.commit()
    local_redshift_env.aws_client("s3").put_object(Bucket=bucket, Key="bad/x.csv", Body=b"not a number\n")
    with pytest.raises(Exception, match="stl_load_errors"):
        cursor.execute(f"COPY {refunds} FROM 's3://{bucket}/bad/' IAM_ROLE '{role}' CSV")
    connection.rollback()
    return {
        "ledger": f"{schema}.ledger",
        "marks": {
            (sales, yesterday.date().isoformat()): 40,
            (sales, now.date().isoformat()): 25,
            (refunds, now.date().isoformat()): 7,
        },
        "failed_day": now.date().isoformat(),
    }


def _open_offline(page: Any, html: Path) -> None:
    """Open the page from disk; assert it requested nothing but itself and drew its three charts."""
    requests: list[str] = []
    failed: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(html.as_uri())
    page.wait_for_load_state("networkidle")
    assert requests == [html.as_uri()] and failed == []  # nothing but the file itself
    for chart in ("rows", "seconds", "failures"):
        svg = page.locator(f"#chart-{chart} svg")
        assert svg.count() == 1
        box = svg.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, chart


def test_the_report_page_draws_its_charts_offline(
    local_redshift_env,
    redshift_connection,
    redshift_schema,
    s3_bucket,
    copy_role_arn,
    tmp_path,
    page,
    screenshot,
):
    seen = _loads(local_redshift_env, redshift_connection, redshift_schema, s3_bucket, copy_role_arn)
    html = tmp_path / "usage.html"
    env = {key: value for key, value in os.environ.items() if key != "AIRFLOW__CORE__UNIT_TEST_MODE"}
    done = subprocess.run(
        [sys.executable, "-m", "airflow_redshift_s3.cli", "report", "--ledger", seen["ledger"], "--days", "3",
         "--html", str(html)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _open_offline(page, html)
    # one bar per table and day, drawn with a height, labelled with its figures
    for (table, day), rows in seen["marks"].items():
        bar = page.locator(
            f'#chart-rows [aria-label^="day: {day};"][aria-label*="table: {table}; rows: {rows}"]'
        )
        assert bar.count() == 1, (table, day)
        box = bar.bounding_box()
        assert box is not None and box["height"] > 0
        assert page.locator(
            f'#chart-seconds [aria-label^="day: {day};"][aria-label*="table: {table};"]'
        ).count()
    failures = page.locator(f'#chart-failures [aria-label^="day: {seen["failed_day"]};"]')
    assert "category: format" in (failures.first.get_attribute("aria-label") or "")
    screenshot("usage-report")


def test_the_page_make_demo_ends_with_draws_the_demos_loads(page, screenshot, tmp_path):
    """``make demo``'s last line names its usage page: the demo's five COPYs and its bad day are drawn."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REDSHIFT_S3_", "AWS_"))}
    cli = Path(sys.executable).with_name("airflow-redshift-s3")
    done = subprocess.run([str(cli), "demo", "--workdir", str(tmp_path / "demo")], env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = Path(done.stdout.rstrip().splitlines()[-1].rpartition(": ")[2])
    _open_offline(page, html)
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    # every demo load ran today: one bar for public.sales, the ledger's rows of the four loads that committed
    bar = page.locator(
        f'#chart-rows [aria-label^="day: {today};"][aria-label*="table: public.sales; rows: 2050"]'
    )
    assert bar.count() == 1
    assert page.locator(
        f'#chart-seconds [aria-label^="day: {today};"][aria-label*="table: public.sales;"]'
    ).count()
    failure = page.locator(f'#chart-failures [aria-label^="day: {today};"]').first.get_attribute("aria-label")
    assert "category: format" in (failure or "") and "failed: 1" in (failure or "")
    screenshot("usage-report-demo")
