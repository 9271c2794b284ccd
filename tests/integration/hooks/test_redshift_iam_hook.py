"""RedshiftIamRoleHook against the local stack: clusters and Serverless namespaces, sync and async."""

from __future__ import annotations

import time

import pytest

from airflow_redshift_s3.exceptions import (
    ConfigCheckError,
    PermissionCheckError,
    ResourceNotFoundError,
    RoleApplyTimeoutError,
)
from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook, RedshiftTarget

pytestmark = pytest.mark.integration

EC2_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def test_cluster_role_absent_then_adding_then_in_sync(aws, cluster, role_arn, api_calls):
    hook = RedshiftIamRoleHook(cluster_identifier=cluster)
    assert hook.target == RedshiftTarget("cluster", cluster)
    assert hook.get_roles().status(role_arn) is None
    roles = hook.attach_role(role_arn)
    assert roles.status(role_arn) == "adding"
    api_calls.watch(hook.conn)
    roles = hook.wait_for_role(role_arn, poll_interval=0.1, timeout=10)
    assert roles.status(role_arn) == "in-sync"
    assert api_calls["DescribeClusters"] >= 2  # it polled while the role was adding
    assert roles.default_role_arn is None


def test_attach_keeps_other_roles_and_is_idempotent(aws, cluster, make_role, api_calls, apply_delay):
    apply_delay(0)
    first, second = make_role(), make_role()
    hook = RedshiftIamRoleHook(cluster_identifier=cluster)
    hook.attach_role(first)
    api_calls.watch(hook.conn)
    roles = hook.attach_role(second, set_as_default=True)
    assert {r.arn: r.apply_status for r in roles.roles} == {first: "in-sync", second: "in-sync"}
    assert roles.default_role_arn == second
    roles = hook.attach_role(second, set_as_default=True)  # nothing to do: no second Modify call
    assert api_calls["ModifyClusterIamRoles"] == 1
    assert hook.set_default_role(first).default_role_arn == first
    roles = hook.detach_role(first)
    assert [r.arn for r in roles.roles] == [second]
    assert roles.default_role_arn is None
    assert hook.detach_role(first).status(first) is None  # detaching again is a no-op


def test_region_of_a_cluster_and_a_namespace(aws, cluster, workgroup):
    assert RedshiftIamRoleHook(cluster_identifier=cluster).get_region() == "us-east-1"
    assert RedshiftIamRoleHook(workgroup_name=workgroup[0]).get_region() == "us-east-1"
    assert RedshiftIamRoleHook(cluster_identifier="local-cluster").get_region() == "us-east-1"


def test_unknown_cluster_and_workgroup_say_what_to_fix(aws):
    with pytest.raises(ResourceNotFoundError) as error:
        RedshiftIamRoleHook(cluster_identifier="no-such-cluster").get_roles()
    message = str(error.value)
    assert "Redshift cluster 'no-such-cluster' was not found in region us-east-1" in message
    assert "describe-clusters" in message
    with pytest.raises(ResourceNotFoundError, match="Serverless workgroup 'no-such-wg'"):
        RedshiftIamRoleHook(workgroup_name="no-such-wg").get_roles()
    with pytest.raises(ResourceNotFoundError, match="Serverless namespace 'no-such-ns'"):
        RedshiftIamRoleHook(namespace_name="no-such-ns").get_roles()


def test_exactly_one_target_is_required():
    with pytest.raises(ConfigCheckError, match="exactly one of cluster_identifier"):
        RedshiftIamRoleHook(cluster_identifier="a", workgroup_name="b")
    with pytest.raises(ConfigCheckError, match="found none"):
        RedshiftIamRoleHook()


def test_redshift_refuses_a_role_it_may_not_assume(aws, cluster, make_role):
    role = make_role(trust=EC2_ONLY)
    with pytest.raises(PermissionCheckError) as error:
        RedshiftIamRoleHook(cluster_identifier=cluster).attach_role(role)
    assert role in str(error.value)
    assert "trust policy allows redshift.amazonaws.com" in str(error.value)


def test_wait_times_out_with_the_status_it_found(aws, cluster, role_arn, apply_delay):
    apply_delay(30)
    hook = RedshiftIamRoleHook(cluster_identifier=cluster)
    hook.attach_role(role_arn)
    with pytest.raises(RoleApplyTimeoutError) as error:
        hook.wait_for_role(role_arn, poll_interval=0.1, timeout=0.3)
    assert "apply status 'adding'" in str(error.value)
    assert cluster in str(error.value)


def test_wait_fails_at_once_when_the_role_is_not_attached(aws, cluster, role_arn):
    hook = RedshiftIamRoleHook(cluster_identifier=cluster)
    started = time.monotonic()
    with pytest.raises(ConfigCheckError, match="not attached"):
        hook.wait_for_role(role_arn, poll_interval=0.1, timeout=10)
    assert time.monotonic() - started < 5


# ----------------------------------------------------------------------------------------- Serverless


def test_namespace_roles_are_parsed_and_updates_send_the_full_list(aws, workgroup, make_role, api_calls):
    workgroup_name, namespace = workgroup
    first, second = make_role(), make_role()
    hook = RedshiftIamRoleHook(workgroup_name=workgroup_name)
    assert hook.target == RedshiftTarget("namespace", namespace, workgroup_name)
    hook.attach_role(first, set_as_default=True)
    hook.wait_for_role(first, poll_interval=0.1, timeout=10)
    sent = []
    hook.conn.meta.events.register(
        "provide-client-params.redshift-serverless.UpdateNamespace", lambda params, **_: sent.append(params)
    )
    roles = hook.attach_role(second)
    # UpdateNamespace replaces the list: the first role and the default were sent along
    assert sent[-1]["iamRoles"] == [first, second]
    assert sent[-1]["defaultIamRoleArn"] == first
    assert {r.arn: r.apply_status for r in roles.roles} == {first: "in-sync", second: "adding"}
    roles = hook.wait_for_role(second, poll_interval=0.1, timeout=10)
    assert roles.default_role_arn == first
    raw = aws.aws_client("redshift-serverless").get_namespace(namespaceName=namespace)["namespace"][
        "iamRoles"
    ]
    assert sorted(raw) == sorted(f"IamRole(applyStatus=in-sync, iamRoleArn={arn})" for arn in (first, second))


def test_namespace_update_while_busy_is_retried_from_fresh_state(aws, workgroup, make_role):
    _, namespace = workgroup
    first, second = make_role(), make_role()
    hook = RedshiftIamRoleHook(namespace_name=namespace)
    hook.attach_role(first)  # the namespace is MODIFYING for the apply delay
    roles = hook.attach_role(second)  # ConflictException, retried until the namespace is available
    assert set(roles.associated) == {first, second}
    hook.wait_for_role(second, poll_interval=0.1, timeout=10)


def test_namespace_detach_and_default(aws, workgroup, make_role, apply_delay):
    apply_delay(0)
    _, namespace = workgroup
    first, second = make_role(), make_role()
    hook = RedshiftIamRoleHook(namespace_name=namespace)
    hook.attach_role(first)
    hook.attach_role(second)
    assert hook.set_default_role(second).default_role_arn == second
    roles = hook.detach_role(second)
    assert roles.associated == [first]
    assert roles.default_role_arn is None
    with pytest.raises(ConfigCheckError, match=r"attach .* first"):
        hook.set_default_role(second)


def test_serverless_refuses_a_role_without_a_redshift_trust(aws, workgroup, make_role):
    role = make_role(trust=EC2_ONLY)
    with pytest.raises(PermissionCheckError, match=r"redshift-serverless\.amazonaws\.com"):
        RedshiftIamRoleHook(workgroup_name=workgroup[0]).attach_role(role)


# ---------------------------------------------------------------------------------------------- async


async def test_async_roles_of_a_cluster_and_a_workgroup(aws, cluster, workgroup, role_arn, apply_delay):
    apply_delay(0)
    RedshiftIamRoleHook(cluster_identifier=cluster).attach_role(role_arn)
    RedshiftIamRoleHook(workgroup_name=workgroup[0]).attach_role(role_arn, set_as_default=True)
    for kwargs in ({"cluster_identifier": cluster}, {"workgroup_name": workgroup[0]}):
        hook = RedshiftIamRoleHook(**kwargs)
        async with await hook.get_async_conn() as client:
            roles = await hook.get_roles_async(client)
        assert roles.status(role_arn) == "in-sync"
    assert roles.target == RedshiftTarget("namespace", workgroup[1], workgroup[0])
    assert roles.default_role_arn == role_arn


async def test_async_unknown_cluster_is_a_resource_error(aws):
    hook = RedshiftIamRoleHook(cluster_identifier="no-such-cluster")
    async with await hook.get_async_conn() as client:
        with pytest.raises(ResourceNotFoundError, match="no-such-cluster"):
            await hook.get_roles_async(client)
