"""The ledger as the current state of each file, with the superseded rows in a history of bounded age.

Issue: a daily DAG rerun, reprocessed or cleared added one ledger row per file each time (74 rows for 60
files). Now the load INSERTs its rows and, right after COMMIT, moves the rows they supersede to
``<ledger>_history``. Each test loads through S3ToRedshiftCopyOperator against the local stack and reads
both tables.
"""

from __future__ import annotations

import datetime as dt

import pytest
from reliability_support import login_user, task_context

from airflow_redshift_s3 import ledger as ledger_sql
from airflow_redshift_s3.sql import TableName
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


@pytest.fixture
def env(local_redshift_env, s3_bucket, copy_role_arn, db):
    s3 = local_redshift_env.aws_client("s3")
    db.run(f"create table {db.schema}.sales (id int, load_date date)")

    class Env:
        schema = db.schema

        @staticmethod
        def put(key: str, body: str) -> None:
            s3.put_object(Bucket=s3_bucket, Key=key, Body=body.encode())

        @staticmethod
        def put_bytes(key: str, body: bytes) -> None:
            s3.put_object(Bucket=s3_bucket, Key=key, Body=body)

        @staticmethod
        def load(run_id: str = "manual__1", **kwargs) -> dict:
            args = {"task_id": "load", "bucket": s3_bucket, "table": f"{db.schema}.sales",
                    "iam_role_arn": copy_role_arn, "preflight_checks": (), "column_list": ["id"]}  # fmt: skip
            return S3ToRedshiftCopyOperator(**{**args, **kwargs}).execute(task_context(run_id))

        @staticmethod
        def day(day: str, run_id: str = "manual__1", **kwargs) -> dict:
            return Env.load(run_id, prefix=f"sales/{day}/", mode="replace_partition",
                            partition_column="load_date", partition_value=day, **kwargs)  # fmt: skip

        @staticmethod
        def ledger() -> list[tuple]:
            return sorted(
                db.run(f'select "object_key", "etag", "partition_value" from {db.schema}.s3_load_ledger')
            )

        @staticmethod
        def history() -> list[tuple]:
            if "s3_load_ledger_history" not in db.tables():
                return []  # made by the first compaction that has rows to move
            return sorted(
                db.run(f'select "object_key", "superseded_by" from {db.schema}.s3_load_ledger_history')
            )

    Env.db = db
    return Env


def test_rerunning_a_day_keeps_one_ledger_row_per_file_and_moves_the_old_ones_to_the_history(env):
    for day in ("2026-11-01", "2026-11-02"):
        for part in range(3):
            env.put(f"sales/{day}/part-{part}.csv", f"{part}\n")
    first = env.day("2026-11-01")
    env.day("2026-11-02")
    assert len(env.ledger()) == 6 and env.history() == []
    # Reprocess the 1st three times with new files (as a backfill with reprocess_behavior=completed would).
    reloads = []
    for attempt in range(3):
        for part in range(3):
            env.put(f"sales/2026-11-01/part-{part}.csv", f"{part}\n{100 + attempt}\n")
        reloads.append(env.day("2026-11-01", run_id=f"backfill__{attempt}"))
        assert reloads[-1]["files_loaded"] == 3
    ledger = env.ledger()
    assert len(ledger) == 6  # one row per file, however often the day ran
    assert len({key for key, _, _ in ledger}) == 6
    history = env.history()
    assert len(history) == 9  # 3 files x 3 superseded loads
    # Each superseded row names the load that superseded it: the three reloads, never the first load.
    assert {by for _, by in history} == {r["load_id"] for r in reloads}
    assert first["load_id"] not in {by for _, by in history}
    # The same files again: the ledger still says "already loaded", one indexed lookup.
    again = env.day("2026-11-01", run_id="backfill__again", skip_loaded_files=True)
    assert (again["files_loaded"], again["files_skipped"]) == (0, 3)
    assert env.db.run(f"select count(*) from {env.schema}.sales where load_date = '2026-11-01'") == [(6,)]


def test_an_append_reload_of_a_changed_file_supersedes_its_row(env):
    env.put("in/a.csv", "1\n")
    env.load(prefix="in/")
    env.put("in/a.csv", "1\n2\n")
    summary = env.load(prefix="in/", on_changed_file="reload", run_id="manual__2")
    assert summary["files_loaded"] == 1
    (row,) = env.ledger()
    assert row[0] == "in/a.csv"
    assert [key for key, _ in env.history()] == ["in/a.csv"]


def test_the_same_key_in_two_partitions_keeps_a_row_for_each(env):
    """A manual replace_partition of one prefix into two partition values: both stay "current"."""
    env.put("sales/any/part-0.csv", "1\n")
    env.load(prefix="sales/any/", mode="replace_partition", partition_column="load_date",
             partition_value="2026-11-01")  # fmt: skip
    env.load(prefix="sales/any/", mode="replace_partition", partition_column="load_date",
             partition_value="2026-11-02", run_id="manual__2")  # fmt: skip
    assert [p for _, _, p in env.ledger()] == ["2026-11-01", "2026-11-02"]
    assert env.history() == []


def test_history_retention(env):
    env.put("sales/2026-11-01/part-0.csv", "1\n")
    env.day("2026-11-01")
    env.put("sales/2026-11-01/part-0.csv", "2\n")
    env.day("2026-11-01", run_id="manual__2", ledger_history_days=0)  # keep no history
    assert len(env.ledger()) == 1 and env.history() == []
    env.put("sales/2026-11-01/part-0.csv", "3\n")
    env.day("2026-11-01", run_id="manual__3", ledger_history_days=None)  # keep it all
    assert len(env.history()) == 1
    # A history row 100 days old goes at the next compaction with the default retention (90 days).
    old = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=100)
    env.db.run(f"update {env.schema}.s3_load_ledger_history set superseded_at = '{old.isoformat()}'")
    env.put("sales/2026-11-01/part-0.csv", "4\n")
    env.day("2026-11-01", run_id="manual__4")
    assert len(env.history()) == 1  # the one just superseded; the 100-day-old row is gone
    assert len(env.ledger()) == 1


def test_a_bad_retention_is_refused_before_any_sql(env):
    from airflow_redshift_s3.exceptions import ConfigCheckError

    with pytest.raises(ConfigCheckError, match=r"ledger_history_days is -1: expected a number of days >= 0"):
        env.day("2026-11-01", ledger_history_days=-1)


def test_compaction_never_touches_a_later_load(env, local_redshift):
    """A load's compaction runs after its COMMIT; a later load of the same files may have committed since."""
    env.put("sales/2026-11-01/part-0.csv", "1\n")
    env.day("2026-11-01")
    ((loaded_at,),) = env.db.run(f'select "loaded_at" from {env.schema}.s3_load_ledger')
    ledger = TableName("s3_load_ledger", env.schema)
    earlier = ledger_sql.LedgerEntry(
        load_id="earlier", target_table=f"{env.schema}.sales", target_schema=env.schema, target_name="sales",
        bucket=env.db.run(f'select "bucket" from {env.schema}.s3_load_ledger')[0][0],
        object_key="sales/2026-11-01/part-0.csv", etag="x", size_bytes=2, load_mode="replace_partition",
        partition_column="load_date", partition_value="2026-11-01", load_rows=1, load_files=1, dag_id=None,
        run_id=None, task_id=None, map_index=None, try_number=None,
        loaded_at=loaded_at - dt.timedelta(seconds=5),
    )  # fmt: skip
    import redshift_connector

    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    conn.autocommit = True
    try:
        assert ledger_sql.compact(conn, ledger, [earlier], 90) == 0
    finally:
        conn.close()
    assert len(env.ledger()) == 1


@pytest.fixture
def loader(env, local_redshift, monkeypatch):
    """A user that may SELECT and INSERT the ledger but not DELETE from it."""
    grants = (f"usage, create on schema {env.schema}", f"select, insert, delete on {env.schema}.sales")
    with login_user(env.db, local_redshift, monkeypatch, *grants) as user:
        yield user


def test_a_compaction_that_fails_warns_and_keeps_the_committed_load(env, loader):
    env.put("sales/2026-11-01/part-0.csv", "1\n")
    env.day("2026-11-01")  # the ledger is the admin's
    env.db.run(f"grant select, insert on {env.schema}.s3_load_ledger to {loader}")
    env.put("sales/2026-11-01/part-0.csv", "1\n2\n")
    summary = env.day("2026-11-01", run_id="manual__2", redshift_conn_id="redshift_loader")
    assert summary["files_loaded"] == 1
    (warning,) = [w for w in summary["warnings"] if "superseded ledger rows" in w]
    assert "The load committed" in warning and "GRANT SELECT, INSERT, DELETE ON" in warning
    assert env.db.run(f"select count(*) from {env.schema}.sales") == [(2,)]
    assert len(env.ledger()) == 2  # kept until a load that may compact runs
    env.day("2026-11-01", run_id="manual__3", skip_loaded_files=False)
    assert len(env.ledger()) == 1


def test_the_summary_reports_files_per_slice_and_warns_about_tiny_files(env):
    """stv_slices through the gateway (the local stack reports 2 slices, as configured).

    3 tiny files for 2 slices: under 1 MB per slice in all, so no advice to split into a multiple of 2 (the
    files would get smaller still); the advice to combine tiny files stays. The count rule at its threshold
    is in tests/unit/transfers/test_copy_layout.py.
    """
    import gzip

    for part in range(3):
        env.put_bytes(f"gz/part-{part}.csv.gz", gzip.compress(f"{part}\n".encode()))
    from airflow_redshift_s3.copy_format import CsvFormat

    summary = env.load(prefix="gz/", input_format=CsvFormat(compression="gzip"), preflight_checks=("format",))
    assert (summary["slices"], summary["files_per_slice"]) == (2, 1.5)
    assert not [w for w in summary["warnings"] if "for 2 slices" in w], summary["warnings"]
    (tiny,) = [w for w in summary["warnings"] if "median size of" in w]
    assert "3 compressed files with a median size of" in tiny
