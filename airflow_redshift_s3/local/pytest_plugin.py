"""Pytest fixtures for testing DAGs against the local Redshift (loaded through the ``pytest11`` entry point).

- ``local_redshift``: one stack for the whole test session.
- ``local_redshift_env``: the stack's Airflow connections and AWS endpoint in the environment of a test.
- ``redshift_schema``: a fresh schema per test, dropped afterwards.
- ``s3_bucket``: a fresh bucket per test.
- ``copy_role_arn``: an IAM role that Redshift trusts, may read every bucket, and is attached in-sync to
  ``local-cluster`` and ``local-namespace``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_redshift_s3.local.aws import roles as aws_roles


def unique_name(prefix: str) -> str:
    """Return ``prefix`` followed by a short random suffix (valid as a bucket name and an identifier)."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def local_redshift() -> Iterator[Any]:
    """Start one local Redshift stack for the test session."""
    from airflow_redshift_s3.local.extra import require_local_extra
    from airflow_redshift_s3.local.stack import LocalRedshift

    try:
        require_local_extra()
    except ImportError as error:  # installed without the extra: the plugin is loaded, its stack cannot run
        pytest.fail(str(error), pytrace=False)
    with LocalRedshift(role_apply_delay=0.3) as stack:
        yield stack


@pytest.fixture
def local_redshift_env(local_redshift: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point Airflow's aws_default/redshift_default connections and boto3 at the local stack."""
    for key, value in local_redshift.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return local_redshift


@pytest.fixture
def redshift_connection(local_redshift: Any, redshift_schema: str) -> Iterator[Any]:
    """Return a redshift_connector connection to local-cluster as the master user.

    It depends on ``redshift_schema`` so that it is closed (its transaction ended) before the schema is
    dropped.
    """
    import redshift_connector

    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    yield conn
    conn.close()


@pytest.fixture
def redshift_schema(local_redshift: Any) -> Iterator[str]:
    """Create a fresh schema for one test and drop it afterwards."""
    import redshift_connector

    name = unique_name("test_")
    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    conn.autocommit = True
    conn.cursor().execute(f"CREATE SCHEMA {name}")
    yield name
    conn.cursor().execute(f"DROP SCHEMA {name} CASCADE")
    conn.close()


@pytest.fixture
def s3_bucket(local_redshift: Any) -> str:
    """Create a fresh bucket in us-east-1 (the cluster's region)."""
    name = unique_name("test-bucket-")
    local_redshift.aws_client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def copy_role_arn(local_redshift: Any) -> str:
    """Return a role Redshift trusts, that may read every bucket, in-sync on the cluster and namespace."""
    return local_redshift.create_copy_role("local-copy-role", resources=["*"], attach=True)


def create_role(
    stack: Any, name: str, policy: dict[str, Any] | None, trust: dict[str, Any] | None = None
) -> str:
    """Create a role with Redshift's trust policy (or ``trust``) and an inline ``policy``; return its ARN."""
    return aws_roles.create_role(stack.aws_client("iam"), name, policy, trust)
