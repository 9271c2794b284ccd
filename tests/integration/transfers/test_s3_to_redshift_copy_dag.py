"""A real ``dag.test()`` run: hostile values from a manual trigger's Params never reach SQL.

The DAG takes the table, the prefix and the partition value from Params, as a trigger form would. A run
with hostile values must fail at once (no retry) before any SQL runs; a run with good values loads.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

DAG_FILE = textwrap.dedent(
    """
    from __future__ import annotations

    import datetime

    from airflow.sdk import DAG, Param

    from airflow_redshift_s3.transfers.s3_to_redshift_copy import (
        S3ToRedshiftCopyOperator,
        redshift_table_asset,
    )

    with DAG(
        "{dag_id}",
        schedule=None,
        start_date=datetime.datetime(2026, 1, 1),
        params={{
            "table": Param("{schema}.events", type="string"),
            "prefix": Param("day/2026-11-27/", type="string"),
            "day": Param("2026-11-27", type="string"),
        }},
        default_args={{"owner": "data", "retries": 2}},
        tags=["test"],
    ) as dag:
        S3ToRedshiftCopyOperator(
            task_id="load",
            bucket="{bucket}",
            prefix="{{{{ params.prefix }}}}",
            table="{{{{ params.table }}}}",
            mode="replace_partition",
            partition_column="load_date",
            partition_value="{{{{ params.day }}}}",
            iam_role_arn="{role}",
            cluster_identifier="local-cluster",
            input_format={{"type": "csv", "header_rows": 1}},
            outlets=[
                redshift_table_asset(
                    host="local-cluster.us-east-1", database="dev", schema="{schema}", table="events"
                )
            ],
        )
    """
)


@pytest.fixture
def dag_under_test(
    airflow_db, local_redshift_env, redshift_schema, s3_bucket, copy_role_arn, tmp_path, monkeypatch
):
    from airflow_redshift_s3.local.pytest_plugin import unique_name

    dag_id = unique_name("copy_params_")
    path = tmp_path / f"{dag_id}.py"
    path.write_text(
        DAG_FILE.format(dag_id=dag_id, schema=redshift_schema, bucket=s3_bucket, role=copy_role_arn)
    )
    bundle = {"name": dag_id, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
              "kwargs": {"path": str(tmp_path), "refresh_interval": 0}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    spec = importlib.util.spec_from_file_location(dag_id, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[dag_id] = module
    spec.loader.exec_module(module)
    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="day/2026-11-27/a.csv", Body=b"id,name\n1,a\n2,b\n")
    yield module.dag
    sys.modules.pop(dag_id, None)


@pytest.fixture
def sql_spy(monkeypatch):
    """Record every connection the Redshift hook opens (the only way this operator runs SQL)."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    opened: list[str] = []
    original = RedshiftSQLHook.get_conn

    def get_conn(self):
        opened.append(self.redshift_conn_id)
        return original(self)

    monkeypatch.setattr(RedshiftSQLHook, "get_conn", get_conn)
    return opened


def _state(run) -> tuple[str, str, int]:
    (ti,) = run.get_task_instances()
    return str(run.state), str(ti.state), int(ti.try_number)


HOSTILE = [
    pytest.param({"table": "events; DROP TABLE users; --"}, id="table-semicolon"),
    pytest.param({"table": 'events" ; DELETE FROM "events'}, id="table-quote"),
    pytest.param({"table": "events\u037e drop table users"}, id="table-greek-question-mark"),
    pytest.param({"prefix": "s3://other-bucket/secrets/"}, id="prefix-url"),
    pytest.param({"prefix": "day/*/"}, id="prefix-wildcard"),
    pytest.param({"prefix": "day/\x00/"}, id="prefix-nul"),
    pytest.param({"day": "2026-11-27'; DELETE FROM events; --"}, id="partition-injection"),
    pytest.param({"day": "2026-11-27\nDROP"}, id="partition-newline"),
]


@pytest.mark.parametrize("conf", HOSTILE)
def test_hostile_params_fail_before_any_sql(dag_under_test, redshift_schema, sql_spy, conf, local_redshift):
    import redshift_connector

    conf = {
        k: v.replace("events", f"{redshift_schema}.events", 1) if k == "table" else v for k, v in conf.items()
    }
    run = dag_under_test.test(run_conf=conf)
    assert _state(run) == ("failed", "failed", 1)  # an AirflowFailException: no retry despite retries=2
    assert sql_spy == []
    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    try:
        cursor = conn.cursor()
        cursor.execute(f"select count(*) from pg_tables where schemaname = '{redshift_schema}'")
        assert cursor.fetchone()[0] == 0  # not even the ledger was created
    finally:
        conn.close()


def test_good_params_load(dag_under_test, redshift_schema, sql_spy, local_redshift):
    import redshift_connector

    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    conn.autocommit = True
    conn.cursor().execute(f"create table {redshift_schema}.events (id int, name varchar(5), load_date date)")
    run = dag_under_test.test(run_conf={"day": "2026-11-27"})
    assert _state(run)[:2] == ("success", "success")
    assert sql_spy  # the load did run SQL
    cursor = conn.cursor()
    cursor.execute(f"select id, name, load_date::text from {redshift_schema}.events order by id")
    assert [tuple(r) for r in cursor.fetchall()] == [(1, "a", "2026-11-27"), (2, "b", "2026-11-27")]
    cursor.execute(f"select dag_id, task_id, partition_value from {redshift_schema}.s3_load_ledger")
    assert [tuple(r) for r in cursor.fetchall()] == [(dag_under_test.dag_id, "load", "2026-11-27")]
    conn.close()
    # the table, declared as an outlet, got an asset event
    from airflow import settings
    from airflow.models.asset import AssetEvent, AssetModel
    from sqlalchemy import select

    uri = f"redshift://local-cluster.us-east-1:5439/dev/{redshift_schema}/events"
    with settings.Session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == uri)
        ).all()
    assert [e.source_dag_id for e in events] == [dag_under_test.dag_id]
