"""Wait until an IAM role is attached to a Redshift cluster or Serverless namespace and in-sync."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import PokeReturnValue, conf

from airflow_redshift_s3.hooks._aws_mixin import aws_template_fields
from airflow_redshift_s3.operators._aws_base import AwsSensorBase
from airflow_redshift_s3.sensors._deferral import poke_then_defer

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook


class RedshiftIamRoleSensor(AwsSensorBase):
    """Wait until ``iam_role_arn`` is attached and in-sync, i.e. usable by COPY; its XCom is the role ARN.

    A role that is not attached yet is waited for (someone else attaches it); a missing cluster or
    namespace fails at once.

    :param iam_role_arn: the role to wait for. (templated)
    :param cluster_identifier: a provisioned cluster. (templated)
    :param workgroup_name: a Serverless workgroup. (templated)
    :param namespace_name: a Serverless namespace, instead of the workgroup. (templated)
    :param deferrable: wait in the triggerer instead of a worker slot.
    AWS: ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config`` (see ``AwsSensorBase``).
    """

    template_fields: Sequence[str] = aws_template_fields(
        "iam_role_arn",
        "cluster_identifier",
        "workgroup_name",
        "namespace_name",
    )

    def __init__(
        self,
        *,
        iam_role_arn: str,
        cluster_identifier: str | None = None,
        workgroup_name: str | None = None,
        namespace_name: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.iam_role_arn = iam_role_arn
        self.cluster_identifier = cluster_identifier
        self.workgroup_name = workgroup_name
        self.namespace_name = namespace_name
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> RedshiftIamRoleHook:
        """Return the hook of the cluster or namespace."""
        return self._new_redshift_hook()

    def poke(self, context: Context) -> PokeReturnValue:
        """Return done when the role is in-sync (one DescribeClusters or GetNamespace call)."""
        from airflow_redshift_s3.hooks.redshift_iam import IN_SYNC

        roles = self.hook.get_roles()
        status = roles.status(self.iam_role_arn)
        if status == IN_SYNC:
            self.log.info("IAM role %s is in-sync on %s", self.iam_role_arn, roles.target)
            return PokeReturnValue(True, self.iam_role_arn)
        self.log.info("Waiting: %s", roles.describe(self.iam_role_arn))
        return PokeReturnValue(False)

    def execute(self, context: Context) -> Any:
        """Poke once; if not done, wait by poking, or in the triggerer when deferrable."""
        if not self.deferrable:
            return super().execute(context)
        from airflow_redshift_s3.triggers.redshift_iam import RedshiftIamRoleTrigger

        return poke_then_defer(
            self,
            context,
            lambda deadline: RedshiftIamRoleTrigger(
                iam_role_arn=self.iam_role_arn,
                cluster_identifier=self.cluster_identifier,
                workgroup_name=self.workgroup_name,
                namespace_name=self.namespace_name,
                poll_interval=float(self.poke_interval),
                deadline=deadline,
                fail_if_absent=False,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Return the role ARN on success; a timeout event becomes AirflowSensorTimeout."""
        from airflow.sdk.exceptions import AirflowSensorTimeout

        from airflow_redshift_s3.triggers.redshift_iam import validate_role_event

        if event and event.get("status") == "timeout":
            raise AirflowSensorTimeout(event.get("message"))
        return validate_role_event(event, self.iam_role_arn)
