"""Wait, in the triggerer, until an IAM role is in-sync on a Redshift cluster or Serverless namespace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_redshift_s3.exceptions import (
    ConfigCheckError,
    RedshiftS3Error,
    RedshiftS3FailError,
    RoleApplyTimeoutError,
)
from airflow_redshift_s3.hooks._aws_mixin import AwsHookFactoryMixin


class RedshiftIamRoleTrigger(AwsHookFactoryMixin, BaseTrigger):
    """Fire when ``iam_role_arn`` is attached and in-sync (async Redshift calls only).

    The event is ``{"status": "success" | "timeout" | "error", "message": str, "iam_role_arn": str,
    "apply_status": str | None, "retryable": bool}``; ``retryable`` is False for errors no retry can fix
    (a missing cluster, a detached role).

    :param iam_role_arn: the role to wait for.
    :param cluster_identifier: a provisioned cluster (or give workgroup_name or namespace_name).
    :param workgroup_name: a Serverless workgroup.
    :param namespace_name: a Serverless namespace.
    :param poll_interval: seconds between two checks.
    :param deadline: UNIX time after which a "timeout" event is sent (kept across triggerer restarts).
    :param fail_if_absent: send an "error" event as soon as the role is not attached at all (after an
        attach, that means someone detached it) instead of waiting for it to be attached.
    :param aws_conn_id: the Airflow AWS connection.
    :param region_name: AWS region, else the connection's.
    :param verify: SSL verification for the AWS client.
    :param botocore_config: botocore client configuration.
    """

    def __init__(
        self,
        *,
        iam_role_arn: str,
        cluster_identifier: str | None = None,
        workgroup_name: str | None = None,
        namespace_name: str | None = None,
        poll_interval: float = 15.0,
        deadline: float | None = None,
        fail_if_absent: bool = False,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow leaves it unannotated
        self.iam_role_arn = iam_role_arn
        self.cluster_identifier = cluster_identifier
        self.workgroup_name = workgroup_name
        self.namespace_name = namespace_name
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.fail_if_absent = fail_if_absent
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and exactly the ``__init__`` arguments."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "iam_role_arn": self.iam_role_arn,
                "cluster_identifier": self.cluster_identifier,
                "workgroup_name": self.workgroup_name,
                "namespace_name": self.namespace_name,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "fail_if_absent": self.fail_if_absent,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
            },
        )

    def _event(
        self, status: str, message: str, apply_status: str | None, retryable: bool = False
    ) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "message": message,
                "iam_role_arn": self.iam_role_arn,
                "apply_status": apply_status,
                "retryable": retryable,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the role's apply status until in-sync, the deadline, or an error; yield one event."""
        from airflow_redshift_s3.hooks.redshift_iam import IN_SYNC, role_timeout

        status: str | None = None
        try:
            hook = self._new_redshift_hook()
            async with await hook.get_async_conn() as client:  # type: ignore[no-untyped-call]  # Airflow leaves it unannotated
                while True:
                    roles = await hook.get_roles_async(client)
                    status = roles.status(self.iam_role_arn)
                    if status == IN_SYNC:
                        yield self._event(
                            "success", f"IAM role {self.iam_role_arn} is in-sync on {roles.target}.", status
                        )
                        return
                    if status is None and self.fail_if_absent:
                        message = (
                            f"Expected IAM role {self.iam_role_arn} to become in-sync on {roles.target}, "
                            f"found {roles.describe(self.iam_role_arn)}. Fix: attach the role again and find "
                            "what detached it."
                        )
                        yield self._event("error", message, status)
                        return
                    now = time.time()
                    if self.deadline is not None and now >= self.deadline:
                        yield self._event(
                            "timeout", role_timeout(roles, self.iam_role_arn, None).args[0], status
                        )
                        return
                    self.log.info(
                        "IAM role %s on %s is %s; checking again in %s s",
                        self.iam_role_arn,
                        roles.target,
                        status or "not attached",
                        self.poll_interval,
                    )
                    delay = self.poll_interval
                    if self.deadline is not None:
                        delay = max(0.0, min(delay, self.deadline - now))
                    await asyncio.sleep(delay)
        except Exception as error:
            yield self._event(
                "error",
                f"Error while waiting for IAM role {self.iam_role_arn}: {type(error).__name__}: {error}",
                status,
                retryable=not isinstance(error, RedshiftS3FailError),
            )


def validate_role_event(event: dict[str, Any] | None, iam_role_arn: str) -> str:
    """Return the role ARN of a success event from RedshiftIamRoleTrigger; raise for any other event."""
    if not event:
        raise RedshiftS3Error(f"Waiting for IAM role {iam_role_arn} ended without an event from the trigger.")
    status = event.get("status")
    message = event.get("message") or f"no message (event: {event})"
    if status == "success":
        return str(event.get("iam_role_arn") or iam_role_arn)
    if status == "timeout":
        raise RoleApplyTimeoutError(message)
    if status == "error" and not event.get("retryable", True):
        raise ConfigCheckError(message)
    raise RedshiftS3Error(message)
