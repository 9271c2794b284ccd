"""The checks S3VerifyBucketOperator runs (and ``doctor`` will), composed from the single checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.checks.iam import check_role_attached, check_role_s3_access, check_role_trust
from airflow_redshift_s3.checks.prefix import check_bucket_name, check_prefix
from airflow_redshift_s3.checks.result import CheckResult, CheckStatus
from airflow_redshift_s3.checks.s3 import (
    REGION_MISMATCH_POLICIES,
    check_bucket_reachable,
    check_data_format,
    check_objects,
    check_region,
)
from airflow_redshift_s3.exceptions import RedshiftS3FailError

if TYPE_CHECKING:
    from airflow_redshift_s3.hooks.iam_role import IamRoleHook
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook, RedshiftRoles
    from airflow_redshift_s3.hooks.s3_inspect import BucketEncryption, PrefixSummary, S3InspectHook


@dataclass
class BucketVerification:
    """What the checks found about a bucket and prefix, and every check's result."""

    bucket: str
    prefix: str
    results: list[CheckResult] = field(default_factory=list)
    bucket_region: str | None = None
    redshift_region: str | None = None
    iam_role_arn: str | None = None
    encryption: BucketEncryption | None = None
    summary: PrefixSummary | None = None
    redshift: dict[str, str | None] | None = None  # kind, name and workgroup of what the roles are on
    role_checked: bool = False  # the role's attachment, trust and read access were checked

    @property
    def region_needed(self) -> bool:
        """Return whether COPY needs REGION (the bucket is in another region than Redshift)."""
        return bool(
            self.bucket_region and self.redshift_region and self.bucket_region != self.redshift_region
        )

    def to_xcom(self) -> dict[str, Any]:
        """Return the small JSON-able dict the COPY operator can use."""
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "bucket_region": self.bucket_region,
            "redshift_region": self.redshift_region,
            "region_needed": self.region_needed,
            "copy_region": self.bucket_region if self.region_needed else None,
            "encryption": self.encryption.to_dict() if self.encryption else None,
            "iam_role_arn": self.iam_role_arn,
            "redshift": self.redshift,
            "role_checked": self.role_checked,
            "object_count": self.summary.object_count if self.summary else None,
            "total_bytes": self.summary.total_bytes if self.summary else None,
            "warnings": [r.text() for r in self.results if r.status is CheckStatus.WARNING],
        }


def verify_bucket(
    *,
    s3: S3InspectHook,
    redshift: RedshiftIamRoleHook,
    iam: IamRoleHook | None,
    bucket: str,
    prefix: str,
    iam_role_arn: str | None = None,
    on_region_mismatch: str = "set_region",
    require_objects: bool = False,
    data_format: str | None = None,
) -> BucketVerification:
    """Run every check on ``s3://bucket/prefix`` for COPY into ``redshift``; never raise for a failed check.

    :param s3: lists and probes the bucket.
    :param redshift: the cluster or namespace COPY runs in (its region and roles).
    :param iam: reads the role and simulates its policies; None skips the role checks.
    :param iam_role_arn: the role COPY will use; None means the default role, if one is set.
    :param on_region_mismatch: "set_region" or "fail".
    :param require_objects: list the prefix and fail when it is empty (the listing also gives counts).
    :param data_format: COPY's format; "parquet" or "orc" make a region mismatch a failure.
    """
    report = BucketVerification(bucket, prefix)
    results = report.results
    results.extend(_argument_checks(bucket, prefix, on_region_mismatch, data_format))
    if any(r.failed for r in results):
        return report  # do not call AWS with arguments that are known to be wrong

    reachable, probe = check_bucket_reachable(s3, bucket)
    results.append(reachable)
    report.bucket_region = probe.region if probe else None
    try:
        roles, report.redshift_region = redshift.get_roles_and_region()
    except RedshiftS3FailError as error:
        results.append(CheckResult.failure("redshift.exists", error.category, error.problem, error.fix or ""))
        return report
    target = roles.target
    report.redshift = {"kind": target.kind, "name": target.name, "workgroup": target.workgroup_name}
    if report.bucket_region:
        results.append(
            check_region(
                bucket,
                report.bucket_region,
                report.redshift_region,
                str(roles.target),
                on_mismatch=on_region_mismatch,
                data_format=data_format,
            )
        )
    if probe is None or not probe.accessible:
        return report

    report.encryption = s3.get_bucket_encryption(bucket)
    if require_objects:
        report.summary = s3.summarize_prefix(bucket, prefix)
        results.append(check_objects(report.summary, required=True))

    report.iam_role_arn = iam_role_arn or roles.default_role_arn
    results.extend(_role_checks(report, roles, iam))
    return report


def _argument_checks(
    bucket: str, prefix: str, on_region_mismatch: str, data_format: str | None
) -> list[CheckResult]:
    """Return the checks of the arguments alone (no AWS call)."""
    results = []
    if on_region_mismatch not in REGION_MISMATCH_POLICIES:
        results.append(
            CheckResult.failure(
                "on_region_mismatch",
                "config",
                f"on_region_mismatch is '{on_region_mismatch}': expected one of {REGION_MISMATCH_POLICIES}.",
                "pass on_region_mismatch='set_region' or 'fail'",
            )
        )
    format_result = check_data_format(data_format)
    if format_result is not None:
        results.append(format_result)
    results.append(check_bucket_name(bucket))
    results.extend(check_prefix(prefix, bucket))
    return results


def _role_checks(
    report: BucketVerification, roles: RedshiftRoles, iam: IamRoleHook | None
) -> list[CheckResult]:
    """Return the role's checks: attached, trusted, allowed to read the prefix (and its KMS key)."""
    results: list[CheckResult] = []
    bucket, prefix = report.bucket, report.prefix
    if report.iam_role_arn is None:
        results.append(
            CheckResult.warning(
                "iam_role.attached",
                "permission",
                f"No IAM role to check: iam_role_arn was not given and {roles.target} has no default role, "
                "so COPY ... IAM_ROLE default would fail.",
                "pass iam_role_arn, or set a default role (RedshiftEnsureIamRoleOperator with "
                "set_as_default=True)",
            )
        )
        return results
    results.append(check_role_attached(roles, report.iam_role_arn))
    if iam is None:
        return results
    trust = check_role_trust(iam, report.iam_role_arn, serverless=roles.target.serverless)
    results.append(trust)
    if trust.failed:
        return results
    samples = []
    if report.summary is not None:
        samples = [k for k in dict.fromkeys((report.summary.first_key, report.summary.last_key)) if k]
    results.extend(
        check_role_s3_access(
            iam,
            report.iam_role_arn,
            bucket,
            prefix,
            encryption=report.encryption,
            bucket_region=report.bucket_region or report.redshift_region or "us-east-1",  # the default
            sample_keys=samples,
        )
    )
    report.role_checked = True
    return results
