"""RedshiftAuditOperator on a Serverless namespace of the local stack (its workgroup's require_ssl)."""

from __future__ import annotations

import json

import pytest

from airflow_redshift_s3.local.pytest_plugin import create_role, unique_name
from airflow_redshift_s3.operators.redshift_audit import RedshiftAuditOperator
from airflow_redshift_s3.policies import copy_read_policy
from tests.integration.conftest import ACCOUNT, make_clean

pytestmark = pytest.mark.integration


def test_a_clean_namespace_returns_its_findings(aws, s3_bucket):
    make_clean(aws, s3_bucket)  # the bucket: SSE-S3, Block Public Access, a policy denying plain HTTP
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]},
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}  # fmt: skip
    role = create_role(aws, unique_name("ns-role-"), copy_read_policy(s3_bucket, "in/"), trust)
    namespace, workgroup = unique_name("ns-"), unique_name("wg-")
    serverless = aws.aws_client("redshift-serverless")
    serverless.create_namespace(namespaceName=namespace, dbName="dev", adminUsername="admin", iamRoles=[role])
    serverless.create_workgroup(
        workgroupName=workgroup,
        namespaceName=namespace,
        configParameters=[{"parameterKey": "require_ssl", "parameterValue": "true"}],
    )
    operator = RedshiftAuditOperator(
        task_id="audit", workgroup_name=workgroup, sources=[f"s3://{s3_bucket}/in/"], redshift_conn_id=None
    )
    summary = operator.execute({})  # no failure: the task context is not used
    assert summary["target"] == f"Redshift Serverless namespace '{namespace}' (workgroup '{workgroup}')"
    assert summary["failures"] == 0
    json.dumps(summary)  # an XCom
    passed = set(summary["passed"])
    assert f"audit.role.trust {role}" in passed and f"audit.role.permissions {role}" in passed
    assert any(p.startswith("audit.redshift.require_ssl ") for p in passed)
    assert any(p.startswith("audit.redshift.encryption ") for p in passed)
    # without a SQL connection the history is not read: said, not passed
    assert {f["name"] for f in summary["findings"]} == {"audit.role.used", "audit.history.access_keys"}


def test_a_namespace_history_is_read_from_sys_query_history(aws, s3_bucket, redshift_schema, monkeypatch):
    """Serverless has no STL views: the key-based COPY is found in sys_query_history, its keys masked."""
    import redshift_connector

    from airflow_redshift_s3.checks.audit.connections import audit_from_connections
    from tests.integration.conftest import FAKE_KEY_ID, FAKE_SECRET, clear_query_history

    clear_query_history(aws)
    monkeypatch.setenv("AIRFLOW_CONN_REDSHIFT_SERVERLESS", aws.redshift_conn_uri(serverless=True))
    aws.aws_client("s3").put_object(Bucket=s3_bucket, Key="in/a.csv", Body=b"1\n")
    conn = redshift_connector.connect(**aws.connect_kwargs(serverless=True))
    conn.autocommit = True
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {redshift_schema}.t (n int)")
    cursor.execute(
        f"COPY {redshift_schema}.t FROM 's3://{s3_bucket}/in/' ACCESS_KEY_ID '{FAKE_KEY_ID}' "
        f"SECRET_ACCESS_KEY '{FAKE_SECRET}' CSV"
    )
    cursor.execute("SELECT pg_last_copy_id()")
    query = int(cursor.fetchone()[0])
    conn.close()
    report = audit_from_connections(workgroup_name="local-workgroup", redshift_conn_id="redshift_serverless")
    (keys,) = [r for r in report.results if r.name == "audit.history.access_keys"]
    assert keys.failed and keys.details["queries"] == [query]
    assert "ACCESS_KEY_ID '***' SECRET_ACCESS_KEY '***'" in keys.details["evidence"]
    assert FAKE_KEY_ID not in str([r.to_dict() for r in report.results])
