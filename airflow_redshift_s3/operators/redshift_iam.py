"""Make sure an IAM role is attached to a Redshift cluster or Serverless namespace and in-sync."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import conf

from airflow_redshift_s3.hooks._aws_mixin import aws_template_fields
from airflow_redshift_s3.operators._aws_base import AwsOperatorBase

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_redshift_s3.hooks.iam_role import IamRoleHook
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook


class RedshiftEnsureIamRoleOperator(AwsOperatorBase):
    """Attach an IAM role to a Redshift cluster or Serverless namespace (idempotent) and wait until in-sync.

    A role already attached and in-sync (and already the default, if asked) is left alone. Otherwise it is
    attached, keeping the other roles, after checking that it exists, that its trust policy lets Redshift
    assume it and that the caller may iam:PassRole it; those failures fail the task without retries.
    Returns the role ARN.

    :param iam_role_arn: the role COPY will use. (templated)
    :param cluster_identifier: a provisioned cluster. (templated)
    :param workgroup_name: a Serverless workgroup (its namespace gets the role). (templated)
    :param namespace_name: a Serverless namespace, instead of the workgroup. (templated)
    :param set_as_default: also make it the default role (for ``COPY ... IAM_ROLE default``).
    :param wait_for_completion: wait until the role is in-sync.
    :param waiter_delay: seconds between two status checks.
    :param waiter_max_attempts: status checks before giving up.
    :param deferrable: wait in the triggerer instead of a worker slot.
    AWS: ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config`` (see ``AwsOperatorBase``).
    """

    template_fields: Sequence[str] = aws_template_fields(
        "iam_role_arn",
        "cluster_identifier",
        "workgroup_name",
        "namespace_name",
    )
    ui_color = "#ededed"

    def __init__(
        self,
        *,
        iam_role_arn: str,
        cluster_identifier: str | None = None,
        workgroup_name: str | None = None,
        namespace_name: str | None = None,
        set_as_default: bool = False,
        wait_for_completion: bool = True,
        waiter_delay: float = 15.0,
        waiter_max_attempts: int = 60,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.iam_role_arn = iam_role_arn
        self.cluster_identifier = cluster_identifier
        self.workgroup_name = workgroup_name
        self.namespace_name = namespace_name
        self.set_as_default = set_as_default
        self.wait_for_completion = wait_for_completion
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.deferrable = deferrable

    @cached_property
    def redshift_hook(self) -> RedshiftIamRoleHook:
        """Return the hook of the cluster or namespace."""
        return self._new_redshift_hook()

    @cached_property
    def iam_hook(self) -> IamRoleHook:
        """Return the IAM hook that reads the role and simulates the caller's PassRole."""
        return self._new_iam_hook()

    def execute(self, context: Context) -> str:
        """Check the role, attach it if needed, wait until in-sync; return its ARN."""
        from airflow_redshift_s3.checks import (
            check_pass_role,
            check_role_trust,
            log_results,
            raise_for_failures,
        )
        from airflow_redshift_s3.hooks.redshift_iam import IN_SYNC, REMOVING

        arn = self.iam_role_arn
        roles = self.redshift_hook.get_roles()
        target = roles.target
        status = roles.status(arn)
        needs_attach = status in (None, REMOVING)
        needs_default = self.set_as_default and roles.default_role_arn != arn
        checks = [check_role_trust(self.iam_hook, arn, serverless=target.serverless)]
        if needs_attach:
            checks.append(check_pass_role(self.iam_hook, arn, serverless=target.serverless))
        log_results(checks, self.log)
        raise_for_failures(checks)

        if needs_attach or needs_default:
            self.log.info(
                "%s IAM role %s on %s (was %s)",
                "Attaching" if needs_attach else "Making default",
                arn,
                target,
                status or "not attached",
            )
            roles = self.redshift_hook.attach_role(arn, set_as_default=self.set_as_default)
        else:
            self.log.info("IAM role %s is already %s on %s: nothing to change", arn, status, target)

        if not self.wait_for_completion or roles.status(arn) == IN_SYNC:
            return arn
        timeout = self.waiter_delay * self.waiter_max_attempts
        if self.deferrable:
            from airflow_redshift_s3.triggers.redshift_iam import RedshiftIamRoleTrigger

            self.defer(
                trigger=RedshiftIamRoleTrigger(
                    iam_role_arn=arn,
                    cluster_identifier=self.cluster_identifier,
                    workgroup_name=self.workgroup_name,
                    namespace_name=self.namespace_name,
                    poll_interval=self.waiter_delay,
                    deadline=time.time() + timeout,
                    fail_if_absent=True,
                    aws_conn_id=self.aws_conn_id,
                    region_name=self.region_name,
                    verify=self.verify,
                    botocore_config=self.botocore_config,
                ),
                method_name="execute_complete",
                # the trigger sends its own timeout event; this is the backstop if the triggerer is gone
                timeout=timedelta(seconds=timeout + max(60.0, self.waiter_delay * 2)),
            )
        self.redshift_hook.wait_for_role(arn, poll_interval=self.waiter_delay, timeout=timeout)
        return arn

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Return the role ARN when the trigger saw it in-sync; raise otherwise."""
        from airflow_redshift_s3.triggers.redshift_iam import validate_role_event

        return validate_role_event(event, self.iam_role_arn)
