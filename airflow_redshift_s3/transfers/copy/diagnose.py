"""The COPY operator's own checks as a report: what ``airflow-redshift-s3 doctor`` prints.

The same request, listing and preflight as ``S3ToRedshiftCopyOperator.execute`` (role attached and
in-sync, trust, region and REGION, access to the files and to the manifests, the format sniff), run
without a database connection and without raising: every problem becomes a failed ``CheckResult``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_redshift_s3.checks.result import CheckResult
from airflow_redshift_s3.exceptions import RedshiftS3FailError


def copy_checks(
    *,
    bucket: str,
    prefix: str,
    iam_role_arn: str,
    cluster_identifier: str | None,
    workgroup_name: str | None,
    input_format: Any,
    columns: Sequence[str] | None,
    checks: Sequence[str],
    aws: dict[str, Any],
    log: Any,
    slices: int | None = None,
) -> list[CheckResult]:
    """Return the results of the COPY preflight for ``s3://bucket/prefix``; never raise for a failed check.

    :param input_format: a ``CopyFormat`` or its dict form.
    :param columns: the columns COPY fills, in file order; None: not compared by the sniff.
    :param checks: the operator's ``preflight_checks`` to run.
    :param aws: the AWS hook arguments (``aws_conn_id``, ``region_name``, ``verify``, ``config``).
    :param slices: the cluster's slice count, to check the number and sizes of compressed files against it.
    """
    from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook
    from airflow_redshift_s3.transfers.copy import layout, listing
    from airflow_redshift_s3.transfers.copy.preflight import preflight_results
    from airflow_redshift_s3.transfers.copy.request import build_request

    try:
        request = build_request(
            bucket=bucket,
            table="doctor",
            prefix=prefix,
            iam_role_arn=iam_role_arn,
            input_format=input_format,
            column_list=columns,
            preflight_checks=checks,
        )
        s3 = S3InspectHook(**aws)
        files, notes = listing.list_files(s3, request, log)
        if not files:
            raise listing.no_files_error(request)
        _, results = preflight_results(
            s3=s3,
            request=request,
            files=files,
            file_columns=columns,
            aws=aws,
            cluster=cluster_identifier,
            workgroup=workgroup_name,
            role_wait_timeout=0,
            log=log,
        )
    except RedshiftS3FailError as error:
        return [*error.results] or [
            CheckResult.failure("copy", error.category, error.problem, error.fix or "")
        ]
    listed = CheckResult.ok("files", "config", f"{len(files)} file(s) to load under s3://{bucket}/{prefix}.")
    asked = [CheckResult.warning("prefix", "config", note, "") for note in request.warnings]
    return [*asked, *notes, listed, *results, *layout.check_layout(request, files, slices)]
