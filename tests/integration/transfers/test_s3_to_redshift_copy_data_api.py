"""S3ToRedshiftCopyOperator over the Redshift Data API (``redshift_data_api_kwargs``), on the local stack.

The local Data API runs each BatchExecuteStatement as one transaction on the gateway's database, as the Data
API reference describes Redshift doing it ("If any SQL statement fails, all work is rolled back"); these
tests hold the load to the same guarantees as over redshift_connector: atomic replace, exactly-once ledger,
bad rows reported with their file and line, permission failures translated, and every data-safety refusal.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_redshift_s3.copy_format import CsvFormat
from airflow_redshift_s3.exceptions import (
    ConcurrentLoadError,
    ConfigCheckError,
    CopyLoadError,
    DuplicateKeyError,
    EmptyReplaceError,
    PartitionMismatchError,
    PermissionCheckError,
    RegionCheckError,
)
from airflow_redshift_s3.local.pytest_plugin import unique_name
from airflow_redshift_s3.local.stack import CLUSTER_IDENTIFIER, DATABASE, MASTER_USER
from airflow_redshift_s3.transfers.copy.data_api_load import DataApiLoad
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

pytestmark = pytest.mark.integration

DATA_API = {"database": DATABASE, "cluster_identifier": CLUSTER_IDENTIFIER, "db_user": MASTER_USER}


def _context(run_id: str = "manual__1") -> dict:
    ti = SimpleNamespace(dag_id="load_dag", run_id=run_id, task_id="load", map_index=-1, try_number=1)
    return {"ti": ti, "run_id": run_id}


class Env:
    def __init__(self, stack, schema: str, bucket: str, role: str):
        self.stack, self.schema, self.bucket, self.role = stack, schema, bucket, role
        self.t = f"{schema}.items"

    def put(self, key: str, body: str) -> None:
        self.stack.aws_client("s3").put_object(Bucket=self.bucket, Key=key, Body=body.encode())

    def rows(self, sql: str) -> list[tuple]:
        import redshift_connector

        conn = redshift_connector.connect(**self.stack.connect_kwargs())
        try:
            conn.autocommit = True
            cursor = conn.cursor()
            cursor.execute(sql)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
        finally:
            conn.close()

    def load(self, **kwargs) -> dict:
        args = {
            "task_id": "load",
            "bucket": self.bucket,
            "table": self.t,
            "iam_role_arn": self.role,
            "preflight_checks": ("region", "format"),
            # no redshift connection at all: the load must not need one
            "redshift_conn_id": "no_such_connection",
            "redshift_data_api_kwargs": {**DATA_API, "poll_interval": 0.2},
        }
        args.update(kwargs)
        return S3ToRedshiftCopyOperator(**args).execute(_context())

    def ledger(self) -> list[tuple]:
        return self.rows(
            f"select object_key, load_mode, load_rows from {self.schema}.s3_load_ledger order by object_key"
        )


@pytest.fixture
def env(local_redshift_env, redshift_schema, s3_bucket, copy_role_arn) -> Env:
    return Env(local_redshift_env, redshift_schema, s3_bucket, copy_role_arn)


def test_append_loads_once_and_the_ledger_counts_the_rows(env):
    env.rows(f"create table {env.t} (id int, name varchar(20))")
    env.put("a/1.csv", "1,it's\n2,back\\slash\n")
    env.put("a/2.csv", "3,three\n")
    summary = env.load(prefix="a/")
    assert (summary["files_loaded"], summary["rows_loaded"], summary["rows_inserted"]) == (2, 3, 3)
    again = env.load(prefix="a/")
    assert (again["files_loaded"], again["files_skipped"]) == (0, 2)
    assert env.rows(f"select id, name from {env.t} order by id") == [
        (1, "it's"),
        (2, "back\\slash"),
        (3, "three"),
    ]
    assert env.ledger() == [("a/1.csv", "append", 3), ("a/2.csv", "append", 3)]


def test_a_rewritten_file_is_reloaded_and_its_old_ledger_row_moves_to_the_history(env):
    """The compaction is a transaction of its own: over the Data API, one batch at COMMIT."""
    env.rows(f"create table {env.t} (id int, name varchar(20))")
    env.put("h/1.csv", "1,one\n")
    env.load(prefix="h/")
    env.put("h/1.csv", "1,uno\n")
    summary = env.load(prefix="h/", on_changed_file="reload")
    assert summary["files_loaded"] == 1 and not [
        w for w in summary["warnings"] if "compact" in w or "moving" in w
    ]
    assert env.ledger() == [("h/1.csv", "append", 1)]
    history = env.rows(f"select object_key, load_mode from {env.schema}.s3_load_ledger_history")
    assert history == [("h/1.csv", "append")]


def test_a_key_with_quote_and_backslash_is_recorded_exactly(env):
    """The ledger rows travel inlined (a batch takes no parameters): the literal must mean the same key."""
    env.rows(f"create table {env.t} (id int, name varchar(20))")
    key = "q/o'brien\\x.csv"
    env.put(key, "1,one\n")
    env.load(prefix="q/")
    assert env.ledger() == [(key, "append", 1)]
    assert env.load(prefix="q/")["files_skipped"] == 1


def test_replace_is_atomic_and_refuses_to_empty_the_table(env):
    env.rows(f"create table {env.t} (id int, name varchar(20))")
    env.rows(f"insert into {env.t} values (1, 'old'), (2, 'old')")
    env.put("r/1.csv", "5,new\n")
    assert env.load(prefix="r/", mode="replace")["rows_deleted"] == 2
    assert env.rows(f"select id, name from {env.t}") == [(5, "new")]
    env.put("e/header_only.csv", "id,name\n")
    with pytest.raises(EmptyReplaceError, match="refusing to replace 1 row"):
        env.load(prefix="e/", mode="replace", input_format=CsvFormat(header_rows=1))
    assert env.rows(f"select id, name from {env.t}") == [(5, "new")]


def test_replace_partition_refuses_rows_of_another_partition(env):
    env.rows(f"create table {env.t} (id int, day date)")
    env.rows(f"insert into {env.t} values (1, '2026-11-01')")
    env.put("p/1.csv", "7,2026-11-02\n8,2026-11-03\n")
    partition = {"mode": "replace_partition", "partition_column": "day", "partition_value": "2026-11-02"}
    with pytest.raises(PartitionMismatchError, match="1 row"):
        env.load(prefix="p/", column_list=["id", "day"], **partition)
    assert env.rows(f"select id from {env.t}") == [(1,)]
    env.put("p/1.csv", "7,2026-11-02\n")
    summary = env.load(prefix="p/", column_list=["id", "day"], **partition)
    assert summary["rows_inserted"] == 1
    assert sorted(env.rows(f"select id from {env.t}")) == [(1,), (7,)]


def test_upsert_counts_and_duplicate_keys(env):
    env.rows(f"create table {env.t} (id int, name varchar(20))")
    env.rows(f"insert into {env.t} values (1, 'old')")
    env.put("u/1.csv", "1,new\n2,two\n")
    summary = env.load(prefix="u/", mode="upsert", upsert_keys=["id"])
    assert (summary["rows_updated"], summary["rows_inserted"]) == (1, 1)
    env.put("d/1.csv", "3,a\n")
    env.put("d/2.csv", "3,b\n")
    with pytest.raises(DuplicateKeyError) as caught:
        env.load(prefix="d/", mode="upsert", upsert_keys=["id"])
    text = str(caught.value)
    assert "id=3" in text and "d/1.csv" in text and "d/2.csv" in text
    assert env.rows(f"select id, name from {env.t} order by id") == [(1, "new"), (2, "two")]


def test_bad_rows_are_reported_from_the_failed_copys_own_session(env):
    env.rows(f"create table {env.t} (id int, name varchar(3))")
    env.put("b/1.csv", "1,ann\nfour,bob\n")
    with pytest.raises(CopyLoadError) as caught:
        env.load(prefix="b/", input_format=CsvFormat(max_errors=0), preflight_checks=())
    text = str(caught.value)
    assert f"s3://{env.bucket}/b/1.csv, line 2, column id" in text and "raw value 'four'" in text
    assert env.rows(f"select count(*) from {env.t}") == [(0,)]
    assert env.rows(f"select count(*) from {env.schema}.s3_load_ledger") == [(0,)]


def test_copy_refused_for_a_detached_role_is_explained(env):
    env.rows(f"create table {env.t} (id int, name varchar(3))")
    env.put("r/1.csv", "1,one\n")
    detached = env.stack.create_copy_role(unique_name("detached-"), resources=["*"], attach=False)
    with pytest.raises(PermissionCheckError) as caught:
        env.load(prefix="r/", iam_role_arn=detached, preflight_checks=())
    assert f"attach role {detached}" in caught.value.fix


def test_a_file_committed_by_another_load_meanwhile_is_not_loaded_twice(env, monkeypatch):
    """Reproduces the race: the ledger read before the batch is stale (another load committed since)."""
    env.rows(f"create table {env.t} (id int, name varchar(20))")
    env.put("c/1.csv", "1,one\n")
    env.load(prefix="c/")
    fresh_read = DataApiLoad._to_load
    monkeypatch.setattr(DataApiLoad, "_to_load", lambda self, control: list(self.files))
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(ConcurrentLoadError, match="a retry skips") as caught:
        env.load(prefix="c/")
    assert not isinstance(caught.value, AirflowFailException)  # Airflow retries it
    assert env.rows(f"select count(*) from {env.t}") == [(1,)]
    assert len(env.ledger()) == 1
    monkeypatch.setattr(DataApiLoad, "_to_load", fresh_read)  # the retry reads the ledger as it is now
    assert env.load(prefix="c/")["files_skipped"] == 1
    assert env.rows(f"select count(*) from {env.t}") == [(1,)]


def test_bad_data_api_kwargs_are_refused_before_any_call(env):
    env.put("k/1.csv", "1,one\n")
    with pytest.raises(ConfigCheckError, match="exactly one"):
        env.load(prefix="k/", redshift_data_api_kwargs={"database": DATABASE})
    with pytest.raises(ConfigCheckError, match="unknown key"):
        env.load(prefix="k/", redshift_data_api_kwargs={**DATA_API, "ClusterIdentifier": "x"})


def test_transport_data_api_takes_its_target_from_the_redshift_connection(env):
    """What the manual DAG's "transport" Param does: same connection, statements over the Data API."""
    env.rows(f"create table {env.t} (id int, name varchar(20))")
    env.put("t/1.csv", "1,one\n")
    statements = env.stack.aws_client("redshift-data").list_statements(MaxResults=100)["Statements"]
    summary = env.load(
        prefix="t/",
        transport="data_api",
        redshift_data_api_kwargs=None,
        redshift_conn_id="redshift_default",
        cluster_identifier=CLUSTER_IDENTIFIER,
    )
    assert summary["rows_loaded"] == 1
    after = env.stack.aws_client("redshift-data").list_statements(MaxResults=100)["Statements"]
    batches = [s for s in after if s.get("IsBatchStatement") and s not in statements]
    assert any("COPY" in " ".join(s.get("QueryStrings") or []) for s in batches)


def test_a_transport_that_does_not_exist_or_contradicts_its_kwargs_is_refused(env):
    env.put("x/1.csv", "1,one\n")
    with pytest.raises(
        ConfigCheckError, match="transport is 'jdbc': expected one of redshift_connector, data_api"
    ):
        env.load(prefix="x/", transport="jdbc")
    with pytest.raises(ConfigCheckError, match="one way to reach Redshift"):
        env.load(prefix="x/", transport="redshift_connector")


@pytest.fixture
def eu_data(env, eu_bucket):
    """A bucket in eu-west-1 (tests/integration/conftest.py) holding x/1.csv."""
    env.stack.aws_client("s3", region="eu-west-1").put_object(
        Bucket=eu_bucket, Key="x/1.csv", Body=b"1,one\n"
    )
    return eu_bucket


def test_a_bucket_in_another_region_gets_region_and_copy_s_own_redirect_is_explained(env, eu_data):
    env.rows(f"create table {env.t} (id int, name varchar(20))")
    with pytest.raises(RegionCheckError) as caught:
        env.load(bucket=eu_data, prefix="x/", preflight_checks=())
    assert "PermanentRedirect" in str(caught.value) and "add REGION 'eu-west-1'" in caught.value.fix
    assert env.rows(f"select count(*) from {env.t}") == [(0,)]
    summary = env.load(bucket=eu_data, prefix="x/")
    assert summary["region"] == "eu-west-1" and env.rows(f"select id from {env.t}") == [(1,)]


def test_an_answer_lost_after_commit_is_retried_without_loading_twice(env, monkeypatch):
    """The batch commits, then DescribeStatement's answer is lost (a network cut, simulated here)."""
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_redshift_s3.transfers.copy.data_api import DataApiClient

    env.rows(f"create table {env.t} (id int, name varchar(20))")
    env.put("l/1.csv", "1,one\n2,two\n")
    real_run = DataApiClient.run

    def run_then_lose_the_answer(self, sql, **kwargs):
        described = real_run(self, sql, **kwargs)
        if not isinstance(sql, str):
            raise ConnectionError("Connection reset by peer")
        return described

    monkeypatch.setattr(DataApiClient, "run", run_then_lose_the_answer)
    with pytest.raises(Exception, match="a retry is safe") as caught:
        env.load(prefix="l/")
    assert not isinstance(caught.value, AirflowFailException)  # Airflow retries it
    monkeypatch.setattr(DataApiClient, "run", real_run)
    assert env.load(prefix="l/")["files_skipped"] == 1
    assert env.rows(f"select count(*) from {env.t}") == [(2,)]


def test_serverless_workgroup_with_every_preflight_check(env):
    """WorkgroupName: the caller's GetCredentials login; the role checks read the namespace's roles.

    That login (IAM:<caller>) is not the schema's owner: as on Redshift, it needs the grants.
    """
    from airflow_redshift_s3.transfers.copy.request import PREFLIGHT_CHECKS

    env.rows(f"create table {env.t} (id int, name varchar(20))")
    env.rows(f"grant usage, create on schema {env.schema} to public")
    env.rows(f"grant all on {env.t} to public")
    env.put("s/1.csv", "1,one\n")
    summary = env.load(
        prefix="s/",
        redshift_data_api_kwargs={
            "database": DATABASE,
            "workgroup_name": "local-workgroup",
            "poll_interval": 0.2,
        },
        preflight_checks=PREFLIGHT_CHECKS,
    )
    assert summary["rows_loaded"] == 1 and env.ledger() == [("s/1.csv", "append", 1)]
