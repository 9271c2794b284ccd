"""IAM roles for the local Redshift: Redshift's trust policy, and roles made from it (no pytest needed)."""

from __future__ import annotations

import json
from typing import Any

REDSHIFT_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


def create_role(
    iam: Any, name: str, policy: dict[str, Any] | None, trust: dict[str, Any] | None = None
) -> str:
    """Create a role with Redshift's trust policy (or ``trust``) and an inline ``policy``; return its ARN.

    :param iam: a boto3 IAM client of the local AWS endpoint.
    """
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or REDSHIFT_TRUST_POLICY))[
        "Role"
    ]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    return arn


def create_read_role(iam: Any, name: str, resources: list[str]) -> str:
    """Create (or adopt) a role Redshift trusts that may read ``resources`` in S3; return its ARN."""
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(REDSHIFT_TRUST_POLICY))[
            "Role"
        ]["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": resources,
            }
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName=f"{name}-read", PolicyDocument=json.dumps(policy))
    return arn


__all__ = ["REDSHIFT_TRUST_POLICY", "create_read_role", "create_role"]
