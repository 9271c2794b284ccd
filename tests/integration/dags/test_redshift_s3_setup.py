"""``redshift_s3_setup``: the role is created, attached in-sync and verified; a second run changes nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _report(run):
    from airflow import settings
    from airflow.models.xcom import XComModel

    with settings.Session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids="report", key="return_value")
        ).first()
        return XComModel.deserialize_value(row)


def test_setup_twice(load_dag, local_redshift_env, s3_bucket, task_states):
    from airflow_redshift_s3.local.pytest_plugin import unique_name

    role_name = unique_name("setup-role-")
    conf = {
        "role_name": role_name,
        "bucket": s3_bucket,
        "prefix": "sales/",
        "cluster_identifier": "local-cluster",
    }
    dag = load_dag("redshift_s3_setup")
    redshift = local_redshift_env.aws_client("redshift")
    iam = local_redshift_env.aws_client("iam")

    def cluster_roles():
        (cluster,) = redshift.describe_clusters(ClusterIdentifier="local-cluster")["Clusters"]
        return {r["IamRoleArn"]: r["ApplyStatus"] for r in cluster["IamRoles"]}

    first = dag.test(run_conf=conf)
    assert str(first.state) == "success", task_states(first)
    arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    assert cluster_roles()[arn] == "in-sync"
    report = _report(first)
    assert report["role_arn"] == arn
    (rule,) = report["manifest_lifecycle"]["Rules"]  # emitted for the bucket's lifecycle rules
    assert (rule["Filter"], rule["Expiration"]) == ({"Prefix": "_airflow_copy_manifests/"}, {"Days": 7})
    assert report["changes"] == ["created the role", f"put the read policy {role_name}-copy-read"]
    policy = iam.get_role_policy(RoleName=role_name, PolicyName=f"{role_name}-copy-read")["PolicyDocument"]
    roles_before = cluster_roles()

    second = dag.test(run_conf=conf)
    assert str(second.state) == "success", task_states(second)
    assert _report(second)["changes"] == []
    assert cluster_roles() == roles_before
    assert (
        iam.get_role_policy(RoleName=role_name, PolicyName=f"{role_name}-copy-read")["PolicyDocument"]
        == policy
    )
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == [f"{role_name}-copy-read"]


def test_serverless_workgroup(load_dag, local_redshift_env, s3_bucket, workgroup, task_states):
    from airflow_redshift_s3.local.pytest_plugin import unique_name

    workgroup_name, namespace_name = workgroup
    role_name = unique_name("setup-sls-")
    # The form's default cluster stays filled: the Redshift type decides, the cluster field is not used.
    conf = {"role_name": role_name, "bucket": s3_bucket, "prefix": "sales/", "redshift_type": "serverless",
            "workgroup_name": workgroup_name}  # fmt: skip
    dag = load_dag("redshift_s3_setup")
    serverless = local_redshift_env.aws_client("redshift-serverless")
    iam = local_redshift_env.aws_client("iam")

    run = dag.test(run_conf=conf)
    assert str(run.state) == "success", task_states(run)
    arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    namespace = serverless.get_namespace(namespaceName=namespace_name)["namespace"]
    assert any(arn in entry for entry in namespace["iamRoles"])
    # A Serverless namespace assumes the role as redshift-serverless.amazonaws.com too.
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    services = trust["Statement"][0]["Principal"]["Service"]
    assert "redshift-serverless.amazonaws.com" in services
    report = _report(run)
    assert report["target"] == f"Serverless workgroup '{workgroup_name}'"
    assert report["changes"] == ["created the role", f"put the read policy {role_name}-copy-read"]

    again = dag.test(run_conf=conf)
    assert str(again.state) == "success", task_states(again)
    assert _report(again)["changes"] == []


NO_CLUSTER = {"redshift_type": "cluster", "cluster_identifier": None, "workgroup_name": "wg"}
NO_WORKGROUP = {"redshift_type": "serverless", "cluster_identifier": "local-cluster", "workgroup_name": None}


@pytest.mark.parametrize("target", [NO_CLUSTER, NO_WORKGROUP], ids=["cluster-empty", "workgroup-empty"])
def test_the_chosen_redshift_type_needs_its_name(
    load_dag, local_redshift_env, s3_bucket, task_states, target
):
    from airflow_redshift_s3.local.pytest_plugin import unique_name

    role_name = unique_name("setup-none-")
    dag = load_dag("redshift_s3_setup")
    run = dag.test(run_conf={"role_name": role_name, "bucket": s3_bucket, "prefix": "sales/", **target})
    states = task_states(run)
    assert states["create_or_adopt_role"] == "failed"
    assert states["attach_role"] == "upstream_failed"
    iam = local_redshift_env.aws_client("iam")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=role_name)
