"""The audit of encryption at rest and in transit, and of the bucket's public access."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.checks.audit.findings import compact, finding
from airflow_redshift_s3.checks.result import CheckResult, CheckStatus
from airflow_redshift_s3.hooks._aws_errors import error_code

if TYPE_CHECKING:
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftTarget
    from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook

OK, WARNING, FAILURE = CheckStatus.OK, CheckStatus.WARNING, CheckStatus.FAILURE
BLOCK_PUBLIC_ACCESS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def check_at_rest(target: RedshiftTarget, description: dict[str, Any]) -> CheckResult:
    """Check the encryption at rest of a cluster (Encrypted, KmsKeyId) or a namespace (kmsKeyId)."""
    name = "audit.redshift.encryption"
    if target.serverless:
        key = description.get("kmsKeyId") or "AWS_OWNED_KMS_KEY"
        return finding(
            OK,
            name,
            "config",
            str(target),
            f"{target} is encrypted at rest (Serverless always is), with KMS key {key}.",
            f"kmsKeyId: {key}",
        )
    encrypted = bool(description.get("Encrypted"))
    key = description.get("KmsKeyId")
    evidence = f"Encrypted: {encrypted}, KmsKeyId: {key}"
    if not encrypted:
        return finding(
            FAILURE,
            name,
            "config",
            str(target),
            f"{target} is not encrypted at rest: expected Encrypted true, found false.",
            evidence,
            f"encrypt it: `aws redshift modify-cluster --cluster-identifier {target.name} --encrypted "
            "--kms-key-id <key ARN>` (or restore a snapshot into an encrypted cluster)",
        )
    return finding(
        OK,
        name,
        "config",
        str(target),
        f"{target} is encrypted at rest with KMS key {key or 'the AWS managed key'}.",
        evidence,
    )


def check_require_ssl(
    target: RedshiftTarget, group: str | None, parameters: list[dict[str, Any]]
) -> CheckResult:
    """Check that ``require_ssl`` is true in the cluster's parameter group (or the workgroup's parameters)."""
    name = "audit.redshift.require_ssl"
    values = {
        p.get("ParameterName", p.get("parameterKey")): p.get("ParameterValue", p.get("parameterValue"))
        for p in parameters
    }
    value = values.get("require_ssl")
    where = f"parameter group '{group}'" if group else "the workgroup's configuration parameters"
    evidence = f"require_ssl = {value!r} in {where}"
    if value is None and target.serverless:
        return finding(
            WARNING,
            name,
            "config",
            str(target),
            f"{target}: the workgroup does not report require_ssl, so whether it refuses connections "
            "without TLS is unknown.",
            evidence,
            f"set it: `aws redshift-serverless update-workgroup --workgroup-name "
            f"{target.workgroup_name or '<name>'} --config-parameters "
            "parameterKey=require_ssl,parameterValue=true`",
        )
    if str(value).lower() == "true":
        return finding(
            OK,
            name,
            "config",
            str(target),
            f"{target} refuses connections without TLS (require_ssl true).",
            evidence,
        )
    if target.serverless:
        fix = (
            f"`aws redshift-serverless update-workgroup --workgroup-name {target.workgroup_name or '<name>'} "
            "--config-parameters parameterKey=require_ssl,parameterValue=true`"
        )
    else:
        fix = (
            f"`aws redshift modify-cluster-parameter-group --parameter-group-name {group} --parameters "
            "ParameterName=require_ssl,ParameterValue=true` (a custom group: the default one cannot change; "
            "then reboot the cluster)"
        )
    return finding(
        FAILURE,
        name,
        "config",
        str(target),
        f"{target} accepts connections without TLS: expected require_ssl true in {where}, found {value!r}.",
        evidence,
        fix,
    )


def check_connection_tls(conn_id: str, extra: dict[str, Any]) -> CheckResult:
    """Check the TLS mode of the Airflow Redshift connection (redshift_connector's ``ssl`` / ``sslmode``)."""
    name = "audit.connection.tls"
    ssl = extra.get("ssl", True)
    mode = extra.get("sslmode", "verify-ca")
    evidence = f"extra ssl={ssl!r}, sslmode={mode!r} (redshift_connector's defaults: True, 'verify-ca')"
    resource = f"Airflow connection '{conn_id}'"
    if str(ssl).lower() in ("false", "0", "no", "off") or mode in ("disable", "allow", "prefer"):
        return finding(
            WARNING,
            name,
            "config",
            resource,
            f"{resource} connects to Redshift without TLS: expected ssl true and sslmode "
            "verify-ca or verify-full.",
            evidence,
            'set the connection\'s extra to {"ssl": true, "sslmode": "verify-full"}',
        )
    return finding(OK, name, "config", resource, f"{resource} connects with TLS (sslmode {mode}).", evidence)


def _client_error(s3: S3InspectHook, call: str, bucket: str) -> tuple[Any, str | None]:
    from botocore.exceptions import ClientError

    try:
        return getattr(s3.conn, call)(Bucket=bucket), None
    except ClientError as error:
        return None, error_code(error)


def check_bucket_at_rest(s3: S3InspectHook, bucket: str) -> CheckResult:
    """Check the bucket's default encryption (GetBucketEncryption)."""
    name = "audit.bucket.encryption"
    encryption = s3.get_bucket_encryption(bucket)
    evidence = f"default encryption: {compact(encryption.to_dict())}"
    resource = f"s3://{bucket}"
    if encryption.kind == "unknown":
        return finding(
            WARNING,
            name,
            "config",
            resource,
            f"Could not read the default encryption of bucket {bucket} (AccessDenied).",
            evidence,
            f"allow the audit's connection s3:GetEncryptionConfiguration on {bucket}",
        )
    if encryption.kind == "none":
        rule = {
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
            ]
        }
        return finding(
            FAILURE,
            name,
            "config",
            resource,
            f"Bucket {bucket} has no default encryption: expected SSE-S3 or SSE-KMS.",
            evidence,
            f"`aws s3api put-bucket-encryption --bucket {bucket} "
            f"--server-side-encryption-configuration '{compact(rule)}'`",
        )
    key = f" with KMS key {encryption.kms_key_id}" if encryption.kms_key_id else ""
    return finding(
        OK, name, "config", resource, f"Bucket {bucket} encrypts at rest ({encryption.kind}{key}).", evidence
    )


def _denies_insecure(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    for operator, block in (statement.get("Condition") or {}).items():
        for key, value in block.items():
            values = value if isinstance(value, list) else [value]
            insecure = any(str(v).lower() == "false" for v in values)
            if key.lower() == "aws:securetransport" and operator.startswith("Bool") and insecure:
                return True
    return False


def check_secure_transport(s3: S3InspectHook, bucket: str) -> CheckResult:
    """Check that the bucket's policy denies requests made without TLS (``aws:SecureTransport`` false)."""
    name = "audit.bucket.secure_transport"
    response, code = _client_error(s3, "get_bucket_policy", bucket)
    resource = f"s3://{bucket}"
    statement = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    if response is None and code not in ("NoSuchBucketPolicy",):
        return finding(
            WARNING,
            name,
            "config",
            resource,
            f"Could not read the policy of bucket {bucket} ({code}).",
            f"GetBucketPolicy: {code}",
            f"allow the audit's connection s3:GetBucketPolicy on {bucket}",
        )
    policy = json.loads(response["Policy"]) if response else {}
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    evidence = f"bucket policy: {compact(policy) if policy else 'none'}"
    if any(_denies_insecure(s) for s in statements if isinstance(s, dict)):
        return finding(
            OK,
            name,
            "config",
            resource,
            f"The policy of bucket {bucket} denies requests without TLS.",
            evidence,
        )
    return finding(
        WARNING,
        name,
        "config",
        resource,
        f"The policy of bucket {bucket} does not deny requests without TLS: expected a Deny "
        "statement on aws:SecureTransport false.",
        evidence,
        f"add this statement to the bucket policy: {compact(statement)}",
    )


def check_public_access(s3: S3InspectHook, bucket: str) -> CheckResult:
    """Check the bucket's Block Public Access settings (all four on); fail a bucket whose policy is public."""
    name = "audit.bucket.public_access"
    resource = f"s3://{bucket}"
    response, code = _client_error(s3, "get_public_access_block", bucket)
    settings = (response or {}).get("PublicAccessBlockConfiguration") or {}
    off = [key for key in BLOCK_PUBLIC_ACCESS if not settings.get(key)]
    evidence = f"PublicAccessBlockConfiguration: {compact(settings) if settings else code}"
    full = ",".join(f"{key}=true" for key in BLOCK_PUBLIC_ACCESS)
    fix = f"`aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration {full}`"
    status, _ = _client_error(s3, "get_bucket_policy_status", bucket)
    if status and (status.get("PolicyStatus") or {}).get("IsPublic"):
        return finding(
            FAILURE,
            name,
            "permission",
            resource,
            f"Bucket {bucket} is public: its policy grants access to anyone.",
            f"{evidence}; PolicyStatus IsPublic: true",
            fix,
        )
    if off:
        return finding(
            WARNING,
            name,
            "permission",
            resource,
            f"Block Public Access of bucket {bucket} is not fully on: expected the four settings "
            f"true, found off: {', '.join(off)}.",
            evidence,
            fix,
        )
    return finding(
        OK, name, "permission", resource, f"Block Public Access of bucket {bucket} is fully on.", evidence
    )
