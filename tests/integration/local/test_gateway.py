"""The SQL gateway through real drivers: redshift_connector, psycopg2 and Airflow's RedshiftSQLHook."""

from __future__ import annotations

import io
import json

import pytest

pytestmark = pytest.mark.integration


def test_redshift_connector_connects_and_sees_redshift_version(local_redshift, redshift_connection):
    cur = redshift_connection.cursor()
    cur.execute("select current_user, current_database(), %s", ("bound",))
    assert cur.fetchall() == (["awsuser", "dev", "bound"],)
    statuses = dict(redshift_connection.parameter_statuses)
    assert statuses[b"server_version"] == b"8.0.2"


def test_wrong_password_is_refused(local_redshift):
    import redshift_connector

    kwargs = dict(local_redshift.connect_kwargs(), password="not-the-password")
    with pytest.raises(redshift_connector.error.ProgrammingError, match="password authentication failed"):
        redshift_connector.connect(**kwargs)


def test_redshift_ddl_is_accepted_and_constraints_are_not_enforced(redshift_connection, redshift_schema):
    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.events (id bigint identity(1, 1) encode az64, "
        "name varchar(max) distkey, code int not null encode raw primary key, unique (name)) "
        "diststyle key compound sortkey (code)"
    )
    cur.execute(f"insert into {redshift_schema}.events (name, code) values ('a', 1), ('a', 1)")
    cur.execute(f"select id, name, code from {redshift_schema}.events order by id")
    assert cur.fetchall() == ([1, "a", 1], [2, "a", 1])
    redshift_connection.commit()


def test_hash_temporary_tables(redshift_connection):
    cur = redshift_connection.cursor()
    cur.execute("create table #stage (id int, v varchar(10))")
    cur.execute("insert into #stage values (1, 'x')")
    cur.execute("select v from #stage")
    assert cur.fetchall() == (["x"],)
    cur.execute("select relpersistence from pg_class where relname = '#stage'")
    assert cur.fetchall() == (["t"],)
    redshift_connection.rollback()


def test_merge_and_multi_statement_string_returns_last_result(redshift_connection, redshift_schema):
    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.t (id int, v varchar(5)); "
        f"create table {redshift_schema}.s (id int, v varchar(5))"
    )
    cur.execute(
        f"insert into {redshift_schema}.t values (1, 'old'); "
        f"insert into {redshift_schema}.s values (1, 'new'), (2, 'add'); "
        f"merge into {redshift_schema}.t using {redshift_schema}.s on t.id = s.id "
        "when matched then update set v = s.v when not matched then insert (id, v) values (s.id, s.v); "
        f"select id, v from {redshift_schema}.t order by id"
    )
    assert cur.fetchall() == ([1, "new"], [2, "add"])
    redshift_connection.commit()


def test_system_tables_and_functions_exist(redshift_connection):
    cur = redshift_connection.cursor()
    cur.execute("set search_path to public")
    cur.execute("select count(*) from stv_slices")
    assert cur.fetchall()[0][0] == 2
    cur.execute("select pg_last_copy_count()")
    assert cur.fetchall()[0][0] == 0
    for table in ("stl_load_errors", "sys_load_error_detail", "stl_load_commits", "sys_load_history"):
        cur.execute(f"select count(*) from {table} where 1 = 0")
        assert cur.fetchall()[0][0] == 0
    redshift_connection.rollback()


def test_redshift_only_settings_are_accepted(redshift_connection):
    cur = redshift_connection.cursor()
    cur.execute("set query_group to 'etl'")
    cur.execute("show query_group")
    assert cur.fetchall()[0][0] == "etl"
    redshift_connection.rollback()


def test_errors_keep_the_session_usable(redshift_connection):
    import redshift_connector

    cur = redshift_connection.cursor()
    with pytest.raises(redshift_connector.error.ProgrammingError, match="does not exist"):
        cur.execute("select * from no_such_table")
    redshift_connection.rollback()
    cur.execute("select 1")
    assert cur.fetchall() == ([1],)


def test_psycopg2_simple_protocol_and_copy_from_stdin(local_redshift, redshift_schema):
    import psycopg2

    kwargs = local_redshift.connect_kwargs()
    conn = psycopg2.connect(
        host=kwargs["host"],
        port=kwargs["port"],
        user=kwargs["user"],
        password=kwargs["password"],
        dbname="dev",
    )
    try:
        cur = conn.cursor()
        cur.execute(f"create table {redshift_schema}.p (v varchar(10)); select 42")
        assert cur.fetchall() == [(42,)]
        cur.copy_expert(f"copy {redshift_schema}.p from stdin", io.StringIO("x\ny\n"))
        cur.execute(f"select count(*) from {redshift_schema}.p")
        assert cur.fetchone() == (2,)
        conn.commit()
    finally:
        conn.close()


def test_iam_login_with_cluster_credentials(local_redshift):
    import redshift_connector

    creds = local_redshift.aws_client("redshift").get_cluster_credentials(
        ClusterIdentifier="local-cluster", DbUser="alice", DbName="dev", AutoCreate=False
    )
    conn = redshift_connector.connect(
        host="127.0.0.1",
        port=local_redshift.redshift_port,
        database="dev",
        user=creds["DbUser"],
        password=creds["DbPassword"],
        ssl=False,
    )
    try:
        cur = conn.cursor()
        cur.execute("select current_user")
        assert cur.fetchall()[0][0] == creds["DbUser"]
    finally:
        conn.close()
    with pytest.raises(redshift_connector.error.ProgrammingError, match="password authentication failed"):
        redshift_connector.connect(
            host="127.0.0.1",
            port=local_redshift.redshift_port,
            database="dev",
            user=creds["DbUser"],
            password="forged",
            ssl=False,
        )


def test_redshift_sql_hook_with_iam_for_cluster_and_serverless(local_redshift_env, monkeypatch):
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    stack = local_redshift_env
    # IAM logins need TLS (redshift_connector refuses otherwise); the stack's SSL_CERT_FILE trusts its CA
    iam = {"conn_type": "redshift", "host": "127.0.0.1", "schema": "dev", "login": "alice"}
    cluster = dict(
        iam,
        port=stack.redshift_port,
        extra={"iam": True, "cluster_identifier": "local-cluster", "db_user": "alice", "region": "us-east-1"},
    )
    serverless = dict(
        iam,
        port=stack.serverless_port,
        extra={
            "iam": True,
            "is_serverless": True,
            "serverless_work_group": "local-workgroup",
            "db_user": "alice",
            "region": "us-east-1",
        },
    )
    monkeypatch.setenv("AIRFLOW_CONN_REDSHIFT_IAM", json.dumps(cluster))
    monkeypatch.setenv("AIRFLOW_CONN_REDSHIFT_SERVERLESS", json.dumps(serverless))
    for conn_id in ("redshift_iam", "redshift_serverless"):
        hook = RedshiftSQLHook(redshift_conn_id=conn_id, aws_conn_id="aws_default")
        (user,) = hook.get_first("select current_user")
        assert user.startswith("IAM"), f"{conn_id} did not log in with temporary IAM credentials: {user}"
    hook = RedshiftSQLHook(redshift_conn_id="redshift_default")
    assert hook.get_first("select current_user") == ["awsuser"]


def test_client_listeners_see_each_connection_and_statement_until_removed(local_redshift):
    import redshift_connector

    events: list = []
    listener = events.append
    local_redshift.gateway.add_client_listener(listener)
    try:
        conn = redshift_connector.connect(**local_redshift.connect_kwargs())
        cursor = conn.cursor()
        cursor.execute("select 41 + %s", (1,))  # extended protocol: a Parse
        assert cursor.fetchall() == ([42],)
        conn.close()
    finally:
        local_redshift.gateway.remove_client_listener(listener)
    assert events[0].kind == "connect"
    assert any(e.kind == "statement" and "select 41 + $1" in e.sql for e in events), events
    seen = len(events)
    redshift_connector.connect(**local_redshift.connect_kwargs()).close()
    assert len(events) == seen


def test_admin_connections_reopen_after_being_closed(local_redshift):
    database = local_redshift.connect_kwargs()["database"]
    gateway, thread = local_redshift.gateway, local_redshift.gateway_thread
    before = gateway.admin(database)
    assert thread.call(before.query("select 1")) == [["1"]]
    thread.close_admin_connections()
    after = gateway.admin(database)
    assert after is not before
    assert thread.call(after.query("select 2")) == [["2"]]
