"""S3ToRedshiftCopyOperator over the Data API with ``deferrable=True``, under ``dag.test()``.

The batch is submitted in the task, the wait runs in the Amazon provider's ``RedshiftDataTrigger`` (which
``dag.test()`` runs in this process, as the triggerer would), and ``execute_complete`` finishes the load
from the state the task handed over: figures, ledger, manifests, or the same error as without deferral.
"""

from __future__ import annotations

import textwrap

import pytest

pytestmark = pytest.mark.integration

DAG_FILE = textwrap.dedent(
    """
    from __future__ import annotations

    import datetime

    from airflow.sdk import DAG

    from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

    common = dict(
        bucket={bucket!r},
        iam_role_arn={role!r},
        preflight_checks=("region", "format"),
        redshift_data_api_kwargs={{"database": "dev", "cluster_identifier": "local-cluster",
                                  "db_user": "awsuser", "poll_interval": 0.2}},
        deferrable=True,
    )
    with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        S3ToRedshiftCopyOperator(task_id="load", prefix="ok/", table="{schema}.items", mode="replace",
                                 **common)
        S3ToRedshiftCopyOperator(task_id="duplicates", prefix="dup/", table="{schema}.items",
                                 mode="upsert", upsert_keys=["id"], **common)
    """
)


@pytest.fixture
def deferred_dag(
    dag_from_file, local_redshift_env, redshift_schema, s3_bucket, copy_role_arn, tmp_path, query
):
    from airflow_redshift_s3.local.pytest_plugin import unique_name

    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="ok/1.csv", Body=b"1,one\n2,two\n")
    s3.put_object(Bucket=s3_bucket, Key="dup/1.csv", Body=b"7,a\n")
    s3.put_object(Bucket=s3_bucket, Key="dup/2.csv", Body=b"7,b\n")
    query(f"create table {redshift_schema}.items (id int, name varchar(20))")
    query(f"insert into {redshift_schema}.items values (9, 'old')")
    dag_id = unique_name("deferred_load_")
    path = tmp_path / f"{dag_id}.py"
    text = DAG_FILE.format(dag_id=dag_id, bucket=s3_bucket, role=copy_role_arn, schema=redshift_schema)
    path.write_text(text)
    return dag_from_file(path)


def test_a_deferred_load_finishes_in_execute_complete_and_a_refused_one_fails_the_same_way(
    deferred_dag, redshift_schema, query, monkeypatch, task_states, capfd
):
    from airflow.providers.amazon.aws.triggers.redshift_data import RedshiftDataTrigger

    polled: list[str] = []
    original = RedshiftDataTrigger.run

    def run(self):  # counts the deferrals: dag.test() runs the trigger in this process
        polled.append(self.statement_id)
        return original(self)

    monkeypatch.setattr(RedshiftDataTrigger, "run", run)
    capfd.readouterr()
    dag_run = deferred_dag.test()
    states = task_states(dag_run)
    assert states == {"load": "success", "duplicates": "failed"}, states
    assert len(polled) == 2  # both tasks waited in the trigger
    (load,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == "load"]
    summary = load.xcom_pull(task_ids="load")
    assert (summary["rows_loaded"], summary["rows_deleted"], summary["files_loaded"]) == (2, 1, 1)
    assert query(f"select id, name from {redshift_schema}.items order by id") == [(1, "one"), (2, "two")]
    assert query(f"select object_key, load_rows from {redshift_schema}.s3_load_ledger") == [("ok/1.csv", 2)]
    logs = capfd.readouterr()
    text = logs.out + logs.err
    assert "DuplicateKeyError" in text and "id=7" in text and "dup/2.csv" in text
