"""The AWS half of the local Redshift, over real HTTP: moto's server plus our extensions, driven by boto3."""

from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from airflow_redshift_s3.local.aws import (
    LocalAws,
    find_temporary_credentials,
    set_cluster_endpoint,
    set_workgroup_endpoint,
    verify_temporary_credentials,
)

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
DELAY = 0.5
REDSHIFT_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture(scope="module")
def local_aws():
    with LocalAws(role_apply_delay=DELAY) as aws:
        yield aws


@pytest.fixture
def apply_delay(local_aws):
    """Let a test change the role apply delay; put the module's delay back afterwards."""

    def set_delay(seconds: float) -> None:
        local_aws.role_apply_delay = seconds

    yield set_delay
    local_aws.role_apply_delay = DELAY


@pytest.fixture(scope="module")
def iam(local_aws):
    return local_aws.client("iam")


@pytest.fixture(scope="module")
def redshift(local_aws):
    return local_aws.client("redshift")


@pytest.fixture(scope="module")
def serverless(local_aws):
    # A plain boto3 client, exactly as the provider builds one.
    return boto3.client(
        "redshift-serverless",
        endpoint_url=local_aws.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_role(iam, trust: dict | None = None, name: str | None = None) -> str:
    name = name or unique("role")
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or REDSHIFT_TRUST))[
        "Role"
    ]["Arn"]


def make_cluster(redshift, identifier: str | None = None, **kwargs) -> str:
    identifier = identifier or unique("cluster")
    redshift.create_cluster(
        ClusterIdentifier=identifier,
        NodeType="ra3.xlplus",
        MasterUsername="admin",
        MasterUserPassword="Passw0rd1",
        **kwargs,
    )
    return identifier


def cluster_roles(redshift, identifier: str) -> dict[str, str]:
    cluster = redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]
    return {role["IamRoleArn"]: role["ApplyStatus"] for role in cluster["IamRoles"]}


def role_string(arn: str, status: str = "in-sync") -> str:
    return f"IamRole(applyStatus={status}, iamRoleArn={arn})"


# ------------------------------------------------------------------------------------------------ server


def test_endpoint_url_reports_the_bound_port(local_aws):
    host, port = local_aws.endpoint_url.removeprefix("http://").split(":")
    assert host == "127.0.0.1"
    assert int(port) == local_aws.port != 0
    identity = local_aws.client("sts").get_caller_identity()
    assert identity["Account"] == ACCOUNT


def test_a_second_server_gets_its_own_port_and_stops():
    aws = LocalAws(role_apply_delay=DELAY)
    url = aws.start()
    assert aws.start() == url  # starting twice is a no-op
    port = aws.port
    assert aws.client("sts").get_caller_identity()["Account"] == ACCOUNT
    aws.stop()
    with pytest.raises(RuntimeError):
        _ = aws.endpoint_url
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_a_taken_port_fails_instead_of_hanging():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="port in use"):
            LocalAws(port=taken.getsockname()[1]).start()


def test_negative_role_apply_delay_is_refused(local_aws):
    with pytest.raises(ValueError, match="role_apply_delay"):
        LocalAws(role_apply_delay=-1)
    with pytest.raises(ValueError, match="role_apply_delay"):
        local_aws.role_apply_delay = -0.1
    assert local_aws.role_apply_delay == DELAY


# ------------------------------------------------------------------------------------ cluster IAM roles


def test_roles_given_at_create_cluster_are_in_sync_with_their_default(iam, redshift):
    role = make_role(iam)
    identifier = make_cluster(redshift, IamRoles=[role], DefaultIamRoleArn=role)
    cluster = redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]
    assert cluster["IamRoles"] == [{"IamRoleArn": role, "ApplyStatus": "in-sync"}]
    assert cluster["DefaultIamRoleArn"] == role


def test_added_role_is_adding_then_in_sync_after_the_delay(iam, redshift):
    role = make_role(iam)
    identifier = make_cluster(redshift)
    response = redshift.modify_cluster_iam_roles(ClusterIdentifier=identifier, AddIamRoles=[role])
    assert set(response) == {"Cluster", "ResponseMetadata"}
    assert response["Cluster"]["ClusterIdentifier"] == identifier
    assert response["Cluster"]["IamRoles"] == [{"IamRoleArn": role, "ApplyStatus": "adding"}]
    assert cluster_roles(redshift, identifier) == {role: "adding"}
    time.sleep(DELAY + 0.2)
    assert cluster_roles(redshift, identifier) == {role: "in-sync"}


def test_with_zero_delay_an_added_role_is_in_sync_at_once(iam, redshift, apply_delay):
    apply_delay(0)
    role = make_role(iam)
    identifier = make_cluster(redshift)
    response = redshift.modify_cluster_iam_roles(ClusterIdentifier=identifier, AddIamRoles=[role])
    assert response["Cluster"]["IamRoles"] == [{"IamRoleArn": role, "ApplyStatus": "in-sync"}]


def test_removed_role_is_removing_then_gone(iam, redshift):
    keep, drop = make_role(iam), make_role(iam)
    identifier = make_cluster(redshift, IamRoles=[keep, drop])
    response = redshift.modify_cluster_iam_roles(ClusterIdentifier=identifier, RemoveIamRoles=[drop])
    assert {r["IamRoleArn"]: r["ApplyStatus"] for r in response["Cluster"]["IamRoles"]} == {
        keep: "in-sync",
        drop: "removing",
    }
    time.sleep(DELAY + 0.2)
    assert cluster_roles(redshift, identifier) == {keep: "in-sync"}


def test_default_role_is_set_with_the_roles_it_adds(iam, redshift):
    first, second = make_role(iam), make_role(iam)
    identifier = make_cluster(redshift, IamRoles=[first])
    response = redshift.modify_cluster_iam_roles(
        ClusterIdentifier=identifier, AddIamRoles=[second], DefaultIamRoleArn=second
    )
    assert response["Cluster"]["DefaultIamRoleArn"] == second
    # Alone, the default may name any role the cluster already has.
    redshift.modify_cluster_iam_roles(ClusterIdentifier=identifier, DefaultIamRoleArn=first)
    assert (
        redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]["DefaultIamRoleArn"] == first
    )


@pytest.mark.parametrize("with_add", [True, False])
def test_default_role_outside_the_role_list_is_refused(iam, redshift, with_add):
    attached, other = make_role(iam), make_role(iam)
    identifier = make_cluster(redshift, IamRoles=[attached])
    kwargs = {"AddIamRoles": [make_role(iam)]} if with_add else {}
    with pytest.raises(ClientError) as error:
        redshift.modify_cluster_iam_roles(ClusterIdentifier=identifier, DefaultIamRoleArn=other, **kwargs)
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "default IAM role" in error.value.response["Error"]["Message"]
    assert cluster_roles(redshift, identifier) == {attached: "in-sync"}


def test_adding_a_role_that_does_not_exist_fails_like_aws(iam, redshift):
    identifier = make_cluster(redshift)
    missing = f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}"
    with pytest.raises(ClientError) as error:
        redshift.modify_cluster_iam_roles(ClusterIdentifier=identifier, AddIamRoles=[missing])
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert missing in error.value.response["Error"]["Message"]
    assert cluster_roles(redshift, identifier) == {}


def test_adding_a_role_that_does_not_trust_redshift_fails(iam, redshift):
    trust = json.loads(json.dumps(REDSHIFT_TRUST))
    trust["Statement"][0]["Principal"] = {"Service": "ec2.amazonaws.com"}
    role = make_role(iam, trust)
    identifier = make_cluster(redshift)
    with pytest.raises(ClientError) as error:
        redshift.modify_cluster_iam_roles(ClusterIdentifier=identifier, AddIamRoles=[role])
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as error:
        make_cluster(redshift, IamRoles=[role])
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_modifying_the_roles_of_an_unknown_cluster_fails(redshift):
    with pytest.raises(redshift.exceptions.ClusterNotFoundFault):
        redshift.modify_cluster_iam_roles(ClusterIdentifier=unique("nope"), AddIamRoles=[])


def test_cluster_endpoint_points_at_the_local_gateway(redshift):
    identifier = make_cluster(redshift)
    before = redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]["Endpoint"]
    assert before["Address"].endswith(".redshift.amazonaws.com")
    set_cluster_endpoint(identifier, "127.0.0.1", 15439)
    after = redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]["Endpoint"]
    assert after == {"Address": "127.0.0.1", "Port": 15439}


# --------------------------------------------------------------------------------- policy simulation

BUCKET = "sim-bucket"
OBJECTS = f"arn:aws:s3:::{BUCKET}/prefix/*"


def decisions(
    iam, arn: str, actions: list[str], resources: list[str], **kwargs
) -> dict[tuple[str, str], str]:
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=actions, ResourceArns=resources, **kwargs
    )["EvaluationResults"]
    return {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}


def put_policy(iam, role_arn: str, *statements: dict) -> None:
    iam.put_role_policy(
        RoleName=role_arn.rsplit("/", 1)[-1],
        PolicyName=unique("inline"),
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )


def test_object_read_on_a_prefix_is_allowed_but_list_bucket_needs_the_bucket_arn(iam):
    role = make_role(iam)
    put_policy(iam, role, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": OBJECTS})
    result = decisions(
        iam,
        role,
        ["s3:GetObject", "s3:ListBucket"],
        [f"arn:aws:s3:::{BUCKET}/prefix/part-0.csv", f"arn:aws:s3:::{BUCKET}"],
    )
    assert result == {
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/prefix/part-0.csv"): "allowed",
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}"): "implicitDeny",
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}/prefix/part-0.csv"): "implicitDeny",
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"): "implicitDeny",
    }
    put_policy(
        iam, role, {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}
    )
    assert decisions(iam, role, ["s3:ListBucket"], [f"arn:aws:s3:::{BUCKET}"]) == {
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"): "allowed"
    }


def test_explicit_deny_wins_and_is_reported_with_its_statement(iam):
    role = make_role(iam)
    put_policy(
        iam,
        role,
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/secret/*"},
    )
    results = iam.simulate_principal_policy(
        PolicySourceArn=role,
        ActionNames=["s3:GetObject"],
        ResourceArns=[f"arn:aws:s3:::{BUCKET}/secret/a", f"arn:aws:s3:::{BUCKET}/prefix/a"],
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["explicitDeny", "allowed"]
    assert results[0]["MatchedStatements"][0]["SourcePolicyType"] == "role"


def test_wildcards_in_actions_and_resources(iam):
    role = make_role(iam)
    put_policy(
        iam,
        role,
        {"Effect": "Allow", "Action": "s3:get*", "Resource": f"arn:aws:s3:::{BUCKET}/pre?ix/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::dotted.bucket"},
    )
    objects = [
        f"arn:aws:s3:::{BUCKET}/prefix/a.csv",
        f"arn:aws:s3:::{BUCKET}/pre-ix/a",
        f"arn:aws:s3:::{BUCKET}/prefiix/a",
    ]
    result = decisions(iam, role, ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], objects)
    # "get*" matches actions case-insensitively; "?" is exactly one character
    assert [result[("s3:GetObject", arn)] for arn in objects] == ["allowed", "allowed", "implicitDeny"]
    assert [result[("s3:GetObjectVersion", arn)] for arn in objects] == ["allowed", "allowed", "implicitDeny"]
    assert [result[("s3:PutObject", arn)] for arn in objects] == ["implicitDeny"] * 3
    # "." in a resource is literal, not a regular-expression wildcard
    buckets = ["arn:aws:s3:::dotted.bucket", "arn:aws:s3:::dottedXbucket"]
    assert decisions(iam, role, ["s3:ListBucket"], buckets) == {
        ("s3:ListBucket", buckets[0]): "allowed",
        ("s3:ListBucket", buckets[1]): "implicitDeny",
    }


def test_not_action_and_not_resource(iam):
    role = make_role(iam)
    put_policy(
        iam,
        role,
        {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": f"arn:aws:s3:::{BUCKET}/*"},
    )
    result = decisions(
        iam, role, ["s3:GetObject", "s3:DeleteObject"], [f"arn:aws:s3:::{BUCKET}/a", "arn:aws:s3:::other/a"]
    )
    assert result == {
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/a"): "allowed",
        ("s3:GetObject", "arn:aws:s3:::other/a"): "explicitDeny",
        ("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/a"): "implicitDeny",
        ("s3:DeleteObject", "arn:aws:s3:::other/a"): "implicitDeny",
    }


def test_attached_managed_policies_count(iam):
    role = make_role(iam)
    policy = iam.create_policy(
        PolicyName=unique("managed"),
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )["Policy"]
    iam.attach_role_policy(RoleName=role.rsplit("/", 1)[-1], PolicyArn=policy["Arn"])
    results = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:GetObject"])[
        "EvaluationResults"
    ]
    assert results[0]["EvalDecision"] == "allowed"
    assert results[0]["EvalResourceName"] == "*"
    assert results[0]["MatchedStatements"] == [
        {"SourcePolicyId": policy["PolicyName"], "SourcePolicyType": "user-managed"}
    ]


def test_aws_managed_policies_exist_and_count(iam):
    role = make_role(iam)
    iam.attach_role_policy(
        RoleName=role.rsplit("/", 1)[-1], PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    )
    results = iam.simulate_principal_policy(
        PolicySourceArn=role, ActionNames=["s3:GetObject", "s3:PutObject"], ResourceArns=[OBJECTS]
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny"]
    assert results[0]["MatchedStatements"] == [
        {"SourcePolicyId": "AmazonS3ReadOnlyAccess", "SourcePolicyType": "aws-managed"}
    ]


def test_conditions_need_their_context_keys(iam):
    role = make_role(iam)
    put_policy(
        iam,
        role,
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
        },
    )
    missing = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:GetObject"])[
        "EvaluationResults"
    ][0]
    assert missing["EvalDecision"] == "implicitDeny"
    assert missing["MissingContextValues"] == ["aws:RequestedRegion"]

    def with_region(region: str) -> str:
        entry = {
            "ContextKeyName": "aws:RequestedRegion",
            "ContextKeyValues": [region],
            "ContextKeyType": "string",
        }
        return iam.simulate_principal_policy(
            PolicySourceArn=role, ActionNames=["s3:GetObject"], ContextEntries=[entry]
        )["EvaluationResults"][0]["EvalDecision"]

    assert with_region("eu-west-1") == "allowed"
    assert with_region("us-east-1") == "implicitDeny"


def test_user_policies_include_its_groups(iam):
    user, group = unique("user"), unique("group")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(
        GroupName=group,
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    arn = iam.get_user(UserName=user)["User"]["Arn"]
    assert decisions(iam, arn, ["s3:GetObject", "s3:PutObject"], ["*"]) == {
        ("s3:GetObject", "*"): "allowed",
        ("s3:PutObject", "*"): "implicitDeny",
    }


def test_simulation_paginates(iam):
    role = make_role(iam)
    put_policy(iam, role, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    paginator = iam.get_paginator("simulate_principal_policy")
    pages = list(
        paginator.paginate(
            PolicySourceArn=role,
            ActionNames=["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
            PaginationConfig={"PageSize": 2},
        )
    )
    assert [len(page["EvaluationResults"]) for page in pages] == [2, 1]
    assert [r["EvalActionName"] for page in pages for r in page["EvaluationResults"]] == [
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
    ]


def test_simulation_pages_hold_100_results_unless_max_items_says_otherwise(iam):
    role = make_role(iam)
    resources = [f"arn:aws:s3:::{BUCKET}/prefix/{n}" for n in range(150)]
    first = iam.simulate_principal_policy(
        PolicySourceArn=role, ActionNames=["s3:GetObject"], ResourceArns=resources
    )
    assert len(first["EvaluationResults"]) == 100
    assert first["IsTruncated"] is True
    rest = iam.simulate_principal_policy(
        PolicySourceArn=role, ActionNames=["s3:GetObject"], ResourceArns=resources, Marker=first["Marker"]
    )
    assert [r["EvalResourceName"] for r in rest["EvaluationResults"]] == resources[100:]
    assert rest["IsTruncated"] is False


def test_simulating_an_unknown_role_fails(iam):
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}", ActionNames=["s3:GetObject"]
        )


# --------------------------------------------------------------------------------- redshift serverless


def test_namespace_reports_roles_as_the_real_api_does(iam, serverless):
    role = make_role(iam)
    name = unique("ns")
    created = serverless.create_namespace(namespaceName=name, iamRoles=[role], defaultIamRoleArn=role)[
        "namespace"
    ]
    assert created["iamRoles"] == [f"IamRole(applyStatus=in-sync, iamRoleArn={role})"]
    namespace = serverless.get_namespace(namespaceName=name)["namespace"]
    assert namespace["iamRoles"] == [role_string(role)]
    assert namespace["defaultIamRoleArn"] == role
    assert namespace["status"] == "AVAILABLE"
    assert namespace["namespaceArn"].startswith(f"arn:aws:redshift-serverless:us-east-1:{ACCOUNT}:namespace/")


def test_update_namespace_replaces_the_whole_role_list(iam, serverless):
    old, new = make_role(iam), make_role(iam)
    name = unique("ns")
    serverless.create_namespace(namespaceName=name, iamRoles=[old])
    updated = serverless.update_namespace(namespaceName=name, iamRoles=[new], defaultIamRoleArn=new)[
        "namespace"
    ]
    assert sorted(updated["iamRoles"]) == sorted([role_string(old, "removing"), role_string(new, "adding")])
    assert updated["defaultIamRoleArn"] == new
    assert updated["status"] == "MODIFYING"
    with pytest.raises(serverless.exceptions.ConflictException):
        serverless.update_namespace(namespaceName=name, iamRoles=[new, old])
    time.sleep(DELAY + 0.2)
    namespace = serverless.get_namespace(namespaceName=name)["namespace"]
    assert namespace["iamRoles"] == [role_string(new)]
    assert namespace["status"] == "AVAILABLE"


def test_update_namespace_with_zero_delay_is_in_sync_at_once(iam, serverless, apply_delay):
    apply_delay(0)
    first, second = make_role(iam), make_role(iam)
    name = unique("ns")
    serverless.create_namespace(namespaceName=name, iamRoles=[first])
    updated = serverless.update_namespace(namespaceName=name, iamRoles=[first, second])["namespace"]
    assert sorted(updated["iamRoles"]) == sorted([role_string(first), role_string(second)])


def test_update_namespace_validates_roles_and_default(iam, serverless):
    role = make_role(iam)
    name = unique("ns")
    serverless.create_namespace(namespaceName=name, iamRoles=[role])
    missing = f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}"
    with pytest.raises(serverless.exceptions.ValidationException):
        serverless.update_namespace(namespaceName=name, iamRoles=[role, missing])
    with pytest.raises(serverless.exceptions.ValidationException):
        serverless.update_namespace(namespaceName=name, defaultIamRoleArn=role)  # needs iamRoles too
    with pytest.raises(serverless.exceptions.ValidationException):
        serverless.update_namespace(namespaceName=name, iamRoles=[role], defaultIamRoleArn=make_role(iam))
    assert serverless.get_namespace(namespaceName=name)["namespace"]["iamRoles"] == [role_string(role)]


def test_unknown_namespace_and_duplicate_names(serverless):
    with pytest.raises(serverless.exceptions.ResourceNotFoundException):
        serverless.get_namespace(namespaceName=unique("nope"))
    name = unique("ns")
    serverless.create_namespace(namespaceName=name)
    with pytest.raises(serverless.exceptions.ConflictException):
        serverless.create_namespace(namespaceName=name)
    with pytest.raises(serverless.exceptions.ValidationException):
        serverless.create_namespace(namespaceName="Upper_Case")


def test_workgroup_belongs_to_its_namespace_and_reports_the_local_endpoint(serverless):
    namespace, workgroup = unique("ns"), unique("wg")
    serverless.create_namespace(namespaceName=namespace)
    created = serverless.create_workgroup(workgroupName=workgroup, namespaceName=namespace)["workgroup"]
    assert created["namespaceName"] == namespace
    fetched = serverless.get_workgroup(workgroupName=workgroup)["workgroup"]
    assert fetched["namespaceName"] == namespace
    assert fetched["status"] == "AVAILABLE"
    assert (
        fetched["endpoint"]["address"] == f"{workgroup}.{ACCOUNT}.us-east-1.redshift-serverless.amazonaws.com"
    )
    assert fetched["endpoint"]["port"] == 5439
    set_workgroup_endpoint(workgroup, "127.0.0.1", 25439)
    endpoint = serverless.get_workgroup(workgroupName=workgroup)["workgroup"]["endpoint"]
    assert (endpoint["address"], endpoint["port"]) == ("127.0.0.1", 25439)
    with pytest.raises(serverless.exceptions.ConflictException):
        serverless.create_workgroup(workgroupName=unique("wg"), namespaceName=namespace)
    with pytest.raises(serverless.exceptions.ResourceNotFoundException):
        serverless.create_workgroup(workgroupName=unique("wg"), namespaceName=unique("nope"))
    with pytest.raises(serverless.exceptions.ResourceNotFoundException):
        serverless.get_workgroup(workgroupName=unique("nope"))


def test_delete_namespace_needs_its_workgroup_gone(serverless):
    namespace, workgroup = unique("ns"), unique("wg")
    serverless.create_namespace(namespaceName=namespace)
    serverless.create_workgroup(workgroupName=workgroup, namespaceName=namespace)
    with pytest.raises(serverless.exceptions.ConflictException):
        serverless.delete_namespace(namespaceName=namespace)
    serverless.delete_workgroup(workgroupName=workgroup)
    assert serverless.delete_namespace(namespaceName=namespace)["namespace"]["status"] == "DELETING"
    with pytest.raises(serverless.exceptions.ResourceNotFoundException):
        serverless.get_namespace(namespaceName=namespace)


# ------------------------------------------------------------------------------ temporary db credentials


@pytest.fixture
def workgroup(serverless):
    namespace, name = unique("ns"), unique("wg")
    serverless.create_namespace(namespaceName=namespace)
    serverless.create_workgroup(workgroupName=name, namespaceName=namespace)
    return name


def test_serverless_get_credentials_are_verifiable(serverless, workgroup):
    credentials = serverless.get_credentials(workgroupName=workgroup, dbName="dev", durationSeconds=3600)
    assert credentials["dbUser"] == "IAM:moto"  # moto's identity for keys it did not issue
    assert credentials["expiration"] - credentials["nextRefreshTime"] <= timedelta(0)
    assert verify_temporary_credentials(credentials["dbUser"], credentials["dbPassword"])
    assert not verify_temporary_credentials(credentials["dbUser"], credentials["dbPassword"] + "x")
    assert not verify_temporary_credentials("IAM:someone-else", credentials["dbPassword"])
    issued = find_temporary_credentials(credentials["dbUser"], credentials["dbPassword"])
    assert (issued.service, issued.resource, issued.db_name) == ("redshift-serverless", workgroup, "dev")
    assert not issued.is_valid(now=issued.expiration + timedelta(seconds=1))


def test_serverless_db_user_follows_the_caller(local_aws, iam, workgroup):
    user = unique("user")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = local_aws.client(
        "redshift-serverless",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    assert as_user.get_credentials(workgroupName=workgroup)["dbUser"] == f"IAM:{user}"

    role = make_role(iam)
    assumed = local_aws.client("sts").assume_role(RoleArn=role, RoleSessionName="airflow")["Credentials"]
    as_role = local_aws.client(
        "redshift-serverless",
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    )
    credentials = as_role.get_credentials(workgroupName=workgroup)
    assert credentials["dbUser"] == f"IAMR:{role.rsplit('/', 1)[-1]}"
    assert verify_temporary_credentials(credentials["dbUser"], credentials["dbPassword"])


def test_serverless_get_credentials_errors(serverless, workgroup):
    with pytest.raises(serverless.exceptions.ResourceNotFoundException):
        serverless.get_credentials(workgroupName=unique("nope"))
    with pytest.raises(serverless.exceptions.ValidationException):
        serverless.get_credentials(workgroupName=workgroup, durationSeconds=60)


@pytest.mark.parametrize(("auto_create", "prefix"), [(False, "IAM:"), (True, "IAMA:")])
def test_get_cluster_credentials_are_verifiable(redshift, auto_create, prefix):
    identifier = make_cluster(redshift)
    credentials = redshift.get_cluster_credentials(
        ClusterIdentifier=identifier, DbUser="alice", DbName="dev", AutoCreate=auto_create
    )
    assert credentials["DbUser"] == f"{prefix}alice"
    assert verify_temporary_credentials(f"{prefix}alice", credentials["DbPassword"])
    assert not verify_temporary_credentials(f"{prefix}alice", "not-the-password")
    assert not verify_temporary_credentials("IAM:bob", credentials["DbPassword"])
    issued = find_temporary_credentials(f"{prefix}alice", credentials["DbPassword"])
    assert (issued.service, issued.resource) == ("redshift", identifier)


_RESET_SCRIPT = """
from airflow_redshift_s3.local.aws import LocalAws, set_cluster_endpoint, verify_temporary_credentials

with LocalAws(role_apply_delay=0) as aws:
    redshift = aws.client("redshift")
    kwargs = dict(NodeType="ra3.large", MasterUsername="awsuser", MasterUserPassword="Password1")
    redshift.create_cluster(ClusterIdentifier="to-reset", **kwargs)
    set_cluster_endpoint("to-reset", "127.0.0.1", 15440)
    credentials = redshift.get_cluster_credentials(ClusterIdentifier="to-reset", DbUser="alice")
    s3, iam = aws.client("s3"), aws.client("iam")
    s3.create_bucket(Bucket="to-reset")
    s3.put_object(Bucket="to-reset", Key="big", Body=b"x" * (6 * 1024 * 1024))  # spooled to a file
    from moto.s3.models import s3_backends
    big = s3_backends["123456789012"]["aws"].buckets["to-reset"].keys["big"]
    iam.create_role(RoleName="to-reset", AssumeRolePolicyDocument="{}")
    aws.reset()
    assert big._value_buffer.closed, "S3's own reset (closing spooled objects) was skipped"
    assert s3.list_buckets()["Buckets"] == []
    try:
        iam.get_role(RoleName="to-reset")
        raise SystemExit("the role survived the reset")
    except iam.exceptions.NoSuchEntityException:
        pass
    managed = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    assert iam.get_policy(PolicyArn=managed)["Policy"]["PolicyName"] == "AmazonS3ReadOnlyAccess"
    assert not verify_temporary_credentials(credentials["DbUser"], credentials["DbPassword"])
    try:
        redshift.describe_clusters(ClusterIdentifier="to-reset")
        raise SystemExit("the cluster survived the reset")
    except redshift.exceptions.ClusterNotFoundFault:
        pass
    redshift.create_cluster(ClusterIdentifier="to-reset", **kwargs)
    endpoint = redshift.describe_clusters(ClusterIdentifier="to-reset")["Clusters"][0]["Endpoint"]
    assert endpoint == {"Address": "127.0.0.1", "Port": 15440}, endpoint
print("reset-ok")
"""


def test_reset_forgets_aws_state_and_passwords_but_keeps_endpoints_and_managed_policies():
    # moto's state is process-wide: reset it in a process of its own, not under the session's stack
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _RESET_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("reset-ok")


# ------------------------------------------------------------------------------------------------------ s3


def test_bucket_region_is_reported_for_a_bucket_in_another_region(local_aws):
    bucket = unique("eu-bucket")
    eu = local_aws.client("s3", "eu-west-1")
    eu.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    # moto answers a us-east-1 client too (real S3 would redirect it), with the bucket's region in the header.
    for client in (eu, local_aws.client("s3", "us-east-1")):
        head = client.head_bucket(Bucket=bucket)
        assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
        assert head["BucketRegion"] == "eu-west-1"
        assert client.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"
    us_bucket = unique("us-bucket")
    local_aws.client("s3").create_bucket(Bucket=us_bucket)
    assert local_aws.client("s3").get_bucket_location(Bucket=us_bucket)["LocationConstraint"] is None


def test_parameter_values_set_on_a_custom_group_are_described(redshift):
    name = f"group-{uuid.uuid4().hex[:8]}"
    redshift.create_cluster_parameter_group(
        ParameterGroupName=name, ParameterGroupFamily="redshift-1.0", Description="audit"
    )

    def require_ssl(group: str) -> dict:
        parameters = redshift.describe_cluster_parameters(ParameterGroupName=group)["Parameters"]
        return next(p for p in parameters if p["ParameterName"] == "require_ssl")

    assert (require_ssl(name)["ParameterValue"], require_ssl(name)["Source"]) == ("false", "engine-default")
    redshift.modify_cluster_parameter_group(
        ParameterGroupName=name, Parameters=[{"ParameterName": "require_ssl", "ParameterValue": "true"}]
    )
    assert (require_ssl(name)["ParameterValue"], require_ssl(name)["Source"]) == ("true", "user")
    assert require_ssl("default.redshift-1.0")["ParameterValue"] == "false"  # other groups unchanged
    with pytest.raises(ClientError, match="default parameter group"):
        redshift.modify_cluster_parameter_group(
            ParameterGroupName="default.redshift-1.0",
            Parameters=[{"ParameterName": "require_ssl", "ParameterValue": "true"}],
        )
    with pytest.raises(ClientError, match="no_such_parameter"):
        redshift.modify_cluster_parameter_group(
            ParameterGroupName=name,
            Parameters=[{"ParameterName": "no_such_parameter", "ParameterValue": "1"}],
        )


# ------------------------------------------------------------------------------------- managed policies


@pytest.mark.parametrize("region", ["aws", "us-gov-west-1"])
def test_managed_policies_parsed_once_are_the_ones_moto_builds(monkeypatch, region):
    """Each IAM backend gets what moto's own ``AWSManagedPolicy.from_data`` gives, in its partition's ARNs."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, IAMBackend

    from airflow_redshift_s3.local.aws import iam as iam_extension

    iam_extension.install()
    monkeypatch.setattr("moto.settings.load_iam_aws_managed_policies", lambda: True)

    def described(policies):
        return [
            (
                p.name,
                p.arn,
                p.path,
                p.default_version_id,
                p.versions[0].document,
                p.create_date,
                p.update_date,
                p.partition,
            )
            for p in policies
        ]

    data = json.loads(aws_managed_policies_data)
    expected = [AWSManagedPolicy.from_data(name, "123456789012", region, d) for name, d in data.items()]
    backend = IAMBackend(region_name=region, account_id="123456789012")
    assert described(backend.aws_managed_policies) == described(expected)
    assert len(expected) > 1000
    assert IAMBackend._init_aws_policies(backend) is not backend.aws_managed_policies  # new objects each time

    monkeypatch.setattr("moto.settings.load_iam_aws_managed_policies", lambda: False)
    assert IAMBackend(region_name=region, account_id="123456789012").aws_managed_policies == []
