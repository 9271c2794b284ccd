"""The target of the system test: the local stack (default, inside ``make test``) or real AWS (opt-in).

``REDSHIFT_S3_SYSTEM_TARGET=aws`` (what ``make system-test`` sets) runs the same flow against an existing
provisioned cluster and bucket named by environment variables, with the Airflow connections
``aws_default`` (boto3's usual credential chain when it is not defined) and ``redshift_default`` (defined by
``AIRFLOW_CONN_REDSHIFT_DEFAULT``). The test creates only a temporary IAM role, an S3 prefix and a schema
holding its table and ledger, and removes them afterwards, also when it fails.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

AWS_VARIABLES = {
    "REDSHIFT_S3_SYSTEM_CLUSTER": "the provisioned cluster's identifier",
    "REDSHIFT_S3_SYSTEM_REGION": "the cluster's region",
    "REDSHIFT_S3_SYSTEM_BUCKET": "an existing bucket in that region the test may write a prefix to",
    "AIRFLOW_CONN_REDSHIFT_DEFAULT": "the Redshift connection to that cluster, e.g. with IAM authentication",
}


@dataclass
class SystemTarget:
    """Where the flow runs, and what it created there (removed by ``cleanup``)."""

    name: str
    cluster: str
    bucket: str
    aws_client: Callable[[str], Any]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    role_arns: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"airflow-redshift-s3-system/{self.run_id}/"

    @property
    def role_name(self) -> str:
        return f"redshift-s3-system-{self.run_id}"

    @property
    def schema(self) -> str:
        return f"redshift_s3_system_{self.run_id}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement through redshift_default (autocommit) and return its rows."""
        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

        conn = RedshiftSQLHook(redshift_conn_id="redshift_default").get_conn()
        try:
            conn.autocommit = True
            cursor = conn.cursor()
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            conn.close()

    def cleanup(self) -> list[str]:
        """Remove the role (detached first), the prefix and the schema; return what could not be removed."""
        left: list[str] = []
        redshift, iam, s3 = (self.aws_client(name) for name in ("redshift", "iam", "s3"))
        for arn in self.role_arns:
            with _noting(left, f"detach {arn} from {self.cluster}"):
                redshift.modify_cluster_iam_roles(ClusterIdentifier=self.cluster, RemoveIamRoles=[arn])
        with _noting(left, f"delete the role {self.role_name}"):
            for policy in iam.list_role_policies(RoleName=self.role_name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=self.role_name, PolicyName=policy)
            iam.delete_role(RoleName=self.role_name)
        with _noting(left, f"delete s3://{self.bucket}/{self.prefix}"):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
        with _noting(left, f"drop the schema {self.schema}"):
            self.query(f"drop schema if exists {self.schema} cascade")
        return left


@contextlib.contextmanager
def _noting(left: list[str], what: str) -> Iterator[None]:
    try:
        yield
    except Exception as error:
        if "NoSuchEntity" not in str(error):  # the flow failed before creating it
            left.append(f"{what}: {error}")


def _aws_target() -> SystemTarget:
    missing = [f"{name} ({what})" for name, what in AWS_VARIABLES.items() if not os.environ.get(name)]
    if missing:
        pytest.fail(
            "REDSHIFT_S3_SYSTEM_TARGET=aws needs: " + "; ".join(missing) + ". Fix: export them (README "
            '"System test on real AWS"); without AWS, `make test` runs the same flow on the local stack.',
            pytrace=False,
        )
    import boto3

    session = boto3.session.Session(region_name=os.environ["REDSHIFT_S3_SYSTEM_REGION"])
    return SystemTarget(
        name="aws",
        cluster=os.environ["REDSHIFT_S3_SYSTEM_CLUSTER"],
        bucket=os.environ["REDSHIFT_S3_SYSTEM_BUCKET"],
        aws_client=session.client,
    )


@pytest.fixture
def system_target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[SystemTarget]:
    """Yield the target; remove what the test created there afterwards, and fail if something is left."""
    from airflow.utils import db

    kind = os.environ.get("REDSHIFT_S3_SYSTEM_TARGET", "local")
    if kind == "aws":
        target = _aws_target()
        monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ["REDSHIFT_S3_SYSTEM_REGION"])
    elif kind == "local":
        stack = request.getfixturevalue("local_redshift_env")
        target = SystemTarget(name="local", cluster="local-cluster", bucket=f"system-{uuid.uuid4().hex[:10]}",
                              aws_client=stack.aws_client)  # fmt: skip
        target.aws_client("s3").create_bucket(Bucket=target.bucket)
        monkeypatch.setenv("REDSHIFT_S3_WAITER_DELAY", "0.2")
    else:
        pytest.fail(f"REDSHIFT_S3_SYSTEM_TARGET is {kind!r}: expected local or aws.", pytrace=False)
    db.initdb()
    yield target
    left = target.cleanup()
    assert not left, f"the system test left resources on {target.name}: {left}"
