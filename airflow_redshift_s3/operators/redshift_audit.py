"""Audit a Redshift cluster or Serverless namespace against the guide's best practices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.hooks._aws_mixin import aws_template_fields
from airflow_redshift_s3.operators._aws_base import AwsOperatorBase

if TYPE_CHECKING:
    from airflow.sdk import Context


class RedshiftAuditOperator(AwsOperatorBase):
    """Audit the roles, encryption, transport and key-based loads of a cluster or namespace.

    Runs the checks of ``airflow_redshift_s3.checks.audit`` (those of the ``audit`` command) and logs each
    finding. A failure fails the task without retries (retrying cannot fix a setup), after pushing the
    findings as the XCom ``audit``; otherwise the task returns them (warnings in full) as its XCom.

    :param cluster_identifier: a provisioned cluster. (templated)
    :param workgroup_name: a Serverless workgroup. (templated)
    :param namespace_name: a Serverless namespace, instead of the workgroup. (templated)
    :param sources: ``s3://bucket/prefix`` the loads read; empty: the ledger's buckets. (templated)
    :param redshift_conn_id: the Redshift connection (query history, ledger, TLS mode); None skips them.
        (templated)
    :param ledger_table: the load ledger. (templated)
    :param days: history read back; a role no COPY used in that time is reported unused.
    AWS: ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config`` (see ``AwsOperatorBase``).
    """

    template_fields: Sequence[str] = aws_template_fields(
        "cluster_identifier",
        "workgroup_name",
        "namespace_name",
        "sources",
        "redshift_conn_id",
        "ledger_table",
    )
    ui_color = "#ededed"

    def __init__(
        self,
        *,
        cluster_identifier: str | None = None,
        workgroup_name: str | None = None,
        namespace_name: str | None = None,
        sources: Sequence[str] = (),
        redshift_conn_id: str | None = "redshift_default",
        ledger_table: str | None = "public.s3_load_ledger",
        days: int = 7,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cluster_identifier = cluster_identifier
        self.workgroup_name = workgroup_name
        self.namespace_name = namespace_name
        self.sources = sources
        self.redshift_conn_id = redshift_conn_id
        self.ledger_table = ledger_table
        self.days = days

    def execute(self, context: Context) -> dict[str, Any]:
        """Audit, log every finding; fail on a failure, else return the findings."""
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_redshift_s3.checks import failures, log_results
        from airflow_redshift_s3.checks.audit.connections import audit_from_connections

        report = audit_from_connections(
            cluster_identifier=self.cluster_identifier or None,
            workgroup_name=self.workgroup_name or None,
            namespace_name=self.namespace_name or None,
            sources=[source for source in self.sources if source],
            redshift_conn_id=self.redshift_conn_id or None,
            aws=self._aws_kwargs,
            ledger=self.ledger_table or None,
            days=self.days,
        )
        log_results(report.results, self.log)
        summary = report.to_xcom()
        self.log.info(
            "Audit of %s: %s ok, %s warning(s), %s failure(s)",
            report.target,
            summary["ok"],
            summary["warnings"],
            summary["failures"],
        )
        failed = failures(report.results)
        if failed:
            # the findings of a failed audit stay readable (key "audit"), its warnings included
            context["ti"].xcom_push(key="audit", value=summary)
            lines = "\n".join(result.text() for result in failed)
            raise AirflowFailException(
                f"The audit of {report.target} found {len(failed)} failure(s):\n{lines}"
            )
        return summary
