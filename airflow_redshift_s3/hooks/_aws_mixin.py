"""Shared AWS plumbing of the operators, sensors and triggers: hook arguments and hook factories.

The Amazon provider's ``AwsBaseHookMixin`` imports boto3 when its module is imported and builds a single
hook, so it does not fit here: importing an operator must stay light, and some build three hooks.
Every import of a hook happens inside the factory, i.e. only when a task or trigger runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_redshift_s3.hooks.iam_role import IamRoleHook
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook
    from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook


class AwsHookFactoryMixin:
    """Build this package's AWS hooks from the instance's connection arguments.

    The class stores ``aws_conn_id``, ``region_name``, ``verify`` and ``botocore_config`` in its own
    ``__init__`` (and ``cluster_identifier``, ``workgroup_name``, ``namespace_name`` for the Redshift hook).
    """

    aws_conn_id: str | None
    region_name: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None
    cluster_identifier: str | None
    workgroup_name: str | None
    namespace_name: str | None

    @property
    def _aws_kwargs(self) -> dict[str, Any]:
        return {
            "aws_conn_id": self.aws_conn_id,
            "region_name": self.region_name,
            "verify": self.verify,
            "config": self.botocore_config,
        }

    def _new_redshift_hook(self) -> RedshiftIamRoleHook:
        """Return a new hook of the cluster or namespace named by the instance."""
        from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook

        return RedshiftIamRoleHook(
            cluster_identifier=self.cluster_identifier,
            workgroup_name=self.workgroup_name,
            namespace_name=self.namespace_name,
            **self._aws_kwargs,
        )

    def _new_iam_hook(self) -> IamRoleHook:
        """Return a new IAM role hook."""
        from airflow_redshift_s3.hooks.iam_role import IamRoleHook

        return IamRoleHook(**self._aws_kwargs)

    def _new_s3_hook(self) -> S3InspectHook:
        """Return a new S3 inspection hook."""
        from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook

        return S3InspectHook(**self._aws_kwargs)


def aws_template_fields(*fields: str) -> tuple[str, ...]:
    """Return ``fields`` with the AWS connection fields, sorted, as the Amazon provider's helper does.

    (Its own helper lives in a module that imports boto3, which a DAG file must not pay for.)
    """
    return tuple(sorted({"aws_conn_id", "region_name", "verify"} | set(fields)))
