"""The audit: an existing setup checked against the guide's best practices, per cluster or namespace.

``run_audit`` reads the cluster (or Serverless namespace), its roles and their policies, the buckets the
loads read, the Airflow connection's TLS settings and the cluster's query history, and returns findings:
``CheckResult``s (ok / warning / failure, categories and fixes as the preflight's) whose details also name
the ``resource`` and the ``evidence``. It never raises for what it finds; a failure means a practice is
broken, a warning that something deserves a look.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.checks.audit.findings import evidence_of, finding, resource_of
from airflow_redshift_s3.checks.audit.history import RunSql, check_key_based, read_copies, roles_used
from airflow_redshift_s3.checks.audit.roles import (
    Source,
    check_default,
    check_kms_reachable,
    check_permissions,
    check_trust,
    check_used,
    read_role,
)
from airflow_redshift_s3.checks.audit.storage import (
    check_at_rest,
    check_bucket_at_rest,
    check_connection_tls,
    check_public_access,
    check_require_ssl,
    check_secure_transport,
)
from airflow_redshift_s3.checks.result import CheckResult, CheckStatus
from airflow_redshift_s3.sql import since_literal

if TYPE_CHECKING:
    from airflow_redshift_s3.hooks.iam_role import IamRoleHook
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook, RedshiftRoles, RedshiftTarget
    from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook

__all__ = ["AuditReport", "Source", "evidence_of", "resource_of", "run_audit"]

DEFAULT_UNUSED_DAYS = 7


@dataclass
class AuditReport:
    """The findings of one audit of a cluster or namespace."""

    target: str
    results: list[CheckResult] = field(default_factory=list)

    def count(self, status: CheckStatus) -> int:
        """Return how many findings have ``status``."""
        return sum(1 for result in self.results if result.status is status)

    def to_xcom(self) -> dict[str, Any]:
        """Return the findings as a small JSON-able dict (warnings and failures in full, oks by name)."""
        return {
            "target": self.target,
            "ok": self.count(CheckStatus.OK),
            "warnings": self.count(CheckStatus.WARNING),
            "failures": self.count(CheckStatus.FAILURE),
            "findings": [r.to_dict() for r in self.results if r.status is not CheckStatus.OK],
            "passed": [f"{r.name} {resource_of(r)}" for r in self.results if r.status is CheckStatus.OK],
        }


def _parameters(
    redshift: RedshiftIamRoleHook, target: RedshiftTarget, description: dict[str, Any]
) -> CheckResult:
    conn = redshift.conn
    if target.serverless:
        workgroup_name = target.workgroup_name
        if workgroup_name is None:
            workgroups = conn.list_workgroups().get("workgroups", [])
            names = [w["workgroupName"] for w in workgroups if w.get("namespaceName") == target.name]
            workgroup_name = names[0] if names else None
        parameters = []
        if workgroup_name:
            parameters = conn.get_workgroup(workgroupName=workgroup_name)["workgroup"].get(
                "configParameters", []
            )
        return check_require_ssl(target, None, parameters)
    group = (description.get("ClusterParameterGroups") or [{}])[0].get("ParameterGroupName")
    parameters = []
    for page in conn.get_paginator("describe_cluster_parameters").paginate(ParameterGroupName=group):
        parameters.extend(page.get("Parameters", []))
    return check_require_ssl(target, group, parameters)


def _ledger_buckets(run_sql: RunSql, ledger: str, since: str) -> list[str]:
    from airflow_redshift_s3.sql import parse_table_name

    table = parse_table_name(ledger)
    rows = run_sql(f"SELECT DISTINCT bucket FROM {table.sql} WHERE loaded_at >= {since} ORDER BY 1")
    return [str(row[0]) for row in rows]


def _with_kms(s3: S3InspectHook, sources: Sequence[Source], account_role: str) -> list[Source]:
    from airflow_redshift_s3.checks.iam import kms_key_arn

    found = []
    for source in sources:
        encryption = s3.get_bucket_encryption(source.bucket)
        key = kms_key_arn(encryption.kms_key_id, s3.get_bucket_region(source.bucket), account_role)
        found.append(
            Source(source.bucket, source.prefix, source.kms_key_arn or (key if encryption.uses_kms else None))
        )
    return found


def _role_findings(
    iam: IamRoleHook,
    roles: RedshiftRoles,
    region: str,
    sources: Sequence[Source],
    used: dict[str, int] | None,
    days: int,
) -> list[CheckResult]:
    from botocore.exceptions import ClientError

    from airflow_redshift_s3.hooks.iam_role import role_name

    results: list[CheckResult] = []
    if not roles.associated:
        results.append(
            finding(
                CheckStatus.WARNING,
                "audit.role.attached",
                "permission",
                str(roles.target),
                f"No IAM role is attached to {roles.target}: COPY can only use access keys.",
                "IamRoles is empty",
                "attach a least-privilege role (the redshift_s3_setup DAG does)",
            )
        )
    for arn in roles.associated:
        try:
            trust, policies = read_role(iam, role_name(arn))
        except ClientError as error:
            results.append(
                finding(
                    CheckStatus.WARNING,
                    "audit.role.read",
                    "permission",
                    arn,
                    f"Could not read IAM role {arn} with connection '{iam.aws_conn_id}': {error}.",
                    str(error),
                    "allow the connection iam:GetRole, iam:ListRolePolicies, "
                    "iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy and "
                    "iam:GetPolicyVersion on the role",
                )
            )
            continue
        results.append(check_trust(arn, trust, roles.target, region))
        results.append(check_permissions(arn, policies, sources))
        if (kms := check_kms_reachable(iam, arn, sources)) is not None:
            results.append(kms)
        results.append(check_used(arn, roles, used, days))
    failed = {resource_of(r) for r in results if r.failed}
    results.append(check_default(roles, failed))
    return results


def run_audit(
    *,
    redshift: RedshiftIamRoleHook,
    iam: IamRoleHook,
    s3: S3InspectHook,
    sources: Sequence[Source] = (),
    run_sql: RunSql | None = None,
    connection: tuple[str, dict[str, Any]] | None = None,
    ledger: str | None = "public.s3_load_ledger",
    days: int = DEFAULT_UNUSED_DAYS,
    now: dt.datetime | None = None,
) -> AuditReport:
    """Audit one cluster or namespace; never raise for a finding.

    :param redshift: the cluster or namespace (its description, roles and parameters).
    :param iam: reads the attached roles' trust and permissions policies.
    :param s3: reads the buckets' encryption, policy and Block Public Access.
    :param sources: the buckets and prefixes the loads read; none: the buckets of the ledger's loads.
    :param run_sql: runs a query on the cluster and returns its rows (query history, ledger); None skips
        the checks that need SQL.
    :param connection: the Airflow Redshift connection's id and extra (its TLS mode).
    :param ledger: the load ledger table, for the buckets the loads read.
    :param days: how far back the history is read; a role no COPY used in that time is reported unused.
    :param now: the time the history is read back from (now by default).
    """
    from airflow_redshift_s3.hooks.redshift_iam import roles_from_cluster, roles_from_namespace

    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    target = redshift.target
    description = redshift.describe()
    roles = (roles_from_namespace if target.serverless else roles_from_cluster)(target, description)
    region = redshift.region_of(description)
    report = AuditReport(str(target))
    results = report.results
    results.append(check_at_rest(target, description))
    results.append(_parameters(redshift, target, description))
    if connection is not None:
        results.append(check_connection_tls(*connection))

    copies, used, error = None, None, "no SQL connection given"
    sources = list(sources)
    if run_sql is not None:
        try:
            copies = read_copies(run_sql, days, now, serverless=target.serverless)
            used = roles_used(copies, roles.default_role_arn)
        except Exception as exc:  # a permission or a missing view: reported as a warning
            error = f"{type(exc).__name__}: {exc}"
        if not sources and ledger:
            since = since_literal(now, days)
            try:
                sources = [Source(bucket) for bucket in _ledger_buckets(run_sql, ledger, since)]
            except Exception:  # no ledger yet: the audit then reads no bucket
                sources = []
    sources = _with_kms(s3, sources, roles.associated[0] if roles.associated else "")
    results.extend(_role_findings(iam, roles, region, sources, used, days))
    for source in dict.fromkeys(s.bucket for s in sources):
        results.extend(
            [
                check_bucket_at_rest(s3, source),
                check_secure_transport(s3, source),
                check_public_access(s3, source),
            ]
        )
    results.append(check_key_based(str(target), copies, days, error))
    return report
