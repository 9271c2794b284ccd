"""The stack's AWS endpoint (moto) in a process of its own: what crosses the boundary, and its failures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from airflow_redshift_s3.local.aws.process import AwsProcessError

pytestmark = pytest.mark.integration

_SERVER_MODULE = "airflow_redshift_s3.local.aws.process"


def test_the_gateways_process_imports_no_moto_and_its_aws_process_ends_with_the_stack():
    """moto's memory and imports were the gateway's (about 150 MB of a 238 MB process)."""
    script = textwrap.dedent(
        """
        import json, os, sys, psutil
        from airflow_redshift_s3.local import LocalRedshift
        stack = LocalRedshift(role_apply_delay=0).start()
        child = psutil.Process(stack.aws.pid)
        buckets = stack.aws_client("s3").list_buckets()["Buckets"]
        print(json.dumps({
            "moto_here": sorted(m for m in sys.modules if m == "moto" or m.startswith("moto.")),
            "aws_pid": stack.aws.pid, "pid": os.getpid(), "parent_of_aws": child.ppid(),
            "aws_cmdline": child.cmdline(), "buckets": buckets,
        }))
        stack.stop()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["moto_here"] == []
    assert seen["aws_pid"] != seen["pid"] and seen["parent_of_aws"] == seen["pid"]
    assert _SERVER_MODULE in seen["aws_cmdline"]
    assert seen["buckets"] == []
    assert not psutil.pid_exists(seen["aws_pid"]) or psutil.Process(seen["aws_pid"]).status() == "zombie"


@pytest.fixture
def own_stack():
    """A stack of this test's own: the test breaks its AWS process (the session's stack stays whole)."""
    from airflow_redshift_s3.local import LocalRedshift

    stack = LocalRedshift(role_apply_delay=0).start()
    try:
        yield stack
    finally:
        stack.stop()


def test_a_dead_aws_process_fails_iam_logins_at_once_with_the_cause_and_the_stack_still_stops(own_stack):
    import redshift_connector

    credentials = own_stack.aws_client("redshift").get_cluster_credentials(
        ClusterIdentifier="local-cluster", DbUser="alice", AutoCreate=True
    )
    login = {**own_stack.connect_kwargs(), "user": credentials["DbUser"]}
    login["password"] = credentials["DbPassword"]
    redshift_connector.connect(**login).close()  # the password works while the AWS process runs
    aws_pid = own_stack.aws.pid
    os.kill(aws_pid, signal.SIGKILL)
    psutil.Process(aws_pid).wait(10)
    began = time.monotonic()
    with pytest.raises(redshift_connector.Error) as failed:
        redshift_connector.connect(**login)
    assert time.monotonic() - began < 10
    assert 'cannot check the temporary password of "IAMA:alice"' in str(failed.value)
    assert "the local AWS endpoint failed" in str(failed.value)
    # the master user's password is PostgreSQL's: its logins do not need the AWS process
    master = redshift_connector.connect(**own_stack.connect_kwargs())
    master.autocommit = True
    cursor = master.cursor()
    cursor.execute("create table dead_aws (a int)")
    role = "arn:aws:iam::123456789012:role/r"
    for statement in (
        f"copy dead_aws from 's3://b/k' iam_role '{role}' csv",
        f"unload ('select 1') to 's3://b/out/' iam_role '{role}'",
    ):
        # the COPY/UNLOAD is told why and the session goes on (it used to be dropped, BrokenPipe)
        with pytest.raises(redshift_connector.Error, match="the local AWS endpoint failed"):
            cursor.execute(statement)
    cursor.execute("select count(*) from dead_aws")
    assert cursor.fetchall()[0][0] == 0
    master.close()
    with pytest.raises(AwsProcessError, match=rf"the AWS endpoint's process \(pid {aws_pid}\) ended"):
        own_stack.aws.set_cluster_endpoint("local-cluster", "127.0.0.1", 1, "us-east-1")
    own_stack.stop()  # returns: nothing waits for the dead process
    assert own_stack.aws is None


def test_a_cluster_created_through_the_aws_process_is_served_by_the_stack_and_removed_with_it(own_stack):
    """CreateCluster runs in moto's process; the listener and the database are the stack's, in this one."""
    import redshift_connector

    redshift = own_stack.aws_client("redshift")
    redshift.create_cluster(
        ClusterIdentifier="second", NodeType="ra3.large", ClusterType="single-node",
        MasterUsername="bob", MasterUserPassword="Second-Passw0rd", DBName="other",
    )  # fmt: skip
    endpoint = redshift.describe_clusters(ClusterIdentifier="second")["Clusters"][0]["Endpoint"]
    assert endpoint["Port"] not in (own_stack.redshift_port, own_stack.serverless_port)
    conn = redshift_connector.connect(
        host=endpoint["Address"], port=endpoint["Port"], database="other", user="bob",
        password="Second-Passw0rd", ssl=False,
    )  # fmt: skip
    cur = conn.cursor()
    cur.execute("select current_database(), current_user")
    assert cur.fetchall() == (["other", "bob"],)
    conn.close()
    with pytest.raises(Exception, match="MasterUsername 'postgres' is reserved"):
        redshift.create_cluster(
            ClusterIdentifier="third", NodeType="ra3.large", ClusterType="single-node",
            MasterUsername="postgres", MasterUserPassword="Third-Passw0rd",
        )  # fmt: skip
    redshift.delete_cluster(ClusterIdentifier="second", SkipFinalClusterSnapshot=True)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((endpoint["Address"], endpoint["Port"]), 2).close()


def test_a_taken_aws_port_is_named_and_leaves_no_process():
    from airflow_redshift_s3.local.aws.process import AwsProcess

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        aws = AwsProcess(port=port, role_apply_delay=0)
        in_use = rf"cannot serve AWS on 127\.0\.0\.1:{port} \(is the port in use\?\)"
        with pytest.raises(OSError, match=in_use):
            aws.start()
        assert aws.process is None and aws.pid is None


def test_the_role_apply_delay_and_seeding_cross_the_boundary(own_stack):
    aws = own_stack.aws
    with pytest.raises(ValueError, match="role_apply_delay must be >= 0, got -1"):
        aws.role_apply_delay = -1
    assert aws.role_apply_delay == 0
    s3 = own_stack.aws_client("s3")
    s3.create_bucket(Bucket="seeded")
    aws.seed_objects("seeded", [f"day=2026-12-02/part-{i:05d}.csv" for i in range(3000)], b"1,a\n")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="seeded", Prefix="day=2026-12-02/")
    keys = [item["Key"] for page in pages for item in page["Contents"]]
    assert len(keys) == 3000
    assert s3.get_object(Bucket="seeded", Key=keys[-1])["Body"].read() == b"1,a\n"


@pytest.mark.parametrize("endpoint", ["process", "in-process"])
def test_serving_new_clusters_takes_both_callbacks_or_neither(endpoint):
    """A provision without its remove would serve clusters that DeleteCluster never closes (and the
    reverse would close what was never served): refused before anything starts."""
    from airflow_redshift_s3.local.aws import LocalAws
    from airflow_redshift_s3.local.aws.process import AwsProcess

    make = AwsProcess if endpoint == "process" else LocalAws
    with pytest.raises(ValueError, match="provision and remove go together"):
        make(provision=lambda cluster: None)
    with pytest.raises(ValueError, match="provision and remove go together"):
        make(remove=lambda account, region, name: None)
