"""Data-aware scheduling: a daily load that changes its table queues the report DAG; a failed one does not.

The daily DAG runs with ``dag.test()``, which syncs the whole ``dags/`` bundle (so the report DAG's
schedule on the alias is in the metadata database) and records the load's asset events exactly as a
worker does. The scheduler's part, turning the queue into a run, is Airflow's own and runs in
``tests/integration/test_scheduler_backfill.py``.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

pytestmark = pytest.mark.integration

GOOD_DAY, BAD_DAY = "2026-11-27", "2026-11-28"
REPORT = "redshift_daily_report"


def _table_uri(schema: str, table: str) -> str:
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    hook = RedshiftSQLHook(redshift_conn_id="redshift_default")
    return f"redshift://{hook.get_openlineage_database_info(hook.conn).authority}/dev/{schema}/{table}"


def _queued_for_report() -> list[str]:
    """Return the asset URIs the report DAG is queued on (what the scheduler turns into a run)."""
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetModel.uri)
            .join(AssetDagRunQueue, AssetDagRunQueue.asset_id == AssetModel.id)
            .where(AssetDagRunQueue.target_dag_id == REPORT)
        )
        return list(session.scalars(query))


def _events(uri: str) -> list[Any]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == uri)
        )
        events = list(session.scalars(query.order_by(AssetEvent.id)))
        session.expunge_all()
        return events


def _clear_queue() -> None:
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == REPORT))


def test_a_load_queues_the_report_and_a_failed_one_does_not(
    load_dag, local_redshift_env, s3_bucket, redshift_schema, copy_role_arn, query, task_states
):
    s3 = local_redshift_env.aws_client("s3")
    days = {GOOD_DAY: b"id,name\n1,a\n2,b\n", BAD_DAY: b"id,name\n3,c\n4,far-too-long\n"}
    for day, body in days.items():
        s3.put_object(Bucket=s3_bucket, Key=f"sales/{day}/part-0.csv", Body=body)
        s3.put_object(Bucket=s3_bucket, Key=f"sales/{day}/_SUCCESS", Body=b"")
    query(f"create table {redshift_schema}.sales (id int, name varchar(5), load_date date)")
    dag = load_dag("s3_to_redshift_daily")
    conf = {
        "bucket": s3_bucket,
        "prefix": "sales/",
        "table": f"{redshift_schema}.sales",
        "iam_role_arn": copy_role_arn,
        "compression": "none",
    }
    uri = _table_uri(redshift_schema, "sales")

    def run(day: str) -> str:
        logical_date = datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.timezone.utc)
        dag_run = dag.test(logical_date=logical_date, run_conf=conf)
        return task_states(dag_run)["load"]

    _clear_queue()
    assert run(BAD_DAY) == "failed"
    assert _queued_for_report() == []
    assert [e.extra for e in _events(uri)] == []

    assert run(GOOD_DAY) == "success"
    assert _queued_for_report() == [uri]
    [event] = _events(uri)
    assert (event.source_dag_id, event.source_task_id) == ("s3_to_redshift_daily", "load")
    assert {
        k: event.extra[k] for k in ("table", "partition_column", "partition", "files_loaded", "rows_loaded")
    } == {
        "table": f"{redshift_schema}.sales",
        "partition_column": "load_date",
        "partition": GOOD_DAY,
        "files_loaded": 1,
        "rows_loaded": 2,
    }

    # A rerun of the day replaces its partition (replace_partition reloads): the table changed again.
    _clear_queue()
    assert run(GOOD_DAY) == "success"
    assert _queued_for_report() == [uri]
    assert [(e.extra["rows_loaded"], e.extra["partition"]) for e in _events(uri)] == [(2, GOOD_DAY)] * 2

    # The report, given the recorded events as the scheduler gives them to its run.
    report = load_dag(REPORT).task_dict["report"].python_callable
    assert report(triggering_asset_events={uri: _events(uri)}) == [
        {"table": f"{redshift_schema}.sales", "loaded": GOOD_DAY, "partitions": {GOOD_DAY: 2}}
    ]
