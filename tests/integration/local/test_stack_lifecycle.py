"""`airflow-redshift-s3 local up` and the stack's clean stop, each in a process of its own."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration


def _start_local_up(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, list[str]]:
    env_file = tmp_path / "local.env"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_redshift_s3.cli",
            "local",
            "up",
            "--redshift-port",
            "0",
            "--aws-port",
            "0",
            "--env-file",
            str(env_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.strip() == "READY":
            return process, env_file, lines
    process.kill()
    raise AssertionError("local up never printed READY:\n" + "\n".join(lines))


def _postgres_children(pid: int) -> list[psutil.Process]:
    return [p for p in _children(pid) if _name(p) == "postgres"]


def _aws_children(pid: int) -> list[psutil.Process]:
    """The process serving AWS (moto) for the stack."""
    return [p for p in _children(pid) if "airflow_redshift_s3.local.aws.process" in " ".join(_cmdline(p))]


def _children(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:  # a backend ending while the stack is looked at
        return ""


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.NoSuchProcess:
        return []


def _env(env_file: Path) -> dict[str, str]:
    values = {}
    for line in env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        values[key] = shlex.split(value)[0]
    return values


def test_local_up_serves_writes_env_file_and_stops_on_sigterm(tmp_path):
    import redshift_connector

    process, env_file, _ = _start_local_up(tmp_path)
    try:
        env = _env(env_file)
        assert set(env) >= {"AIRFLOW_CONN_AWS_DEFAULT", "AIRFLOW_CONN_REDSHIFT_DEFAULT", "AWS_ENDPOINT_URL"}
        import json

        conn_info = json.loads(env["AIRFLOW_CONN_REDSHIFT_DEFAULT"])
        conn = redshift_connector.connect(
            host=conn_info["host"],
            port=conn_info["port"],
            database=conn_info["schema"],
            user=conn_info["login"],
            password=conn_info["password"],
            ssl=False,
        )
        cur = conn.cursor()
        cur.execute("select current_database()")
        assert cur.fetchall()[0][0] == "dev"
        conn.close()
        postgres = _postgres_children(process.pid)
        assert postgres, "the stack runs no PostgreSQL"
        aws = _aws_children(process.pid)
        assert len(aws) == 1, "the stack serves AWS from one process of its own"
        # A fresh shell after `set -a; . ./local.env; set +a`: plain boto3 finds the endpoint, keys, region.
        shell = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env}
        listed = subprocess.run(
            [sys.executable, "-c", "import boto3; print(boto3.client('s3').list_buckets()['Buckets'])"],
            env=shell, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr[-2000:]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    _, alive = psutil.wait_procs(postgres + aws, timeout=10)
    assert not alive, f"PostgreSQL or the AWS endpoint outlived the stack: {alive}"


def test_no_server_outlives_a_killed_stack(tmp_path):
    process, _, _ = _start_local_up(tmp_path)
    postgres, aws = _postgres_children(process.pid), _aws_children(process.pid)
    assert postgres and aws
    # no cleanup code runs: PostgreSQL's parent-death signal must stop it, and the AWS endpoint's input
    # closing with its parent
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    _, alive = psutil.wait_procs(postgres + aws, timeout=15)
    assert not alive, f"a server outlived a killed stack: {alive}"


def test_a_killed_stack_leaves_its_directories_to_the_next_start_which_keeps_a_running_ones(tmp_path):
    """kill -9 runs no cleanup: the stack's PostgreSQL data (47 MB) and TLS directory stayed in /tmp.

    The next stack's start removes them; the directories of a stack still running (here one prepared in
    this process), and a directory without the lock file, are left alone.
    """
    import tempfile

    from airflow_redshift_s3.local.postgres import LocalPostgres
    from airflow_redshift_s3.local.workdir import Workdir

    temp = Path(tempfile.gettempdir())
    stranger = Path(tempfile.mkdtemp(prefix="local-redshift-pg-"))  # not a stack's: no lock file
    live = LocalPostgres().prepare()
    live_workdir = live.data_dir.parent
    tls_before = set(temp.glob("local-redshift-tls-*"))
    process, _, _ = _start_local_up(tmp_path)
    server = _postgres_children(process.pid)[0]
    command = server.cmdline()
    killed_workdir = Path(command[command.index("-D") + 1]).parent
    killed_tls = set(temp.glob("local-redshift-tls-*")) - tls_before
    assert killed_workdir.parent == temp and len(killed_tls) == 1
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    psutil.wait_procs([server], timeout=15)
    assert (killed_workdir / "pgdata" / "PG_VERSION").exists(), "a killed stack cleaned up: nothing to sweep"
    assert killed_tls.pop().exists()
    try:
        LocalPostgres().prepare().stop()  # what a stack's start does first
        tls = Workdir("local-redshift-tls-")
        tls.remove()
        assert not killed_workdir.exists(), "the killed stack's PostgreSQL directory was not removed"
        assert not (set(temp.glob("local-redshift-tls-*")) - tls_before), "its TLS directory stayed"
        assert live_workdir.exists() and stranger.exists()
    finally:
        live.stop()
        stranger.rmdir()
    assert not live_workdir.exists()


_SLOW_PREPARE = """
import time
from airflow_redshift_s3.local import LocalRedshift
from airflow_redshift_s3.local.postgres import LocalPostgres

prepare = LocalPostgres.prepare

def slow_prepare(self):
    time.sleep(3)  # as the sweep of a killed stack's 47 MB, or initdb, can take on a slow disk
    return prepare(self)

LocalPostgres.prepare = slow_prepare
stack = LocalRedshift().start()
stack.stop()
print("started-and-stopped")
"""


def test_the_stack_starts_while_postgres_is_still_being_prepared():
    """The gateway is given PostgreSQL's socket path while initdb (or the copy, or the sweep) still runs.

    A start after a kill -9 once failed with ``AssertionError: the server is not prepared``: the sweep of the
    killed stack's directory ran before the working directory existed, in the thread that prepares.
    """
    result = subprocess.run(
        [sys.executable, "-c", _SLOW_PREPARE], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("started-and-stopped")


_MOTO_USED_BEFORE = """
import boto3
from moto.server import ThreadedMotoServer
from airflow_redshift_s3.local import LocalRedshift

# a test suite's own use of moto, earlier in the same process: IAM is built without AWS's managed policies
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
iam = boto3.client("iam", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
iam.create_role(RoleName="theirs", AssumeRolePolicyDocument="{}")
server.stop()

stack = LocalRedshift(aws_in_process=True).start()  # moto in this process: the state the suite's use left
try:
    iam = stack.aws_client("iam")
    iam.create_role(RoleName="copy", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="copy", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    print("attached")
finally:
    stack.stop()
"""


def test_a_stack_has_aws_managed_policies_after_other_uses_of_moto():
    """moto's state is process-wide: an IAM backend built earlier without AWS's managed policies once left
    the stack unable to attach ``AmazonS3ReadOnlyAccess`` (NoSuchEntity), depending on test order. The
    backend gets them when the stack starts; moto's state is not reset (another stack may be using it).
    Only a stack with ``aws_in_process=True`` shares moto's state with the process now."""
    result = subprocess.run(
        [sys.executable, "-c", _MOTO_USED_BEFORE], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[0] == "attached"


@pytest.mark.parametrize("option", ["--aws-port", "--redshift-port"])
def test_a_busy_port_says_which_option_to_change_without_a_traceback(option):
    """The AWS endpoint's port fails in its process's start, the Redshift port in the gateway's, while the
    other side of the start runs on: either way the start stops at once, says which option to change, and
    leaves no process behind (the AWS process of a failed gateway start included)."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ports = {"--redshift-port": "0", "--serverless-port": "0", "--aws-port": "0", option: str(port)}
        arguments = [x for option_and_port in ports.items() for x in option_and_port]
        up = subprocess.Popen(
            [sys.executable, "-m", "airflow_redshift_s3.cli", "local", "up", *arguments],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        children: set[int] = set()
        while up.poll() is None:
            with contextlib.suppress(psutil.Error):
                children |= {c.pid for c in psutil.Process(up.pid).children(recursive=True)}
            time.sleep(0.02)
        stdout, stderr = up.communicate(timeout=120)
    assert up.returncode == 1, stdout[-2000:] + stderr[-2000:]
    problem, fix = stderr.strip().split("\n")[-2:]  # what failed, then what to do
    assert problem.startswith("The local stack could not start: ") and str(port) in problem, stderr
    assert fix.startswith("Fix: stop what listens there, or choose other ports with") and option in fix
    assert "Traceback" not in stderr
    assert children, "the start made no process: the test saw nothing"
    assert not [
        pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    ]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        # 99999 used to be served on 34463 (the port modulo 65536), without a word
        (
            ["--aws-port", "99999"],
            "aws_port must be a port number from 0 to 65535 (0 picks a free one), got 99999",
        ),
        (
            ["--redshift-port", "70000"],
            "redshift_port must be a port number from 0 to 65535",
        ),  # was a traceback
        (["--serverless-port", "-1"], "serverless_port must be a port number from 0 to 65535"),
        (
            [
                "--bind",
                "192.0.2.1",
                "--redshift-port",
                "0",
                "--aws-port",
                "0",
            ],  # TEST-NET-1: no machine has it
            "Fix: pass --bind an address of this machine (127.0.0.1, or 0.0.0.0 for all), not 192.0.2.1.",
        ),
    ],
)
def test_a_careless_port_or_address_is_refused_with_the_fix(arguments, expected):
    done = subprocess.run(
        [sys.executable, "-m", "airflow_redshift_s3.cli", "local", "up", *arguments],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert expected in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "READY" not in done.stdout
