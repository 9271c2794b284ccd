"""Checks of the bucket COPY reads: it exists and is reachable, its region, what the prefix holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_redshift_s3.checks.result import CheckResult
from airflow_redshift_s3.exceptions import ResourceNotFoundError

if TYPE_CHECKING:
    from airflow_redshift_s3.hooks.s3_inspect import BucketProbe, PrefixSummary, S3InspectHook

# COPY's FORMAT names; REGION is rejected for the columnar ones.
DATA_FORMATS = ("csv", "json", "avro", "parquet", "orc", "text", "fixedwidth")
COLUMNAR_FORMATS = ("parquet", "orc")
REGION_MISMATCH_POLICIES = ("set_region", "fail")


def check_bucket_reachable(s3: S3InspectHook, bucket: str) -> tuple[CheckResult, BucketProbe | None]:
    """Check that ``bucket`` exists and the connection may read it; return the probe when it exists."""
    try:
        probe = s3.probe_bucket(bucket)
    except ResourceNotFoundError as error:
        return CheckResult.failure("bucket.exists", "config", error.problem, error.fix or ""), None
    if not probe.accessible:
        fix = f"allow the identity of connection '{s3.aws_conn_id}' s3:ListBucket on arn:aws:s3:::{bucket}"
        return (
            CheckResult.failure(
                "bucket.exists",
                "permission",
                f"S3 bucket '{bucket}' exists (region {probe.region or 'unknown'}) but connection "
                f"'{s3.aws_conn_id}' may not read it: expected HeadBucket to succeed, found {probe.error}.",
                fix,
                bucket_region=probe.region,
            ),
            probe,
        )
    return (
        CheckResult.ok(
            "bucket.exists",
            "config",
            f"S3 bucket '{bucket}' exists in {probe.region}.",
            bucket_region=probe.region,
        ),
        probe,
    )


def check_region(
    bucket: str,
    bucket_region: str,
    redshift_region: str,
    redshift_name: str,
    *,
    on_mismatch: str = "set_region",
    data_format: str | None = None,
) -> CheckResult:
    """Check the bucket's region against Redshift's; ``details["region_needed"]`` tells if COPY needs REGION.

    :param on_mismatch: "set_region" (a warning: COPY gets REGION, and cross-region transfer is billed)
        or "fail".
    :param data_format: with "parquet" or "orc" a mismatch always fails: Redshift rejects REGION there.
    """
    name = "bucket.region"
    details = {"bucket_region": bucket_region, "redshift_region": redshift_region}
    if bucket_region == redshift_region:
        return CheckResult.ok(
            name,
            "region",
            f"S3 bucket '{bucket}' is in {bucket_region}, like {redshift_name}.",
            region_needed=False,
            **details,
        )
    found = f"S3 bucket '{bucket}' is in {bucket_region} but {redshift_name} is in {redshift_region}"
    move = f"copy the data to a bucket in {redshift_region} (e.g. with S3 replication or `aws s3 sync`)"
    if data_format and data_format.lower() in COLUMNAR_FORMATS:
        return CheckResult.failure(
            name,
            "region",
            f"{found}: expected the same region, because COPY of {data_format.upper()} does not accept "
            f"REGION ('REGION argument is not supported for {data_format.upper()} based COPY').",
            move,
            region_needed=True,
            **details,
        )
    if on_mismatch == "fail":
        return CheckResult.failure(
            name,
            "region",
            f"{found}: expected the same region (on_region_mismatch='fail'). Without REGION, COPY would fail "
            "with 'S3ServiceException:The bucket you are attempting to access must be addressed using the "
            "specified endpoint ... Status 301'.",
            f"{move}, or pass on_region_mismatch='set_region' to have COPY use REGION '{bucket_region}' "
            "(cross-region data transfer is billed per GB)",
            region_needed=True,
            **details,
        )
    return CheckResult.warning(
        name,
        "region",
        f"{found}: COPY will need REGION '{bucket_region}', and every byte loaded is billed as cross-region "
        f"data transfer from {bucket_region} to {redshift_region}.",
        f"to avoid the transfer cost, {move}",
        region_needed=True,
        **details,
    )


def check_data_format(data_format: str | None) -> CheckResult | None:
    """Return a failure for an unknown ``data_format`` (None when it is None)."""
    if data_format is None:
        return None
    if data_format.lower() not in DATA_FORMATS:
        return CheckResult.failure(
            "data_format",
            "format",
            f"data_format '{data_format}' is not a COPY format: expected one of {', '.join(DATA_FORMATS)}.",
            "pass one of those (or None when the format does not matter for the check)",
        )
    return CheckResult.ok("data_format", "format", f"data_format '{data_format}' is a COPY format.")


def check_objects(summary: PrefixSummary, *, required: bool = True) -> CheckResult:
    """Check that the prefix holds at least one object (COPY fails on a prefix that matches nothing)."""
    where = f"s3://{summary.bucket}/{summary.prefix}"
    facts = {"object_count": summary.object_count, "total_bytes": summary.total_bytes}
    if summary.object_count:
        return CheckResult.ok(
            "prefix.objects",
            "config",
            f"{where} holds {summary.object_count} object(s), {summary.total_bytes} bytes.",
            **facts,
        )
    message = (
        f"No object under {where}: expected at least one, as COPY fails when its prefix matches no object "
        "(and an empty load usually means the upstream job has not written yet)."
    )
    fix = "check bucket and prefix, or wait for the data with S3PrefixSensor before COPY"
    if required:
        return CheckResult.failure("prefix.objects", "config", message, fix, **facts)
    return CheckResult.warning("prefix.objects", "config", message, fix, **facts)
