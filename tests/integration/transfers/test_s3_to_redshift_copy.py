"""S3ToRedshiftCopyOperator against the local Redshift stack: formats, modes, ledger, atomicity, failures."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import threading
from types import SimpleNamespace

import pytest

from airflow_redshift_s3.copy_format import CsvFormat, JsonFormat, ParquetFormat
from airflow_redshift_s3.exceptions import (
    ChangedFileError,
    ConfigCheckError,
    CopyLoadError,
    FormatCheckError,
    PartitionMismatchError,
    PermissionCheckError,
    RegionCheckError,
)
from airflow_redshift_s3.local.pytest_plugin import create_role, unique_name
from airflow_redshift_s3.transfers.copy.request import PREFLIGHT_CHECKS
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

pytestmark = pytest.mark.integration


def _context(run_id: str = "manual__1", try_number: int = 1) -> dict:
    ti = SimpleNamespace(
        dag_id="load_dag", run_id=run_id, task_id="load", map_index=-1, try_number=try_number
    )
    return {"ti": ti, "run_id": run_id}


def _query(local_redshift, sql: str) -> list[tuple]:
    import redshift_connector

    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        conn.close()


def _execute(local_redshift, sql: str) -> None:
    import redshift_connector

    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    try:
        conn.autocommit = True
        conn.cursor().execute(sql)
    finally:
        conn.close()


class Env:
    """One test's schema, bucket and role, and a way to run the operator on them."""

    def __init__(self, stack, schema: str, bucket: str, role: str):
        self.stack, self.schema, self.bucket, self.role = stack, schema, bucket, role

    def put(self, key: str, body: bytes | str, bucket: str | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.stack.aws_client("s3").put_object(Bucket=bucket or self.bucket, Key=key, Body=data)

    def sql(self, statement: str) -> None:
        _execute(self.stack, statement)

    def rows(self, sql: str) -> list[tuple]:
        return _query(self.stack, sql)

    def table(self, name: str = "items") -> str:
        return f"{self.schema}.{name}"

    def operator(self, **kwargs) -> S3ToRedshiftCopyOperator:
        args = {
            "task_id": "load",
            "bucket": self.bucket,
            "table": self.table(),
            "iam_role_arn": self.role,
            "cluster_identifier": "local-cluster",
            # the IAM checks cost about 0.8 s a load here; the tests of roles and access turn them on
            "preflight_checks": ("region", "format"),
        }
        args.update(kwargs)
        return S3ToRedshiftCopyOperator(**args)

    def load(self, context: dict | None = None, **kwargs) -> dict:
        return self.operator(**kwargs).execute(context or _context())

    def ledger(self) -> list[tuple]:
        return self.rows(
            "select object_key, etag, load_mode, partition_value, load_rows, dag_id, run_id, task_id, "
            "try_number "
            f"from {self.schema}.s3_load_ledger order by loaded_at, object_key"
        )


@pytest.fixture
def env(local_redshift_env, redshift_schema, s3_bucket, copy_role_arn) -> Env:
    return Env(local_redshift_env, redshift_schema, s3_bucket, copy_role_arn)


ITEMS = "create table {t} (id int, name varchar(10))"


def _parquet(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


# -- formats ---------------------------------------------------------------------------------------------


def test_csv_with_header_append_summary_and_ledger(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("in/a.csv", "id,name\n1,one\n2,two\n")
    env.put("in/b.csv", "id,name\n3,three\n")
    env.put("in/", b"")  # a folder marker is not a file
    env.put("in/_SUCCESS", b"")  # nor an empty object
    summary = env.load(
        prefix="in/",
        input_format=CsvFormat(header_rows=1),
        preflight_checks=PREFLIGHT_CHECKS,
        keep_manifests=True,
    )
    assert env.rows(f"select id, name from {env.table()} order by id") == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
    ]
    assert {
        k: summary[k]
        for k in ("files_found", "files_loaded", "files_skipped", "rows_loaded", "ledger_entries")
    } == {
        "files_found": 2,
        "files_loaded": 2,
        "files_skipped": 0,
        "rows_loaded": 3,
        "ledger_entries": 2,
    }
    assert summary["bytes_loaded"] == len("id,name\n1,one\n2,two\n") + len("id,name\n3,three\n")
    assert summary["table"] == env.table() and summary["mode"] == "append"
    assert summary["manifest"].startswith(
        f"s3://{env.bucket}/_airflow_copy_manifests/load_dag/manual__1/load/"
    )
    assert summary["duration_seconds"] > 0 and summary["copy_query_id"] is not None
    json.dumps(summary)  # JSON-able XCom
    manifest = (
        env.stack.aws_client("s3")
        .get_object(Bucket=env.bucket, Key=summary["manifest"].split("/", 3)[3])["Body"]
        .read()
    )
    assert json.loads(manifest) == {
        "entries": [
            {"url": f"s3://{env.bucket}/in/a.csv", "mandatory": True},
            {"url": f"s3://{env.bucket}/in/b.csv", "mandatory": True},
        ]
    }
    ledger = env.ledger()
    assert [(r[0], r[2], r[4], r[5], r[6], r[7], r[8]) for r in ledger] == [
        ("in/a.csv", "append", 3, "load_dag", "manual__1", "load", 1),
        ("in/b.csv", "append", 3, "load_dag", "manual__1", "load", 1),
    ]
    assert all(len(r[1]) == 32 for r in ledger)  # the ETag, without quotes


def test_gzip_csv_and_key_list(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("gz/a.csv.gz", gzip.compress(b"1,one\n2,two\n"))
    env.put("gz/b.csv.gz", gzip.compress(b"3,three\n"))
    env.put("gz/c.csv.gz", gzip.compress(b"4,four\n"))
    summary = env.load(
        keys=["gz/a.csv.gz", "gz/c.csv.gz"], input_format={"type": "csv", "compression": "gzip"}
    )
    assert summary["files_loaded"] == 2
    assert env.rows(f"select id from {env.table()} order by id") == [(1,), (2,), (4,)]


def test_json_auto(env):
    env.sql(f"create table {env.table()} (id int, name varchar(10), born date)")
    env.put("j/1.json", '{"id": 1, "name": "ann", "born": "2001-02-03"}\n{"id": 2, "extra": true}\n')
    summary = env.load(prefix="j/", input_format=JsonFormat())
    assert summary["rows_loaded"] == 2
    assert env.rows(f"select id, name, born::text from {env.table()} order by id") == [
        (1, "ann", "2001-02-03"),
        (2, None, None),
    ]


def test_parquet_with_content_length_in_the_manifest(env):
    env.sql(f"create table {env.table()} (id int, name varchar(10))")
    import pyarrow as pa

    env.put("p/0.parquet", _parquet({"id": pa.array([1, 2], pa.int32()), "name": ["a", "b"]}))
    env.put("p/1.parquet", _parquet({"id": pa.array([3], pa.int32()), "name": ["c"]}))
    summary = env.load(prefix="p/", input_format=ParquetFormat(), keep_manifests=True)
    assert summary["rows_loaded"] == 3
    manifest = json.loads(
        env.stack.aws_client("s3")
        .get_object(Bucket=env.bucket, Key=summary["manifest"].split("/", 3)[3])["Body"]
        .read()
    )
    assert all(entry["meta"]["content_length"] > 0 for entry in manifest["entries"])
    assert env.rows(f"select count(*) from {env.table()}") == [(3,)]


@pytest.mark.parametrize(
    "mode",
    [{"mode": "replace_partition", "partition_column": "load_date", "partition_value": "2026-11-27"},
     {"mode": "upsert", "upsert_keys": ["id"]}],
    ids=["replace_partition", "upsert"],
)  # fmt: skip
def test_parquet_through_a_staging_table(env, mode):
    # The staging COPY must not carry COMPUPDATE, which a Parquet COPY refuses (42601).
    import pyarrow as pa

    t = env.table()
    env.sql(f"create table {t} (id int, name varchar(10), load_date date)")
    env.sql(f"insert into {t} values (1, 'old', '2026-11-27'), (9, 'keep', '2026-11-26')")
    env.put("pq/0.parquet", _parquet({"id": pa.array([1, 2], pa.int32()), "name": ["a", "b"]}))
    columns = ["id", "name"] if mode["mode"] == "upsert" else None
    summary = env.load(prefix="pq/", input_format=ParquetFormat(), column_list=columns, **mode)
    assert summary["rows_loaded"] == 2
    rows = env.rows(f"select id, name, load_date::text from {t} order by id")
    if mode["mode"] == "upsert":
        assert rows == [(1, "a", "2026-11-27"), (2, "b", None), (9, "keep", "2026-11-26")]
    else:
        assert rows == [(1, "a", "2026-11-27"), (2, "b", "2026-11-27"), (9, "keep", "2026-11-26")]


def test_format_preflight_stops_before_any_write(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("h/a.csv", "id,name\n1,one\n")
    with pytest.raises(FormatCheckError, match="looks like a header") as caught:
        env.load(prefix="h/")  # header_rows=0
    assert caught.value.fix == "set header_rows=1 in the input format"
    assert env.rows(f"select count(*) from {env.table()}") == [(0,)]
    assert env.rows(f"select count(*) from pg_tables where schemaname = '{env.schema}'") == [
        (1,)
    ]  # no ledger


# -- modes -----------------------------------------------------------------------------------------------


def test_replace_deletes_and_loads_in_one_transaction(env):
    env.sql(ITEMS.format(t=env.table()))
    env.sql(f"insert into {env.table()} values (9, 'old'), (10, 'old')")
    env.put("r/a.csv", "1,one\n2,two\n")
    summary = env.load(prefix="r/", mode="replace")
    assert env.rows(f"select id, name from {env.table()} order by id") == [(1, "one"), (2, "two")]
    assert (summary["rows_deleted"], summary["rows_loaded"], summary["rows_inserted"]) == (2, 2, 2)
    again = env.load(prefix="r/", mode="replace")  # idempotent: replaces again
    assert again["files_loaded"] == 1
    assert env.rows(f"select count(*) from {env.table()}") == [(2,)]
    skipped = env.load(prefix="r/", mode="replace", skip_loaded_files=True)  # the last load had these files
    assert skipped["files_loaded"] == 0 and skipped["files_skipped"] == 1


def test_replace_partition_is_idempotent_and_fills_the_partition_column(env):
    t = env.table()
    env.sql(f"create table {t} (id int, amount int, load_date date)")
    env.sql(f"insert into {t} values (1, 10, '2026-11-26'), (2, 20, '2026-11-27'), (3, 30, '2026-11-27')")
    env.put("day/2026-11-27/a.csv", "2,21\n4,40\n")

    def load(ds: str) -> dict:
        return env.load(
            prefix=f"day/{ds}/", mode="replace_partition", partition_column="load_date", partition_value=ds
        )

    summary = load("2026-11-27")
    expected = [(1, 10, "2026-11-26"), (2, 21, "2026-11-27"), (4, 40, "2026-11-27")]
    assert env.rows(f"select id, amount, load_date::text from {t} order by id") == expected
    assert (summary["rows_deleted"], summary["rows_loaded"], summary["rows_inserted"]) == (2, 2, 2)
    load("2026-11-27")  # a rerun (or backfill) gives the same table
    assert env.rows(f"select id, amount, load_date::text from {t} order by id") == expected
    assert {r[3] for r in env.ledger()} == {"2026-11-27"}


def test_replace_partition_with_the_column_in_the_files_refuses_other_partitions(env):
    t = env.table()
    env.sql(f"create table {t} (id int, region varchar(8))")
    env.sql(f"insert into {t} values (1, 'eu'), (2, 'us')")
    env.put("reg/eu.csv", "3,eu\n")
    env.put("reg/mixed.csv", "4,eu\n5,us\n")
    env.load(keys=["reg/eu.csv"], mode="replace_partition", partition_column="region", partition_value="eu",
             column_list=["id", "region"])  # fmt: skip
    assert env.rows(f"select id, region from {t} order by id") == [(2, "us"), (3, "eu")]
    with pytest.raises(PartitionMismatchError, match="1 row"):
        env.load(keys=["reg/mixed.csv"], mode="replace_partition", partition_column="region",
                 partition_value="eu", column_list=["id", "region"])  # fmt: skip
    assert env.rows(f"select id, region from {t} order by id") == [(2, "us"), (3, "eu")]


@pytest.mark.parametrize("strategy", ["merge", "delete_insert"])
def test_upsert_deduplicates_and_honours_the_column_list(env, strategy):
    t = env.table()
    env.sql(f"create table {t} (id int, name varchar(10), note varchar(10) default 'dflt')")
    env.sql(f"insert into {t} values (1, 'one', 'keep'), (2, 'two', 'keep')")
    env.put("u/a.csv", "2,TWO\n3,three\n3,three\n")  # an exact duplicate
    summary = env.load(prefix="u/", mode="upsert", upsert_keys=["id"], column_list=["id", "name"],
                       upsert_strategy=strategy)  # fmt: skip
    expected_note = "keep" if strategy == "merge" else "dflt"  # delete+insert rewrites the whole row
    assert env.rows(f"select id, name, note from {t} order by id") == [
        (1, "one", "keep"),
        (2, "TWO", expected_note),
        (3, "three", "dflt"),
    ]
    assert (summary["rows_loaded"], summary["duplicate_rows_dropped"]) == (3, 1)
    assert (summary["rows_updated"], summary["rows_inserted"]) == (1, 1)


def test_upsert_keys_default_to_the_primary_key(env, monkeypatch):
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    # The local stack drops PRIMARY KEY from DDL (Redshift keeps it, informational, in the catalog).
    monkeypatch.setattr(
        RedshiftSQLHook,
        "get_table_primary_key",
        lambda self, table, schema: ["id"] if table == "items" else None,
    )
    t = env.table()
    env.sql(f"create table {t} (id int primary key, name varchar(10))")
    env.sql(f"insert into {t} values (1, 'one')")
    env.put("pk/a.csv", "1,ONE\n2,two\n")
    env.load(prefix="pk/", mode="upsert")
    assert env.rows(f"select id, name from {t} order by id") == [(1, "ONE"), (2, "two")]
    env.sql(ITEMS.format(t=env.table("nokey")))
    with pytest.raises(ConfigCheckError, match="upsert_keys"):
        env.load(prefix="pk/", mode="upsert", table=env.table("nokey"))


# -- the ledger ------------------------------------------------------------------------------------------


def test_rerun_loads_nothing_and_a_changed_file_loads_again_when_asked(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("l/a.csv", "1,one\n")
    env.put("l/b.csv", "2,two\n")
    first = env.load(prefix="l/")
    rerun = env.load(prefix="l/", context=_context("manual__1", try_number=2))
    assert (first["files_loaded"], rerun["files_loaded"], rerun["files_skipped"]) == (2, 0, 2)
    assert rerun["manifest"] is None and rerun["ledger_entries"] == 0
    env.put("l/b.csv", "2,two\n3,three\n")  # changed: a new ETag
    env.put("l/c.csv", "4,four\n")  # new
    with pytest.raises(ChangedFileError, match=r"l/b\.csv"):  # the default: a decision for the user
        env.load(prefix="l/", context=_context("manual__2"))
    third = env.load(
        prefix="l/", context=_context("manual__2"), on_changed_file="reload", keep_manifests=True
    )
    assert (third["files_loaded"], third["files_skipped"], third["rows_loaded"]) == (2, 1, 3)
    # reload in append mode appends the changed file again: rows 2 from both versions
    assert env.rows(f"select id from {env.table()} order by id") == [(1,), (2,), (2,), (3,), (4,)]
    # The ledger is the current state: b.csv's first row moved to the history.
    assert [r[0] for r in env.ledger()] == ["l/a.csv", "l/b.csv", "l/c.csv"]
    manifest = json.loads(
        env.stack.aws_client("s3")
        .get_object(Bucket=env.bucket, Key=third["manifest"].split("/", 3)[3])["Body"]
        .read()
    )
    assert [e["url"].rsplit("/", 1)[1] for e in manifest["entries"]] == ["b.csv", "c.csv"]


def test_changed_file_in_upsert_mode_updates_the_rows(env):
    t = env.table()
    env.sql(ITEMS.format(t=t))
    env.put("up/a.csv", "1,one\n2,two\n")
    env.load(prefix="up/", mode="upsert", upsert_keys=["id"], skip_loaded_files=True)
    assert (
        env.load(prefix="up/", mode="upsert", upsert_keys=["id"], skip_loaded_files=True)["files_loaded"] == 0
    )
    env.put("up/a.csv", "1,ONE\n2,two\n")
    env.load(prefix="up/", mode="upsert", upsert_keys=["id"], skip_loaded_files=True)
    assert env.rows(f"select id, name from {t} order by id") == [(1, "ONE"), (2, "two")]


def test_custom_ledger_and_no_ledger(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("cl/a.csv", "1,one\n")
    env.load(prefix="cl/", ledger_table=f"{env.schema}.my_ledger")
    assert env.rows(f"select object_key from {env.schema}.my_ledger") == [("cl/a.csv",)]
    env.load(prefix="cl/", use_ledger=False)
    assert env.rows(f"select count(*) from {env.table()}") == [(2,)]


# -- atomicity and load errors -----------------------------------------------------------------------------


ATOMIC_MODES = [
    {"mode": "append"},
    {"mode": "replace"},
    {"mode": "replace_partition", "partition_column": "name", "partition_value": "old"},
    {"mode": "upsert", "upsert_keys": ["id"]},
    {"mode": "upsert", "upsert_keys": ["id"], "upsert_strategy": "delete_insert"},
]


@pytest.mark.reliability
@pytest.mark.parametrize("mode", ATOMIC_MODES, ids=lambda m: "-".join(str(v) for v in m.values())[:30])
def test_a_bad_row_in_the_last_file_leaves_the_table_exactly_as_it_was(env, mode):
    t = env.table()
    env.sql(ITEMS.format(t=t))
    env.sql(f"insert into {t} values (1, 'old'), (2, 'old'), (3, 'other')")
    before = env.rows(f"select id, name from {t} order by id, name")
    env.put("bad/1.csv", "1,old\n5,old\n")
    env.put("bad/2.csv", "6,old\nseven,old\n")
    columns = ["id", "name"] if mode["mode"] == "replace_partition" else None
    with pytest.raises(CopyLoadError):
        env.load(prefix="bad/", column_list=columns, **mode)
    assert env.rows(f"select id, name from {t} order by id, name") == before
    assert env.rows(f"select count(*) from {env.schema}.s3_load_ledger") == [(0,)]


def test_load_error_message_lists_file_line_column_value_code_and_reason(env):
    t = env.table()
    env.sql(f"create table {t} (id int, name varchar(3), born date)")
    env.put("e/1.csv", "1,ann,2001-02-03\n")
    env.put("e/2.csv", "2,bob,2002-03-04\nfour,dee,2004-05-06\n5,toolongname,2001-01-01\n")
    with pytest.raises(CopyLoadError) as caught:
        env.load(prefix="e/", input_format=CsvFormat(max_errors=1), preflight_checks=())
    error = caught.value
    text = str(error)
    assert f"COPY into {t} failed" in text
    assert f"s3://{env.bucket}/e/2.csv, line 2, column id" in text
    assert "error 1207" in text and "Invalid digit" in text and "raw value 'four'" in text
    assert f"s3://{env.bucket}/e/2.csv, line 3, column name" in text and "raw value 'toolongname'" in text
    assert "max_errors was 1" in text and "Fix:" in text
    assert [(e.line, e.column, e.code) for e in error.errors] == [(2, "id", 1207), (3, "name", 1204)]
    assert error.errors[0].raw_line == "four,dee,2004-05-06"
    assert env.rows(f"select count(*) from {t}") == [(0,)]
    from airflow.sdk.exceptions import AirflowFailException

    assert isinstance(error, AirflowFailException)  # bad data: no retry


# -- region and role failures --------------------------------------------------------------------------------


@pytest.fixture
def eu_data(env, eu_bucket):
    """A bucket in eu-west-1 (tests/integration/conftest.py) holding x/1.csv."""
    env.stack.aws_client("s3", region="eu-west-1").put_object(
        Bucket=eu_bucket, Key="x/1.csv", Body=b"1,one\n"
    )
    return eu_bucket


def test_bucket_in_another_region_gets_region_or_fails_per_policy(env, eu_data):
    env.sql(ITEMS.format(t=env.table()))
    summary = env.load(bucket=eu_data, prefix="x/")
    assert summary["region"] == "eu-west-1"
    assert any("cross-region" in w for w in summary["warnings"])
    assert env.rows(f"select id from {env.table()}") == [(1,)]
    with pytest.raises(RegionCheckError, match="eu-west-1") as caught:
        env.load(bucket=eu_data, prefix="x/", on_region_mismatch="fail", use_ledger=False)
    assert "set_region" in caught.value.fix
    with pytest.raises(RegionCheckError, match="PARQUET"):
        env.load(bucket=eu_data, prefix="x/", input_format=ParquetFormat(), use_ledger=False)


def test_region_failure_from_copy_itself_says_add_region(env, eu_data):
    env.sql(ITEMS.format(t=env.table()))
    with pytest.raises(RegionCheckError) as caught:
        env.load(bucket=eu_data, prefix="x/", preflight_checks=())
    assert "PermanentRedirect" in str(caught.value) and "add REGION 'eu-west-1'" in caught.value.fix
    assert env.rows(f"select count(*) from {env.table()}") == [(0,)]


def test_role_not_attached(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("r/1.csv", "1,one\n")
    detached = env.stack.create_copy_role(unique_name("detached-"), resources=["*"], attach=False)
    with pytest.raises(PermissionCheckError, match="not attached") as caught:
        env.load(prefix="r/", iam_role_arn=detached, preflight_checks=PREFLIGHT_CHECKS)
    assert "modify-cluster-iam-roles --cluster-identifier local-cluster" in caught.value.fix
    with pytest.raises(PermissionCheckError) as caught:  # no preflight: COPY's own error, translated
        env.load(prefix="r/", iam_role_arn=detached, preflight_checks=())
    assert f"Not authorized to get credentials of role {detached}" in str(caught.value)
    assert f"attach role {detached} to cluster 'local-cluster'" in caught.value.fix


def test_role_being_attached_is_waited_for(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("w/1.csv", "1,one\n")
    arn = env.stack.create_copy_role(unique_name("adding-"), resources=["*"], attach=False)
    env.stack.aws.role_apply_delay = 1.5
    try:
        env.stack.aws_client("redshift").modify_cluster_iam_roles(
            ClusterIdentifier="local-cluster", AddIamRoles=[arn]
        )
        summary = env.load(
            prefix="w/", iam_role_arn=arn, role_wait_timeout=20, preflight_checks=PREFLIGHT_CHECKS
        )
    finally:
        env.stack.aws.role_apply_delay = 0.3
    assert summary["rows_loaded"] == 1


def _least_privilege_role(env, name: str, object_resource: str) -> str:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": object_resource},
        ],
    }
    arn = create_role(env.stack, unique_name(name), policy)
    env.stack.attach_role(arn)
    return arn


def test_role_that_may_not_read_the_files(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("deny/1.csv", "1,one\n")
    arn = _least_privilege_role(env, "other-prefix-", f"arn:aws:s3:::{env.bucket}/other/*")
    with pytest.raises(PermissionCheckError, match="s3:GetObject") as caught:
        env.load(prefix="deny/", iam_role_arn=arn, preflight_checks=PREFLIGHT_CHECKS)
    assert f"arn:aws:s3:::{env.bucket}/deny/*" in caught.value.fix
    with pytest.raises(PermissionCheckError) as caught:
        env.load(prefix="deny/", iam_role_arn=arn, preflight_checks=())
    assert "Access Denied" in str(caught.value)
    assert f"s3:GetObject on arn:aws:s3:::{env.bucket}/deny/*" in caught.value.fix


def test_least_privilege_role_needs_the_manifest_location(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("lp/1.csv", "1,one\n")
    arn = _least_privilege_role(env, "lp-", f"arn:aws:s3:::{env.bucket}/lp/*")
    with pytest.raises(PermissionCheckError, match="manifest"):
        env.load(prefix="lp/", iam_role_arn=arn, preflight_checks=PREFLIGHT_CHECKS)
    summary = env.load(
        prefix="lp/", iam_role_arn=arn, manifest_prefix="lp/_manifests/", preflight_checks=PREFLIGHT_CHECKS
    )
    assert (summary["files_found"], summary["rows_loaded"]) == (1, 1)  # the manifests are not data
    assert (
        env.load(
            prefix="lp/",
            iam_role_arn=arn,
            manifest_prefix="lp/_manifests/",
            preflight_checks=PREFLIGHT_CHECKS,
        )["files_found"]
        == 1
    )


# -- concurrency, Serverless, credentials ------------------------------------------------------------


class _SlowCopy(S3ToRedshiftCopyOperator):
    """Hold the lock a little longer, so that the two loads overlap."""

    def _run(self, cursor, step):
        super()._run(cursor, step)
        if step.name == "copy":
            import time

            time.sleep(0.5)


@pytest.mark.reliability
def test_the_role_checks_ask_iam_at_the_same_time(env, monkeypatch):
    """GetRole (trust) and SimulatePrincipalPolicy (access) are in flight together, and the load goes on.

    On AWS each IAM call is a round trip of tens of milliseconds; the preflight's calls that need no other
    answer run concurrently. A barrier in botocore's before-send for both calls proves it: done one after
    the other, the first call waits at it alone and the barrier breaks.
    """
    import botocore.handlers

    meeting = threading.Barrier(2, timeout=20)
    met: list[str] = []

    def meet(event_name: str, **_: object) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation in met:
            return  # the manifest's simulation comes after the files' one: only the first one meets
        met.append(operation)
        try:
            meeting.wait()
        except threading.BrokenBarrierError:
            met.append(f"{operation} waited alone")

    handlers = [
        *botocore.handlers.BUILTIN_HANDLERS,
        ("before-send.iam.GetRole", meet),
        ("before-send.iam.SimulatePrincipalPolicy", meet),
    ]
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)
    env.sql(ITEMS.format(t=env.table()))
    env.put("together/1.csv", "1,one\n")
    summary = env.load(prefix="together/", preflight_checks=PREFLIGHT_CHECKS)
    assert sorted(met) == ["GetRole", "SimulatePrincipalPolicy"]
    assert summary["rows_loaded"] == 1


def test_a_role_that_redshift_may_not_assume_stops_the_checks_there(env):
    """The access simulation ran beside the trust check, but a trust failure is the one reported."""
    env.sql(ITEMS.format(t=env.table()))
    env.put("untrusted/1.csv", "1,one\n")
    arn = env.stack.create_copy_role(unique_name("untrusted-"), resources=["*"])
    trust = {  # changed after the attachment (which checks it): a role edited since
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    env.stack.aws_client("iam").update_assume_role_policy(
        RoleName=arn.rsplit("/", 1)[-1], PolicyDocument=json.dumps(trust)
    )
    with pytest.raises(PermissionCheckError, match="trust") as caught:
        env.load(prefix="untrusted/", iam_role_arn=arn, preflight_checks=PREFLIGHT_CHECKS)
    assert "s3:GetObject" not in str(caught.value)
    assert env.rows(f"select count(*) from {env.table()}") == [(0,)]


def test_two_concurrent_loads_into_one_table_serialise(env):
    t = env.table()
    env.sql(ITEMS.format(t=t))
    env.put("c/a.csv", "".join(f"{i},n\n" for i in range(500)))
    env.put("d/a.csv", "".join(f"{i},m\n" for i in range(500, 700)))
    results: list = []

    def run(prefix: str, run_id: str) -> None:
        op = _SlowCopy(task_id="load", bucket=env.bucket, table=t, prefix=prefix, iam_role_arn=env.role,
                       cluster_identifier="local-cluster", preflight_checks=())  # fmt: skip
        try:
            results.append(op.execute(_context(run_id)))
        except Exception as error:
            results.append(error)

    threads = [threading.Thread(target=run, args=(p, f"run_{i}")) for i, p in enumerate(["c/", "c/", "d/"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(isinstance(r, dict) for r in results), results
    # The same files twice: one load loads them; the other, once it has the lock, finds them in the ledger.
    assert sorted((r["files_loaded"], r["files_skipped"]) for r in results) == [(0, 1), (1, 0), (1, 0)]
    assert env.rows(f"select count(*), count(distinct id) from {t}") == [(700, 700)]


def test_serverless_workgroup(env, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_REDSHIFT_SERVERLESS", env.stack.redshift_conn_uri(serverless=True))
    env.sql(ITEMS.format(t=env.table()))
    env.put("s/1.csv", "1,one\n")
    summary = env.load(prefix="s/", redshift_conn_id="redshift_serverless", cluster_identifier=None,
                       workgroup_name="local-workgroup", preflight_checks=PREFLIGHT_CHECKS)  # fmt: skip
    assert summary["rows_loaded"] == 1


def test_key_based_credentials_are_refused_unless_enabled_and_then_masked(env, capsys):
    env.sql(ITEMS.format(t=env.table()))
    env.put("k/1.csv", "1,one\n")
    with pytest.raises(ConfigCheckError, match="iam_role_arn"):
        env.load(prefix="k/", iam_role_arn=None)
    capsys.readouterr()
    summary = env.load(prefix="k/", iam_role_arn=None, allow_key_based_credentials=True)
    assert summary["rows_loaded"] == 1
    out = capsys.readouterr()
    copy_lines = [line for line in (out.out + out.err).splitlines() if "copy: COPY " in line]
    assert copy_lines and all("SECRET_ACCESS_KEY '***'" in line for line in copy_lines)
    assert not any("SECRET_ACCESS_KEY 'testing'" in line for line in copy_lines)


def test_no_file_fails_or_succeeds_when_allowed(env):
    env.sql(ITEMS.format(t=env.table()))
    from airflow_redshift_s3.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError, match="No file to load"):
        env.load(prefix="nothing/")
    assert env.load(prefix="nothing/", allow_no_files=True)["files_found"] == 0
    with pytest.raises(ResourceNotFoundError, match="does not exist"):
        env.load(keys=["nothing/x.csv"])


def test_unqualified_table_uses_the_current_schema(env):
    env.sql(ITEMS.format(t=env.table()))
    env.put("q/1.csv", "1,one\n")
    env.sql(f"alter user awsuser set search_path to {env.schema}")
    try:
        summary = env.load(prefix="q/", table="items")
    finally:
        env.sql("alter user awsuser reset search_path")
    assert summary["table"] == env.table()
    assert env.rows(f"select count(*) from {env.table()}") == [(1,)]


def test_partition_values_from_a_date(env):
    t = env.table()
    env.sql(f"create table {t} (id int, d date)")
    env.put("pd/1.csv", "1\n")
    env.load(
        prefix="pd/", mode="replace_partition", partition_column="d", partition_value=dt.date(2026, 1, 2)
    )
    assert env.rows(f"select id, d::text from {t}") == [(1, "2026-01-02")]
