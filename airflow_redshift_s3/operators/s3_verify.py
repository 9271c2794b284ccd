"""Check, before COPY, that the bucket is reachable, in the right region, and readable by the role."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.hooks._aws_mixin import aws_template_fields
from airflow_redshift_s3.operators._aws_base import AwsOperatorBase

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_redshift_s3.hooks.iam_role import IamRoleHook
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook
    from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook


class S3VerifyBucketOperator(AwsOperatorBase):
    """Verify an S3 bucket and prefix for COPY into a Redshift cluster or Serverless workgroup.

    Checks that the bucket exists and is reachable; its region against Redshift's; that the prefix is
    well-formed (no leading '/', no s3:// inside, no wildcard COPY would take literally; a warning when
    it does not end at a '/' boundary); optionally that objects exist; that the IAM role is attached and
    in-sync, that Redshift may assume it, and that its policies allow reading the objects (simulated).
    A failed check fails the task without retries, with a message that says what to fix.

    Returns a small dict for the COPY operator: ``bucket_region``, ``redshift_region``,
    ``region_needed``, ``copy_region`` (the REGION to give COPY, or None), ``encryption``,
    ``iam_role_arn``, ``object_count`` and ``total_bytes`` (when listed, else None) and ``warnings``.

    :param bucket: the bucket name (no s3://). (templated)
    :param prefix: the key prefix COPY will load. (templated)
    :param cluster_identifier: a provisioned cluster. (templated)
    :param workgroup_name: a Serverless workgroup. (templated)
    :param namespace_name: a Serverless namespace, instead of the workgroup. (templated)
    :param iam_role_arn: the role COPY will use; None checks the default role, if any. (templated)
    :param on_region_mismatch: "set_region": a warning, COPY gets REGION (cross-region transfer is billed);
        "fail": a failure. With Parquet or ORC a mismatch always fails. (templated)
    :param require_objects: list the prefix and fail when it holds no object.
    :param data_format: COPY's format (csv, json, avro, parquet, orc, text, fixedwidth) or None. (templated)
    :param check_role_access: simulate the role's policies (needs iam:SimulatePrincipalPolicy; without it
        the check is a warning).
    AWS: ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config`` (see ``AwsOperatorBase``).
    """

    template_fields: Sequence[str] = aws_template_fields(
        "bucket",
        "prefix",
        "cluster_identifier",
        "workgroup_name",
        "namespace_name",
        "iam_role_arn",
        "on_region_mismatch",
        "data_format",
    )
    ui_color = "#ededed"

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        cluster_identifier: str | None = None,
        workgroup_name: str | None = None,
        namespace_name: str | None = None,
        iam_role_arn: str | None = None,
        on_region_mismatch: str = "set_region",
        require_objects: bool = False,
        data_format: str | None = None,
        check_role_access: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bucket = bucket
        self.prefix = prefix
        self.cluster_identifier = cluster_identifier
        self.workgroup_name = workgroup_name
        self.namespace_name = namespace_name
        self.iam_role_arn = iam_role_arn
        self.on_region_mismatch = on_region_mismatch
        self.require_objects = require_objects
        self.data_format = data_format
        self.check_role_access = check_role_access

    @cached_property
    def s3_hook(self) -> S3InspectHook:
        """Return the hook that probes the bucket and lists the prefix."""
        return self._new_s3_hook()

    @cached_property
    def redshift_hook(self) -> RedshiftIamRoleHook:
        """Return the hook of the cluster or namespace (its region and roles)."""
        return self._new_redshift_hook()

    @cached_property
    def iam_hook(self) -> IamRoleHook:
        """Return the hook that reads the role and simulates its policies."""
        return self._new_iam_hook()

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the checks, log each result, fail on any failure; return what COPY needs to know."""
        from airflow_redshift_s3.checks import log_results, raise_for_failures, verify_bucket

        report = verify_bucket(
            s3=self.s3_hook,
            redshift=self.redshift_hook,
            iam=self.iam_hook if self.check_role_access else None,
            bucket=self.bucket,
            prefix=self.prefix,
            iam_role_arn=self.iam_role_arn,
            on_region_mismatch=self.on_region_mismatch,
            require_objects=self.require_objects,
            data_format=self.data_format,
        )
        log_results(report.results, self.log)
        raise_for_failures(report.results)
        return report.to_xcom()
