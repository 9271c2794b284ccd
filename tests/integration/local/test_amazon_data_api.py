"""The Amazon provider's Redshift Data API paths, unchanged, against the local stack.

``RedshiftDataOperator`` (waiting in the task, deferred to ``RedshiftDataTrigger``, which ``dag.test()``
runs in-process, and sharing a session's temporary table between tasks) and ``S3ToRedshiftOperator``
with ``redshift_data_api_kwargs`` in its three methods. Their SQL runs through the local Data API, so on
the database the gateway serves, and the COPY uses the attached role named in the AWS connection's
``role_arn`` extra.
"""

from __future__ import annotations

import textwrap

import pytest

pytestmark = pytest.mark.integration

DATA_API = {"database": "dev", "cluster_identifier": "local-cluster", "db_user": "awsuser"}

DAG_FILE = textwrap.dedent(
    """
    from __future__ import annotations

    import datetime

    from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
    from airflow.sdk import DAG, chain

    target = {target}
    with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        create = RedshiftDataOperator(
            task_id="create",
            sql=["create table {schema}.fruit (id int, name varchar(20))",
                 "insert into {schema}.fruit values (1, 'banana')"],
            poll_interval=0.2,
            **target,
        )
        slow_insert = RedshiftDataOperator(
            task_id="slow_insert",
            sql="insert into {schema}.fruit select 2, 'cherry' from (select pg_sleep(1.5)) s",
            deferrable=True,
            poll_interval=0.2,
            **target,
        )
        read = RedshiftDataOperator(
            task_id="read",
            sql="select id, name from {schema}.fruit where id >= :low order by id",
            parameters=[{{"name": "low", "value": "1"}}],
            return_sql_result=True,
            poll_interval=0.2,
            **target,
        )
        fail = RedshiftDataOperator(
            task_id="fail",
            sql="select * from {schema}.no_such_table",
            poll_interval=0.2,
            **target,
        )
        keep = RedshiftDataOperator(
            task_id="keep",
            sql="create temp table fruit_copy as select id + 10 as id, name from {schema}.fruit",
            session_keep_alive_seconds=60,
            poll_interval=0.2,
            **target,
        )
        reuse = RedshiftDataOperator(
            task_id="reuse",
            sql="insert into {schema}.fruit select id, name from fruit_copy",
            session_id="{{{{ ti.xcom_pull(task_ids='keep', key='session_id') }}}}",
            poll_interval=0.2,
        )
        chain(create, slow_insert, read, keep, reuse, fail)
    """
)


@pytest.fixture
def data_api_dag(dag_from_file, local_redshift_env, redshift_schema, tmp_path):
    from airflow_redshift_s3.local.pytest_plugin import unique_name

    dag_id = unique_name("data_api_")
    path = tmp_path / f"{dag_id}.py"
    path.write_text(DAG_FILE.format(dag_id=dag_id, schema=redshift_schema, target=repr(DATA_API)))
    return dag_from_file(path)


def test_redshift_data_operator_waits_defers_reads_and_fails(
    data_api_dag, redshift_connection, redshift_schema, monkeypatch, task_states
):
    from airflow.providers.amazon.aws.triggers.redshift_data import RedshiftDataTrigger

    polled: list[str] = []
    original = RedshiftDataTrigger.run

    def run(self):  # counts the deferral: dag.test() runs the trigger in this process
        polled.append(self.statement_id)
        return original(self)

    monkeypatch.setattr(RedshiftDataTrigger, "run", run)
    dag_run = data_api_dag.test()
    assert task_states(dag_run) == {
        "create": "success",
        "slow_insert": "success",
        "read": "success",
        "keep": "success",
        "reuse": "success",
        "fail": "failed",
    }
    assert len(polled) == 1  # only the deferrable task deferred, and its trigger saw the statement end
    cursor = redshift_connection.cursor()
    cursor.execute(f"select id, name from {redshift_schema}.fruit order by id")
    # the session kept the temporary table from one task to the next
    assert [tuple(row) for row in cursor.fetchall()] == [
        (1, "banana"),
        (2, "cherry"),
        (11, "banana"),
        (12, "cherry"),
    ]
    (read,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == "read"]
    (result,) = read.xcom_pull(task_ids="read")
    assert [[field for field in record] for record in result["Records"]] == [
        [{"longValue": 1}, {"stringValue": "banana"}],
        [{"longValue": 2}, {"stringValue": "cherry"}],
    ]


def _load(method, schema, bucket, key, **kwargs):
    from airflow.providers.amazon.aws.transfers.s3_to_redshift import S3ToRedshiftOperator

    S3ToRedshiftOperator(
        task_id=f"load_{method.lower()}",
        schema=schema,
        table="items",
        s3_bucket=bucket,
        s3_key=key,
        redshift_conn_id="aws_default",  # the Data API hook's AWS connection
        aws_conn_id="aws_copy_role",
        method=method,
        copy_options=["CSV", "IGNOREHEADER 1"],
        redshift_data_api_kwargs={**DATA_API, "wait_for_completion": True, "poll_interval": 0.2},
        **kwargs,
    ).execute(context={})


def test_s3_to_redshift_operator_over_the_data_api(
    amazon_env, redshift_connection, redshift_schema, s3_bucket
):
    s3 = amazon_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="v1/items.csv", Body=b"id,name\n1,one\n2,two\n")
    s3.put_object(Bucket=s3_bucket, Key="v2/items.csv", Body=b"id,name\n2,TWO\n3,three\n")
    cursor = redshift_connection.cursor()
    cursor.execute(f"create table {redshift_schema}.items (id int, name varchar(10))")
    redshift_connection.commit()

    def rows():
        cursor.execute(f"select id, name from {redshift_schema}.items order by id, name")
        result = [tuple(r) for r in cursor.fetchall()]
        redshift_connection.rollback()
        return result

    _load("APPEND", redshift_schema, s3_bucket, "v1/")
    _load("APPEND", redshift_schema, s3_bucket, "v1/")
    assert rows() == [(1, "one"), (1, "one"), (2, "two"), (2, "two")]
    _load("REPLACE", redshift_schema, s3_bucket, "v1/")
    assert rows() == [(1, "one"), (2, "two")]
    _load("UPSERT", redshift_schema, s3_bucket, "v2/", upsert_keys=["id"])
    assert rows() == [(1, "one"), (2, "TWO"), (3, "three")]


def test_a_failed_copy_reaches_the_task_with_redshifts_message(
    amazon_env, redshift_connection, redshift_schema, s3_bucket
):
    """REPLACE is one batch: the COPY failing (a bad row) keeps the rows the DELETE would have removed."""
    from airflow.providers.amazon.aws.hooks.redshift_data import RedshiftDataQueryFailedError

    s3 = amazon_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="bad/items.csv", Body=b"id,name\nnot-a-number,x\n")
    cursor = redshift_connection.cursor()
    cursor.execute(f"create table {redshift_schema}.items (id int, name varchar(10))")
    cursor.execute(f"insert into {redshift_schema}.items values (1, 'kept')")
    redshift_connection.commit()
    with pytest.raises(RedshiftDataQueryFailedError, match="Load into table 'items' failed"):
        _load("REPLACE", redshift_schema, s3_bucket, "bad/")
    cursor.execute(f"select id, name from {redshift_schema}.items")
    assert [tuple(r) for r in cursor.fetchall()] == [(1, "kept")]


def test_upsert_without_upsert_keys_fails_in_the_providers_key_lookup(
    amazon_env, redshift_connection, redshift_schema, s3_bucket
):
    """UPSERT without upsert_keys over the Data API fails before loading, as it would on a cluster.

    ``RedshiftDataHook.get_table_primary_key`` (provider 9.39) writes the schema and table into its SQL
    unquoted (``kcu.table_schema = <schema>``), so Redshift reads them as column names; the local Data API
    reports the error Redshift gives, and the table is untouched. (Over redshift_connector the operator
    reads the key with RedshiftSQLHook, which works: test_amazon_s3_to_redshift.py.)
    """
    from airflow.providers.amazon.aws.hooks.redshift_data import RedshiftDataQueryFailedError

    s3 = amazon_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="v2/items.csv", Body=b"id,name\n2,TWO\n3,three\n")
    cursor = redshift_connection.cursor()
    cursor.execute(f"create table {redshift_schema}.items (id int primary key, name varchar(10))")
    cursor.execute(f"insert into {redshift_schema}.items values (1, 'one'), (2, 'two')")
    redshift_connection.commit()
    with pytest.raises(RedshiftDataQueryFailedError, match=f'column "{redshift_schema}" does not exist'):
        _load("UPSERT", redshift_schema, s3_bucket, "v2/")
    cursor.execute(f"select id, name from {redshift_schema}.items order by id")
    assert [tuple(r) for r in cursor.fetchall()] == [(1, "one"), (2, "two")]
