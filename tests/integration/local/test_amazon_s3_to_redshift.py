"""The Amazon provider's S3ToRedshiftOperator, unchanged, against the local stack."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _run(method, schema, bucket, key, **kwargs):
    from airflow.providers.amazon.aws.transfers.s3_to_redshift import S3ToRedshiftOperator

    op = S3ToRedshiftOperator(
        task_id=f"load_{method.lower()}",
        schema=schema,
        table="items",
        s3_bucket=bucket,
        s3_key=key,
        redshift_conn_id="redshift_default",
        aws_conn_id="aws_copy_role",
        method=method,
        copy_options=["CSV", "IGNOREHEADER 1"],
        **kwargs,
    )
    op.execute(context={})


def test_append_replace_upsert(amazon_env, redshift_connection, redshift_schema, s3_bucket):
    s3 = amazon_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="v1/items.csv", Body=b"id,name\n1,one\n2,two\n")
    s3.put_object(Bucket=s3_bucket, Key="v2/items.csv", Body=b"id,name\n2,TWO\n3,three\n")
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.items (id int, name varchar(10))")
    redshift_connection.commit()

    def rows():
        cur.execute(f"select id, name from {redshift_schema}.items order by id, name")
        result = [tuple(r) for r in cur.fetchall()]
        redshift_connection.rollback()
        return result

    _run("APPEND", redshift_schema, s3_bucket, "v1/")
    _run("APPEND", redshift_schema, s3_bucket, "v1/")
    assert rows() == [(1, "one"), (1, "one"), (2, "two"), (2, "two")]
    _run("REPLACE", redshift_schema, s3_bucket, "v1/")
    assert rows() == [(1, "one"), (2, "two")]
    _run("UPSERT", redshift_schema, s3_bucket, "v2/", upsert_keys=["id"])
    assert rows() == [(1, "one"), (2, "TWO"), (3, "three")]


def test_upsert_without_upsert_keys_uses_the_recorded_primary_key(
    amazon_env, redshift_connection, redshift_schema, s3_bucket
):
    """UPSERT without upsert_keys reads the key with RedshiftSQLHook.get_table_primary_key.

    Redshift records the key without enforcing it ("Table constraints", Redshift Database Developer Guide),
    so the operator finds it there as it does on a cluster.
    """
    s3 = amazon_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="v2/items.csv", Body=b"id,name\n2,TWO\n3,three\n")
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.items (id int primary key, name varchar(10))")
    cur.execute(f"insert into {redshift_schema}.items values (1, 'one'), (2, 'two')")
    redshift_connection.commit()
    _run("UPSERT", redshift_schema, s3_bucket, "v2/")
    cur.execute(f"select id, name from {redshift_schema}.items order by id")
    assert [tuple(r) for r in cur.fetchall()] == [(1, "one"), (2, "TWO"), (3, "three")]
    redshift_connection.rollback()
