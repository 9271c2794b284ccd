"""RedshiftIamRoleSensor against the local stack, in poke and deferrable modes."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from airflow.sdk.exceptions import AirflowSensorTimeout, TaskDeferred

from airflow_redshift_s3.exceptions import ConfigCheckError, ResourceNotFoundError
from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook
from airflow_redshift_s3.sensors.redshift_iam import RedshiftIamRoleSensor
from airflow_redshift_s3.triggers.redshift_iam import RedshiftIamRoleTrigger

pytestmark = pytest.mark.integration


def sensor(**kwargs) -> RedshiftIamRoleSensor:
    kwargs.setdefault("poke_interval", 0.1)
    kwargs.setdefault("timeout", 20)
    return RedshiftIamRoleSensor(task_id="wait_for_role", **kwargs)


def attach_later(delay: float, role: str, **target) -> threading.Timer:
    timer = threading.Timer(delay, lambda: RedshiftIamRoleHook(**target).attach_role(role))
    timer.start()
    return timer


def test_poke_mode_sees_absent_then_adding_then_in_sync(aws, cluster, role_arn, apply_delay):
    apply_delay(0.5)
    op = sensor(cluster_identifier=cluster, iam_role_arn=role_arn)
    seen: list[str | None] = []

    def record(parsed, **_):
        roles = {r["IamRoleArn"]: r["ApplyStatus"] for r in parsed["Clusters"][0].get("IamRoles", [])}
        if not seen or seen[-1] != roles.get(role_arn):
            seen.append(roles.get(role_arn))

    op.hook.conn.meta.events.register("after-call.redshift.DescribeClusters", record)
    timer = attach_later(0.4, role_arn, cluster_identifier=cluster)
    assert op.execute({}) == role_arn
    timer.join()
    assert seen == [None, "adding", "in-sync"]


def test_poke_mode_on_a_serverless_namespace(aws, workgroup, role_arn):
    workgroup_name, namespace = workgroup
    op = sensor(namespace_name=namespace, iam_role_arn=role_arn)
    assert not op.poke({})
    timer = attach_later(0.3, role_arn, workgroup_name=workgroup_name)
    assert op.execute({}) == role_arn
    timer.join()


def test_poke_mode_times_out(aws, cluster, role_arn):
    op = sensor(cluster_identifier=cluster, iam_role_arn=role_arn, timeout=0.5)
    with pytest.raises(AirflowSensorTimeout):
        op.execute({})


def test_a_missing_cluster_fails_at_once(aws, role_arn):
    started = time.monotonic()
    with pytest.raises(ResourceNotFoundError, match="no-such-cluster"):
        sensor(cluster_identifier="no-such-cluster", iam_role_arn=role_arn).execute({})
    assert time.monotonic() - started < 5


async def test_deferrable_mode_sees_absent_then_in_sync(aws, cluster, role_arn, apply_delay):
    apply_delay(1.0)
    op = sensor(cluster_identifier=cluster, iam_role_arn=role_arn, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        await asyncio.to_thread(op.execute, {})  # the role is absent: the sensor defers
    trigger = deferred.value.trigger
    assert isinstance(trigger, RedshiftIamRoleTrigger)
    assert trigger.serialize()[1] | {"deadline": None} == {
        "iam_role_arn": role_arn,
        "cluster_identifier": cluster,
        "workgroup_name": None,
        "namespace_name": None,
        "poll_interval": 0.1,
        "deadline": None,
        "fail_if_absent": False,
        "aws_conn_id": "aws_default",
        "region_name": None,
        "verify": None,
        "botocore_config": None,
    }
    assert time.time() + 15 < trigger.deadline <= time.time() + 20
    task = asyncio.ensure_future(trigger.run().__anext__())
    await asyncio.sleep(0.5)
    assert not task.done()  # absent: still waiting
    await asyncio.to_thread(RedshiftIamRoleHook(cluster_identifier=cluster).attach_role, role_arn)
    await asyncio.sleep(0.2)
    assert not task.done()  # adding: still waiting
    event = await asyncio.wait_for(task, timeout=10)
    assert event.payload["status"] == "success"
    assert event.payload["apply_status"] == "in-sync"
    assert op.execute_complete({}, event.payload) == role_arn


async def test_deferrable_mode_returns_at_once_when_already_in_sync(aws, cluster, role_arn, apply_delay):
    apply_delay(0)
    RedshiftIamRoleHook(cluster_identifier=cluster).attach_role(role_arn)
    op = sensor(cluster_identifier=cluster, iam_role_arn=role_arn, deferrable=True)
    assert await asyncio.to_thread(op.execute, {}) == role_arn


def test_execute_complete_maps_events(role_arn):
    op = sensor(cluster_identifier="c", iam_role_arn=role_arn, deferrable=True)
    event = {"iam_role_arn": role_arn, "apply_status": None, "retryable": False}
    with pytest.raises(AirflowSensorTimeout, match="too late"):
        op.execute_complete({}, {**event, "status": "timeout", "message": "too late"})
    with pytest.raises(ConfigCheckError, match="not found"):
        op.execute_complete({}, {**event, "status": "error", "message": "cluster not found"})
    assert op.execute_complete({}, {**event, "status": "success", "message": "ok"}) == role_arn
