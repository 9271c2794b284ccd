"""The Amazon provider's RedshiftToS3Operator, unchanged, against the local stack.

It writes ``UNLOAD ($$<query>$$) TO 's3://<bucket>/<key>' credentials 'aws_iam_role=<arn>' <options>``
(dollar-quoted query, the role from the AWS connection's ``role_arn`` extra), which the UNLOAD page of the
Redshift Database Developer Guide documents (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html).
"""

from __future__ import annotations

import json

import pytest

from airflow_redshift_s3.local.pytest_plugin import create_role, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture
def unload_conn(local_redshift_env, monkeypatch):
    """An AWS connection whose role_arn extra names a role that may write S3, attached to the cluster."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:ListBucket"], "Resource": "*"}],
    }
    arn = create_role(local_redshift_env, unique_name("to-s3-"), policy)
    local_redshift_env.attach_role(arn)
    extra = {"endpoint_url": local_redshift_env.aws_endpoint_url, "region_name": "us-east-1", "role_arn": arn}
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_UNLOAD_ROLE",
        json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}),
    )
    return "aws_unload_role"


def test_table_to_csv_with_header(
    local_redshift, redshift_connection, redshift_schema, s3_bucket, unload_conn
):
    """A table unloaded as CSV with a header, serially: one object ``<key>/<table>_000``."""
    from airflow.providers.amazon.aws.transfers.redshift_to_s3 import RedshiftToS3Operator

    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.items (id int, name varchar(20))")
    cur.execute(f"insert into {redshift_schema}.items values (1, 'one'), (2, 'two, too')")
    redshift_connection.commit()
    RedshiftToS3Operator(
        task_id="unload_items",
        s3_bucket=s3_bucket,
        s3_key="exports",
        schema=redshift_schema,
        table="items",
        redshift_conn_id="redshift_default",
        aws_conn_id=unload_conn,
        unload_options=["CSV", "PARALLEL OFF"],
        include_header=True,
    ).execute(context={})
    s3 = local_redshift.aws_client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == ["exports/items_000"]
    body = s3.get_object(Bucket=s3_bucket, Key=keys[0])["Body"].read().decode()
    assert body == 'id,name\n1,one\n2,"two, too"\n'


def test_select_query_with_a_literal_to_parquet(
    local_redshift, redshift_connection, redshift_schema, s3_bucket, unload_conn
):
    """A select_query holding a quoted literal, unloaded to Parquet files per slice."""
    import io

    import pyarrow.parquet as pq
    from airflow.providers.amazon.aws.transfers.redshift_to_s3 import RedshiftToS3Operator

    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.items (id int, name varchar(20))")
    cur.execute(f"insert into {redshift_schema}.items values (1, 'one'), (2, 'two'), (3, 'one')")
    redshift_connection.commit()
    RedshiftToS3Operator(
        task_id="unload_ones",
        s3_bucket=s3_bucket,
        s3_key="ones/part_",
        select_query=f"SELECT id FROM {redshift_schema}.items WHERE name = 'one' ORDER BY id",
        redshift_conn_id="redshift_default",
        aws_conn_id=unload_conn,
        unload_options=["FORMAT AS PARQUET"],
    ).execute(context={})
    s3 = local_redshift.aws_client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"])
    assert keys == ["ones/part_0000_part_00.parquet", "ones/part_0001_part_00.parquet"]
    ids = [
        value
        for key in keys
        for value in pq.read_table(io.BytesIO(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read()))
        .column("id")
        .to_pylist()
    ]
    assert ids == [1, 3]
