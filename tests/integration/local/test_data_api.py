"""The local Redshift Data API (``redshift-data``), called with boto3 against the local stack.

Each statement runs on the database the gateway serves, through the gateway, so what a client of the
gateway would see (the rows, Redshift's error messages, COPY's role checks, privileges) is what these
tests check through the Data API.

From the Data API documentation only, not checked against AWS: the status sequence
SUBMITTED/PICKED/STARTED then FINISHED/FAILED/ABORTED, the ``ERROR: <message>`` form of ``Error``, the
``<id>:<n>`` sub-statement ids, the type of each ``Field``, ``Duration`` in nanoseconds, the sub-statement
statuses of a failed batch (the ones after the failure ABORTED), and the page size of GetStatementResult
(AWS cuts pages by size without documenting it; the double cuts them at 64 KiB of records).
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from airflow_redshift_s3.local.aws.redshift_data.results import PAGE_BYTES

pytestmark = pytest.mark.integration

CLUSTER = {"ClusterIdentifier": "local-cluster", "Database": "dev", "DbUser": "awsuser"}
ORDER = ("SUBMITTED", "PICKED", "STARTED", "FINISHED", "FAILED", "ABORTED")


@pytest.fixture(scope="module")
def data(local_redshift):
    return local_redshift.aws_client("redshift-data")


def wait(data, statement_id, timeout=30.0):
    """Poll DescribeStatement until the statement ends; return the last answer and the statuses seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        described = data.describe_statement(Id=statement_id)
        if not seen or seen[-1] != described["Status"]:
            seen.append(described["Status"])
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described, seen
        assert time.monotonic() < deadline, f"{statement_id} still {described['Status']}"
        time.sleep(0.05)


def run(data, sql, **kwargs):
    target = {
        key: value for key, value in {**CLUSTER, **kwargs.pop("target", {})}.items() if value is not None
    }
    answer = data.execute_statement(Sql=sql, **target, **kwargs)
    described, _ = wait(data, answer["Id"])
    return described


def values(records):
    return [[next(iter(field.values())) for field in record] for record in records]


def test_execute_statement_runs_on_the_gateways_database_with_typed_records(
    data, redshift_connection, redshift_schema
):
    table = f"{redshift_schema}.typed"
    described = run(
        data,
        f"create table {table} (i int, b bigint, v varchar(20), n numeric(8,2), f float8, ok boolean, "
        "d date, ts timestamp, missing varchar(5))",
    )
    assert (described["Status"], described["HasResultSet"]) == ("FINISHED", False)
    parameters = [
        {"name": "i", "value": "7"},
        {"name": "v", "value": "it's; drop table x"},  # a value, never SQL
        {"name": "n", "value": "12.50"},
        {"name": "ts", "value": "2026-11-30 10:20:30.5"},
    ]
    described = run(
        data,
        f"insert into {table} values (:i, 9000000000, :v, :n, 0.25, true, '2026-11-30', :ts, null), "
        "(:i + 1, null, ':v', null, null, false, null, null, null)",
        Parameters=parameters,
    )
    assert (described["Status"], described["ResultRows"]) == ("FINISHED", 2)
    cursor = redshift_connection.cursor()  # the rows are in the database the gateway serves
    cursor.execute(f"select count(*), max(v) from {table}")
    assert tuple(cursor.fetchone()) == (2, "it's; drop table x")

    described = run(data, f"select * from {table} order by i")
    assert (described["HasResultSet"], described["ResultRows"]) == (True, 2)
    result = data.get_statement_result(Id=described["Id"])
    assert result["TotalNumRows"] == 2 and "NextToken" not in result
    assert result["Records"][0] == [
        {"longValue": 7},
        {"longValue": 9000000000},
        {"stringValue": "it's; drop table x"},
        {"stringValue": "12.50"},
        {"doubleValue": 0.25},
        {"booleanValue": True},
        {"stringValue": "2026-11-30"},
        {"stringValue": "2026-11-30 10:20:30.5"},
        {"isNull": True},
    ]
    # a placeholder inside a string is text; NULL reads as isNull
    assert values(result["Records"])[1][:4] == [8, True, ":v", True]
    columns = {c["name"]: c for c in result["ColumnMetadata"]}
    assert [c["typeName"] for c in result["ColumnMetadata"]] == [
        "int4", "int8", "varchar", "numeric", "float8", "bool", "date", "timestamp", "varchar"
    ]  # fmt: skip
    assert (columns["n"]["precision"], columns["n"]["scale"], columns["v"]["length"]) == (8, 2, 20)
    # the gateway's protocol 1 names each column's schema and table; none is NOT NULL
    assert {(c["schemaName"], c["tableName"], c["nullable"]) for c in result["ColumnMetadata"]} == {
        (redshift_schema, "typed", 1)
    }


def test_status_goes_through_the_documented_sequence(data):
    answer = data.execute_statement(Sql="select pg_sleep(0.6), 1 as one", **CLUSTER)
    assert answer["Status"] in ("SUBMITTED", "PICKED", "STARTED")
    described, seen = wait(data, answer["Id"])
    assert "STARTED" in seen and seen[-1] == "FINISHED", seen
    assert [ORDER.index(s) for s in seen] == sorted(ORDER.index(s) for s in seen), seen
    assert described["Duration"] >= 600_000_000  # nanoseconds
    assert described["UpdatedAt"] > described["CreatedAt"]
    assert described["RedshiftPid"] > 0


def test_parameters_are_checked_before_running(data):
    client_error = data.exceptions.ValidationException
    with pytest.raises(client_error, match="uses :missing but Parameters has no value named 'missing'"):
        data.execute_statement(
            Sql="select :given, :missing", Parameters=[{"name": "given", "value": "1"}], **CLUSTER
        )
    with pytest.raises(client_error, match="must match"):
        data.execute_statement(Sql="select 1", Parameters=[{"name": "no-dash", "value": "1"}], **CLUSTER)
    # casts, strings and comments are not placeholders; one name used twice binds one value
    described = run(
        data,
        "select :x::int + :x::int as twice, '::x :x' as text -- :y\n",
        Parameters=[{"name": "x", "value": "21"}],
    )
    assert values(data.get_statement_result(Id=described["Id"])["Records"]) == [[42, "::x :x"]]


def test_a_failed_statement_carries_redshifts_message(data):
    described = run(data, "select * from no_such_table_here")
    assert described["Status"] == "FAILED"
    assert described["Error"] == 'ERROR: relation "no_such_table_here" does not exist'
    assert described["Duration"] >= 0
    with pytest.raises(data.exceptions.ValidationException, match="FAILED"):
        data.get_statement_result(Id=described["Id"])
    # the dialect is the gateway's: a PostgreSQL-only type is refused as Redshift refuses it
    described = run(data, f"create table t_{uuid.uuid4().hex[:8]} (j json)")
    assert described["Status"] == "FAILED" and "unsupported type" in described["Error"]


def test_batch_is_one_transaction(data, redshift_connection, redshift_schema):
    table = f"{redshift_schema}.batch"
    failed = data.batch_execute_statement(
        Sqls=[
            f"create table {table} (a int)",
            f"insert into {table} values (1), (2)",
            "select 1/0",
            "select 2",
        ],
        **CLUSTER,
    )
    described, _ = wait(data, failed["Id"])
    assert described["Status"] == "FAILED" and described["Error"] == "ERROR: division by zero"
    parts = described["SubStatements"]
    assert [p["Id"] for p in parts] == [f"{failed['Id']}:{n}" for n in range(1, 5)]
    assert [p["Status"] for p in parts] == ["FINISHED", "FINISHED", "FAILED", "ABORTED"]
    assert parts[1]["ResultRows"] == 2 and parts[2]["Error"] == "ERROR: division by zero"
    cursor = redshift_connection.cursor()
    cursor.execute(
        "select count(*) from pg_tables where schemaname = %s and tablename = 'batch'", (redshift_schema,)
    )
    assert cursor.fetchone()[0] == 0  # the failure rolled back the CREATE and the INSERT

    done = data.batch_execute_statement(
        Sqls=[f"create table {table} (a int)", f"insert into {table} values (3)", f"select a from {table}"],
        StatementName="batch-ok",
        **CLUSTER,
    )
    described, _ = wait(data, done["Id"])
    assert described["Status"] == "FINISHED" and described["HasResultSet"] is True
    assert values(data.get_statement_result(Id=f"{done['Id']}:3")["Records"]) == [[3]]
    sub = data.describe_statement(Id=f"{done['Id']}:2")
    assert (sub["Status"], sub["ResultRows"], sub["QueryString"]) == (
        "FINISHED",
        1,
        f"insert into {table} values (3)",
    )
    with pytest.raises(data.exceptions.ValidationException, match="is a batch"):
        data.get_statement_result(Id=done["Id"])
    with pytest.raises(data.exceptions.ValidationException, match="does not have result"):
        data.get_statement_result(Id=f"{done['Id']}:1")


def test_results_page_by_size_over_thousands_of_rows(data):
    rows = 3000
    described = run(data, f"select g as n, repeat('x', 40) || g as label from generate_series(1, {rows}) g")
    assert described["ResultRows"] == rows and described["ResultSize"] > PAGE_BYTES
    pages, token, seen = 0, None, []
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = data.get_statement_result(Id=described["Id"], **kwargs)
        assert page["TotalNumRows"] == rows and page["Records"]
        assert len(json.dumps(page["Records"])) <= PAGE_BYTES + 200  # one record may straddle the limit
        seen += [record[0]["longValue"] for record in page["Records"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert seen == list(range(1, rows + 1)) and pages >= 3
    paginated = data.get_paginator("get_statement_result").paginate(Id=described["Id"])
    assert sum(len(page["Records"]) for page in paginated) == rows
    with pytest.raises(data.exceptions.ValidationException, match="NextToken"):
        data.get_statement_result(Id=described["Id"], NextToken="not-a-token")
    other = run(data, "select 1")
    with pytest.raises(data.exceptions.ValidationException, match="another statement"):
        data.get_statement_result(Id=other["Id"], NextToken=page_token_of(data, described["Id"]))


def page_token_of(data, statement_id):
    return data.get_statement_result(Id=statement_id)["NextToken"]


def test_csv_results_come_from_get_statement_result_v2(data):
    described = run(
        data,
        "select 1 as a, 'x,y' as b, null as c union all select 2, 'z', 'w' order by 1",
        ResultFormat="CSV",
    )
    result = data.get_statement_result_v2(Id=described["Id"])
    assert result["ResultFormat"] == "CSV" and result["TotalNumRows"] == 2
    assert result["Records"] == [{"CSVRecords": '1,"x,y",\n2,z,w\n'}]
    with pytest.raises(data.exceptions.ValidationException, match="GetStatementResultV2"):
        data.get_statement_result(Id=described["Id"])


def test_cancel_statement_aborts_a_running_query(data):
    answer = data.execute_statement(Sql="select pg_sleep(30)", **CLUSTER)
    deadline = time.monotonic() + 10
    while data.describe_statement(Id=answer["Id"])["Status"] != "STARTED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    began = time.monotonic()
    assert data.cancel_statement(Id=answer["Id"])["Status"] is True
    described, _ = wait(data, answer["Id"], timeout=10)
    assert described["Status"] == "ABORTED" and time.monotonic() - began < 10
    with pytest.raises(data.exceptions.ValidationException, match="already in ABORTED state"):
        data.cancel_statement(Id=answer["Id"])


def test_unknown_and_malformed_ids(data):
    with pytest.raises(data.exceptions.ResourceNotFoundException):
        data.describe_statement(Id=str(uuid.uuid4()))
    with pytest.raises(data.exceptions.ValidationException, match="regex pattern"):
        data.describe_statement(Id="not-an-id")


def test_list_statements_newest_first_filtered_and_paged(data):
    prefix = f"list-{uuid.uuid4().hex[:6]}"
    ids = [
        data.execute_statement(Sql=f"select {n}", StatementName=f"{prefix}-{n}", **CLUSTER)["Id"]
        for n in range(3)
    ]
    failed = data.execute_statement(Sql="select 1/0", StatementName=f"{prefix}-bad", **CLUSTER)["Id"]
    for statement_id in [*ids, failed]:
        wait(data, statement_id)
    listed = data.list_statements(StatementName=prefix)["Statements"]
    assert [s["Id"] for s in listed] == [failed, *reversed(ids)]
    assert listed[-1]["QueryString"] == "select 0" and listed[-1]["IsBatchStatement"] is False
    assert [s["Id"] for s in data.list_statements(StatementName=prefix, Status="FAILED")["Statements"]] == [
        failed
    ]
    first = data.list_statements(StatementName=prefix, MaxResults=3)
    second = data.list_statements(StatementName=prefix, MaxResults=3, NextToken=first["NextToken"])
    assert [s["Id"] for s in first["Statements"] + second["Statements"]] == [s["Id"] for s in listed]
    assert "NextToken" not in second
    with pytest.raises(data.exceptions.ValidationException, match="Status must be one of"):
        data.list_statements(Status="DONE")


def test_catalog_calls(data, redshift_connection, redshift_schema):
    cursor = redshift_connection.cursor()
    cursor.execute(
        f"create table {redshift_schema}.orders "
        "(id int not null primary key, note varchar(12) default 'none')"
    )
    cursor.execute(f"create table {redshift_schema}.order_lines (id int)")
    cursor.execute(f"create view {redshift_schema}.order_view as select id from {redshift_schema}.orders")
    redshift_connection.commit()
    assert "dev" in data.list_databases(**CLUSTER)["Databases"]
    assert data.list_schemas(SchemaPattern=redshift_schema, **CLUSTER)["Schemas"] == [redshift_schema]
    tables = data.list_tables(SchemaPattern=redshift_schema, TablePattern="order%", **CLUSTER)["Tables"]
    assert sorted(tables, key=lambda t: t["name"]) == [
        {"schema": redshift_schema, "name": "order_lines", "type": "TABLE"},
        {"schema": redshift_schema, "name": "order_view", "type": "VIEW"},
        {"schema": redshift_schema, "name": "orders", "type": "TABLE"},
    ]
    first = data.list_tables(SchemaPattern=redshift_schema, MaxResults=2, **CLUSTER)
    rest = data.list_tables(
        SchemaPattern=redshift_schema, MaxResults=2, NextToken=first["NextToken"], **CLUSTER
    )
    assert len(first["Tables"]) == 2 and len(rest["Tables"]) == 1
    described = data.describe_table(Schema=redshift_schema, Table="orders", **CLUSTER)
    assert described["TableName"] == f"{redshift_schema}.orders"
    id_column, note = described["ColumnList"]
    assert (id_column["name"], id_column["typeName"], id_column["nullable"]) == ("id", "int4", 0)
    assert (note["typeName"], note["length"], note["nullable"]) == ("varchar", 12, 1)
    assert note["columnDefault"].startswith("'none'")
    with pytest.raises(data.exceptions.ValidationException, match="connected database only"):
        data.list_schemas(ConnectedDatabase="dev", **{**CLUSTER, "Database": "other"})


def test_how_a_statement_logs_in(local_redshift, data, redshift_schema):
    """DbUser logs in as IAM:<user> with its privileges; a workgroup as the caller; a secret as its user."""
    whoami = "select current_user"
    described = run(data, whoami)
    assert values(data.get_statement_result(Id=described["Id"])["Records"]) == [["IAM:awsuser"]]
    # IAM:awsuser has the privileges of awsuser, who owns the test's schema; IAM:alice has not
    assert run(data, f"create table {redshift_schema}.mine (a int)")["Status"] == "FINISHED"
    denied = run(data, f"select * from {redshift_schema}.mine", target={"DbUser": "alice"})
    assert denied["Status"] == "FAILED" and "permission denied" in denied["Error"]

    serverless = {"WorkgroupName": "local-workgroup", "Database": "dev"}
    answer = data.execute_statement(Sql=whoami, **serverless)
    wait(data, answer["Id"])
    assert values(data.get_statement_result(Id=answer["Id"])["Records"])[0][0].startswith("IAM:")

    secrets = local_redshift.aws_client("secretsmanager")
    login = {"username": "awsuser", "password": "Local-Redshift-1", "dbname": "dev"}
    secret = secrets.create_secret(Name=f"redshift-{uuid.uuid4().hex[:8]}", SecretString=json.dumps(login))[
        "ARN"
    ]
    answer = data.execute_statement(Sql=whoami, ClusterIdentifier="local-cluster", SecretArn=secret)
    assert wait(data, answer["Id"])[0]["Database"] == "dev"  # from the secret's dbname
    assert values(data.get_statement_result(Id=answer["Id"])["Records"]) == [["awsuser"]]
    wrong = secrets.create_secret(
        Name=f"wrong-{uuid.uuid4().hex[:8]}", SecretString=json.dumps({**login, "password": "x"})
    )
    failed = run(data, whoami, target={"DbUser": None, "SecretArn": wrong["ARN"]})
    assert failed["Status"] == "FAILED" and "password authentication failed" in failed["Error"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"ClusterIdentifier": "no-such-cluster"}, "Redshift endpoint doesn't exist in this region"),
        ({"WorkgroupName": "local-workgroup"}, "Either ClusterIdentifier or WorkgroupName"),
        ({"DbUser": None}, "give DbUser .* or SecretArn"),
        ({"Database": None}, "Database is required"),
        ({"SessionKeepAliveSeconds": 90000}, "SessionKeepAliveSeconds must be 0 to 86400"),
        ({"SessionId": str(uuid.uuid4()), "ClusterIdentifier": None, "DbUser": None}, "does not exist"),
        ({"SessionId": str(uuid.uuid4())}, "ClusterIdentifier cannot be given with SessionId"),
    ],
)
def test_requests_aws_would_refuse(data, target, message):
    kwargs = {key: value for key, value in {**CLUSTER, **target}.items() if value is not None}
    with pytest.raises(data.exceptions.ValidationException, match=message):
        data.execute_statement(Sql="select 1", **kwargs)


def test_copy_obeys_the_gateways_role_and_region_rules(
    local_redshift, data, redshift_schema, s3_bucket, copy_role_arn
):
    s3 = local_redshift.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="in/rows.csv", Body=b"1,one\n2,two\n3,three\n")
    table = f"{redshift_schema}.loaded"
    run(data, f"create table {table} (id int, name varchar(10))")
    copy = f"copy {table} from 's3://{s3_bucket}/in/' iam_role '{{role}}' format csv"
    loaded = run(data, copy.format(role=copy_role_arn))
    assert (loaded["Status"], loaded["ResultRows"]) == ("FINISHED", 3)
    stranger = "arn:aws:iam::123456789012:role/not-attached"
    refused = run(data, copy.format(role=stranger))
    assert (
        refused["Status"] == "FAILED"
        and f"Not authorized to get credentials of role {stranger}" in refused["Error"]
    )
    elsewhere = f"{s3_bucket}-w2"
    s3w = local_redshift.aws_client("s3", region="us-west-2")
    s3w.create_bucket(Bucket=elsewhere, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3w.put_object(Bucket=elsewhere, Key="in/rows.csv", Body=b"4,four\n")
    redirected = run(data, copy.format(role=copy_role_arn).replace(s3_bucket, elsewhere))
    assert redirected["Status"] == "FAILED" and "PermanentRedirect" in redirected["Error"]
    counted = run(data, f"select count(*) from {table}")
    assert values(data.get_statement_result(Id=counted["Id"])["Records"]) == [[3]]


@pytest.mark.parametrize("serverless", [False, True])
def test_the_readme_example(local_redshift, data, serverless):
    target = local_redshift.data_api_kwargs(serverless=serverless)
    statement = data.execute_statement(
        Sql="select :n + 1 as answer", Parameters=[{"name": "n", "value": "41"}], **target
    )
    described, _ = wait(data, statement["Id"])
    assert described["Status"] == "FINISHED"
    assert data.get_statement_result(Id=statement["Id"])["Records"] == [[{"longValue": 42}]]


def test_sessions_keep_a_connection_and_its_temporary_tables(data):
    """SessionKeepAliveSeconds keeps the login open; SessionId runs on it, one statement at a time."""
    opened = data.execute_statement(
        Sql="create temp table kept as select 7 as n", SessionKeepAliveSeconds=60, **CLUSTER
    )
    session = opened["SessionId"]
    first, _ = wait(data, opened["Id"])
    assert first["Status"] == "FINISHED" and first["SessionId"] == session
    reused = data.execute_statement(Sql="select n from kept", SessionId=session)
    described, _ = wait(data, reused["Id"])
    assert (described["Status"], described["RedshiftPid"]) == ("FINISHED", first["RedshiftPid"])
    assert described["ClusterIdentifier"] == "local-cluster" and described["SessionId"] == session
    assert values(data.get_statement_result(Id=reused["Id"])["Records"]) == [[7]]
    elsewhere = run(data, "select n from kept")  # another login: its own session has no such table
    assert elsewhere["Status"] == "FAILED" and "does not exist" in elsewhere["Error"]

    busy = data.execute_statement(Sql="select pg_sleep(0.5)", SessionId=session)
    with pytest.raises(data.exceptions.ValidationException, match="is running another statement"):
        data.execute_statement(Sql="select 1", SessionId=session)
    wait(data, busy["Id"])
    short = data.batch_execute_statement(Sqls=["select 1"], SessionId=session, SessionKeepAliveSeconds=1)
    wait(data, short["Id"])
    time.sleep(1.3)
    with pytest.raises(data.exceptions.ValidationException, match="has ended"):
        data.execute_statement(Sql="select n from kept", SessionId=session)
