"""RedshiftEnsureIamRoleOperator against the local stack."""

from __future__ import annotations

import asyncio

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_redshift_s3.exceptions import (
    ConfigCheckError,
    PermissionCheckError,
    RedshiftS3Error,
    RoleApplyTimeoutError,
)
from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook
from airflow_redshift_s3.operators.redshift_iam import RedshiftEnsureIamRoleOperator
from airflow_redshift_s3.triggers.redshift_iam import RedshiftIamRoleTrigger

pytestmark = pytest.mark.integration

EC2_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
REDSHIFT_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def ensure(**kwargs) -> RedshiftEnsureIamRoleOperator:
    kwargs.setdefault("waiter_delay", 0.1)
    kwargs.setdefault("waiter_max_attempts", 100)
    return RedshiftEnsureIamRoleOperator(task_id="ensure_role", **kwargs)


def statuses(**target) -> dict[str, str]:
    roles = RedshiftIamRoleHook(**target).get_roles()
    return {role.arn: role.apply_status for role in roles.roles}


def test_attaches_an_absent_role_and_waits_until_in_sync(aws, cluster, role_arn):
    assert statuses(cluster_identifier=cluster) == {}
    op = ensure(cluster_identifier=cluster, iam_role_arn=role_arn)
    assert op.execute({}) == role_arn
    assert statuses(cluster_identifier=cluster) == {role_arn: "in-sync"}


def test_an_attached_in_sync_role_changes_nothing(aws, cluster, role_arn, api_calls):
    ensure(cluster_identifier=cluster, iam_role_arn=role_arn).execute({})
    op = ensure(cluster_identifier=cluster, iam_role_arn=role_arn)
    api_calls.watch(op.redshift_hook.conn)
    api_calls.watch(op.iam_hook.conn)
    assert op.execute({}) == role_arn
    assert api_calls["ModifyClusterIamRoles"] == 0
    assert api_calls["DescribeClusters"] == 1
    assert api_calls["SimulatePrincipalPolicy"] == 0  # PassRole only matters when attaching


def test_keeps_other_roles_and_sets_the_default(aws, cluster, role_arn, make_role):
    other = make_role()
    ensure(cluster_identifier=cluster, iam_role_arn=other).execute({})
    ensure(cluster_identifier=cluster, iam_role_arn=role_arn, set_as_default=True).execute({})
    roles = RedshiftIamRoleHook(cluster_identifier=cluster).get_roles()
    assert {r.arn: r.apply_status for r in roles.roles} == {other: "in-sync", role_arn: "in-sync"}
    assert roles.default_role_arn == role_arn
    # an attached role that is not the default yet only becomes the default
    ensure(cluster_identifier=cluster, iam_role_arn=other, set_as_default=True).execute({})
    assert RedshiftIamRoleHook(cluster_identifier=cluster).get_roles().default_role_arn == other


def test_serverless_workgroup_keeps_the_namespace_roles(aws, workgroup, role_arn, make_role):
    workgroup_name, namespace = workgroup
    other = make_role()
    ensure(namespace_name=namespace, iam_role_arn=other).execute({})
    assert ensure(workgroup_name=workgroup_name, iam_role_arn=role_arn).execute({}) == role_arn
    assert statuses(namespace_name=namespace) == {other: "in-sync", role_arn: "in-sync"}


def test_a_role_being_removed_is_attached_again(aws, cluster, role_arn, apply_delay):
    hook = RedshiftIamRoleHook(cluster_identifier=cluster)
    apply_delay(0)
    hook.attach_role(role_arn)
    apply_delay(30)
    assert hook.detach_role(role_arn).status(role_arn) == "removing"
    apply_delay(0)
    assert ensure(cluster_identifier=cluster, iam_role_arn=role_arn).execute({}) == role_arn
    assert statuses(cluster_identifier=cluster) == {role_arn: "in-sync"}


def test_no_wait_returns_while_the_role_is_adding(aws, cluster, role_arn, apply_delay):
    apply_delay(30)
    op = ensure(cluster_identifier=cluster, iam_role_arn=role_arn, wait_for_completion=False)
    assert op.execute({}) == role_arn
    assert statuses(cluster_identifier=cluster) == {role_arn: "adding"}


def test_a_role_that_does_not_exist_fails_without_retry(aws, cluster, api_calls):
    missing = "arn:aws:iam::123456789012:role/no-such-copy-role"
    op = ensure(cluster_identifier=cluster, iam_role_arn=missing)
    api_calls.watch(op.redshift_hook.conn)
    with pytest.raises(PermissionCheckError) as error:
        op.execute({})
    assert isinstance(error.value, AirflowFailException)
    assert f"IAM role {missing} does not exist" in str(error.value)
    assert "Fix:" in str(error.value)
    assert api_calls["ModifyClusterIamRoles"] == 0


@pytest.mark.parametrize(
    ("serverless", "trust", "missing"),
    [
        (False, EC2_ONLY, "redshift.amazonaws.com"),
        (True, EC2_ONLY, "redshift.amazonaws.com and redshift-serverless.amazonaws.com"),
        (True, REDSHIFT_ONLY, "redshift-serverless.amazonaws.com"),
    ],
)
def test_a_trust_policy_without_redshift_fails(
    aws, cluster, workgroup, make_role, serverless, trust, missing
):
    role = make_role(trust=trust)
    target = {"workgroup_name": workgroup[0]} if serverless else {"cluster_identifier": cluster}
    with pytest.raises(PermissionCheckError) as error:
        ensure(iam_role_arn=role, **target).execute({})
    message = str(error.value)
    assert f"The trust policy of IAM role {role} does not let {missing} assume it" in message
    assert "sts:AssumeRole" in message
    assert "Fix: add this statement to the role's trust policy" in message
    assert statuses(**target) == {}


def _user_policy(pass_role: dict | None) -> dict:
    statements = [
        {
            "Effect": "Allow",
            "Action": ["redshift:*", "iam:GetRole", "iam:SimulatePrincipalPolicy"],
            "Resource": "*",
        }
    ]
    if pass_role:
        statements.append(pass_role)
    return {"Version": "2012-10-17", "Statement": statements}


def test_a_caller_without_pass_role_fails(aws, cluster, role_arn, connection_as_user):
    user = connection_as_user(_user_policy(None))
    op = ensure(cluster_identifier=cluster, iam_role_arn=role_arn, aws_conn_id="aws_limited")
    with pytest.raises(PermissionCheckError) as error:
        op.execute({})
    message = str(error.value)
    assert f"{user} (connection 'aws_limited') may not iam:PassRole {role_arn}" in message
    assert '"Action":"iam:PassRole"' in message
    assert statuses(cluster_identifier=cluster) == {}


def test_a_caller_with_pass_role_to_redshift_succeeds(aws, cluster, role_arn, connection_as_user):
    connection_as_user(
        _user_policy(
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "redshift.amazonaws.com"}},
            }
        )
    )
    op = ensure(cluster_identifier=cluster, iam_role_arn=role_arn, aws_conn_id="aws_limited")
    assert op.execute({}) == role_arn


def test_an_unknown_cluster_fails_with_what_to_fix(aws, role_arn):
    with pytest.raises(ConfigCheckError, match="Redshift cluster 'no-such-cluster' was not found"):
        ensure(cluster_identifier="no-such-cluster", iam_role_arn=role_arn).execute({})


async def test_deferrable_defers_to_the_role_trigger_and_completes(aws, cluster, role_arn):
    op = ensure(cluster_identifier=cluster, iam_role_arn=role_arn, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        await asyncio.to_thread(op.execute, {})
    trigger = deferred.value.trigger
    assert isinstance(trigger, RedshiftIamRoleTrigger)
    assert (trigger.iam_role_arn, trigger.cluster_identifier, trigger.fail_if_absent) == (
        role_arn,
        cluster,
        True,
    )
    assert trigger.poll_interval == 0.1
    assert deferred.value.method_name == "execute_complete"
    event = await asyncio.wait_for(trigger.run().__anext__(), timeout=20)
    assert event.payload["status"] == "success"
    assert op.execute_complete({}, event.payload) == role_arn


def test_execute_complete_turns_events_into_the_right_errors(role_arn):
    op = ensure(cluster_identifier="c", iam_role_arn=role_arn, deferrable=True)
    base = {"iam_role_arn": role_arn, "apply_status": "adding", "retryable": False}
    with pytest.raises(RoleApplyTimeoutError, match="late"):
        op.execute_complete({}, {**base, "status": "timeout", "message": "late"})
    with pytest.raises(ConfigCheckError, match="gone"):
        op.execute_complete({}, {**base, "status": "error", "message": "gone", "apply_status": None})
    with pytest.raises(RedshiftS3Error, match="flaky") as error:
        op.execute_complete({}, {**base, "status": "error", "message": "flaky", "retryable": True})
    assert not isinstance(error.value, AirflowFailException)
    with pytest.raises(RedshiftS3Error, match="without an event"):
        op.execute_complete({}, None)
