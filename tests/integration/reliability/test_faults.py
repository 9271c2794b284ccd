"""Faults during a load: each ends in a clear failure or a successful retry, never a partial or double load.

After every fault the table holds either what it held before or the files loaded exactly once, and the
ledger agrees. The faults strike between the checks and the COPY through a seam: a subclass of the
operator that runs a function before each statement of the load transaction (``_run``, the seam
``test_two_concurrent_loads_into_one_table_serialise`` uses), i.e. after the listing, the preflight and
the manifest. A retry is either a real Airflow retry (``dag.test()`` of a one-task DAG with ``retries=1``
and no delay: only an error Airflow retries gets there) or ``execute()`` run again with the next
``try_number``, as Airflow runs a cleared task.
"""

from __future__ import annotations

import gzip
import textwrap
from types import SimpleNamespace

import pytest
from reliability_support import task_context

from airflow_redshift_s3.local.pytest_plugin import unique_name
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

BEFORE = [(0, "old")]


class SeamCopy(S3ToRedshiftCopyOperator):
    """The operator, calling ``before(step_name)`` before each statement of its load transaction."""

    def __init__(self, *, before=None, **kwargs):
        super().__init__(**kwargs)
        self.before = before

    def _run(self, cursor, step):
        if self.before is not None:
            self.before(step.name)
        super()._run(cursor, step)


@pytest.fixture
def env(local_redshift_env, s3_bucket, copy_role_arn, db):
    """A table with one row, a bucket, and a way to run the operator on them."""
    db.run(f"create table {db.schema}.items (id int, name varchar(10))")
    db.run(f"insert into {db.schema}.items values (0, 'old')")
    s3 = local_redshift_env.aws_client("s3")

    def operator(**kwargs) -> SeamCopy:
        args = {
            "task_id": "load",
            "bucket": s3_bucket,
            "table": f"{db.schema}.items",
            "prefix": "in/",
            "iam_role_arn": copy_role_arn,
            "cluster_identifier": "local-cluster",
            "preflight_checks": (),
        }
        return SeamCopy(**{**args, **kwargs})

    def put(key: str, body: bytes) -> None:
        s3.put_object(Bucket=s3_bucket, Key=key, Body=body)

    def items() -> list[tuple]:
        return sorted(db.run(f"select id, name from {db.schema}.items"))

    return SimpleNamespace(
        stack=local_redshift_env, s3=s3, bucket=s3_bucket, db=db, operator=operator, put=put, items=items
    )


def _ledger_or_none(db) -> list[tuple] | None:
    """The ledger rows, or None when the ledger table does not exist."""
    return db.ledger() if "s3_load_ledger" in db.tables() else None


# -- an object deleted after it was seen ------------------------------------------------------------------


def _delete_after_the_listing(env):
    """Sensor sees both files; the operator lists both; b.csv is deleted just before COPY: fail, roll back."""
    from airflow_redshift_s3.sensors.s3_prefix import S3PrefixSensor

    env.put("in/a.csv", b"1,a\n")
    env.put("in/b.csv", b"2,b\n")
    assert S3PrefixSensor(task_id="wait", bucket=env.bucket, prefix="in/", min_objects=2).poke(task_context())

    def delete_b(step: str) -> None:
        if step == "copy":  # the listing and the manifest already name b.csv
            env.s3.delete_object(Bucket=env.bucket, Key="in/b.csv")

    with pytest.raises(Exception, match=r"in/b\.csv") as caught:
        env.operator(before=delete_b).execute(task_context(try_number=1))
    return caught.value


def test_an_object_deleted_before_copy_fails_the_load_cleanly_and_a_rerun_loads_the_rest(env):
    error = _delete_after_the_listing(env)
    assert f"s3://{env.bucket}/in/b.csv" in str(error)  # names the missing file
    assert env.items() == BEFORE  # a.csv was not loaded either: one transaction
    assert _ledger_or_none(env.db) in (None, [])
    # run again (a cleared task): it lists again and loads what is there, once
    summary = env.operator().execute(task_context(try_number=2))
    assert (summary["files_found"], summary["files_loaded"], summary["rows_loaded"]) == (1, 1, 1)
    assert env.items() == [*BEFORE, (1, "a")]
    assert env.db.ledger() == [("in/a.csv", "append", None, 1, "manual__1", 2)]


def test_an_object_deleted_before_copy_is_a_retryable_failure_naming_the_file(env):
    from airflow.sdk.exceptions import AirflowFailException

    error = _delete_after_the_listing(env)
    assert not isinstance(error, AirflowFailException)
    fix = str(error).split("Fix:", 1)[-1]
    assert f"s3://{env.bucket}/in/b.csv" in fix


# -- a corrupt gzip file ------------------------------------------------------------------------------------

GOOD = gzip.compress(b"1,a\n2,b\n")
TRUNCATED = gzip.compress(b"3,c\n" * 50)[:-12]  # an upload cut short: no end-of-stream marker


def _load_corrupt_gzip(env):
    env.put("in/good.csv.gz", GOOD)
    env.put("in/bad.csv.gz", TRUNCATED)
    op = env.operator(input_format={"type": "csv", "compression": "gzip"}, preflight_checks=("format",))
    with pytest.raises(Exception, match=r"bad\.csv\.gz") as caught:
        op.execute(task_context(try_number=1))
    return caught.value


def test_a_corrupt_gzip_fails_the_load_and_a_rerun_after_the_fix_loads_once(env):
    error = _load_corrupt_gzip(env)
    assert f"s3://{env.bucket}/in/bad.csv.gz" in str(error) and "GZIP" in str(error)
    assert env.items() == BEFORE  # good.csv.gz was not loaded either
    assert _ledger_or_none(env.db) in (None, [])
    env.put("in/bad.csv.gz", gzip.compress(b"3,c\n"))  # the producer writes the file again
    op = env.operator(input_format={"type": "csv", "compression": "gzip"}, preflight_checks=("format",))
    summary = op.execute(task_context(try_number=2))
    assert (summary["files_loaded"], summary["rows_loaded"]) == (2, 3)
    assert env.items() == [*BEFORE, (1, "a"), (2, "b"), (3, "c")]
    assert sorted(r[0] for r in env.db.ledger() if r[5] == 2) == ["in/bad.csv.gz", "in/good.csv.gz"]
    assert len(env.db.ledger()) == 2


def test_a_corrupt_gzip_is_a_format_error_that_names_the_file_and_the_fix(env):
    from airflow_redshift_s3.exceptions import FormatCheckError

    error = _load_corrupt_gzip(env)
    assert isinstance(error, FormatCheckError)  # an AirflowFailException: no pointless retries
    assert f"s3://{env.bucket}/in/bad.csv.gz" in str(error.fix)


# -- the role detached during the run ---------------------------------------------------------------------


def test_a_role_detached_after_the_preflight_fails_clearly_and_loads_once_reattached(env):
    from airflow_redshift_s3.exceptions import PermissionCheckError

    redshift = env.stack.aws_client("redshift")
    role = env.stack.create_copy_role(unique_name("detached-"), resources=["*"], attach=True)
    env.put("in/a.csv", b"1,a\n")
    detached: list[str] = []

    def detach(step: str) -> None:
        if step == "lock":  # the "role" preflight has just found it attached and in-sync
            redshift.modify_cluster_iam_roles(ClusterIdentifier="local-cluster", RemoveIamRoles=[role])
            detached.append(step)

    op = env.operator(iam_role_arn=role, preflight_checks=("role",), before=detach)
    with pytest.raises(PermissionCheckError) as caught:  # an AirflowFailException: no retry
        op.execute(task_context(try_number=1))
    assert detached == ["lock"]
    assert f"Not authorized to get credentials of role {role}" in str(caught.value)
    assert f"attach role {role} to Redshift cluster 'local-cluster'" in caught.value.fix
    assert env.items() == BEFORE
    assert _ledger_or_none(env.db) in (None, [])
    # the fix: attach the role again (once the removal has applied), then run again
    _wait_detached(redshift, role)
    env.stack.attach_role(role)
    summary = env.operator(iam_role_arn=role, preflight_checks=("role",)).execute(task_context(try_number=2))
    assert summary["files_loaded"] == 1
    assert env.items() == [*BEFORE, (1, "a")]
    assert env.db.ledger() == [("in/a.csv", "append", None, 1, "manual__1", 2)]


def _wait_detached(redshift, role: str, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while any(
        r["IamRoleArn"] == role
        for r in redshift.describe_clusters(ClusterIdentifier="local-cluster")["Clusters"][0]["IamRoles"]
    ):
        assert time.monotonic() < deadline, f"{role} still attached after {timeout} s"
        time.sleep(0.1)


# -- the connection dropped mid-COPY, the database restarted: real Airflow retries ------------------------

DAG_SOURCE = textwrap.dedent(
    """
    from __future__ import annotations

    import datetime

    from airflow.sdk import DAG

    from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator


    class FaultyCopy(S3ToRedshiftCopyOperator):
        \"\"\"Calls the test's ``fault(step_name, try_number)`` before each statement of the load.\"\"\"

        fault = None

        def execute(self, context):
            self.fault_try = context["ti"].try_number
            return super().execute(context)

        def _run(self, cursor, step):
            if FaultyCopy.fault is not None:
                FaultyCopy.fault(step.name, self.fault_try)
            super()._run(cursor, step)


    with DAG(
        "{dag_id}",
        schedule=None,
        start_date=datetime.datetime(2026, 1, 1),
        default_args={{"retries": 1, "retry_delay": datetime.timedelta(0)}},
    ) as dag:
        FaultyCopy(
            task_id="load",
            bucket="{bucket}",
            prefix="day/",
            table="{schema}.events",
            mode="{mode}",
            {extra}
            iam_role_arn="{role}",
            cluster_identifier="local-cluster",
            preflight_checks=(),
        )
    """
)


@pytest.fixture
def retry_dag(load_dag_source, local_redshift_env, s3_bucket, copy_role_arn, db):
    """Return a function that builds the one-task DAG for a mode, with a table of old rows and two files."""
    db.run(f"create table {db.schema}.events (id int, day varchar(10))")
    db.run(f"insert into {db.schema}.events values (1, '2026-11-26'), (2, '2026-11-27')")
    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="day/a.csv", Body=b"10\n11\n")
    s3.put_object(Bucket=s3_bucket, Key="day/b.csv", Body=b"12\n")

    def build(mode: str, extra: str) -> SimpleNamespace:
        dag_id = unique_name("faulty_")
        source = DAG_SOURCE.format(dag_id=dag_id, bucket=s3_bucket, schema=db.schema, role=copy_role_arn,
                                   mode=mode, extra=extra)  # fmt: skip
        module = load_dag_source(source, dag_id)
        return SimpleNamespace(dag=module.dag, operator_class=module.FaultyCopy)

    return build


def _events(db) -> list[tuple]:
    return sorted(db.run(f"select id, day from {db.schema}.events"))


def _run_with_one_retry(faulty, db, fault) -> tuple[object, list]:
    """dag.test() with ``fault``; return the run and the table as the retry found it (before its LOCK)."""
    seen_by_retry: list = []

    def fault_and_watch(step: str, try_number: int) -> None:
        if try_number == 2 and step == "lock" and not seen_by_retry:
            seen_by_retry.append((_events(db), _ledger_or_none(db)))
        fault(step, try_number)

    faulty.operator_class.fault = fault_and_watch
    return faulty.dag.test(), seen_by_retry


def test_a_connection_dropped_mid_copy_is_retried_and_loads_once(
    retry_dag, db, drop_connections_during_copy, capfd
):
    faulty = retry_dag("append", 'column_list=["id"],')
    before = _events(db)

    def drop_during_the_first_copy(step: str, try_number: int) -> None:
        if step == "copy":
            drop_connections_during_copy(try_number == 1)

    run, seen_by_retry = _run_with_one_retry(faulty, db, drop_during_the_first_copy)
    output = "".join(capfd.readouterr())
    assert "BrokenPipe: server socket closed" in output  # why the first try failed
    assert "the connection to Redshift broke during the load" in output and "a retry is safe" in output
    (ti,) = run.get_task_instances()
    assert (str(run.state), str(ti.state), ti.try_number) == ("success", "success", 2)
    assert seen_by_retry == [(before, [])]  # the first try left nothing behind
    assert _events(db) == sorted([*before, (10, None), (11, None), (12, None)])
    assert [(r[0], r[5]) for r in db.ledger()] == [("day/a.csv", 2), ("day/b.csv", 2)]


def test_a_database_restart_mid_load_is_retried_and_loads_once(retry_dag, db, restartable_postgres, capfd):
    # replace_partition: the restart strikes after the partition's old rows were deleted in the transaction
    faulty = retry_dag("replace_partition", 'partition_column="day", partition_value="2026-11-27",')
    before = _events(db)
    restarts: list[int] = []

    def restart_before_the_first_insert(step: str, try_number: int) -> None:
        if step == "insert" and try_number == 1:
            restartable_postgres()  # dag.test() runs the task in this (the main) thread
            restarts.append(try_number)

    run, seen_by_retry = _run_with_one_retry(faulty, db, restart_before_the_first_insert)
    output = "".join(capfd.readouterr())
    assert "BrokenPipe: server socket closed" in output  # why the first try failed
    assert "the connection to Redshift broke during the load" in output and "a retry is safe" in output
    (ti,) = run.get_task_instances()
    assert restarts == [1]
    assert (str(run.state), str(ti.state), ti.try_number) == ("success", "success", 2)
    assert seen_by_retry == [(before, [])]  # the deleted partition came back with the rollback
    expected = [(1, "2026-11-26"), (10, "2026-11-27"), (11, "2026-11-27"), (12, "2026-11-27")]
    assert _events(db) == expected
    assert [(r[0], r[2], r[5]) for r in db.ledger()] == [
        ("day/a.csv", "2026-11-27", 2),
        ("day/b.csv", "2026-11-27", 2),
    ]
