"""Ordinary situations that go wrong in production: a load does what was meant, or fails before committing.

Each test runs S3ToRedshiftCopyOperator against the local stack and asserts the table's rows, the ledger
and the summary (or the error a person reads). The cases are those of the data-safety rules in
``airflow_redshift_s3.transfers.copy.guards``: prefix boundaries, empty replaces, duplicate upsert keys,
keys not unique in the target, the ledger's table names, changed files, keys the ledger cannot hold, a
connection lost during COMMIT, ledger privileges, upsert counts and manifests.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from types import SimpleNamespace

import pytest
from reliability_support import login_user, task_context

from airflow_redshift_s3.exceptions import (
    ChangedFileError,
    CommitUnknownError,
    ConfigCheckError,
    DuplicateKeyError,
    EmptyReplaceError,
    InvalidKeyError,
    PrefixBoundaryError,
    RedshiftS3Error,
    ResourceNotFoundError,
)
from airflow_redshift_s3.ledger import LEDGER_COLUMNS
from airflow_redshift_s3.local.pytest_plugin import unique_name
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

MANIFESTS = "_airflow_copy_manifests/"


@pytest.fixture
def env(local_redshift_env, s3_bucket, copy_role_arn, db):
    s3 = local_redshift_env.aws_client("s3")

    def operator(**kwargs) -> S3ToRedshiftCopyOperator:
        args = {
            "task_id": "load",
            "bucket": s3_bucket,
            "table": f"{db.schema}.items",
            "iam_role_arn": copy_role_arn,
            "cluster_identifier": "local-cluster",
            "preflight_checks": (),
        }
        return S3ToRedshiftCopyOperator(**{**args, **kwargs})

    def load(context=None, **kwargs) -> dict:
        return operator(**kwargs).execute(context or task_context())

    def put(key: str, body: bytes | str) -> None:
        s3.put_object(Bucket=s3_bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)

    def rows(table: str = "items", columns: str = "*") -> list[tuple]:
        return sorted(db.run(f"select {columns} from {db.schema}.{table}"), key=repr)

    def manifests() -> list[str]:
        listing = s3.list_objects_v2(Bucket=s3_bucket, Prefix=MANIFESTS)
        return sorted(o["Key"] for o in listing.get("Contents", []))

    return SimpleNamespace(
        s3=s3, bucket=s3_bucket, db=db, schema=db.schema, load=load, put=put, rows=rows, manifests=manifests
    )


def _ledger(env) -> list[tuple]:
    return env.db.ledger() if "s3_load_ledger" in env.db.tables() else []


# -- 1. a prefix that does not end at a '/' -----------------------------------------------------------------


@pytest.fixture
def days(env):
    """A partitioned table holding 2026-11-02, and the files of four days whose names share '2026-11-2'."""
    env.db.run(f"create table {env.schema}.items (id int, load_date date)")
    env.db.run(f"insert into {env.schema}.items values (1, '2026-11-02'), (2, '2026-11-02')")
    for day, ident in (("2026-11-2", 10), ("2026-11-20", 20), ("2026-11-21", 21), ("2026-11-29", 29)):
        env.put(f"sales/{day}/part-0.csv", f"{ident}\n")
    return env


def test_replace_partition_with_a_prefix_without_slash_fails_before_any_sql_naming_the_extra_keys(
    days, gateway_sql
):
    before = days.db.snapshot()
    mark = gateway_sql.mark()
    with pytest.raises(PrefixBoundaryError) as caught:
        days.load(prefix="sales/2026-11-2", mode="replace_partition", partition_column="load_date",
                  partition_value="2026-11-02", column_list=["id"])  # fmt: skip
    message = str(caught.value)
    for day in ("2026-11-20", "2026-11-21", "2026-11-29"):
        assert f"sales/{day}/part-0.csv" in message
    assert "sales/2026-11-2/part-0.csv" not in message  # the intended file is not an "extra" one
    assert "prefix='sales/2026-11-2/'" in caught.value.fix
    assert gateway_sql.since(mark) == []  # not even a connection to Redshift
    assert days.db.snapshot() == before


def test_replace_partition_with_the_slash_or_a_key_pattern_loads_only_that_day(days):
    summary = days.load(prefix="sales/2026-11-2/", mode="replace_partition", partition_column="load_date",
                        partition_value="2026-11-02", column_list=["id"])  # fmt: skip
    assert days.rows() == [(10, dt.date(2026, 11, 2))]
    assert (summary["files_loaded"], summary["rows_deleted"], summary["warnings"]) == (1, 2, [])
    narrowed = days.load(prefix="sales/2026-11-2", key_pattern="/*", mode="replace_partition",
                         partition_column="load_date", partition_value="2026-11-02", column_list=["id"],
                         context=task_context("manual__2"))  # fmt: skip
    assert (narrowed["files_found"], narrowed["rows_loaded"]) == (1, 1)


def test_append_with_a_prefix_without_slash_warns_in_the_log_and_the_summary(days, capfd):
    summary = days.load(prefix="sales/2026-11-2", column_list=["id"])
    (warning,) = [w for w in summary["warnings"] if "does not end with '/'" in w]
    assert "3 key(s) outside 'sales/2026-11-2/'" in warning and "sales/2026-11-29/part-0.csv" in warning
    assert "does not end with '/'" in "".join(capfd.readouterr())  # the task log
    assert summary["files_loaded"] == 4  # append does what it was told, and says so


# -- 2. a replace whose files hold no row -------------------------------------------------------------------


@pytest.fixture
def two_rows(env):
    env.db.run(f"create table {env.schema}.items (id int, name varchar(10))")
    env.db.run(f"insert into {env.schema}.items values (1, 'a'), (2, 'b')")
    return env


def test_replace_with_a_header_only_file_rolls_back_and_names_the_fix(two_rows):
    from airflow_redshift_s3.copy_format import CsvFormat

    two_rows.put("in/empty.csv.gz", gzip.compress(b"id,name\n"))
    with pytest.raises(EmptyReplaceError) as caught:
        two_rows.load(prefix="in/", mode="replace", input_format=CsvFormat(header_rows=1, compression="gzip"))
    assert "COPY loaded 0 rows from 1 file(s); refusing to replace 2 row(s)" in str(caught.value)
    assert "allow_empty_replace=True" in caught.value.fix
    assert two_rows.rows() == [(1, "a"), (2, "b")]
    assert _ledger(two_rows) == []


def test_replace_partition_with_no_rows_keeps_the_partition(env):
    env.db.run(f"create table {env.schema}.items (id int, load_date varchar(10))")
    env.db.run(f"insert into {env.schema}.items values (1, 'd1'), (2, 'd1'), (3, 'd2')")
    env.put("d1/empty.csv", "id\n")
    from airflow_redshift_s3.copy_format import CsvFormat

    with pytest.raises(EmptyReplaceError, match="partition load_date = 'd1'"):
        env.load(prefix="d1/", mode="replace_partition", partition_column="load_date", partition_value="d1",
                 column_list=["id"], input_format=CsvFormat(header_rows=1))  # fmt: skip
    assert env.rows() == [(1, "d1"), (2, "d1"), (3, "d2")]


def test_a_zero_byte_object_named_in_keys_is_left_out_as_in_prefix_mode(two_rows):
    two_rows.put("in/zero.csv", b"")
    with pytest.raises(ResourceNotFoundError, match="No file to load"):
        two_rows.load(keys=["in/zero.csv"], mode="replace")
    assert two_rows.rows() == [(1, "a"), (2, "b")]
    two_rows.put("in/one.csv", "3,c\n")
    summary = two_rows.load(keys=["in/zero.csv", "in/one.csv"], mode="replace")
    assert (summary["files_found"], summary["rows_deleted"], summary["rows_loaded"]) == (1, 2, 1)
    assert two_rows.rows() == [(3, "c")]


def test_an_intentional_empty_replace_is_allowed_when_asked(two_rows):
    two_rows.put("in/empty.csv", "id,name\n")
    from airflow_redshift_s3.copy_format import CsvFormat

    summary = two_rows.load(prefix="in/", mode="replace", input_format=CsvFormat(header_rows=1),
                            allow_empty_replace=True)  # fmt: skip
    assert (summary["rows_deleted"], summary["rows_loaded"]) == (2, 0)
    assert two_rows.rows() == []
    assert [r[0] for r in _ledger(two_rows)] == ["in/empty.csv"]


# -- 3. an upsert whose files hold several rows of one key ---------------------------------------------------


@pytest.fixture
def versions(env):
    env.db.run(f"create table {env.schema}.items (id int, name varchar(20), version int)")
    env.db.run(f"insert into {env.schema}.items values (1, 'current', 0), (2, 'two', 0)")
    return env


def test_duplicate_keys_in_one_file_fail_naming_the_key_and_the_file(versions):
    versions.put("u/a.csv", "1,zzz-newest,3\n1,aaa-oldest,1\n4,four,1\n")
    with pytest.raises(DuplicateKeyError) as caught:
        versions.load(prefix="u/", mode="upsert", upsert_keys=["id"])
    message = str(caught.value)
    assert f"id=1 (2 different rows in s3://{versions.bucket}/u/a.csv)" in message
    assert "keep_greatest" in caught.value.fix and "keep_last_file" in caught.value.fix
    assert versions.rows() == [(1, "current", 0), (2, "two", 0)]
    assert _ledger(versions) == []


def test_duplicate_keys_across_files_name_every_file_holding_them(versions):
    versions.put("u/a.csv", "1,from-a,1\n5,five,1\n")
    versions.put("u/b.csv", "2,two,1\n")
    versions.put("u/c.csv", "1,from-c,2\n")
    with pytest.raises(DuplicateKeyError) as caught:
        versions.load(prefix="u/", mode="upsert", upsert_keys=["id"])
    assert f"in s3://{versions.bucket}/u/a.csv, s3://{versions.bucket}/u/c.csv)" in str(caught.value)
    assert "b.csv" not in str(caught.value)
    assert versions.rows() == [(1, "current", 0), (2, "two", 0)]


def test_keep_greatest_keeps_the_row_with_the_greatest_order_value(versions):
    versions.put("u/a.csv", "1,zzz-newest,3\n1,aaa-oldest,1\n")
    summary = versions.load(prefix="u/", mode="upsert", upsert_keys=["id"], on_duplicate_keys="keep_greatest",
                            duplicate_order_column="version")  # fmt: skip
    assert versions.rows() == [(1, "zzz-newest", 3), (2, "two", 0)]
    assert (summary["duplicate_rows_dropped"], summary["rows_updated"], summary["rows_inserted"]) == (1, 1, 0)


def test_keep_greatest_refuses_a_tie(versions):
    versions.put("u/a.csv", "1,left,3\n1,right,3\n")
    with pytest.raises(DuplicateKeyError, match="tie on version"):
        versions.load(prefix="u/", mode="upsert", upsert_keys=["id"], on_duplicate_keys="keep_greatest",
                      duplicate_order_column="version")  # fmt: skip
    assert versions.rows() == [(1, "current", 0), (2, "two", 0)]


def test_keep_last_file_keeps_the_row_of_the_file_listed_last(versions):
    versions.put("u/2026-11-01.csv", "1,older-file,9\n")
    versions.put("u/2026-11-02.csv", "1,newer-file,1\n3,three,1\n")
    summary = versions.load(
        prefix="u/", mode="upsert", upsert_keys=["id"], on_duplicate_keys="keep_last_file"
    )
    assert versions.rows() == [(1, "newer-file", 1), (2, "two", 0), (3, "three", 1)]
    assert (summary["rows_loaded"], summary["duplicate_rows_dropped"]) == (3, 1)
    assert versions.manifests() == []  # the per-file manifests are deleted with the load's own


def test_keep_last_file_refuses_two_rows_of_one_key_in_one_file(versions):
    versions.put("u/a.csv", "1,first,1\n")
    versions.put("u/b.csv", "1,second,1\n1,third,1\n")
    with pytest.raises(DuplicateKeyError, match="tie on the file order") as caught:
        versions.load(prefix="u/", mode="upsert", upsert_keys=["id"], on_duplicate_keys="keep_last_file")
    assert f"s3://{versions.bucket}/u/b.csv" in str(caught.value)
    assert versions.rows() == [(1, "current", 0), (2, "two", 0)]


def test_duplicate_key_rules_are_checked_before_any_sql(env):
    with pytest.raises(ConfigCheckError, match="duplicate_order_column exactly with"):
        env.load(prefix="u/", mode="upsert", on_duplicate_keys="keep_greatest")
    with pytest.raises(ConfigCheckError, match="with mode='upsert' only"):
        env.load(prefix="u/", on_duplicate_keys="keep_last_file")


# -- 4. upsert keys that are not unique in the table --------------------------------------------------------


def test_upsert_keys_not_unique_in_the_target_fail_without_rewriting_rows(env):
    env.db.run(f"create table {env.schema}.items (id int, v varchar(5))")
    env.db.run(f"insert into {env.schema}.items values (1, 'a'), (2, 'a'), (3, 'b')")
    env.put("u/a.csv", "9,a\n")
    with pytest.raises(DuplicateKeyError) as caught:
        env.load(prefix="u/", mode="upsert", upsert_keys=["v"])
    assert "upsert_keys (v) are not unique in the table: v='a' (2 rows)" in str(caught.value)
    assert env.rows() == [(1, "a"), (2, "a"), (3, "b")]
    summary = env.load(prefix="u/", mode="upsert", upsert_keys=["id"])  # the right key works
    assert env.rows() == [(1, "a"), (2, "a"), (3, "b"), (9, "a")]
    assert (summary["rows_inserted"], summary["rows_updated"]) == (1, 0)


def test_upsert_keys_other_than_the_primary_key_are_a_warning(env, monkeypatch):
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    # The local stack drops PRIMARY KEY from DDL (Redshift keeps it, informational, in the catalog): the
    # hook's catalog query is answered here as Redshift would.
    monkeypatch.setattr(RedshiftSQLHook, "get_table_primary_key", lambda self, table, schema: ["id"])
    env.db.run(f"create table {env.schema}.items (id int, v varchar(5))")
    env.put("u/a.csv", "1,a\n")
    summary = env.load(prefix="u/", mode="upsert", upsert_keys=["v"])
    assert any("differ from the primary key" in w and "(id)" in w for w in summary["warnings"])
    assert env.rows() == [(1, "a")]


# -- 5. two tables whose names share the text schema.name ----------------------------------------------------


def test_the_ledger_keeps_tables_with_dotted_names_apart(env):
    a = unique_name("p_")
    env.db.run(f'create schema "{a}.q"')
    env.db.run(f'create schema "{a}"')
    try:
        env.db.run(f'create table "{a}.q"."r" (id int)')
        env.db.run(f'create table "{a}"."q.r" (id int)')
        env.put("in/a.csv", "1\n")
        ledger = f"{env.schema}.s3_load_ledger"
        first = env.load(
            prefix="in/", table="r", schema=f"{a}.q", strict_identifiers=False, ledger_table=ledger
        )
        second = env.load(prefix="in/", table="q.r", schema=a, strict_identifiers=False, ledger_table=ledger)
        assert (first["files_loaded"], second["files_loaded"], second["files_skipped"]) == (1, 1, 0)
        assert env.db.run(f'select id from "{a}"."q.r"') == [(1,)]
        stored = env.db.run(f"select target_schema, target_name from {ledger} order by loaded_at")
        assert stored == [(f"{a}.q", "r"), (a, "q.r")]
    finally:
        env.db.run(f'drop schema "{a}.q" cascade')
        env.db.run(f'drop schema "{a}" cascade')


def test_an_old_ledger_is_upgraded_and_keeps_skipping_its_files(env, capfd):
    env.db.run(f"create table {env.schema}.items (id int)")
    old_columns = ", ".join(
        f"{name} {kind}" for name, kind in LEDGER_COLUMNS if name not in ("target_schema", "target_name")
    )
    env.db.run(f"create table {env.schema}.s3_load_ledger ({old_columns})")
    env.put("in/a.csv", "1\n")
    etag = env.s3.head_object(Bucket=env.bucket, Key="in/a.csv")["ETag"].strip('"')
    for table in (f"{env.schema}.items", "ambiguous.dotted.name"):
        env.db.run(
            f"insert into {env.schema}.s3_load_ledger (load_id, target_table, bucket, object_key, etag, "
            f"load_mode, loaded_at) values ('old', '{table}', '{env.bucket}', 'in/a.csv', "
            f"'{etag}', 'append', "
            "'2026-11-01 00:00:00')"
        )
    env.db.run(f"insert into {env.schema}.items values (1)")
    summary = env.load(prefix="in/")
    assert (summary["files_loaded"], summary["files_skipped"]) == (0, 1)  # the old row still counts
    assert env.rows() == [(1,)]
    assert "Upgraded the load ledger" in "".join(capfd.readouterr())
    assert any("1 row(s) of the load ledger" in w for w in summary["warnings"])
    upgraded = env.db.run(f"select target_schema, target_name from {env.schema}.s3_load_ledger order by 1")
    assert upgraded == [(env.schema, "items"), (None, None)]


# -- 6. a file rewritten after it was loaded ---------------------------------------------------------------


@pytest.fixture
def loaded_once(env):
    env.db.run(f"create table {env.schema}.items (id int, name varchar(10))")
    env.put("in/a.csv", "1,a\n2,b\n")
    env.load(prefix="in/")
    env.put("in/a.csv", "1,a\n2,b\n3,c\n")  # rewritten: a new ETag
    return env


def test_a_changed_file_fails_by_default_naming_the_key_both_etags_and_when(loaded_once):
    old = _ledger(loaded_once)
    with pytest.raises(ChangedFileError) as caught:
        loaded_once.load(prefix="in/", context=task_context("manual__2"))
    message = str(caught.value)
    new_etag = loaded_once.s3.head_object(Bucket=loaded_once.bucket, Key="in/a.csv")["ETag"].strip('"')
    assert f"s3://{loaded_once.bucket}/in/a.csv (loaded 20" in message and f"now ETag {new_etag}" in message
    assert "on_changed_file='reload'" in caught.value.fix
    assert loaded_once.rows() == [(1, "a"), (2, "b")]
    assert _ledger(loaded_once) == old


def test_a_changed_file_is_reloaded_or_skipped_when_asked(loaded_once):
    skipped = loaded_once.load(prefix="in/", on_changed_file="skip", context=task_context("manual__2"))
    assert (skipped["files_loaded"], skipped["files_skipped"]) == (0, 1)
    assert any("were skipped" in w for w in skipped["warnings"])
    reloaded = loaded_once.load(prefix="in/", on_changed_file="reload", context=task_context("manual__3"))
    assert any("were loaded again" in w for w in reloaded["warnings"])
    assert loaded_once.rows() == [(1, "a"), (1, "a"), (2, "b"), (2, "b"), (3, "c")]  # as documented
    # The ledger holds the current state; the superseded row of manual__1 is in the history.
    assert [(r[0], r[4]) for r in _ledger(loaded_once)] == [("in/a.csv", "manual__3")]
    history = loaded_once.db.run(
        f'select "object_key", "run_id" from {loaded_once.schema}.s3_load_ledger_history'
    )
    assert history == [("in/a.csv", "manual__1")]


# -- 7. a key the ledger cannot hold -------------------------------------------------------------------


def test_a_key_with_a_nul_byte_is_refused_at_listing_time_or_skipped_when_asked(env, gateway_sql):
    env.db.run(f"create table {env.schema}.items (id int)")
    env.put("in/a.csv", "1\n")
    env.put("in/bad\x00name.csv", "2\n")
    mark = gateway_sql.mark()
    with pytest.raises(InvalidKeyError) as caught:
        env.load(prefix="in/")
    assert "in/bad\\x00name.csv" in str(caught.value) and "NUL byte" in str(caught.value)
    assert gateway_sql.since(mark) == []  # refused before any connection: no raw 22021 after LOCK
    summary = env.load(prefix="in/", on_invalid_key="skip")
    assert env.rows() == [(1,)]
    assert any("in/bad\\x00name.csv" in w for w in summary["warnings"])
    assert [r[0] for r in _ledger(env)] == ["in/a.csv"]


# -- 8. a connection lost during COMMIT ---------------------------------------------------------------------


@pytest.fixture
def commit_then_break(monkeypatch):
    """Make the next load's COMMIT reach Redshift and its answer get lost (a network failure we stage).

    Real AWS is not here and the gateway cannot drop a connection between PostgreSQL's COMMIT and its
    reply, so the driver connection is wrapped: commit() commits, then raises ConnectionResetError as a
    socket that broke before the reply would.
    """
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    original = RedshiftSQLHook.get_conn

    class Breaking:
        def __init__(self, conn):
            self._conn = conn

        def __getattr__(self, name):
            return getattr(self._conn, name)

        def __setattr__(self, name, value):
            if name == "_conn":
                object.__setattr__(self, name, value)
            else:
                setattr(self._conn, name, value)

        def commit(self):
            self._conn.commit()
            raise ConnectionResetError("BrokenPipe: server socket closed (staged after COMMIT)")

    calls = []

    def get_conn(self):
        conn = original(self)
        calls.append(conn)
        return Breaking(conn) if len(calls) == 2 else conn  # the 1st is the catalog connection

    monkeypatch.setattr(RedshiftSQLHook, "get_conn", get_conn)


def test_an_append_without_ledger_whose_commit_is_unknown_is_not_retried(env, commit_then_break):
    env.db.run(f"create table {env.schema}.items (id int)")
    env.put("in/a.csv", "1\n2\n")
    with pytest.raises(CommitUnknownError) as caught:
        env.load(prefix="in/", use_ledger=False)
    from airflow.sdk.exceptions import AirflowFailException

    assert isinstance(caught.value, AirflowFailException)  # Airflow does not retry it
    assert "whether the load committed is unknown" in str(caught.value)
    assert "stl_load_commits" in caught.value.fix and "rerun the task only if it did not" in caught.value.fix
    assert env.rows() == [(1,), (2,)]  # it had committed: an automatic retry would have doubled them


def test_an_append_with_ledger_whose_commit_is_unknown_retries_and_loads_once(env, commit_then_break):
    env.db.run(f"create table {env.schema}.items (id int)")
    env.put("in/a.csv", "1\n2\n")
    with pytest.raises(RedshiftS3Error) as caught:
        env.load(prefix="in/")
    from airflow.sdk.exceptions import AirflowFailException

    assert not isinstance(caught.value, AirflowFailException)
    assert "during COMMIT" in str(caught.value) and "a retry is safe" in str(caught.value)
    retry = env.load(prefix="in/", context=task_context(try_number=2))
    assert (retry["files_loaded"], retry["files_skipped"]) == (0, 1)
    assert env.rows() == [(1,), (2,)]


# -- 9. a ledger this user may not create ---------------------------------------------------------------


@pytest.fixture
def loader(env, local_redshift, monkeypatch):
    """A database user that may read and write the target table, but not create tables in its schema."""
    env.db.run(f"create table {env.schema}.items (id int)")
    grants = (f"usage on schema {env.schema}", f"select, insert, delete on {env.schema}.items")
    with login_user(env.db, local_redshift, monkeypatch, *grants) as user:
        env.put("in/a.csv", "1\n")
        yield user


def test_a_ledger_that_cannot_be_created_fails_at_once_naming_the_grant(env, loader):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(ConfigCheckError) as caught:
        env.load(prefix="in/", redshift_conn_id="redshift_loader")
    assert isinstance(caught.value, AirflowFailException)
    assert f'GRANT CREATE ON SCHEMA "{env.schema}" TO "{loader}"' in caught.value.fix
    assert env.rows() == [] and "s3_load_ledger" not in env.db.tables()
    summary = env.load(prefix="in/", redshift_conn_id="redshift_loader", use_ledger=False)
    assert summary["rows_loaded"] == 1  # only the ledger needed the privilege


def test_a_ledger_this_user_may_not_write_fails_at_once_naming_the_grant(env, loader):
    env.load(prefix="in/", context=task_context("manual__0"), use_ledger=True)  # creates it as the admin
    env.db.run(f"delete from {env.schema}.items")
    with pytest.raises(ConfigCheckError) as caught:
        env.load(prefix="in/", redshift_conn_id="redshift_loader")
    assert f'GRANT SELECT, INSERT ON "{env.schema}"."s3_load_ledger" TO "{loader}"' in caught.value.fix
    assert env.rows() == []


# -- 10. upsert counts do not depend on the strategy ---------------------------------------------------------


def test_merge_and_delete_insert_report_the_same_counts(env):
    summaries = {}
    for strategy in ("merge", "delete_insert"):
        table = f"items_{strategy}"
        env.db.run(f"create table {env.schema}.{table} (id int, name varchar(10))")
        env.db.run(f"insert into {env.schema}.{table} values (1, 'a'), (2, 'b')")
        env.put(f"{strategy}/a.csv", "2,B\n3,c\n")
        summary = env.load(prefix=f"{strategy}/", table=f"{env.schema}.{table}", mode="upsert",
                           upsert_keys=["id"], upsert_strategy=strategy)  # fmt: skip
        summaries[strategy] = {k: summary[k] for k in ("rows_loaded", "rows_deleted", "rows_updated",
                                                       "rows_inserted")}  # fmt: skip
        assert env.rows(table) == [(1, "a"), (2, "B"), (3, "c")]
    assert summaries["merge"] == summaries["delete_insert"] == {
        "rows_loaded": 2, "rows_deleted": 0, "rows_updated": 1, "rows_inserted": 1
    }  # fmt: skip


# -- 11. manifests ----------------------------------------------------------------------------------------


def test_manifests_are_deleted_after_commit_and_kept_after_a_failure_until_the_task_succeeds(env):
    env.db.run(f"create table {env.schema}.items (id int)")
    env.put("in/a.csv", "1\nnot-a-number\n")
    with pytest.raises(Exception, match="not-a-number"):
        env.load(prefix="in/")
    (kept,) = env.manifests()  # kept for diagnosis
    assert kept.startswith(f"{MANIFESTS}load_dag/manual__1/load/")
    env.put("in/a.csv", "1\n2\n")
    summary = env.load(prefix="in/", context=task_context(try_number=2))
    assert summary["rows_loaded"] == 2
    assert env.manifests() == []  # this load's and the failed try's
    kept_on_request = env.load(prefix="in/", keep_manifests=True, on_changed_file="skip",
                               context=task_context("manual__2"))  # fmt: skip
    assert kept_on_request["files_loaded"] == 0 and env.manifests() == []  # nothing loaded: none written
    env.put("in/b.csv", "3\n")
    env.load(prefix="in/", keep_manifests=True, context=task_context("manual__3"))
    (manifest,) = env.manifests()
    body = json.loads(env.s3.get_object(Bucket=env.bucket, Key=manifest)["Body"].read())
    assert [e["url"] for e in body["entries"]] == [f"s3://{env.bucket}/in/b.csv"]
    # A first try deletes the manifest it wrote by its key (no listing), and nothing else.
    env.put("in/c.csv", "4\n")
    env.load(prefix="in/", context=task_context("manual__4"))
    assert env.manifests() == [manifest]
