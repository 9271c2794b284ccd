"""The audit run from Airflow connections: what the ``audit`` command and ``RedshiftAuditOperator`` share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.checks.audit.roles import Source

if TYPE_CHECKING:
    from airflow_redshift_s3.checks.audit import AuditReport


def parse_source(text: str) -> Source:
    """Return the ``Source`` of ``s3://bucket/prefix`` (or ``bucket/prefix``); a ValueError names the fix."""
    from airflow_redshift_s3.rules import BUCKET_RE

    path = text[len("s3://") :] if text.startswith("s3://") else text
    bucket, _, prefix = path.partition("/")
    if not BUCKET_RE.fullmatch(bucket):
        raise ValueError(
            f"{text!r} is not s3://<bucket>/<prefix>: {bucket!r} is not an S3 bucket name (3-63 lowercase "
            "letters, digits, dots and hyphens). Fix: pass the bucket's real name, e.g. s3://my-bucket/sales/."
        )
    return Source(bucket, prefix)


def audit_from_connections(
    *,
    cluster_identifier: str | None = None,
    workgroup_name: str | None = None,
    namespace_name: str | None = None,
    sources: Sequence[str] = (),
    redshift_conn_id: str | None = "redshift_default",
    aws: dict[str, Any] | None = None,
    ledger: str | None = "public.s3_load_ledger",
    days: int = 7,
) -> AuditReport:
    """Audit a cluster or namespace with the Airflow AWS connection and the Redshift SQL connection.

    :param sources: ``s3://bucket/prefix`` the loads read; none: the buckets of the ledger's loads.
    :param redshift_conn_id: the Redshift connection (query history, ledger, TLS mode); None: no SQL.
    :param aws: ``aws_conn_id``, ``region_name``, ``verify`` and ``config`` of the AWS hooks.
    :param ledger: the load ledger table.
    :param days: the history read back, and the days after which an attached role is unused.
    """
    from airflow_redshift_s3.checks.audit import run_audit
    from airflow_redshift_s3.hooks.iam_role import IamRoleHook
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook
    from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook

    aws = aws or {"aws_conn_id": "aws_default"}
    parsed = [parse_source(source) for source in sources]
    run_sql = None
    connection = None
    if redshift_conn_id:
        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook
        from airflow.sdk import BaseHook

        sql_hook = RedshiftSQLHook(redshift_conn_id=redshift_conn_id)
        sql_hook.log_sql = False

        def run_sql(sql: str) -> list[Any]:
            return list(sql_hook.get_records(sql) or [])

        connection = (redshift_conn_id, dict(BaseHook.get_connection(redshift_conn_id).extra_dejson))
    return run_audit(
        redshift=RedshiftIamRoleHook(
            cluster_identifier=cluster_identifier,
            workgroup_name=workgroup_name,
            namespace_name=namespace_name,
            **aws,
        ),
        iam=IamRoleHook(**aws),
        s3=S3InspectHook(**aws),
        sources=parsed,
        run_sql=run_sql,
        connection=connection,
        ledger=ledger,
        days=days,
    )
