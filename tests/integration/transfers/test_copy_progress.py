"""The progress of a running COPY, read from STV_LOAD_STATE on a second connection, in the task log.

The local stack keeps STV_LOAD_STATE as the "STV_LOAD_STATE" page describes it (one row while the COPY
loads, bytes to load and loaded, files, lines), updated every 0.2 s of loading instead of every million
records, so that a load of a few tens of megabytes shows progress.
"""

from __future__ import annotations

import gzip
from types import SimpleNamespace

import pytest

from airflow_redshift_s3.transfers.copy import progress as progress_module
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

pytestmark = pytest.mark.integration

ROWS = 600_000  # about 25 MB of CSV


def _context() -> dict:
    ti = SimpleNamespace(dag_id="load_dag", run_id="manual__1", task_id="load", map_index=-1, try_number=1)
    return {"ti": ti, "run_id": "manual__1"}


@pytest.fixture
def watched(monkeypatch) -> list:
    """Every CopyProgress the loads create (their lines are what the task log got)."""
    made: list = []
    original = progress_module.CopyProgress.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(progress_module.CopyProgress, "__init__", init)
    return made


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_a_long_copy_logs_its_progress_and_leaves_no_state(
    local_redshift_env, redshift_schema, s3_bucket, copy_role_arn, query, watched, compression
):
    body = "".join(f"{i},customer-{i:08d},{i * 1.5:.2f}\n" for i in range(ROWS)).encode()
    key = "big/part-0.csv" + (".gz" if compression else "")
    data = gzip.compress(body, compresslevel=1) if compression else body
    local_redshift_env.aws_client("s3").put_object(Bucket=s3_bucket, Key=key, Body=data)
    query(f"create table {redshift_schema}.big (id int, customer varchar(20), amount numeric(12,2))")
    operator = S3ToRedshiftCopyOperator(
        task_id="load", bucket=s3_bucket, prefix="big/", table=f"{redshift_schema}.big",
        iam_role_arn=copy_role_arn, preflight_checks=(), progress_interval=0.1,
        input_format={"type": "csv", "compression": compression},
    )  # fmt: skip
    summary = operator.execute(_context())
    assert summary["rows_loaded"] == ROWS
    (watch,) = watched
    assert watch.lines, "no progress line while the COPY ran"
    unit = " compressed" if compression else ""
    first = watch.lines[0]
    assert (
        first.startswith(f"COPY into {redshift_schema}.big: ") and f"{len(data) / 1e6:.1f} MB{unit})" in first
    )
    percents = [int(line.split(": ")[1].split("%")[0]) for line in watch.lines]
    assert percents == sorted(percents) and percents[0] < 100
    assert query("select count(*) from stv_load_state") == [(0,)]


def test_a_short_copy_opens_no_progress_connection(
    local_redshift_env, redshift_schema, s3_bucket, copy_role_arn, query, watched, monkeypatch
):
    connects: list = []
    original = progress_module.CopyProgress._watch

    def watch(self):
        real = self.connect
        self.connect = lambda: connects.append(1) or real()
        original(self)

    monkeypatch.setattr(progress_module.CopyProgress, "_watch", watch)
    local_redshift_env.aws_client("s3").put_object(Bucket=s3_bucket, Key="small/a.csv", Body=b"1,a,1.0\n")
    query(f"create table {redshift_schema}.small (id int, customer varchar(20), amount numeric(12,2))")
    S3ToRedshiftCopyOperator(
        task_id="load", bucket=s3_bucket, prefix="small/", table=f"{redshift_schema}.small",
        iam_role_arn=copy_role_arn, preflight_checks=(), progress_interval=30,
    ).execute(_context())  # fmt: skip
    assert len(watched) == 1 and watched[0].lines == [] and connects == []


def test_progress_lines_say_percent_bytes_files_rate_and_time_left():
    line = progress_module.progress_line("public.sales", (0, 0, 250_000_000, 1_000_000_000, 3, 10, 12), 5e7)
    assert line == (
        "COPY into public.sales: 25% (250.0 MB of 1.0 GB compressed), 3 of 10 file(s) done, 12 line(s), "
        "50.0 MB/s, about 15 s left"
    )
    assert progress_module.progress_line("t", (0,) * 7, None) is None
