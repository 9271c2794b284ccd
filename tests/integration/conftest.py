"""Fixtures for the tests against the local stack: AWS-side resources, and running the example DAGs."""

from __future__ import annotations

import collections
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_redshift_s3.local.pytest_plugin import create_role, unique_name

ACCOUNT = "123456789012"
DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
READ_ACTIONS = ("s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation")


def read_policy(*resources: str, actions: tuple[str, ...] = READ_ACTIONS) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": list(resources) or ["*"]}],
    }


class ApiCalls:
    """Count the API calls a botocore or aiobotocore client makes, through its event system."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    def __call__(self, model: Any = None, **_: Any) -> None:
        self.counts[model.name] += 1

    def watch(self, client: Any) -> ApiCalls:
        client.meta.events.register("before-call", self)
        return self

    def __getitem__(self, operation: str) -> int:
        return self.counts[operation]


@pytest.fixture
def api_calls() -> ApiCalls:
    return ApiCalls()


@pytest.fixture
def amazon_env(local_redshift_env: Any, monkeypatch: pytest.MonkeyPatch, copy_role_arn: str) -> Any:
    """Give the Amazon S3ToRedshiftOperator the ``aws_copy_role`` connection it takes its COPY role from.

    The operator writes the CREDENTIALS clause from the AWS connection's ``role_arn`` extra.
    """
    extra = {"endpoint_url": local_redshift_env.aws_endpoint_url, "region_name": "us-east-1",
             "role_arn": copy_role_arn}  # fmt: skip
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_COPY_ROLE",
        json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}),
    )
    return local_redshift_env


@pytest.fixture
def aws(local_redshift_env: Any) -> Any:
    """The local stack, with aws_default pointing at it."""
    return local_redshift_env


@pytest.fixture
def cluster(aws: Any) -> str:
    """A fresh provisioned cluster in us-east-1 without roles (tests may change its roles freely)."""
    name = unique_name("cluster-")
    aws.aws_client("redshift").create_cluster(
        ClusterIdentifier=name,
        NodeType="ra3.large",
        ClusterType="single-node",
        MasterUsername="admin",
        MasterUserPassword="Passw0rd1",
    )
    return name


@pytest.fixture
def workgroup(aws: Any) -> tuple[str, str]:
    """A fresh Serverless namespace and its workgroup: (workgroup_name, namespace_name)."""
    namespace, workgroup = unique_name("ns-"), unique_name("wg-")
    serverless = aws.aws_client("redshift-serverless")
    serverless.create_namespace(namespaceName=namespace, dbName="dev", adminUsername="admin")
    serverless.create_workgroup(workgroupName=workgroup, namespaceName=namespace)
    return workgroup, namespace


@pytest.fixture
def role_arn(aws: Any) -> str:
    """A fresh role Redshift and Serverless trust, that may read every bucket, attached nowhere."""
    return create_role(aws, unique_name("role-"), read_policy())


@pytest.fixture
def apply_delay(aws: Any):
    """Change the stack's role apply delay for one test."""
    before = aws.aws.role_apply_delay

    def set_delay(seconds: float) -> None:
        aws.aws.role_apply_delay = seconds

    yield set_delay
    aws.aws.role_apply_delay = before


@pytest.fixture
def connection_as_user(aws: Any, monkeypatch: pytest.MonkeyPatch):
    """Return a function that creates an IAM user with ``policy`` and an Airflow connection acting as it."""

    def make(policy: dict[str, Any], conn_id: str = "aws_limited") -> str:
        iam = aws.aws_client("iam")
        user = unique_name("user-")
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="limited", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        extra = {"region_name": "us-east-1", "endpoint_url": aws.aws_endpoint_url}
        conn = {
            "conn_type": "aws",
            "login": key["AccessKeyId"],
            "password": key["SecretAccessKey"],
            "extra": extra,
        }
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return f"arn:aws:iam::{ACCOUNT}:user/{user}"

    return make


@pytest.fixture
def eu_bucket(aws: Any) -> str:
    """A fresh bucket in eu-west-1."""
    name = unique_name("eu-bucket-")
    aws.aws_client("s3", "eu-west-1").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return name


@pytest.fixture
def put_objects(aws: Any):
    """Return a function that uploads small objects with PutObject."""

    def put(bucket: str, keys: list[str], body: bytes = b"1,a\n") -> None:
        s3 = aws.aws_client("s3")
        for key in keys:
            s3.put_object(Bucket=bucket, Key=key, Body=body)

    return put


@pytest.fixture
def seed_objects(aws: Any):
    """Return a function that writes objects straight into the local stack's S3 store, in one call.

    Fast, for big listings only: the code under test still lists them over HTTP; this only skips
    25,000 PutObject round trips (about 1.5 s instead of a minute).
    """

    def seed(bucket: str, keys: list[str], body: bytes = b"x") -> None:
        aws.aws.seed_objects(bucket, keys, body)

    return seed


@pytest.fixture
def make_role(aws: Any):
    """Return a function that creates a role (Redshift trust by default) with an inline policy."""

    def make(policy: dict[str, Any] | None = None, trust: dict[str, Any] | None = None) -> str:
        return create_role(aws, unique_name("role-"), policy, trust)

    return make


# -- the example DAGs, run with dag.test() ----------------------------------------------------------------


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Create Airflow's metadata database once (dag.test() needs it)."""
    from airflow.utils import db

    db.initdb()


def use_dag_bundle(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` Airflow's only DAG bundle: ``dag.test()`` runs only a DAG its bundle holds."""
    bundle = {"name": folder.name, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
              "kwargs": {"path": str(folder), "refresh_interval": 0}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))


@pytest.fixture
def dag_from_file(airflow_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], Any]]:
    """Return a function that imports the DAG file ``path`` (``<dag_id>.py``) afresh and gives its DAG.

    The file's folder becomes the DAG bundle.
    """
    from airflow_redshift_s3.demo import load_dag_file

    loaded: list[str] = []

    def load(path: Path) -> Any:
        use_dag_bundle(monkeypatch, path.parent)
        loaded.append(path.stem)
        return load_dag_file(path.parent, path.stem)

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.fixture
def load_dag(
    dag_from_file: Callable[[Path], Any], local_redshift_env: Any, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Return a function that imports ``dags/<name>.py`` afresh and gives its DAG."""
    monkeypatch.setenv("REDSHIFT_S3_WAITER_DELAY", "0.2")
    return lambda name: dag_from_file(DAGS_DIR / f"{name}.py")


@pytest.fixture
def query(local_redshift: Any, redshift_schema: str) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
    """Return a function that runs one statement on local-cluster (autocommit) and gives its rows."""
    import redshift_connector

    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    conn.autocommit = True

    def run(sql: str) -> list[tuple[Any, ...]]:
        cursor = conn.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    yield run
    conn.close()


@pytest.fixture
def task_states() -> Callable[[Any], dict[str, str]]:
    """Return a function giving {task_id: state} of a finished DAG run."""

    def states(run: Any) -> dict[str, str]:
        return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}

    return states


# -- the audit: a deliberately bad setup and a clean one ---------------------------------------------------

# Key-shaped but no key: built from parts so that nothing committed looks like an AWS access key. The local
# stack accepts any key; the audit must still recognise and mask one shaped like AWS's (AKIA + 16).
FAKE_KEY_ID = "AKIA" + "TESTONLYNOTAKEY0"
FAKE_SECRET = "test-only/" + "not-a-secret-access-key"


def clear_query_history(stack: Any) -> None:
    """Empty stl_query: one database holds the history of every test's COPYs; a new cluster's is empty."""
    stack.gateway_thread.call(stack.gateway.admin("dev").query("DELETE FROM pg_catalog.stl_query"))


@pytest.fixture
def bad_setup(aws: Any, redshift_schema: str, copy_role_arn: str, put_objects: Any) -> dict[str, Any]:
    """A cluster that breaks every practice the audit checks, and a COPY with access keys in the history.

    Unencrypted cluster on the default parameter group (require_ssl false); a role granting s3:* on "*"
    with a trust policy without conditions; a least-privilege role no COPY uses; the session's copy role,
    which a COPY uses; a bucket without default encryption, bucket policy or Block Public Access.
    """
    import redshift_connector

    clear_query_history(aws)
    bucket = unique_name("audit-bad-")
    s3 = aws.aws_client("s3")
    s3.create_bucket(Bucket=bucket)
    put_objects(bucket, ["data/a.csv"], b"1\n2\n")
    broad = create_role(aws, unique_name("broad-"), read_policy("*", actions=("s3:*",)))
    account_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}  # fmt: skip
    unused = create_role(aws, unique_name("unused-"), read_policy(f"arn:aws:s3:::{bucket}"), account_trust)
    cluster = unique_name("bad-")
    aws.aws_client("redshift").create_cluster(
        ClusterIdentifier=cluster, NodeType="ra3.large", ClusterType="single-node",
        MasterUsername="admin", MasterUserPassword="Passw0rd1", IamRoles=[broad, unused, copy_role_arn],
    )  # fmt: skip
    conn = redshift_connector.connect(**aws.connect_kwargs())
    conn.autocommit = True
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {redshift_schema}.t (n int)")
    source = f"'s3://{bucket}/data/'"
    cursor.execute(f"COPY {redshift_schema}.t FROM {source} IAM_ROLE '{copy_role_arn}' CSV")
    cursor.execute(
        f"COPY {redshift_schema}.t FROM {source} "
        f"CREDENTIALS 'aws_access_key_id={FAKE_KEY_ID};aws_secret_access_key={FAKE_SECRET}' CSV"
    )
    cursor.execute("SELECT pg_last_copy_id()")
    key_query = int(cursor.fetchone()[0])
    conn.close()
    return {"cluster": cluster, "bucket": bucket, "broad": broad, "unused": unused, "used": copy_role_arn,
            "key_query": key_query}  # fmt: skip


def make_clean(stack: Any, bucket: str) -> str:
    """Return a new cluster as AWS now creates them (encrypted, require_ssl on); make ``bucket`` clean.

    The bucket gets what AWS gives a new bucket (SSE-S3, Block Public Access) and a policy denying plain HTTP.
    """
    redshift = stack.aws_client("redshift")
    group = unique_name("ssl-")
    redshift.create_cluster_parameter_group(
        ParameterGroupName=group, ParameterGroupFamily="redshift-1.0", Description="TLS only"
    )
    redshift.modify_cluster_parameter_group(
        ParameterGroupName=group, Parameters=[{"ParameterName": "require_ssl", "ParameterValue": "true"}]
    )
    cluster = unique_name("clean-")
    redshift.create_cluster(
        ClusterIdentifier=cluster, NodeType="ra3.large", ClusterType="single-node", MasterUsername="admin",
        MasterUserPassword="Passw0rd1", Encrypted=True, ClusterParameterGroupName=group,
    )  # fmt: skip
    s3 = stack.aws_client("s3")
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})  # fmt: skip
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})  # fmt: skip
    deny = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    clear_query_history(stack)
    return cluster
