"""Checks an upstream ``S3VerifyBucketOperator`` already made in this DAG run, reused instead of asked again.

When the DAG verified the same bucket (a prefix that contains this load's), for the same role and the same
cluster or workgroup, earlier in the same run, the COPY takes the regions and the role's verdict from that
task's XCom: no DescribeClusters, HeadBucket, GetBucketEncryption, GetRole or access simulation again. The
manifest location (which the verification does not cover) and the file's format are still checked.

Not reused, so the full checks run, when: the role is ``default``; the manifests go to another bucket; the
verification did not check the role; it found the bucket in another region and this load's policy is
"fail" or its format cannot cross regions (Parquet, ORC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_redshift_s3.transfers.copy.request import LoadRequest


@dataclass(frozen=True)
class Verdict:
    """What an upstream verification found, as the COPY's preflight needs it."""

    task_id: str
    redshift_region: str | None
    redshift_target: str
    copy_region: str | None


def find_verdict(
    context: Mapping[str, Any], task: Any, request: LoadRequest, cluster: str | None, workgroup: str | None
) -> Verdict | None:
    """Return the verdict of an upstream S3VerifyBucketOperator of this run that covers ``request``."""
    from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator

    ti = context.get("ti")
    if ti is None or not task.has_dag() or not (cluster or workgroup):
        return None
    upstream = sorted(
        t.task_id for t in task.get_flat_relatives(upstream=True) if isinstance(t, S3VerifyBucketOperator)
    )
    for task_id in upstream:
        value = ti.xcom_pull(task_ids=task_id)
        if isinstance(value, Mapping) and covers(value, request, cluster, workgroup):
            from airflow_redshift_s3.hooks.redshift_iam import RedshiftTarget

            redshift = value["redshift"]
            target = RedshiftTarget(redshift["kind"], redshift["name"], redshift.get("workgroup"))
            return Verdict(task_id, value.get("redshift_region"), str(target), value.get("copy_region"))
    return None


def covers(
    value: Mapping[str, Any], request: LoadRequest, cluster: str | None, workgroup: str | None
) -> bool:
    """Return whether a verification's XCom ``value`` covers everything the COPY's checks would ask AWS."""
    redshift = value.get("redshift") or {}
    same_target = (
        cluster is not None and redshift.get("kind") == "cluster" and redshift.get("name") == cluster
    ) or (workgroup is not None and redshift.get("workgroup") == workgroup)
    region_ok = not value.get("region_needed") or (
        request.region_policy == "set_region" and not request.data_format.columnar
    )
    return bool(
        value.get("role_checked")
        and same_target
        and region_ok
        and request.iam_role not in (None, "default")
        and value.get("iam_role_arn") == request.iam_role
        and value.get("bucket") == request.bucket
        and request.manifest_bucket == request.bucket
        and request.source_prefix.startswith(str(value.get("prefix", "\0")))
    )
