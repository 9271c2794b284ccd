"""IAM documents for a COPY role: the least-privilege read policy and the trust policy.

The trust statement comes from ``checks.iam.trust_policy`` (the one the trust check asks users to paste),
so the ``policy`` command and the checks can never disagree.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_redshift_s3.checks.iam import trust_policy

POLICY_VERSION = "2012-10-17"
# Where S3ToRedshiftCopyOperator writes the manifest COPY reads (its manifest_prefix default).
MANIFEST_PREFIX = "_airflow_copy_manifests/"


def copy_read_policy(
    bucket: str,
    prefix: str,
    kms_key_arn: str | None = None,
    *,
    manifest_prefix: str | None = MANIFEST_PREFIX,
    manifest_bucket: str | None = None,
) -> dict[str, Any]:
    """Return the least-privilege permissions policy COPY needs to read ``s3://bucket/prefix``.

    :param bucket: the bucket name.
    :param prefix: the key prefix COPY reads (with or without a trailing '/'; '' for the whole bucket).
    :param kms_key_arn: the bucket's SSE-KMS key; adds kms:Decrypt on it.
    :param manifest_prefix: where S3ToRedshiftCopyOperator writes its manifests (COPY reads them with the
        role); None when the role only serves COPYs without this operator's manifests.
    :param manifest_bucket: the operator's ``manifest_bucket``, when not ``bucket``.
    """
    bucket_arn = f"arn:aws:s3:::{bucket}"
    readable: list[str] = [f"{bucket_arn}/{prefix}*"]
    if manifest_prefix is not None:
        manifest_bucket = manifest_bucket or bucket
        if manifest_bucket != bucket or not manifest_prefix.startswith(prefix):
            readable.append(f"arn:aws:s3:::{manifest_bucket}/{manifest_prefix}*")
    list_statement: dict[str, Any] = {
        "Sid": "ListThePrefix",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": bucket_arn,
    }
    if prefix:
        list_statement["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadTheObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": readable[0] if len(readable) == 1 else readable,
        },
        list_statement,
        {"Sid": "FindTheRegion", "Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket_arn},
    ]
    if kms_key_arn:
        statements.append(
            {"Sid": "DecryptTheObjects", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn}
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


MANIFEST_EXPIRY_DAYS = 7


def manifest_lifecycle(
    manifest_prefix: str = MANIFEST_PREFIX, days: int = MANIFEST_EXPIRY_DAYS
) -> dict[str, Any]:
    """Return the S3 lifecycle configuration that expires the operator's manifests after ``days`` days.

    The operator deletes a load's manifests once it commits and keeps those of failed loads for diagnosis;
    this rule removes what failed loads leave. ``PutBucketLifecycleConfiguration`` replaces every rule of
    the bucket: merge this rule into the existing ones.

    :param manifest_prefix: the operator's ``manifest_prefix``.
    :param days: how long a leftover manifest is kept.
    """
    return {
        "Rules": [
            {
                "ID": "expire-airflow-copy-manifests",
                "Status": "Enabled",
                "Filter": {"Prefix": manifest_prefix},
                "Expiration": {"Days": days},
            }
        ]
    }


def copy_trust_policy(serverless: bool = False) -> dict[str, Any]:
    """Return the role's trust policy document: Redshift (and Redshift Serverless) may assume the role.

    :param serverless: the role is for a Redshift Serverless namespace.
    """
    return {"Version": POLICY_VERSION, "Statement": [json.loads(trust_policy(serverless))]}


def data_api_caller_policy(
    *,
    region: str,
    account_id: str,
    database: str,
    cluster_identifier: str | None = None,
    db_user: str | None = None,
    secret_arn: str | None = None,
    workgroup_arn: str | None = None,
) -> dict[str, Any]:
    """Return the policy of the Airflow worker's identity for ``S3ToRedshiftCopyOperator`` over the Data API.

    Only what the load calls: ExecuteStatement and BatchExecuteStatement on the cluster or workgroup,
    DescribeStatement and GetStatementResult on the caller's own statements, and the login: temporary
    credentials of ``db_user`` on ``database`` (GetClusterCredentials), the secret (GetSecretValue), or
    the workgroup's (GetCredentials). From the Data API's IAM page and the AmazonRedshiftDataFullAccess
    managed policy, narrowed to these resources.

    :param workgroup_arn: a Serverless workgroup's ARN (it holds the workgroup's id, not its name).
    """
    target = workgroup_arn or f"arn:aws:redshift:{region}:{account_id}:cluster:{cluster_identifier}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "RunTheLoad",
            "Effect": "Allow",
            "Action": ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
            "Resource": target,
        },
        {
            "Sid": "ReadOwnStatements",
            "Effect": "Allow",
            "Action": ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult"],
            "Resource": "*",
            "Condition": {"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}},
        },
    ]
    if secret_arn:
        statements.append(
            {
                "Sid": "LogIn",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secret_arn,
            }
        )
    elif workgroup_arn:
        statements.append(
            {
                "Sid": "LogIn",
                "Effect": "Allow",
                "Action": "redshift-serverless:GetCredentials",
                "Resource": target,
            }
        )
    else:
        statements.append(
            {
                "Sid": "LogIn",
                "Effect": "Allow",
                "Action": "redshift:GetClusterCredentials",
                "Resource": [
                    f"arn:aws:redshift:{region}:{account_id}:dbuser:{cluster_identifier}/{db_user}",
                    f"arn:aws:redshift:{region}:{account_id}:dbname:{cluster_identifier}/{database}",
                ],
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}
