"""``make airflow``'s command: Airflow on the local stack runs the setup DAG under its scheduler.

Airflow's real components (api-server, scheduler, dag-processor, triggerer, LocalExecutor), each in its own
process group, every listener on 127.0.0.1; the DAG run is triggered through the REST API as the UI's trigger
form does, then Ctrl-C (SIGINT) must stop Airflow and the stack.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _api(port: int, path: str, body: dict[str, Any] | None = None, method: str = "GET") -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait(predicate: Any, timeout: float, what: str, process: subprocess.Popen) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, (
            f"the command exited with {process.returncode} while waiting for {what}"
        )
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def test_airflow_standalone_runs_the_setup_dag_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    import psutil

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REDSHIFT_S3_", "AWS_"))}
    cli = Path(sys.executable).with_name("airflow-redshift-s3")
    log = (tmp_path / "airflow.out").open("w")
    process = subprocess.Popen(
        [str(cli), "airflow", "--home", str(tmp_path / "home"), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        dags = _wait(
            lambda: {d["dag_id"] for d in _api(port, "dags")["dags"]} >= {"redshift_s3_setup"},
            240,
            "the api-server and the parsed DAGs",
            process,
        )
        assert dags
        _api(port, "dags/redshift_s3_setup", {"is_paused": False}, "PATCH")
        run = _api(port, "dags/redshift_s3_setup/dagRuns", {"logical_date": None, "conf": {}}, "POST")
        run_id = run["dag_run_id"]
        state = _wait(
            lambda: (
                _api(port, f"dags/redshift_s3_setup/dagRuns/{run_id}")["state"] in ("success", "failed")
                and _api(port, f"dags/redshift_s3_setup/dagRuns/{run_id}")["state"]
            ),
            180,
            "the setup DAG run",
            process,
        )
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        pids = {proc.pid for proc in tree}
        listeners = {
            (c.laddr.ip, c.laddr.port)
            for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.pid in pids
        }
        assert ("127.0.0.1", port) in listeners
        assert {ip for ip, _ in listeners} == {"127.0.0.1"}, listeners  # no log server on 0.0.0.0
        tasks = _api(port, f"dags/redshift_s3_setup/dagRuns/{run_id}/taskInstances")["task_instances"]
        assert state == "success", {t["task_id"]: t["state"] for t in tasks}
        assert {t["task_id"]: t["state"] for t in tasks} == {
            "create_or_adopt_role": "success",
            "attach_role": "success",
            "verify_access": "success",
            "report": "success",
        }
    finally:
        children = psutil.Process(process.pid).children(recursive=True) if process.poll() is None else []
        os.kill(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            code = process.wait(timeout=90)
        finally:
            log.close()
            _, alive = psutil.wait_procs(children, timeout=30)
            for leftover in [*alive, *([psutil.Process(process.pid)] if process.poll() is None else [])]:
                leftover.kill()
    assert code == 0, (tmp_path / "airflow.out").read_text()[-3000:]
    assert not alive, f"left running after Ctrl-C: {alive}"
