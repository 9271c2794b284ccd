"""The audit's rules on documents and query texts alone (no AWS, no database: nothing to stand in for)."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.checks.audit.history import CopyQuery, mask_secrets
from airflow_redshift_s3.checks.audit.roles import RolePolicy, check_trust, excess_permissions
from airflow_redshift_s3.checks.result import CheckStatus
from airflow_redshift_s3.hooks.redshift_iam import RedshiftTarget

ROLE = "arn:aws:iam::123456789012:role/copy"
CLUSTER = RedshiftTarget("cluster", "prod")
KEY_ID = "AKIA" + "TESTONLYNOTAKEY0"  # shaped like an access key id, built so nothing committed is one
SECRET = "test-secret/" + "value"


@pytest.mark.parametrize(
    "text",
    [
        f"COPY t FROM 's3://b/p' CREDENTIALS 'aws_access_key_id={KEY_ID};aws_secret_access_key={SECRET}'",
        f"COPY t FROM 's3://b/p' ACCESS_KEY_ID '{KEY_ID}' SECRET_ACCESS_KEY AS '{SECRET}' "
        "SESSION_TOKEN 'tok'",
    ],
)
def test_masking_removes_every_key_and_keeps_the_load_recognisable(text: str) -> None:
    masked = mask_secrets(text)
    assert KEY_ID not in masked and SECRET not in masked and "'tok'" not in masked
    assert masked.startswith("COPY t FROM 's3://b/p'")
    assert CopyQuery(1, None, masked).key_based


def test_a_role_copy_is_not_key_based_and_names_its_role() -> None:
    explicit = CopyQuery(1, None, f"COPY t FROM 's3://b/p' IAM_ROLE '{ROLE}' CSV")
    legacy = CopyQuery(2, None, f"copy t from 's3://b/p' credentials 'aws_iam_role={ROLE}'")
    default = CopyQuery(3, None, "COPY t FROM 's3://b/p' IAM_ROLE default")
    assert not explicit.key_based and not legacy.key_based and not default.key_based
    assert explicit.role(None) == legacy.role(None) == ROLE
    assert default.role("arn:aws:iam::123456789012:role/d") == "arn:aws:iam::123456789012:role/d"


def _trust(condition: dict | None = None, principal: object = None) -> dict:
    statement = {"Effect": "Allow", "Principal": principal or {"Service": "redshift.amazonaws.com"},
                 "Action": "sts:AssumeRole"}  # fmt: skip
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_trust_findings_from_failure_to_ok() -> None:
    anyone = check_trust(ROLE, _trust(principal={"AWS": "*"}), CLUSTER, "us-east-1")
    bare = check_trust(ROLE, _trust(), CLUSTER, "us-east-1")
    conditioned = check_trust(
        ROLE, _trust({"StringEquals": {"aws:SourceAccount": "123456789012"}}), CLUSTER, "us-east-1"
    )
    assert anyone.status is CheckStatus.FAILURE
    assert bare.status is CheckStatus.WARNING and "aws:SourceArn" in (bare.fix or "")
    assert "arn:aws:redshift:us-east-1:123456789012:cluster:prod" in (bare.fix or "")
    assert conditioned.status is CheckStatus.OK


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        ("s3:*", "arn:aws:s3:::b/*", "s3:* (every S3 action"),
        ("s3:Put*", "arn:aws:s3:::b/*", "s3:Put* (COPY never writes"),
        ("s3:DeleteObject", "arn:aws:s3:::b/*", "s3:DeleteObject (COPY never writes"),
        ("s3:GetObject", "*", 'Resource "*" for s3:GetObject'),
    ],
)
def test_grants_beyond_copy(action: str, resource: str, expected: str) -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    beyond, _ = excess_permissions(RolePolicy("inline policy 'p'", document), {"b"})
    assert any(item.startswith(expected) for item in beyond), beyond


def test_read_only_grants_on_another_bucket_are_only_unread() -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                               "Resource": ["arn:aws:s3:::b/p/*", "arn:aws:s3:::old-bucket/*"]}]}  # fmt: skip
    assert excess_permissions(RolePolicy("p", document), {"b"}) == ([], ["old-bucket"])
