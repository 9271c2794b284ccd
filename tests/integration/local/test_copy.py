"""Redshift COPY from S3 through the local gateway, with redshift_connector and boto3 against the stack."""

from __future__ import annotations

import gzip
import io
import json
import time

import pytest

from airflow_redshift_s3.local.pytest_plugin import create_role, unique_name
from tests.integration.conftest import FAKE_KEY_ID, FAKE_SECRET

pytestmark = pytest.mark.integration

LOAD_FAILED = "Load into table '{}' failed.  Check 'stl_load_errors' system table for details."


def _rows(conn, sql):
    cur = conn.cursor()
    cur.execute(sql)
    return [tuple(r) for r in cur.fetchall()]


def _put(stack, bucket, key, body: bytes):
    stack.aws_client("s3").put_object(Bucket=bucket, Key=key, Body=body)


@pytest.fixture
def people(redshift_connection, redshift_schema):
    """Return the name of an empty table (id int, name varchar(10), born date)."""
    table = f"{redshift_schema}.people"
    cur = redshift_connection.cursor()
    cur.execute(f"create table {table} (id int, name varchar(10), born date)")
    redshift_connection.commit()
    return table


def test_csv_with_header_across_files(local_redshift, redshift_connection, people, s3_bucket, copy_role_arn):
    _put(local_redshift, s3_bucket, "in/a.csv", b"id,name,born\n1,ann,2001-02-03\n2,bob,2002-03-04\n")
    _put(local_redshift, s3_bucket, "in/b.csv", b"id,name,born\n3,cy,2003-04-05")  # no final newline
    cur = redshift_connection.cursor()
    cur.execute(
        f"copy {people} from 's3://{s3_bucket}/in/' iam_role '{copy_role_arn}' format as csv ignoreheader 1"
    )
    assert _rows(redshift_connection, "select pg_last_copy_count()") == [(3,)]
    redshift_connection.commit()
    assert _rows(redshift_connection, f"select id, name, born::text from {people} order by id") == [
        (1, "ann", "2001-02-03"),
        (2, "bob", "2002-03-04"),
        (3, "cy", "2003-04-05"),
    ]
    history = _rows(
        redshift_connection,
        "select trim(status), loaded_rows, source_file_count from sys_load_history "
        f"where trim(data_source) = 's3://{s3_bucket}/in/'",
    )
    assert history == [("completed", 3, 2)]
    commits = _rows(
        redshift_connection, f"select count(*) from stl_load_commits where filename like 's3://{s3_bucket}/%'"
    )
    assert commits == [(2,)]


def test_gzip_pipe_delimited_text(local_redshift, redshift_connection, people, s3_bucket, copy_role_arn):
    _put(local_redshift, s3_bucket, "t/part-0.gz", gzip.compress(b"1|ann|2001-02-03\n2|\\N|2002-03-04\n"))
    cur = redshift_connection.cursor()
    cur.execute(f"copy {people} from 's3://{s3_bucket}/t/' iam_role '{copy_role_arn}' gzip")
    redshift_connection.commit()
    assert _rows(redshift_connection, f"select id, name from {people} order by id") == [(1, "ann"), (2, None)]


def test_json_auto_and_ignorecase(local_redshift, redshift_connection, people, s3_bucket, copy_role_arn):
    _put(local_redshift, s3_bucket, "j/1.json", b'{"id": 1, "name": "ann", "born": "2001-02-03"}\n{"id": 2}')
    _put(local_redshift, s3_bucket, "k/1.json", b'{"ID": 3, "Name": "cy"}')
    cur = redshift_connection.cursor()
    cur.execute(f"copy {people} from 's3://{s3_bucket}/j/' iam_role '{copy_role_arn}' format as json 'auto'")
    cur.execute(f"copy {people} from 's3://{s3_bucket}/k/' iam_role '{copy_role_arn}' json 'auto ignorecase'")
    redshift_connection.commit()
    assert _rows(redshift_connection, f"select id, name, born::text from {people} order by id") == [
        (1, "ann", "2001-02-03"),
        (2, None, None),
        (3, "cy", None),
    ]


def test_parquet_by_position(local_redshift, redshift_connection, people, s3_bucket, copy_role_arn):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "a": pa.array([1, 2], pa.int32()),
            "b": ["ann", "bob"],
            "c": [datetime.date(2001, 2, 3), None],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    _put(local_redshift, s3_bucket, "p/0.parquet", buffer.getvalue())
    cur = redshift_connection.cursor()
    cur.execute(f"copy {people} from 's3://{s3_bucket}/p/' iam_role '{copy_role_arn}' format as parquet")
    redshift_connection.commit()
    assert _rows(redshift_connection, f"select id, name, born::text from {people} order by id") == [
        (1, "ann", "2001-02-03"),
        (2, "bob", None),
    ]


def test_manifest_loads_exactly_the_listed_files(
    local_redshift, redshift_connection, people, s3_bucket, copy_role_arn
):
    _put(local_redshift, s3_bucket, "m/a.csv", b"1,ann,\n")
    _put(local_redshift, s3_bucket, "m/b.csv", b"2,bob,\n")
    _put(local_redshift, s3_bucket, "m/late.csv", b"3,late,\n")
    manifest = {
        "entries": [{"url": f"s3://{s3_bucket}/m/{k}", "mandatory": True} for k in ("a.csv", "b.csv")]
    }
    _put(local_redshift, s3_bucket, "manifests/m.json", json.dumps(manifest).encode())
    cur = redshift_connection.cursor()
    cur.execute(
        f"copy {people} from 's3://{s3_bucket}/manifests/m.json' iam_role '{copy_role_arn}' csv manifest"
    )
    redshift_connection.commit()
    assert _rows(redshift_connection, f"select id from {people} order by id") == [(1,), (2,)]


def test_bad_row_in_last_file_leaves_table_unchanged_and_is_recorded(
    local_redshift, redshift_connection, people, s3_bucket, copy_role_arn
):
    import redshift_connector

    cur = redshift_connection.cursor()
    cur.execute(f"insert into {people} values (100, 'kept', null)")
    redshift_connection.commit()
    _put(local_redshift, s3_bucket, "bad/1.csv", b"1,ann,2001-02-03\n2,bob,2002-03-04\n")
    _put(local_redshift, s3_bucket, "bad/2.csv", b"3,cy,2003-04-05\nfour,dee,2004-05-06\n")
    cur.execute("begin")
    cur.execute(f"delete from {people}")
    with pytest.raises(redshift_connector.error.ProgrammingError) as caught:
        cur.execute(f"copy {people} from 's3://{s3_bucket}/bad/' iam_role '{copy_role_arn}' csv")
    error = caught.value.args[0]
    assert error["M"] == LOAD_FAILED.format("people")
    assert error["C"] == "XX000"
    redshift_connection.rollback()
    assert _rows(redshift_connection, f"select id, name from {people}") == [(100, "kept")]
    # recorded through the gateway's own connection: still there after the rollback
    errors = _rows(
        redshift_connection,
        "select trim(filename), line_number, trim(colname), err_code, trim(raw_field_value), trim(raw_line) "
        f"from stl_load_errors where filename like 's3://{s3_bucket}/%'",
    )
    assert errors == [(f"s3://{s3_bucket}/bad/2.csv", 2, "id", 1207, "four", "four,dee,2004-05-06")]
    detail = _rows(
        redshift_connection,
        "select trim(file_name), line_number, trim(column_name), error_code from sys_load_error_detail "
        f"where file_name like 's3://{s3_bucket}/%'",
    )
    assert detail == [(f"s3://{s3_bucket}/bad/2.csv", 2, "id", 1207)]


def test_maxerror_tolerates_bad_rows_up_to_the_limit(
    local_redshift, redshift_connection, people, s3_bucket, copy_role_arn
):
    import redshift_connector

    _put(local_redshift, s3_bucket, "mx/1.csv", b"1,ann,\nx,bob,\n3,cy,\ny,dee,\n")
    cur = redshift_connection.cursor()
    cur.execute(f"copy {people} from 's3://{s3_bucket}/mx/' iam_role '{copy_role_arn}' csv maxerror 2")
    assert _rows(redshift_connection, "select pg_last_copy_count()") == [(2,)]
    redshift_connection.commit()
    assert _rows(redshift_connection, f"select id from {people} order by id") == [(1,), (3,)]
    with pytest.raises(redshift_connector.error.ProgrammingError, match="Load into table 'people' failed"):
        cur.execute(f"copy {people} from 's3://{s3_bucket}/mx/' iam_role '{copy_role_arn}' csv maxerror 1")
    redshift_connection.rollback()
    assert _rows(redshift_connection, f"select count(*) from {people}") == [(2,)]


def test_copy_outside_a_transaction_commits_on_its_own(
    local_redshift, redshift_connection, people, s3_bucket, copy_role_arn
):
    _put(local_redshift, s3_bucket, "auto/1.csv", b"1,ann,\n")
    redshift_connection.autocommit = True
    redshift_connection.cursor().execute(
        f"copy {people} from 's3://{s3_bucket}/auto/' iam_role '{copy_role_arn}' csv"
    )
    redshift_connection.autocommit = False
    assert _rows(redshift_connection, f"select count(*) from {people}") == [(1,)]
    redshift_connection.rollback()


def test_role_not_attached_or_still_adding(local_redshift, redshift_connection, people, s3_bucket):
    import redshift_connector

    _put(local_redshift, s3_bucket, "r/1.csv", b"1,ann,\n")
    arn = local_redshift.create_copy_role(unique_name("detached-"), resources=["*"], attach=False)
    cur = redshift_connection.cursor()
    expected = f"Not authorized to get credentials of role {arn}"
    with pytest.raises(redshift_connector.error.ProgrammingError, match=expected):
        cur.execute(f"copy {people} from 's3://{s3_bucket}/r/' iam_role '{arn}' csv")
    redshift_connection.rollback()
    local_redshift.aws.role_apply_delay = 30
    try:
        local_redshift.aws_client("redshift").modify_cluster_iam_roles(
            ClusterIdentifier="local-cluster", AddIamRoles=[arn]
        )
        with pytest.raises(redshift_connector.error.ProgrammingError, match=expected):
            cur.execute(f"copy {people} from 's3://{s3_bucket}/r/' iam_role '{arn}' csv")
        redshift_connection.rollback()
    finally:
        local_redshift.aws.role_apply_delay = 0.3


def test_iam_role_default(local_redshift, redshift_connection, people, s3_bucket, copy_role_arn):
    _put(local_redshift, s3_bucket, "d/1.csv", b"1,ann,\n")
    local_redshift.aws_client("redshift").modify_cluster_iam_roles(
        ClusterIdentifier="local-cluster", DefaultIamRoleArn=copy_role_arn
    )
    redshift_connection.cursor().execute(f"copy {people} from 's3://{s3_bucket}/d/' iam_role default csv")
    assert _rows(redshift_connection, f"select count(*) from {people}") == [(1,)]
    redshift_connection.rollback()


def test_policy_without_get_object_is_access_denied(local_redshift, redshift_connection, people, s3_bucket):
    import redshift_connector

    _put(local_redshift, s3_bucket, "deny/1.csv", b"1,ann,\n")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{s3_bucket}/other/*"},
        ],
    }
    arn = create_role(local_redshift, unique_name("list-only-"), policy)
    local_redshift.attach_role(arn)
    with pytest.raises(
        redshift_connector.error.ProgrammingError,
        match=r"S3ServiceException:Access Denied,Status 403,Error AccessDenied",
    ):
        redshift_connection.cursor().execute(
            f"copy {people} from 's3://{s3_bucket}/deny/' iam_role '{arn}' csv"
        )
    redshift_connection.rollback()


def test_bucket_in_another_region(local_redshift, redshift_connection, people, copy_role_arn):
    import redshift_connector

    bucket = unique_name("eu-bucket-")
    s3 = local_redshift.aws_client("s3", region="eu-west-1")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=bucket, Key="x/1.csv", Body=b"1,ann,\n")
    cur = redshift_connection.cursor()
    with pytest.raises(redshift_connector.error.ProgrammingError, match="Status 301,Error PermanentRedirect"):
        cur.execute(f"copy {people} from 's3://{bucket}/x/' iam_role '{copy_role_arn}' csv")
    redshift_connection.rollback()
    cur.execute(f"copy {people} from 's3://{bucket}/x/' iam_role '{copy_role_arn}' csv region 'eu-west-1'")
    assert _rows(redshift_connection, f"select count(*) from {people}") == [(1,)]
    redshift_connection.rollback()
    with pytest.raises(
        redshift_connector.error.ProgrammingError, match="REGION argument is not supported for PARQUET"
    ):
        cur.execute(
            f"copy {people} from 's3://{bucket}/x/' iam_role '{copy_role_arn}' parquet region 'eu-west-1'"
        )
    redshift_connection.rollback()


def test_empty_prefix_is_an_error(redshift_connection, people, s3_bucket, copy_role_arn):
    import redshift_connector

    with pytest.raises(redshift_connector.error.ProgrammingError, match="The specified S3 prefix 'nothing/'"):
        redshift_connection.cursor().execute(
            f"copy {people} from 's3://{s3_bucket}/nothing/' iam_role '{copy_role_arn}' csv"
        )
    redshift_connection.rollback()


def test_unsupported_option_fails_clearly(redshift_connection, people, s3_bucket, copy_role_arn):
    import redshift_connector

    with pytest.raises(redshift_connector.error.ProgrammingError, match="NOLOAD"):
        redshift_connection.cursor().execute(
            f"copy {people} from 's3://{s3_bucket}/x/' iam_role '{copy_role_arn}' csv noload"
        )
    redshift_connection.rollback()


def test_key_based_credentials_are_accepted(local_redshift, redshift_connection, people, s3_bucket):
    _put(local_redshift, s3_bucket, "k/1.csv", b"1,ann,\n")
    redshift_connection.cursor().execute(
        f"copy {people} from 's3://{s3_bucket}/k/' "
        "credentials 'aws_access_key_id=testing;aws_secret_access_key=testing' csv"
    )
    assert _rows(redshift_connection, f"select count(*) from {people}") == [(1,)]
    redshift_connection.rollback()


def test_two_sessions_loading_one_table_serialise_with_lock(local_redshift, people, s3_bucket, copy_role_arn):
    import threading

    import redshift_connector

    _put(local_redshift, s3_bucket, "c/1.csv", b"".join(b"%d,n,\n" % i for i in range(2000)))
    results: list[object] = []

    def load():
        conn = redshift_connector.connect(**local_redshift.connect_kwargs())
        try:
            cur = conn.cursor()
            cur.execute(f"lock {people}")
            cur.execute(f"delete from {people}")
            cur.execute(f"copy {people} from 's3://{s3_bucket}/c/' iam_role '{copy_role_arn}' csv")
            time.sleep(0.2)
            conn.commit()
            results.append("ok")
        except Exception as err:
            results.append(err)
        finally:
            conn.close()

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == ["ok", "ok"]
    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    assert _rows(conn, f"select count(*) from {people}") == [(2000,)]
    conn.close()


def test_serverless_endpoint_checks_the_namespace_roles(local_redshift, people, s3_bucket, copy_role_arn):
    import redshift_connector

    _put(local_redshift, s3_bucket, "sl/1.csv", b"1,ann,\n")
    cluster_only = local_redshift.create_copy_role(
        unique_name("cluster-only-"), resources=["*"], attach=False
    )
    redshift = local_redshift.aws_client("redshift")
    redshift.modify_cluster_iam_roles(ClusterIdentifier="local-cluster", AddIamRoles=[cluster_only])
    conn = redshift_connector.connect(**local_redshift.connect_kwargs(serverless=True))
    try:
        cur = conn.cursor()
        cur.execute(f"copy {people} from 's3://{s3_bucket}/sl/' iam_role '{copy_role_arn}' csv")
        assert _rows(conn, f"select count(*) from {people}") == [(1,)]
        conn.rollback()
        with pytest.raises(
            redshift_connector.error.ProgrammingError, match="Not authorized to get credentials"
        ):
            cur.execute(f"copy {people} from 's3://{s3_bucket}/sl/' iam_role '{cluster_only}' csv")
        conn.rollback()
    finally:
        conn.close()


def test_stl_query_keeps_each_copy_with_its_credentials_masked(
    local_redshift, redshift_connection, people, s3_bucket, copy_role_arn
):
    _put(local_redshift, s3_bucket, "q/a.csv", b"1,ann,2001-02-03\n")
    cur = redshift_connection.cursor()
    cur.execute(f"copy {people} from 's3://{s3_bucket}/q/' iam_role '{copy_role_arn}' csv")
    cur.execute("select pg_last_copy_id()")
    by_role = cur.fetchone()[0]
    cur.execute(
        f"copy {people} from 's3://{s3_bucket}/q/' access_key_id '{FAKE_KEY_ID}' "
        f"secret_access_key '{FAKE_SECRET}' csv"
    )
    cur.execute("select pg_last_copy_id()")
    by_keys = cur.fetchone()[0]
    redshift_connection.commit()
    rows = dict(
        _rows(
            redshift_connection,
            f"select query, trim(querytext) from stl_query where query in ({by_role}, {by_keys})",
        )
    )
    assert rows[by_role] == f"copy {people} from 's3://{s3_bucket}/q/' iam_role '{copy_role_arn}' csv"
    assert rows[by_keys] == (
        f"copy {people} from 's3://{s3_bucket}/q/' access_key_id '***' secret_access_key '***' csv"
    )
