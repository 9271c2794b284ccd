"""RedshiftIamRoleTrigger.run() for real (async Redshift calls against the local stack)."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook
from airflow_redshift_s3.triggers.redshift_iam import RedshiftIamRoleTrigger

pytestmark = pytest.mark.integration


async def first_event(trigger: RedshiftIamRoleTrigger, timeout: float = 20.0) -> dict:
    runner = trigger.run()
    try:
        event = await asyncio.wait_for(runner.__anext__(), timeout)
    finally:
        await runner.aclose()
    return event.payload


async def test_success_when_the_role_becomes_in_sync(aws, cluster, role_arn):
    trigger = RedshiftIamRoleTrigger(iam_role_arn=role_arn, cluster_identifier=cluster, poll_interval=0.1)
    task = asyncio.ensure_future(first_event(trigger))
    await asyncio.sleep(0.3)
    assert not task.done()
    await asyncio.to_thread(RedshiftIamRoleHook(cluster_identifier=cluster).attach_role, role_arn)
    event = await task
    assert event == {
        "status": "success",
        "message": f"IAM role {role_arn} is in-sync on Redshift cluster '{cluster}'.",
        "iam_role_arn": role_arn,
        "apply_status": "in-sync",
        "retryable": False,
    }


async def test_success_on_a_serverless_workgroup(aws, workgroup, role_arn):
    await asyncio.to_thread(RedshiftIamRoleHook(workgroup_name=workgroup[0]).attach_role, role_arn)
    trigger = RedshiftIamRoleTrigger(iam_role_arn=role_arn, workgroup_name=workgroup[0], poll_interval=0.1)
    event = await first_event(trigger)
    assert event["status"] == "success"
    assert f"Redshift Serverless namespace '{workgroup[1]}' (workgroup '{workgroup[0]}')" in event["message"]


async def test_timeout_event_names_the_status_found(aws, cluster, role_arn, apply_delay):
    apply_delay(30)
    await asyncio.to_thread(RedshiftIamRoleHook(cluster_identifier=cluster).attach_role, role_arn)
    trigger = RedshiftIamRoleTrigger(
        iam_role_arn=role_arn, cluster_identifier=cluster, poll_interval=0.1, deadline=time.time() + 0.4
    )
    event = await first_event(trigger)
    assert event["status"] == "timeout"
    assert event["apply_status"] == "adding"
    assert "apply status 'adding'" in event["message"]
    assert "Fix:" in event["message"]


async def test_error_when_the_role_is_absent_and_must_not_be(aws, cluster, role_arn):
    trigger = RedshiftIamRoleTrigger(
        iam_role_arn=role_arn, cluster_identifier=cluster, poll_interval=0.1, fail_if_absent=True
    )
    event = await first_event(trigger)
    assert event["status"] == "error"
    assert event["retryable"] is False
    assert "not attached" in event["message"]


async def test_error_for_an_unknown_cluster(aws, role_arn):
    trigger = RedshiftIamRoleTrigger(iam_role_arn=role_arn, cluster_identifier="no-such-cluster")
    event = await first_event(trigger)
    assert event["status"] == "error"
    assert event["retryable"] is False
    assert "Redshift cluster 'no-such-cluster' was not found" in event["message"]


async def test_error_for_a_bad_target(aws, role_arn):
    event = await first_event(RedshiftIamRoleTrigger(iam_role_arn=role_arn))
    assert event["status"] == "error"
    assert "exactly one of" in event["message"]
