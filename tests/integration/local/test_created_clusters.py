"""A cluster created through the stack's CreateCluster gets a database endpoint; DeleteCluster closes it."""

from __future__ import annotations

import socket
import time

import pytest

from airflow_redshift_s3.local.pytest_plugin import unique_name

pytestmark = pytest.mark.integration

PASSWORD = "Fruit-Passw0rd"


def _run_data_api(aws, sql: str, **target: str) -> dict:
    data = aws.aws_client("redshift-data")
    statement = data.execute_statement(Sql=sql, **target)["Id"]
    deadline = time.monotonic() + 30
    while (described := data.describe_statement(Id=statement))["Status"] not in ("FINISHED", "FAILED"):
        assert time.monotonic() < deadline, described
        time.sleep(0.1)
    return described


def test_a_created_cluster_is_served_by_the_stack_until_deleted(aws, copy_role_arn, apply_delay, s3_bucket):
    import redshift_connector

    apply_delay(0)
    redshift = aws.aws_client("redshift")
    name, user, database = unique_name("created-"), unique_name("fruit_"), unique_name("fruitdb_")
    redshift.create_cluster(
        ClusterIdentifier=name, NodeType="ra3.large", ClusterType="single-node", MasterUsername=user,
        MasterUserPassword=PASSWORD, DBName=database,
    )  # fmt: skip
    endpoint = redshift.describe_clusters(ClusterIdentifier=name)["Clusters"][0]["Endpoint"]
    assert endpoint["Address"] == aws.host
    assert endpoint["Port"] not in (aws.redshift_port, aws.serverless_port)  # a listener of its own

    login = {"host": endpoint["Address"], "port": endpoint["Port"], "database": database, "ssl": False}
    with pytest.raises(redshift_connector.ProgrammingError, match="password authentication failed"):
        redshift_connector.connect(**login, user=user, password="Not-" + PASSWORD)
    conn = redshift_connector.connect(**login, user=user, password=PASSWORD)
    conn.autocommit = True
    cursor = conn.cursor()
    cursor.execute("select current_user, current_database()")
    assert tuple(cursor.fetchone()) == (user, database)
    aws.aws_client("s3").put_object(Bucket=s3_bucket, Key="fruit.csv", Body=b"1,banana\n")
    cursor.execute("create table fruit (id int, name varchar(10))")
    copy = f"copy fruit from 's3://{s3_bucket}/fruit.csv' iam_role '{copy_role_arn}' csv"
    # the role is attached to the stack's own cluster, not to this one: COPY checks this cluster's roles
    with pytest.raises(redshift_connector.ProgrammingError, match="Not authorized to get credentials"):
        cursor.execute(copy)
    redshift.modify_cluster_iam_roles(ClusterIdentifier=name, AddIamRoles=[copy_role_arn])
    cursor.execute(copy)
    cursor.execute("select id, name from fruit")
    assert [tuple(row) for row in cursor.fetchall()] == [(1, "banana")]

    # the Data API reaches it too, logging in as DbUser with GetClusterCredentials
    target = {"ClusterIdentifier": name, "Database": database, "DbUser": user}
    assert _run_data_api(aws, "select count(*) from fruit", **target)["Status"] == "FINISHED"

    redshift.delete_cluster(ClusterIdentifier=name, SkipFinalClusterSnapshot=True)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((endpoint["Address"], endpoint["Port"]), timeout=2).close()
    data = aws.aws_client("redshift-data")
    with pytest.raises(data.exceptions.ValidationException, match="endpoint doesn't exist"):
        data.execute_statement(Sql="select 1", **target)
    conn.close()


@pytest.mark.parametrize("user", ["rdsdb", "pg_fruit"])
def test_a_reserved_master_user_name_is_refused(aws, user):
    redshift = aws.aws_client("redshift")
    name = unique_name("reserved-")
    with pytest.raises(redshift.exceptions.ClientError, match=f"{user}.*reserved"):
        redshift.create_cluster(
            ClusterIdentifier=name, NodeType="ra3.large", ClusterType="single-node", MasterUsername=user,
            MasterUserPassword=PASSWORD,
        )  # fmt: skip
    with pytest.raises(redshift.exceptions.ClusterNotFoundFault):
        redshift.describe_clusters(ClusterIdentifier=name)
