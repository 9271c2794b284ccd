"""The audit of the roles attached to a cluster or namespace: trust, permissions beyond COPY, use, default.

A role COPY uses needs s3:GetObject on the prefixes it loads, s3:ListBucket and s3:GetBucketLocation on
their buckets (and kms:Decrypt on an SSE-KMS key): ``policies.copy_read_policy`` writes exactly that, and a
permission beyond it is reported with the diff from the role's policy to that one. COPY never writes to
S3: s3:PutObject (which the guide's own example policy grants) and s3:DeleteObject are beyond it.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from airflow_redshift_s3.checks.audit.findings import compact, finding, policy_diff
from airflow_redshift_s3.checks.iam import REDSHIFT_SERVICE, SERVERLESS_SERVICE
from airflow_redshift_s3.checks.result import CheckResult, CheckStatus

if TYPE_CHECKING:
    from airflow_redshift_s3.hooks.iam_role import IamRoleHook
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftRoles, RedshiftTarget

OK, WARNING, FAILURE = CheckStatus.OK, CheckStatus.WARNING, CheckStatus.FAILURE
REDSHIFT_SERVICES = (REDSHIFT_SERVICE, SERVERLESS_SERVICE)
CONFUSED_DEPUTY_KEYS = ("aws:sourceaccount", "aws:sourcearn")
# Actions COPY never needs; a wildcard granting any of them counts too (s3:Put*, s3:*, *).
WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject")


@dataclass(frozen=True)
class Source:
    """What the loads read: a bucket, a prefix, and the bucket's SSE-KMS key when it has one."""

    bucket: str
    prefix: str = ""
    kms_key_arn: str | None = None


@dataclass(frozen=True)
class RolePolicy:
    """One permissions policy of a role: inline (its name) or managed (its ARN), and its document."""

    label: str
    document: dict[str, Any]


def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(unquote(value))
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, dict)]


def read_role(iam: IamRoleHook, role_name: str) -> tuple[dict[str, Any], list[RolePolicy]]:
    """Return a role's trust policy and its permissions policies (inline and attached managed ones)."""
    client = iam.conn
    role = client.get_role(RoleName=role_name)["Role"]
    policies = []
    for name in client.list_role_policies(RoleName=role_name).get("PolicyNames", []):
        document = client.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        policies.append(RolePolicy(f"inline policy '{name}'", _document(document)))
    for attached in client.list_attached_role_policies(RoleName=role_name).get("AttachedPolicies", []):
        arn = attached["PolicyArn"]
        version = client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = client.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        policies.append(RolePolicy(f"managed policy {arn}", _document(document)))
    return _document(role.get("AssumeRolePolicyDocument")), policies


def source_arn(target: RedshiftTarget, account: str, region: str) -> str:
    """Return the ``aws:SourceArn`` Redshift presents when it assumes a role for ``target``."""
    if target.serverless:
        return f"arn:aws:redshift-serverless:{region}:{account}:namespace/*"
    return f"arn:aws:redshift:{region}:{account}:cluster:{target.name}"


def check_trust(role_arn: str, trust: dict[str, Any], target: RedshiftTarget, region: str) -> CheckResult:
    """Check that only the Redshift services may assume the role, with the confused-deputy conditions."""
    account = role_arn.split(":")[4]
    name = "audit.role.trust"
    others: list[str] = []
    unconditioned = False
    trusted = False
    for statement in _statements(trust):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        anyone = principal == "*" or (isinstance(principal, dict) and set(principal) - {"Service"})
        if anyone:
            others.append(compact(principal))
        others.extend(s for s in services if s not in REDSHIFT_SERVICES)
        if any(s in REDSHIFT_SERVICES for s in services):
            trusted = True
            keys = {k.lower() for block in (statement.get("Condition") or {}).values() for k in block}
            unconditioned |= not any(key in keys for key in CONFUSED_DEPUTY_KEYS)
    evidence = f"trust policy: {compact(trust)}"
    conditioned = {
        "Effect": "Allow",
        "Principal": {"Service": list(REDSHIFT_SERVICES) if target.serverless else REDSHIFT_SERVICE},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": source_arn(target, account, region)},
        },
    }
    if others:
        return finding(
            FAILURE,
            name,
            "permission",
            role_arn,
            f"IAM role {role_arn} may be assumed by {', '.join(others)}: expected only the Redshift "
            f"services ({', '.join(REDSHIFT_SERVICES)}).",
            evidence,
            f"make this statement the role's only trust statement: {compact(conditioned)}",
        )
    if not trusted:
        return finding(
            FAILURE,
            name,
            "permission",
            role_arn,
            f"IAM role {role_arn} is attached to {target} but its trust policy does not let Redshift "
            "assume it: COPY with it fails with 'Not authorized to get credentials of role'.",
            evidence,
            f"set the role's trust policy statement to {compact(conditioned)}",
        )
    if unconditioned:
        return finding(
            WARNING,
            name,
            "permission",
            role_arn,
            f"The trust policy of IAM role {role_arn} lets Redshift assume it for any account and "
            "resource: expected the confused-deputy conditions aws:SourceAccount / aws:SourceArn "
            "that AWS recommends for a role a service assumes.",
            evidence,
            f"add the conditions to the Redshift statement: {compact(conditioned)}",
        )
    return finding(
        OK,
        name,
        "permission",
        role_arn,
        f"Only Redshift may assume IAM role {role_arn}, with the confused-deputy conditions.",
        evidence,
    )


def _grants(action: str, wanted: str) -> bool:
    return fnmatch.fnmatchcase(wanted.lower(), action.lower())


def _buckets(resources: Iterable[str]) -> set[str]:
    found = set()
    for resource in resources:
        if resource.startswith("arn:aws:s3:::"):
            found.add(resource[len("arn:aws:s3:::") :].split("/", 1)[0])
    return found


def excess_permissions(policy: RolePolicy, buckets: set[str]) -> tuple[list[str], list[str]]:
    """Return (grants beyond COPY, buckets no load reads) of one policy's Allow statements."""
    beyond: list[str] = []
    unread: set[str] = set()
    for statement in _statements(policy.document):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        s3_actions = [a for a in actions if a == "*" or a.lower().startswith("s3:")]
        for action in s3_actions:
            if action in ("*", "s3:*"):
                beyond.append(f"{action} (every S3 action, writes and deletes included)")
            else:
                beyond.extend(
                    f"{action} (COPY never writes to S3)" for w in WRITE_ACTIONS if _grants(action, w)
                )
        if s3_actions and "*" in resources:
            beyond.append(f'Resource "*" for {", ".join(s3_actions)} (every bucket of every account)')
        unread |= {b for b in _buckets(resources) if b not in buckets and "*" not in b}
    return list(dict.fromkeys(beyond)), sorted(unread)


def least_privilege(sources: Sequence[Source]) -> dict[str, Any]:
    """Return the read policy COPY needs for every source (``policies.copy_read_policy``, one per source)."""
    from airflow_redshift_s3.policies import copy_read_policy

    if len(sources) == 1:
        only = sources[0]
        return copy_read_policy(only.bucket, only.prefix, only.kms_key_arn)
    statements = []
    for index, source in enumerate(sources, 1):
        for statement in copy_read_policy(source.bucket, source.prefix, source.kms_key_arn)["Statement"]:
            statements.append({**statement, "Sid": f"{statement['Sid']}{index}"})
    return {"Version": "2012-10-17", "Statement": statements}


def check_permissions(
    role_arn: str, policies: Sequence[RolePolicy], sources: Sequence[Source]
) -> CheckResult:
    """Check that the role's policies grant nothing COPY does not need for ``sources``."""
    name = "audit.role.permissions"
    buckets = {source.bucket for source in sources}
    wanted = least_privilege(sources) if sources else None
    policy_cmd = " ".join(f"--bucket {s.bucket} --prefix '{s.prefix}'" for s in sources[:1])
    for policy in policies:
        beyond, unread = excess_permissions(policy, buckets)
        if not beyond and not unread:
            continue
        diff = policy_diff(policy.document, wanted, f"{role_arn} {policy.label}", "least privilege for COPY")
        fix = (
            f"replace the {policy.label} of the role with the least-privilege policy "
            f"(`airflow-redshift-s3 policy {policy_cmd}` prints it); the change:\n{diff}"
            if wanted
            else f"remove from the {policy.label} every grant beyond s3:GetObject, s3:ListBucket and "
            "s3:GetBucketLocation on the buckets the loads read (pass them to the audit to get the diff)"
        )
        evidence = f"{policy.label}: {compact(policy.document)}"
        if beyond:
            return finding(
                FAILURE,
                name,
                "permission",
                role_arn,
                f"IAM role {role_arn} grants more than COPY needs: {'; '.join(beyond)}"
                f"{f'; buckets no load reads: {unread}' if unread else ''}. Expected only read "
                "access to the prefixes the loads read.",
                evidence,
                fix,
                policy_diff=diff if wanted else None,
            )
        return finding(
            WARNING,
            name,
            "permission",
            role_arn,
            f"IAM role {role_arn} may read buckets no load reads: {', '.join(unread)}.",
            evidence,
            fix,
            policy_diff=diff if wanted else None,
        )
    labels = ", ".join(p.label for p in policies) or "no policy"
    return finding(
        OK,
        name,
        "permission",
        role_arn,
        f"IAM role {role_arn} grants only what COPY needs ({labels}).",
        "; ".join(f"{p.label}: {compact(p.document)}" for p in policies),
    )


def check_used(role_arn: str, roles: RedshiftRoles, used: dict[str, int] | None, days: int) -> CheckResult:
    """Check that a COPY used the role in the last ``days`` days of the query history."""
    name = "audit.role.used"
    if used is None:
        return finding(
            WARNING,
            name,
            "permission",
            role_arn,
            f"Could not tell whether IAM role {role_arn} is still used: the query history was not readable.",
            "no query history",
            "give the audit's Redshift connection a superuser (or SYSLOG ACCESS UNRESTRICTED) to "
            "read every user's COPYs",
        )
    count = used.get(role_arn, 0)
    if count:
        return finding(
            OK,
            name,
            "permission",
            role_arn,
            f"IAM role {role_arn} was used by {count} COPY(s) in the last {days} day(s).",
            f"{count} COPY statement(s) naming it in the query history",
        )
    target = roles.target
    if target.kind == "cluster":
        detach = f"aws redshift modify-cluster-iam-roles --cluster-identifier {target.name} "
        detach += f"--remove-iam-roles {role_arn}"
    else:
        detach = f"aws redshift-serverless update-namespace --namespace-name {target.name} "
        detach += "--iam-roles <the other roles>"
    return finding(
        WARNING,
        name,
        "permission",
        role_arn,
        f"IAM role {role_arn} is attached to {target} but no COPY used it in the last {days} "
        "day(s) of the query history (the history only goes back as far as the cluster keeps it: "
        "about 7 days on Redshift).",
        f"0 COPY statement(s) naming it since {days} day(s)",
        f"detach it if nothing needs it any more: `{detach}`",
    )


def check_default(roles: RedshiftRoles, failed_roles: set[str]) -> CheckResult:
    """Report the default role; warn when it is one the audit found over-broad."""
    name = "audit.role.default"
    default = roles.default_role_arn
    target = roles.target
    if default is None:
        return finding(
            OK,
            name,
            "permission",
            str(target),
            f"{target} has no default IAM role.",
            "DefaultIamRoleArn is empty",
        )
    if default in failed_roles:
        return finding(
            WARNING,
            name,
            "permission",
            default,
            f"The default IAM role of {target} is {default}, which the audit found over-broad: "
            "every user of the cluster can use it with COPY ... IAM_ROLE default.",
            f"DefaultIamRoleArn is {default}",
            "fix the role's failures above, or make a least-privilege role the default",
        )
    return finding(
        OK,
        name,
        "permission",
        default,
        f"The default IAM role of {target} is {default}.",
        f"DefaultIamRoleArn is {default}",
    )


def check_kms_reachable(iam: Any, role_arn: str, sources: Sequence[Source]) -> CheckResult | None:
    """Check that the role may kms:Decrypt the SSE-KMS keys of the buckets it reads (None: no such key).

    The role's identity policies are simulated (SimulatePrincipalPolicy); the key's own policy must also
    allow the role, which a simulation of the role does not see: the fix says so.
    """
    from airflow_redshift_s3.exceptions import SimulationUnavailableError

    name = "audit.role.kms"
    keys = sorted({s.kms_key_arn for s in sources if s.kms_key_arn})
    if not keys:
        return None
    try:
        decisions = iam.simulate(role_arn, ["kms:Decrypt"], keys)
    except SimulationUnavailableError as error:
        return finding(
            CheckStatus.WARNING, name, "permission", role_arn,
            f"Could not simulate kms:Decrypt of {', '.join(keys)} for IAM role {role_arn}: {error}.",
            str(error), f"allow the connection's identity iam:SimulatePrincipalPolicy on {role_arn}",
        )  # fmt: skip
    denied = sorted({d.resource for d in decisions if not d.allowed})
    evidence = "; ".join(f"kms:Decrypt on {d.resource}: {d.decision}" for d in decisions)
    if not denied:
        return finding(CheckStatus.OK, name, "permission", role_arn,
                       f"IAM role {role_arn} may kms:Decrypt the buckets' SSE-KMS key(s) {', '.join(keys)}.",
                       evidence)  # fmt: skip
    statement = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": denied}
    return finding(
        CheckStatus.FAILURE, name, "permission", role_arn,
        f"IAM role {role_arn} may not kms:Decrypt {', '.join(denied)}, the SSE-KMS key(s) of the files COPY "
        "reads: COPY would fail with Access Denied.",
        evidence,
        f"add {json.dumps(statement)} to the role's policy (`airflow-redshift-s3 policy --kms-key <ARN>` "
        "writes it), and check that the key's policy allows the role",
    )  # fmt: skip
