"""The ``report`` command as a user runs it: the ledger's files, rows, bytes and Redshift's COPYs per day."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from airflow_redshift_s3.ledger import LedgerEntry, create_ledger, insert_entries
from airflow_redshift_s3.sql import TableName

pytestmark = pytest.mark.integration


def _entry(
    load_id: str, key: str, size: int, rows: int, files: int, when: dt.datetime, table: str
) -> LedgerEntry:
    schema, name = table.split(".")
    return LedgerEntry(load_id, table, schema, name, "bucket", key, "etag", size, "append", None, None, rows,
                       files, "dag", "run", "load", -1, 1, when)  # fmt: skip


def report(*args: str) -> tuple[int, list[str], str]:
    env = {key: value for key, value in os.environ.items() if key != "AIRFLOW__CORE__UNIT_TEST_MODE"}
    done = subprocess.run([sys.executable, "-m", "airflow_redshift_s3.cli", "report", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    return done.returncode, done.stdout.splitlines(), done.stderr


def test_usage_per_table_and_day(
    local_redshift_env, redshift_connection, redshift_schema, s3_bucket, eu_bucket, copy_role_arn, tmp_path
):
    table = f"{redshift_schema}.sales"
    ledger = TableName("ledger", redshift_schema)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    yesterday = now - dt.timedelta(days=1)
    cursor = redshift_connection.cursor()
    cursor.execute(f"CREATE TABLE {table} (n int)")
    for statement in [create_ledger(ledger), *insert_entries(ledger, [
        _entry("load-1", "a.csv", 100, 5, 2, yesterday, table),
        _entry("load-1", "b.csv", 200, 5, 2, yesterday, table),
        _entry("load-2", "c.csv", 50, 3, 1, now, table),
    ])]:  # fmt: skip
        cursor.execute(statement.sql, statement.params)
    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="good/c.csv", Body=b"1\n2\n3\n")
    s3.put_object(Bucket=s3_bucket, Key="bad/d.csv", Body=b"x\n")
    local_redshift_env.aws_client("s3", "eu-west-1").put_object(
        Bucket=eu_bucket, Key="far/e.csv", Body=b"7\n8\n"
    )
    redshift_connection.commit()
    cursor.execute(f"COPY {table} FROM 's3://{s3_bucket}/good/' IAM_ROLE '{copy_role_arn}' CSV")
    redshift_connection.commit()
    # the statement the operator writes for a bucket in another region (REGION AS), read back from the history
    cursor.execute(
        f"COPY {table} FROM 's3://{eu_bucket}/far/' IAM_ROLE '{copy_role_arn}' CSV REGION AS 'eu-west-1'"
    )
    redshift_connection.commit()
    with pytest.raises(Exception, match="stl_load_errors"):
        cursor.execute(f"COPY {table} FROM 's3://{s3_bucket}/bad/' IAM_ROLE '{copy_role_arn}' CSV")
    redshift_connection.rollback()

    html = tmp_path / "out" / "usage.html"
    code, lines, err = report("--ledger", str(ledger.sql).replace('"', ""), "--days", "3",
                              "--transfer-price-per-gb", "0.5", "--html", str(html))  # fmt: skip
    assert code == 0, err
    assert "ledger_history" in err  # no superseded rows yet: said, not hidden
    assert lines[0] == f"Loads of the last 3 day(s) (ledger {redshift_schema}.ledger, sys_load_history)"
    assert lines[1].split() == ["TABLE", "DAY", "COPIES", "FAILED", "FILES", "ROWS", "BYTES", "SECONDS",
                                "XREGION_BYTES", "FAILURES"]  # fmt: skip
    ours = [line.split() for line in lines[2:] if line.startswith(f"{table} ")]
    days = {
        yesterday.date().isoformat(): ["0", "0", "2", "5", "300"],
        now.date().isoformat(): ["3", "1", "1", "3", "50"],
    }
    assert {cells[1]: cells[2:7] for cells in ours} == days
    cursor.execute(f"SELECT SUM(duration) FROM sys_load_history WHERE TRIM(table_name) = '{table}'")
    seconds = cursor.fetchone()[0] / 1_000_000
    today = next(cells for cells in ours if cells[1] == now.date().isoformat())
    # the rejected row makes the failure a format one; only the eu-west-1 COPY's 4 bytes crossed regions
    assert today[7:] == [f"{seconds:.2f}", "4", "format:1"]
    assert next(cells for cells in ours if cells[1] == yesterday.date().isoformat())[8:] == ["0", "-"]
    total = next(line for line in lines if line.startswith("total"))
    crossed = int(total.split()[-2])
    assert crossed >= 4  # other tests of this session may have loaded across regions too
    assert f"Cross-region: {crossed} bytes" in "\n".join(lines)
    assert f"${crossed / 1024**3 * 0.5:.4f} at $0.5 per GB" in "\n".join(lines)
    # the local stack has no sys_serverless_usage: said, never invented
    assert any(line.startswith("RPU-seconds unavailable: sys_serverless_usage") for line in lines)
    assert lines[-1] == f"HTML report: {html}"
    page = html.read_text()
    assert page.count("<svg") == 3
    assert f"day: {now.date().isoformat()}; Rows loaded per day and table: 3; table: {table}" in page
    assert "category: format" in page


def test_a_negative_price_is_refused_with_the_fix(local_redshift_env):
    code, lines, err = report("--transfer-price-per-gb", "-1")
    assert code == 2 and lines == []
    assert "Fix: pass --transfer-price-per-gb 0 or more" in err
