"""OpenLineage events of a load, as a deployment with the OpenLineage provider and a file transport gets them.

Each run is ``dag.test()`` in a process of its own (``openlineage_run.py``): the provider registers its
listener only when a transport is configured at plugin load. The events are read back from the transport's
file, one JSON document per line, exactly as a lineage backend would receive them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

RUNNER = Path(__file__).with_name("openlineage_run.py")
DAGS = Path(__file__).resolve().parents[2] / "dags"
LINEAGE_DAGS = Path(__file__).with_name("lineage_dags")
DAY = "2026-11-27"


@pytest.fixture
def lineage(load_dag, local_redshift_env, tmp_path):
    """Return a function running a spec with OpenLineage on, giving (the output, the events of task load)."""
    del load_dag  # its environment (the DAG bundle, a short waiter delay) is what the child process needs

    def run(spec: dict[str, Any], name: str) -> tuple[str, list[dict[str, Any]]]:
        events_file = tmp_path / f"{name}.jsonl"
        env = {
            **os.environ,
            # A metadata database of its own: two processes writing one SQLite file can corrupt it.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_copy_of_the_metadata_db(tmp_path / name)}",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "redshift_s3_tests",
        }
        done = subprocess.run(
            [sys.executable, str(RUNNER), json.dumps(spec)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = done.stdout + done.stderr
        assert events_file.exists(), f"no OpenLineage event was written:\n{output[-3000:]}"
        events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
        return output, [e for e in events if e["job"]["name"].endswith(".load")]

    return run


def _copy_of_the_metadata_db(folder: Path) -> Path:
    """Return a consistent copy (SQLite's backup API) of this session's Airflow metadata database."""
    import sqlite3

    from airflow.configuration import conf

    source = conf.get("database", "sql_alchemy_conn").removeprefix("sqlite:///")
    folder.mkdir()
    target = folder / "airflow.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def _redshift_namespace() -> str:
    """Return the namespace the Amazon provider's RedshiftSQLHook gives redshift_default's tables."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    hook = RedshiftSQLHook(redshift_conn_id="redshift_default")
    return f"redshift://{hook.get_openlineage_database_info(hook.conn).authority}"


def _one(events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    found = [e for e in events if e["eventType"] == event_type]
    assert len(found) == 1, [e["eventType"] for e in events]
    return found[0]


def _put_day(s3: Any, bucket: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=f"sales/{DAY}/part-0.csv", Body=body)
    s3.put_object(Bucket=bucket, Key=f"sales/{DAY}/_SUCCESS", Body=b"")


def _daily_spec(bucket: str, table: str, role_arn: str) -> dict[str, Any]:
    """Return the spec of a daily DAG run loading DAY's uncompressed CSV under sales/ into ``table``."""
    conf = {
        "bucket": bucket,
        "prefix": "sales/",
        "table": table,
        "iam_role_arn": role_arn,
        "compression": "none",
    }
    return {
        "dag_file": str(DAGS / "s3_to_redshift_daily.py"),
        "dag_id": "s3_to_redshift_daily",
        "logical_date": f"{DAY}T00:00:00+00:00",
        "conf": conf,
    }


def test_the_daily_load_emits_its_files_table_schema_and_columns(
    lineage, local_redshift_env, s3_bucket, redshift_schema, copy_role_arn, query
):
    _put_day(local_redshift_env.aws_client("s3"), s3_bucket, b"id,name\n1,a\n2,b\n")
    query(f"create table {redshift_schema}.sales (id int, name varchar(5), load_date date)")
    output, events = lineage(_daily_spec(s3_bucket, f"{redshift_schema}.sales", copy_role_arn), "daily")
    assert "state=success" in output, output[-3000:]
    assert query(f"select count(*) from {redshift_schema}.sales") == [(2,)]

    complete = _one(events, "COMPLETE")
    # The prefix the load read (one dataset per day, however many files it holds), as the Amazon operator
    # names its s3_key.
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        (f"s3://{s3_bucket}", f"sales/{DAY}/")
    ]
    [output_dataset] = complete["outputs"]
    # The namespace and name the Amazon provider gives a Redshift table: redshift://<authority> (on AWS
    # <cluster>.<region>:5439, from the endpoint; here the local gateway's host and port) and
    # <database>.<schema>.<table>.
    assert output_dataset["namespace"] == _redshift_namespace()
    assert output_dataset["name"] == f"dev.{redshift_schema}.sales"
    fields = output_dataset["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [
        ("id", "integer"),
        ("name", "character varying"),  # information_schema.data_type, as the Amazon operator reports it
        ("load_date", "date"),
    ]
    # replace_partition overwrites the day's partition
    assert output_dataset["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "OVERWRITE"
    assert "columnLineage" not in output_dataset["facets"]  # no column list: COPY maps by position


def test_a_column_list_gives_column_level_lineage(
    lineage, local_redshift_env, s3_bucket, redshift_schema, copy_role_arn, query
):
    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="in/a.csv", Body=b"x,7\ny,8\n")
    query(f"create table {redshift_schema}.picked (n int, label varchar(5), extra int)")
    spec = {
        "dag_file": str(LINEAGE_DAGS / "column_list_load.py"),
        "dag_id": "column_list_load",
        "logical_date": f"{DAY}T00:00:00+00:00",
        "conf": {"bucket": s3_bucket, "table": f"{redshift_schema}.picked", "role": copy_role_arn},
    }
    output, events = lineage(spec, "columns")
    assert "state=success" in output, output[-3000:]
    assert query(f"select label, n, extra from {redshift_schema}.picked") == [("x", 7, None), ("y", 8, None)]
    [output_dataset] = _one(events, "COMPLETE")["outputs"]
    column_lineage = output_dataset["facets"]["columnLineage"]["fields"]
    assert set(column_lineage) == {"label", "n"}  # extra is not filled by the files
    assert [(f["namespace"], f["name"], f["field"]) for f in column_lineage["n"]["inputFields"]] == [
        (f"s3://{s3_bucket}", "in/", "n")
    ]


def test_a_failed_load_emits_fail_with_the_error(
    lineage, local_redshift_env, s3_bucket, redshift_schema, copy_role_arn, query
):
    _put_day(local_redshift_env.aws_client("s3"), s3_bucket, b"id,name\n1,a\n2,far-too-long\n")
    query(f"create table {redshift_schema}.sales (id int, name varchar(5), load_date date)")
    output, events = lineage(_daily_spec(s3_bucket, f"{redshift_schema}.sales", copy_role_arn), "failed")
    assert "state=failed" in output, output[-3000:]
    assert query(f"select count(*) from {redshift_schema}.sales") == [(0,)]  # nothing half-loaded
    fail = _one(events, "FAIL")
    message = fail["run"]["facets"]["errorMessage"]["message"]
    assert f"sales/{DAY}/part-0.csv" in message and "line 3" in message, message
    assert [d["name"] for d in fail["inputs"]] == [f"sales/{DAY}/"]
    assert [d["name"] for d in fail["outputs"]] == [f"dev.{redshift_schema}.sales"]


def test_the_amazon_operator_emits_the_same_datasets_for_the_same_load(
    lineage, amazon_env, s3_bucket, redshift_schema, query
):
    """The Amazon S3ToRedshiftOperator's event for the same files, to compare (README "OpenLineage")."""
    _put_day(amazon_env.aws_client("s3"), s3_bucket, b"id,name\n1,a\n2,b\n")
    query(f"create table {redshift_schema}.sales (id int, name varchar(5))")
    spec = {
        "dag_file": str(LINEAGE_DAGS / "amazon_s3_to_redshift.py"),
        "dag_id": "amazon_s3_to_redshift",
        "logical_date": f"{DAY}T00:00:00+00:00",
        "conf": {"schema": redshift_schema, "bucket": s3_bucket, "key": f"sales/{DAY}/part-0.csv"},
    }
    output, events = lineage(spec, "amazon")
    assert "state=success" in output, output[-3000:]
    complete = _one(events, "COMPLETE")
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        (f"s3://{s3_bucket}", f"sales/{DAY}/part-0.csv")
    ]
    [output_dataset] = complete["outputs"]
    assert (output_dataset["namespace"], output_dataset["name"]) == (
        _redshift_namespace(),
        f"dev.{redshift_schema}.sales",
    )
    assert [f["name"] for f in output_dataset["facets"]["schema"]["fields"]] == ["id", "name"]
