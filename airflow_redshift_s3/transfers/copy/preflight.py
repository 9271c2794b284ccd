"""The checks before a load, composed from the shared check library (``airflow_redshift_s3.checks``).

Each group is switchable through ``preflight_checks``:

- "role": the role is attached to the cluster (or namespace) and in-sync (waiting while it is "adding"),
  and its trust policy lets Redshift assume it;
- "region": the bucket's region against Redshift's: REGION is added, or the load fails, per policy;
- "access": the role's policies allow s3:GetObject on the files and on the manifest (simulated);
- "format": a sniff of the first file against the format and the columns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from airflow_redshift_s3.checks.result import CheckResult
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook, RedshiftRoles
    from airflow_redshift_s3.hooks.s3_inspect import BucketEncryption
    from airflow_redshift_s3.transfers.copy.request import FileInfo, LoadRequest
    from airflow_redshift_s3.transfers.copy.verdicts import Verdict

_CLUSTER_HOST = re.compile(r"^([a-z][a-z0-9-]*)\.[a-z0-9]+\.[a-z0-9-]+\.redshift\.amazonaws\.com(?:\.cn)?$")
_WORKGROUP_HOST = re.compile(
    r"^([a-z0-9-]+)\.\d{12}\.[a-z0-9-]+\.redshift-serverless\.amazonaws\.com(?:\.cn)?$"
)


@dataclass
class PreflightOutcome:
    """What the checks found that the load needs."""

    region: str | None = None  # REGION for COPY, when the bucket is elsewhere
    redshift_region: str | None = None
    redshift_target: str | None = None  # "cluster 'x'" / "namespace 'y'" for messages
    warnings: list[str] = field(default_factory=list)


def redshift_target(
    redshift_conn_id: str, cluster_identifier: str | None, workgroup_name: str | None
) -> tuple[str | None, str | None]:
    """Return (cluster, workgroup): as given, else from the connection's extras or endpoint host."""
    if cluster_identifier or workgroup_name:
        return cluster_identifier or None, workgroup_name or None
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    conn = RedshiftSQLHook.get_connection(redshift_conn_id)
    extra = conn.extra_dejson
    if extra.get("is_serverless") and extra.get("serverless_work_group"):
        return None, str(extra["serverless_work_group"])
    if extra.get("cluster_identifier"):
        return str(extra["cluster_identifier"]), None
    host = (conn.host or "").lower()
    if match := _CLUSTER_HOST.match(host):
        return match.group(1), None
    if match := _WORKGROUP_HOST.match(host):
        return None, match.group(1)
    return None, None


def run_preflight(**arguments: Any) -> PreflightOutcome:
    """Run the checks of ``preflight_results`` (same arguments), log every result, raise for the failures.

    Return what the load needs, with the warnings' text.
    """
    from airflow_redshift_s3.checks.result import CheckStatus, log_results, raise_for_failures

    outcome, results = preflight_results(**arguments)
    log_results(results, arguments["log"])
    outcome.warnings = [r.text() for r in results if r.status is CheckStatus.WARNING]
    raise_for_failures(results)
    return outcome


def preflight_results(
    *,
    s3: Any,
    request: LoadRequest,
    files: Sequence[FileInfo],
    file_columns: Sequence[str] | None,
    aws: dict[str, Any],
    cluster: str | None,
    workgroup: str | None,
    role_wait_timeout: float,
    log: Any,
    verdict: Verdict | None = None,
) -> tuple[PreflightOutcome, list[CheckResult]]:
    """Run the switched-on checks and return what the load needs and every result (``doctor`` prints them).

    The checks' AWS calls run concurrently, a few threads per load: each is a round trip (on AWS, IAM's take
    the longest), and none needs another's answer once the cluster's roles are read. The results keep the
    order of the checks, and a failed check still hides the ones that depend on it.

    :param verdict: an upstream verification of this DAG run covering the role, region and access checks.
    """
    from concurrent.futures import ThreadPoolExecutor

    from airflow_redshift_s3.checks.result import CheckResult

    checks = request.checks
    outcome = PreflightOutcome()
    results: list[CheckResult] = []
    # 7 tasks at most: the sniff, the encryption, the region and the role checks, and the trust, files and
    # manifest checks the role checks wait for; a worker each, so that no task waits for a free worker
    with ThreadPoolExecutor(max_workers=7, thread_name_prefix="preflight") as pool:
        sniffed = None
        if "format" in checks:
            sniffed = pool.submit(format_checks, s3, request, files, file_columns)
        if verdict is not None and checks & {"role", "region", "access"}:
            outcome.redshift_region = verdict.redshift_region
            outcome.redshift_target = verdict.redshift_target
            outcome.region = verdict.copy_region if "region" in checks else None
            results.append(
                CheckResult.ok(
                    "preflight.reused",
                    "config",
                    f"The role, region and access checks of task '{verdict.task_id}' in this DAG run "
                    f"cover this load (same bucket and prefix, role and {verdict.redshift_target}): not "
                    "asked again.",
                )
            )
            if "access" in checks and request.iam_role is not None:
                from airflow_redshift_s3.hooks.iam_role import IamRoleHook

                results.append(manifest_access(IamRoleHook(**aws), request.iam_role, request))
        elif checks & {"role", "region", "access"}:
            arguments = (s3, request, files, aws, cluster, workgroup, role_wait_timeout, log)
            results.extend(target_checks(pool, outcome, *arguments))
        if sniffed is not None:
            results.extend(sniffed.result())
    return outcome, results


def target_checks(
    pool: Executor,
    outcome: PreflightOutcome,
    s3: Any,
    request: LoadRequest,
    files: Sequence[FileInfo],
    aws: dict[str, Any],
    cluster: str | None,
    workgroup: str | None,
    role_wait_timeout: float,
    log: Any,
) -> list[CheckResult]:
    """Return the role, region and access checks against the cluster or workgroup; fill ``outcome``."""
    from airflow_redshift_s3.checks.result import CheckResult
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook

    if not (cluster or workgroup):
        return [
            CheckResult.warning(
                "redshift.target",
                "config",
                "The role, region and access checks were skipped: the Redshift connection names no "
                "cluster or workgroup.",
                "pass cluster_identifier or workgroup_name to the operator",
            )
        ]
    checks = request.checks
    encryption = None
    if "access" in checks and request.iam_role is not None:  # needs no cluster: asked at once
        encryption = pool.submit(s3.get_bucket_encryption, request.bucket)
    redshift = RedshiftIamRoleHook(cluster_identifier=cluster, workgroup_name=workgroup, **aws)
    roles, outcome.redshift_region = redshift.get_roles_and_region()
    outcome.redshift_target = str(roles.target)
    regional = role = None
    if "region" in checks:
        regional = pool.submit(region_checks, s3, request, roles, outcome.redshift_region)
    if request.iam_role is not None and {"role", "access"} & checks:
        arguments = (redshift, roles, request, files, aws, role_wait_timeout, log)
        role = pool.submit(role_checks, *arguments, pool=pool, encryption=encryption)
    results: list[CheckResult] = []
    if regional is not None:  # first: a missing bucket is said by its own check
        results.extend(regional.result())
        outcome.region = region_needed(results)
    if role is not None:
        results.extend(role.result())
    return results


def region_needed(results: Sequence[CheckResult]) -> str | None:
    """Return the bucket's region when the region check says COPY needs REGION (and did not fail)."""
    for result in results:
        if result.name == "bucket.region" and result.details.get("region_needed") and not result.failed:
            return str(result.details["bucket_region"])
    return None


def region_checks(
    s3: Any, request: LoadRequest, roles: RedshiftRoles, redshift_region: str
) -> list[CheckResult]:
    """Return the bucket's reachability and region against Redshift's (and the manifest bucket's)."""
    from airflow_redshift_s3.checks.result import CheckResult
    from airflow_redshift_s3.checks.s3 import check_bucket_reachable, check_region

    reachable, probe = check_bucket_reachable(s3, request.bucket)
    results = [reachable]
    if probe is None or not probe.region:
        return results
    results.append(
        check_region(
            request.bucket,
            probe.region,
            redshift_region,
            str(roles.target),
            on_mismatch=request.region_policy,
            data_format=request.data_format.type,
        )
    )
    if request.manifest_bucket != request.bucket:
        manifest = s3.probe_bucket(request.manifest_bucket)
        if manifest.region and manifest.region != probe.region:
            results.append(
                CheckResult.failure(
                    "manifest.region",
                    "region",
                    f"Manifest bucket '{request.manifest_bucket}' is in {manifest.region} and data bucket "
                    f"'{request.bucket}' in {probe.region}: expected one region, as COPY reads both from the "
                    "region of its REGION clause.",
                    "use a manifest bucket in the data bucket's region (or leave manifest_bucket unset)",
                )
            )
    return results


def role_checks(
    redshift: RedshiftIamRoleHook,
    roles: RedshiftRoles,
    request: LoadRequest,
    files: Sequence[FileInfo],
    aws: dict[str, Any],
    role_wait_timeout: float,
    log: Any,
    *,
    pool: Executor,
    encryption: Future[BucketEncryption] | None,
) -> list[CheckResult]:
    """Return the role's attachment and trust ("role") and what it may read ("access").

    The trust and access calls run at the same time in ``pool``; ``encryption`` is the bucket's, asked
    already.
    """
    from airflow_redshift_s3.checks.iam import check_role_attached, check_role_trust
    from airflow_redshift_s3.checks.result import CheckResult
    from airflow_redshift_s3.hooks.iam_role import IamRoleHook
    from airflow_redshift_s3.hooks.redshift_iam import ADDING

    role = request.iam_role if request.iam_role != "default" else roles.default_role_arn
    if role is None:
        return [
            CheckResult.failure(
                "iam_role.default",
                "permission",
                f"iam_role_arn is 'default' but {roles.target} has no default IAM role: COPY ... IAM_ROLE "
                "default "
                "would fail with 'Not authorized to get credentials of role'.",
                "pass the role's ARN, or make it the default (RedshiftEnsureIamRoleOperator with "
                "set_as_default=True)",
            )
        ]
    results: list[CheckResult] = []
    iam = IamRoleHook(**aws)
    if "role" in request.checks:
        if roles.status(role) == ADDING and role_wait_timeout > 0:
            log.info(
                "IAM role %s is still being attached to %s; waiting until it is in-sync.", role, roles.target
            )
            poll = min(5.0, max(0.2, role_wait_timeout / 20))
            roles = redshift.wait_for_role(role, poll_interval=poll, timeout=role_wait_timeout)
        attached = check_role_attached(roles, role)
        results.append(attached)
        if attached.failed:
            return results
    iam.conn  # noqa: B018 - its client is made here, once, before three threads use it
    trusted = files_access = manifest = None
    if "role" in request.checks:
        trusted = pool.submit(check_role_trust, iam, role, serverless=roles.target.serverless)
    if "access" in request.checks:
        assert encryption is not None
        files_access = pool.submit(file_access, iam, role, request, files, encryption)
        manifest = pool.submit(manifest_access, iam, role, request)
    if trusted is not None:
        results.append(trusted.result())
        if results[-1].failed:
            return results  # what the role may read does not matter yet (those answers are dropped)
    if files_access is not None and manifest is not None:
        results.extend([*files_access.result(), manifest.result()])
    return results


def file_access(
    iam: Any, role: str, request: LoadRequest, files: Sequence[FileInfo], encryption: Future[BucketEncryption]
) -> list[CheckResult]:
    """Return what the role may read of the files (sampled), by simulation."""
    from airflow_redshift_s3.checks.iam import check_role_s3_access

    samples = list(dict.fromkeys((files[0].key, files[-1].key)))
    access = check_role_s3_access(
        iam, role, request.bucket, request.source_prefix, encryption=encryption.result(), sample_keys=samples
    )
    # Through a manifest, COPY lists nothing: s3:ListBucket is not needed.
    return [r for r in access if r.name != "iam_role.s3_access.s3:ListBucket"]


def manifest_access(iam: Any, role: str, request: LoadRequest) -> CheckResult:
    """Check (by simulation) that the role may read the manifests the operator writes."""
    from airflow_redshift_s3.checks.result import CheckResult
    from airflow_redshift_s3.exceptions import SimulationUnavailableError

    resource = f"arn:aws:s3:::{request.manifest_bucket}/{request.manifest_prefix}*"
    name = "iam_role.s3_access.manifest"
    try:
        (decision,) = iam.simulate(role, ["s3:GetObject"], [resource])
    except SimulationUnavailableError as error:
        return CheckResult.warning(
            name,
            "permission",
            f"Could not check that IAM role {role} may read the manifests ({resource}): {error}.",
            f"make sure the role may s3:GetObject on {resource}",
        )
    if decision.allowed:
        return CheckResult.ok(name, "permission", f"IAM role {role} may read the manifests ({resource}).")
    statement = json.dumps(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}, separators=(",", ":")
    )
    return CheckResult.failure(
        name,
        "permission",
        f"IAM role {role} may not s3:GetObject on {resource}: expected Allow, because COPY reads the "
        "manifest the "
        f"operator writes there; the policy simulation found {decision.decision}. COPY would fail with "
        "'S3ServiceException:Access Denied'.",
        f"add to the role's policy: {statement}, or set manifest_prefix to a place the role may read",
    )


def format_checks(
    s3: Any, request: LoadRequest, files: Sequence[FileInfo], file_columns: Sequence[str] | None
) -> list[CheckResult]:
    """Return the format sniff of the first file."""
    from airflow_redshift_s3.checks.format_sniff import sniff_object

    first = files[0]
    return sniff_object(
        s3.conn,
        request.bucket,
        first.key,
        first.size,
        request.data_format,
        file_columns,  # None (doctor without --columns): the columns are not compared
        fill_record="FILLRECORD" in request.extra_options,
    )
