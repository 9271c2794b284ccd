"""The Amazon provider's own S3/Redshift system test, unchanged, run to its end on the local stack.

``example_redshift_s3_transfers`` creates a bucket and a cluster (in a VPC security group and a cluster
subnet group it reads from SSM or the environment), moves rows Redshift→S3 with UNLOAD and S3→Redshift
with COPY through the Redshift Data API (in its own session and in a session kept between tasks), checks
the UNLOAD files with S3KeySensors, and deletes the table, the cluster and the bucket. The provider's wheel
leaves its tests out: ``make venv`` downloads the provider's source release (the version constraints.txt
pins) and this test unpacks the example and its ``utils`` package from it at run time. The two helpers it
imports from the Airflow repository's development code (``watcher`` and ``get_test_run``) are stood in
for by small modules of our own, written below. Only AWS itself is replaced: by the local stack.
"""

from __future__ import annotations

import functools
import re
import sys
import tarfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = "example_redshift_s3_transfers"
MEMBERS = {  # inside the sdist -> where the example imports it from
    f"tests/system/amazon/aws/{EXAMPLE}.py": f"dags/{EXAMPLE}.py",
    "tests/system/amazon/aws/utils/__init__.py": "lib/system/amazon/aws/utils/__init__.py",
}

TASKS = (
    "variable_fetcher", "s3_create_bucket", "create_cluster", "wait_cluster_available", "create_object",
    "create_table_redshift_data", "insert_data", "transfer_redshift_to_s3", "check_if_key_exists",
    "transfer_s3_to_redshift", "transfer_s3_to_redshift_multiple", "create_tmp_table",
    "transfer_redshift_to_s3_reuse_session", "check_if_tmp_table_key_exists", "create_dest_tmp_table",
    "transfer_s3_to_redshift_tmp_table", "drop_table", "delete_cluster", "delete_bucket",
)  # fmt: skip

# Stand-ins for the Airflow repository's tests_common helpers the example imports (not installed anywhere).
SHIMS = {
    "lib/tests_common/__init__.py": "",
    "lib/tests_common/test_utils/__init__.py": "",
    "lib/tests_common/test_utils/version_compat.py": """
        from airflow import __version__

        AIRFLOW_V_3_0_PLUS = int(__version__.split(".")[0]) >= 3
    """,
    "lib/tests_common/test_utils/watcher.py": """
        from airflow.sdk import TriggerRule, task


        @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
        def watcher():
            # downstream of every task: runs only when one failed, and then fails the run (teardown
            # tasks with trigger_rule all_done would otherwise let it end in success)
            raise RuntimeError("a task upstream of the watcher failed")
    """,
    "lib/tests_common/test_utils/system_tests.py": """
        def get_test_run(dag):
            def test_run():
                run = dag.test()
                assert run.state == "success", f"{dag.dag_id} ended {run.state}"

            return test_run
    """,
    "lib/system/__init__.py": "",
    "lib/system/amazon/__init__.py": "",
    "lib/system/amazon/aws/__init__.py": "",
}


def _provider_sdist() -> Path:
    pins = (ROOT / "constraints.txt").read_text()
    match = re.search(r"^apache-airflow-providers-amazon==(\S+)$", pins, re.MULTILINE)
    assert match, "constraints.txt pins no apache-airflow-providers-amazon"
    return ROOT / ".venv" / "downloads" / f"apache_airflow_providers_amazon-{match.group(1)}.tar.gz"


@pytest.fixture
def system_test_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Unpack the example and its utils from the provider's sdist, add our shims; return the DAG file."""
    sdist = _provider_sdist()
    if not sdist.exists():
        pytest.skip(f"{sdist.name} is missing: `make venv` downloads the Amazon provider's source release")
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        for member, target in MEMBERS.items():
            source = archive.extractfile(f"{top}/{member}")
            assert source is not None, f"{member} is not in {sdist.name}"
            (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / target).write_bytes(source.read())
    for name, text in SHIMS.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip())
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    yield tmp_path / "dags" / f"{EXAMPLE}.py"
    for name in [name for name in sys.modules if name.split(".")[0] in ("system", "tests_common")]:
        del sys.modules[name]


@pytest.fixture
def network(aws, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A VPC security group and a cluster subnet group, given to the example as its SSM variables would."""
    ec2 = aws.aws_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"sg-{vpc}", Description="system test", VpcId=vpc)["GroupId"]
    subnet_group = f"subnets-{vpc}"
    aws.aws_client("redshift").create_cluster_subnet_group(
        ClusterSubnetGroupName=subnet_group, Description="system test", SubnetIds=[subnet]
    )
    env_id = f"env{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SYSTEM_TESTS_ENV_ID", env_id)
    monkeypatch.setenv("SECURITY_GROUP", group)
    monkeypatch.setenv("CLUSTER_SUBNET_GROUP", subnet_group)
    return {"env_id": env_id, "security_group": group, "subnet_group": subnet_group}


def _data_api_history(aws, cluster: str) -> list[dict]:
    """Return DescribeStatement of every Data API statement run on ``cluster``, oldest first."""
    data = aws.aws_client("redshift-data")
    pages = data.get_paginator("list_statements").paginate(Status="ALL")
    listed = [statement for page in pages for statement in page["Statements"]]
    described = [data.describe_statement(Id=s["Id"]) for s in listed]
    ours = [statement for statement in described if statement.get("ClusterIdentifier") == cluster]
    return sorted(ours, key=lambda statement: statement["CreatedAt"])


def test_the_providers_s3_redshift_system_test_runs_to_its_end(
    system_test_files, network, aws, dag_from_file, task_states, monkeypatch
):
    # As in the provider's system-test environment: no redshift_default connection, so the Data API
    # hook of the S3/Redshift transfers (redshift_conn_id) takes boto3's own credentials and endpoint.
    monkeypatch.delenv("AIRFLOW_CONN_REDSHIFT_DEFAULT", raising=False)
    # The transfers wait for their statement with the Data API hook's default poll interval (10 s, slept
    # once the first DescribeStatement finds it still running): half a second here, nothing else changed.
    from airflow.providers.amazon.aws.hooks.redshift_data import RedshiftDataHook

    quicker = functools.partialmethod(RedshiftDataHook.execute_query, poll_interval=0.5)
    monkeypatch.setattr(RedshiftDataHook, "execute_query", quicker)
    redshift = aws.aws_client("redshift")
    run = dag_from_file(system_test_files).test()

    assert task_states(run) == {
        **dict.fromkeys(TASKS, "success"),
        "watcher": "skipped",  # its trigger rule is one_failed: nothing failed
    }
    cluster = f"{network['env_id']}-redshift-cluster"
    history = _data_api_history(aws, cluster)
    assert all(statement["Status"] == "FINISHED" for statement in history)
    copies = [s for s in history if s["QueryString"].lstrip().upper().startswith("COPY")]
    unloads = [s for s in history if "UNLOAD" in s["QueryString"].upper()]
    # each COPY loaded the one CSV row of s3_key_2 (twice into test_table: by key and by prefix)
    assert [s["ResultRows"] for s in copies] == [1, 1, 1]
    assert len(unloads) == 2  # their files: the example's own S3KeySensors found them
    # the teardown: the cluster, its endpoint and the bucket are gone
    with pytest.raises(redshift.exceptions.ClusterNotFoundFault):
        redshift.describe_clusters(ClusterIdentifier=cluster)
    with pytest.raises(aws.aws_client("s3").exceptions.ClientError):
        aws.aws_client("s3").head_bucket(Bucket=f"{network['env_id']}-bucket")
