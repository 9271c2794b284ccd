"""The same files loaded by S3ToRedshiftCopyOperator and by the Amazon provider's S3ToRedshiftOperator."""

from __future__ import annotations

import gzip

import pytest

from airflow_redshift_s3.copy_format import CsvFormat, JsonFormat
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

pytestmark = pytest.mark.integration


def _rows(conn, table):
    cursor = conn.cursor()
    cursor.execute(f"select * from {table} order by 1, 2, 3")
    rows = [tuple(r) for r in cursor.fetchall()]
    conn.rollback()
    return rows


CASES = [
    pytest.param(
        {"in/a.csv": b"id,name,amount\n1,one,1.5\n2,two,\n", "in/b.csv": b'id,name,amount\n3,"th,ree",3\n'},
        ["CSV", "IGNOREHEADER 1"],
        CsvFormat(header_rows=1),
        id="csv-header",
    ),
    pytest.param(
        {"in/a.gz": gzip.compress(b"1,one,1.5\n2,two,\n"), "in/b.gz": gzip.compress(b"3,three,3\n")},
        ["CSV", "GZIP"],
        CsvFormat(compression="gzip"),
        id="csv-gzip",
    ),
    pytest.param(
        {"in/a.json": b'{"id": 1, "name": "one", "amount": 1.5}\n{"id": 2, "name": "two"}\n'},
        ["FORMAT AS JSON 'auto'"],
        JsonFormat(),
        id="json-auto",
    ),
]


@pytest.mark.parametrize(("files", "amazon_options", "our_format"), CASES)
@pytest.mark.parametrize("method", ["APPEND", "REPLACE", "UPSERT"])
def test_same_rows_as_the_amazon_operator(
    amazon_env,
    redshift_connection,
    redshift_schema,
    s3_bucket,
    copy_role_arn,
    files,
    amazon_options,
    our_format,
    method,
):
    from airflow.providers.amazon.aws.transfers.s3_to_redshift import S3ToRedshiftOperator

    s3 = amazon_env.aws_client("s3")
    for key, body in files.items():
        s3.put_object(Bucket=s3_bucket, Key=key, Body=body)
    cursor = redshift_connection.cursor()
    for table in ("theirs", "ours"):
        cursor.execute(
            f"create table {redshift_schema}.{table} (id int, name varchar(10), amount decimal(8,2))"
        )
        cursor.execute(f"insert into {redshift_schema}.{table} values (1, 'old', 0), (9, 'nine', 9)")
    redshift_connection.commit()

    S3ToRedshiftOperator(
        task_id="amazon",
        schema=redshift_schema,
        table="theirs",
        s3_bucket=s3_bucket,
        s3_key="in/",
        redshift_conn_id="redshift_default",
        aws_conn_id="aws_copy_role",
        method=method,
        upsert_keys=["id"] if method == "UPSERT" else None,
        copy_options=amazon_options,
    ).execute(context={})
    S3ToRedshiftCopyOperator(
        task_id="ours",
        bucket=s3_bucket,
        prefix="in/",
        table=f"{redshift_schema}.ours",
        iam_role_arn=copy_role_arn,
        cluster_identifier="local-cluster",
        input_format=our_format,
        mode=method.lower(),
        upsert_keys=["id"] if method == "UPSERT" else None,
    ).execute(context={})

    theirs = _rows(redshift_connection, f"{redshift_schema}.theirs")
    assert _rows(redshift_connection, f"{redshift_schema}.ours") == theirs
    assert len(theirs) >= 2
