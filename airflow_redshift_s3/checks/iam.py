"""Permission checks: the role exists and Redshift may assume it, it is attached, and it may read the data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from airflow_redshift_s3.checks.result import CheckResult
from airflow_redshift_s3.exceptions import PermissionCheckError, SimulationUnavailableError
from airflow_redshift_s3.hooks._aws_errors import is_access_denied

if TYPE_CHECKING:
    from airflow_redshift_s3.hooks.iam_role import IamRoleHook, SimulationResult
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftRoles
    from airflow_redshift_s3.hooks.s3_inspect import BucketEncryption


# The hooks pull in boto3; these checks import them when they run, so that importing the library is cheap.
REDSHIFT_SERVICE = "redshift.amazonaws.com"
SERVERLESS_SERVICE = "redshift-serverless.amazonaws.com"


def required_services(serverless: bool) -> list[str]:
    """Return the service principals a role's trust policy must name for a cluster or a namespace."""
    return [REDSHIFT_SERVICE, SERVERLESS_SERVICE] if serverless else [REDSHIFT_SERVICE]


def trust_policy(serverless: bool) -> str:
    """Return the trust policy statement to paste into a role, as JSON."""
    services = required_services(serverless)
    principal = services[0] if len(services) == 1 else services
    return json.dumps(
        {"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"},
        separators=(",", ":"),
    )


def check_role_trust(iam: IamRoleHook, role_arn: str, *, serverless: bool = False) -> CheckResult:
    """Check that ``role_arn`` exists and its trust policy lets Redshift (and Serverless) assume it."""
    from botocore.exceptions import ClientError

    from airflow_redshift_s3.hooks.iam_role import parse_role_arn

    name = "iam_role.trust"
    if parse_role_arn(role_arn) is None:
        return CheckResult.failure(
            name,
            "permission",
            f"'{role_arn}' is not an IAM role ARN: expected arn:aws:iam::<account>:role/<name>.",
            "pass the role's ARN (`aws iam get-role --role-name <name>` shows it)",
        )
    try:
        role = iam.get_role(role_arn)
    except PermissionCheckError as error:
        return CheckResult.failure(name, "permission", error.problem, error.fix or "")
    except ClientError as error:
        if is_access_denied(error):
            return CheckResult.warning(
                name,
                "permission",
                f"Could not read IAM role {role_arn} with connection '{iam.aws_conn_id}' (AccessDenied), so "
                "its trust policy was not checked.",
                f"allow the connection's identity iam:GetRole on {role_arn} to have it checked",
            )
        raise
    missing = [service for service in required_services(serverless) if not role.trusts(service)]
    if missing:
        found = ", ".join(sorted(role.trusted_services)) or "no service"
        return CheckResult.failure(
            name,
            "permission",
            f"The trust policy of IAM role {role_arn} does not let {' and '.join(missing)} assume it: "
            f"expected sts:AssumeRole for {', '.join(required_services(serverless))}, found {found}. COPY "
            f"would fail with 'Not authorized to get credentials of role {role_arn}'.",
            f"add this statement to the role's trust policy: {trust_policy(serverless)}",
            trusted_services=sorted(role.trusted_services),
        )
    return CheckResult.ok(
        name, "permission", f"IAM role {role_arn} exists and its trust policy lets Redshift assume it."
    )


def check_role_attached(roles: RedshiftRoles, role_arn: str) -> CheckResult:
    """Check that ``role_arn`` is attached to the cluster or namespace and in-sync (usable by COPY)."""
    from airflow_redshift_s3.hooks.redshift_iam import ADDING, IN_SYNC

    name = "iam_role.attached"
    status = roles.status(role_arn)
    target = roles.target
    if target.kind == "cluster":
        attach = (
            f"aws redshift modify-cluster-iam-roles --cluster-identifier {target.name} "
            f"--add-iam-roles {role_arn}"
        )
    else:
        attach = (
            f"aws redshift-serverless update-namespace --namespace-name {target.name} --iam-roles <all roles>"
        )
    fix = (
        f"run the redshift_s3_setup DAG (it creates and attaches the role), or attach it with "
        f"RedshiftEnsureIamRoleOperator, or `{attach}`"
    )
    if status == IN_SYNC:
        return CheckResult.ok(name, "permission", f"IAM role {role_arn} is attached to {target} and in-sync.")
    if status == ADDING:
        return CheckResult.warning(
            name,
            "permission",
            f"IAM role {role_arn} is still being attached to {target} (apply status 'adding'); COPY "
            "fails until it is 'in-sync'.",
            "wait for it with RedshiftIamRoleSensor (or RedshiftEnsureIamRoleOperator) before COPY",
            apply_status=status,
        )
    found = roles.describe(role_arn)
    return CheckResult.failure(
        name,
        "permission",
        f"Expected IAM role {role_arn} to be attached to {target} and in-sync, found {found}. COPY would "
        f"fail with 'Not authorized to get credentials of role {role_arn}'.",
        fix,
        apply_status=status,
    )


def check_pass_role(iam: IamRoleHook, role_arn: str, *, serverless: bool = False) -> CheckResult:
    """Check (by simulation) that the connection's identity may iam:PassRole ``role_arn`` to Redshift.

    Attaching a role needs it. When the caller cannot be simulated (no iam:SimulatePrincipalPolicy, the
    account root, a federated user) the result is a warning: Redshift will still refuse a missing PassRole.
    """
    from botocore.exceptions import ClientError

    name = "iam_role.pass_role"
    try:
        caller = iam.caller_principal_arn()
    except ClientError as error:
        caller, reason = None, str(error)
    else:
        reason = "the caller is not an IAM user or role"
    if caller is None:
        return CheckResult.warning(
            name,
            "permission",
            f"Could not check that connection '{iam.aws_conn_id}' may iam:PassRole {role_arn} ({reason}).",
            f"make sure the identity has iam:PassRole on {role_arn}",
        )
    services = [SERVERLESS_SERVICE, REDSHIFT_SERVICE] if serverless else [REDSHIFT_SERVICE]
    missing_context: tuple[str, ...] = ()
    try:
        for service in services:  # which service Serverless passes the role to is not documented
            (result,) = iam.simulate(caller, ["iam:PassRole"], [role_arn], {"iam:PassedToService": service})
            if result.allowed:
                return CheckResult.ok(
                    name, "permission", f"{caller} may iam:PassRole {role_arn} to {service}."
                )
            missing_context = missing_context or result.missing_context
    except SimulationUnavailableError as error:
        return CheckResult.warning(
            name,
            "permission",
            f"Could not check that {caller} may iam:PassRole {role_arn}: {str(error).rstrip('.')}.",
            f"allow iam:SimulatePrincipalPolicy on {caller} to have this checked, and make sure it has "
            f"iam:PassRole on {role_arn}",
        )
    statement = json.dumps(
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arn}, separators=(",", ":")
    )
    if missing_context:
        return CheckResult.warning(
            name,
            "permission",
            f"iam:PassRole of {role_arn} by {caller} depends on condition keys the simulation could not "
            f"supply ({', '.join(missing_context)}).",
            f"make sure {caller} has iam:PassRole on {role_arn}",
        )
    return CheckResult.failure(
        name,
        "permission",
        f"{caller} (connection '{iam.aws_conn_id}') may not iam:PassRole {role_arn}: expected Allow, the "
        "policy simulation found a deny. Redshift refuses to attach a role the caller may not pass.",
        f"add to {caller}'s policy: {statement}",
    )


def kms_key_arn(key_id: str | None, region: str, role_arn: str) -> str | None:
    """Return the ARN of a bucket's KMS key, or None for the AWS managed key aws/s3 (no IAM grant needed).

    A bare key id is taken to live in the role's account and the bucket's region.
    """
    from airflow_redshift_s3.hooks.iam_role import parse_role_arn

    if not key_id or key_id.endswith("alias/aws/s3"):
        return None
    if key_id.startswith("arn:"):
        return key_id
    parsed = parse_role_arn(role_arn)
    partition, account = (parsed[0], parsed[1]) if parsed else ("aws", "*")
    kind = "" if key_id.startswith("alias/") else "key/"
    return f"arn:{partition}:kms:{region}:{account}:{kind}{key_id}"


def _statement(action: str, resource: str) -> str:
    return json.dumps({"Effect": "Allow", "Action": action, "Resource": resource}, separators=(",", ":"))


def check_role_s3_access(
    iam: IamRoleHook,
    role_arn: str,
    bucket: str,
    prefix: str,
    *,
    encryption: BucketEncryption | None = None,
    bucket_region: str = "us-east-1",
    sample_keys: Sequence[str] = (),
) -> list[CheckResult]:
    """Simulate the role's policies for what COPY does: one result per action.

    s3:GetObject on ``arn:aws:s3:::bucket/prefix*`` (and on ``sample_keys``), s3:ListBucket (with the
    ``s3:prefix`` condition key) and s3:GetBucketLocation on the bucket, and kms:Decrypt on the bucket's
    KMS key when it uses SSE-KMS. A caller that may not simulate gets one warning instead.
    """
    bucket_arn = f"arn:aws:s3:::{bucket}"
    objects = [f"{bucket_arn}/{prefix}*", *(f"{bucket_arn}/{key}" for key in sample_keys)]
    wanted: dict[str, list[str]] = {
        "s3:GetObject": objects,
        "s3:ListBucket": [bucket_arn],
        "s3:GetBucketLocation": [bucket_arn],
    }
    key_arn = None
    if encryption is not None and encryption.uses_kms:
        key_arn = kms_key_arn(encryption.kms_key_id, bucket_region, role_arn)
        if key_arn:
            wanted["kms:Decrypt"] = [key_arn]
    resources = sorted({r for rs in wanted.values() for r in rs})
    try:
        simulated = iam.simulate(role_arn, list(wanted), resources, {"s3:prefix": prefix})
    except SimulationUnavailableError as error:
        return [
            CheckResult.warning(
                "iam_role.s3_access",
                "permission",
                f"Could not simulate what IAM role {role_arn} may read in s3://{bucket}/{prefix}: {error}.",
                f"allow the connection's identity iam:SimulatePrincipalPolicy on {role_arn} to have this "
                "checked",
            )
        ]
    decisions: dict[tuple[str, str], SimulationResult] = {(r.action, r.resource): r for r in simulated}
    results = []
    for action, action_resources in wanted.items():
        name = f"iam_role.s3_access.{action}"
        denied = [decisions[(action, r)] for r in action_resources if not decisions[(action, r)].allowed]
        if not denied:
            where = ", ".join(action_resources)
            results.append(
                CheckResult.ok(name, "permission", f"IAM role {role_arn} may {action} on {where}.")
            )
            continue
        first = denied[0]
        if first.missing_context and first.decision != "explicitDeny":
            results.append(
                CheckResult.warning(
                    name,
                    "permission",
                    f"Whether IAM role {role_arn} may {action} on {first.resource} depends on condition keys "
                    f"the simulation could not supply ({', '.join(first.missing_context)}).",
                    f"make sure the role's policy allows {action} on {first.resource} for COPY",
                )
            )
            continue
        why = {
            "s3:GetObject": f"COPY reads every object under s3://{bucket}/{prefix}",
            "s3:ListBucket": "COPY lists the prefix to find the files",
            "s3:GetBucketLocation": "COPY looks up the bucket's region",
            "kms:Decrypt": f"the bucket's objects are encrypted with KMS key {key_arn}",
        }[action]
        resource = f"{bucket_arn}/{prefix}*" if action == "s3:GetObject" else first.resource
        results.append(
            CheckResult.failure(
                name,
                "permission",
                f"IAM role {role_arn} may not {action} on {first.resource}: expected Allow because {why}, "
                f"the policy simulation found {first.decision}. COPY would fail with "
                "'S3ServiceException:Access Denied,Status 403'.",
                f"add to the role's policy: {_statement(action, resource)}",
                decision=first.decision,
            )
        )
    return results
