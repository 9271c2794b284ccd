"""Key-based credentials, explicitly enabled, reach COPY and nowhere else a person can read.

A real ``dag.test()`` of a DAG with two loads that use an AWS connection's access keys
(``allow_key_based_credentials=True``): one succeeds, one fails on a bad row (the error path formats
exceptions and tracebacks). The connection's secret key and session token are strings unique to this
test. ``dag.test()`` runs the tasks in this process and writes their logs to stdout/stderr (no log files;
any that appeared under AIRFLOW_HOME are searched too). Rendered templates are stored in the metadata
database (``rendered_task_instance_fields``), as are XComs.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

DAG_SOURCE = textwrap.dedent(
    """
    from __future__ import annotations

    import datetime

    from airflow.sdk import DAG

    from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

    with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2026, 1, 1),
             default_args={{"retries": 0}}) as dag:
        for task_id, prefix in (("load", "good/"), ("load_bad", "bad/")):
            S3ToRedshiftCopyOperator(
                task_id=task_id,
                bucket="{bucket}",
                prefix=prefix,
                table="{schema}.items",
                iam_role_arn=None,
                allow_key_based_credentials=True,
                aws_conn_id="aws_keyed",
                cluster_identifier="local-cluster",
                preflight_checks=("region", "format"),
            )
    """
)


def test_key_based_credentials_appear_in_no_log_rendered_field_or_xcom(
    load_dag_source, local_redshift_env, s3_bucket, db, gateway_sql, capfd, monkeypatch
):
    import os

    from airflow import settings
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    secret = f"canary-secret-{uuid.uuid4().hex}"
    token = f"canary-token-{uuid.uuid4().hex}"
    conn = {
        "conn_type": "aws",
        "login": f"canary-key-id-{uuid.uuid4().hex[:8]}",  # not shaped like a real key id
        "password": secret,
        "extra": {
            "region_name": "us-east-1",
            "endpoint_url": local_redshift_env.aws_endpoint_url,
            "aws_session_token": token,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_KEYED", json.dumps(conn))
    db.run(f"create table {db.schema}.items (id int, name varchar(5))")
    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="good/a.csv", Body=b"1,a\n")
    s3.put_object(Bucket=s3_bucket, Key="bad/a.csv", Body=b"2,far-too-long\n")
    dag_id = f"keyed_{uuid.uuid4().hex[:10]}"
    dag = load_dag_source(DAG_SOURCE.format(dag_id=dag_id, bucket=s3_bucket, schema=db.schema), dag_id).dag

    capfd.readouterr()
    mark = gateway_sql.mark()
    run = dag.test()
    output = "".join(capfd.readouterr())

    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states == {"load": "success", "load_bad": "failed"}
    assert db.run(f"select id, name from {db.schema}.items") == [(1, "a")]
    # the keys were really used: COPY reached Redshift with them ...
    copies = [sql for sql in gateway_sql.since(mark) if sql.startswith("COPY ")]
    assert len(copies) == 2 and all(f"SECRET_ACCESS_KEY '{secret}'" in sql for sql in copies)
    assert all(f"SESSION_TOKEN '{token}'" in sql for sql in copies)
    # ... and were logged, masked
    assert "SECRET_ACCESS_KEY '***' SESSION_TOKEN '***'" in output
    assert "String length exceeds DDL length" in output or "far-too-long" in output  # the failure was logged

    # the task logs: what dag.test() wrote, and any log file
    assert secret not in output and token not in output
    home = Path(os.environ["AIRFLOW_HOME"])
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and token.encode() not in data, path  # the metadata DB too
    # the rendered templates and the XComs, read back from the metadata database
    with settings.Session() as session:
        rendered = session.scalars(
            select(RenderedTaskInstanceFields).where(RenderedTaskInstanceFields.dag_id == dag_id)
        ).all()
        xcoms = session.scalars(select(XComModel).where(XComModel.dag_id == dag_id)).all()
    assert {r.task_id for r in rendered} == {"load", "load_bad"}
    assert any(r.rendered_fields.get("aws_conn_id") == "aws_keyed" for r in rendered)
    stored = json.dumps([r.rendered_fields for r in rendered] + [x.value for x in xcoms], default=str)
    assert xcoms and secret not in stored and token not in stored
