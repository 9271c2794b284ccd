"""``make airflow``'s footprint: processes, RSS and PSS of the whole process tree, and its listeners.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_make_airflow_footprint.py``). Starts
``airflow-redshift-s3 airflow`` in a temporary home on a free port, waits until the API lists the three
example DAGs and 30 s more (the components settle), then sums RSS and PSS (memory shared between the forked
processes counted once, proportionally) over the command and every descendant, lists every listening socket
of the tree, stops it with SIGINT and writes ``bench/results/make_airflow_footprint.json``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

RESULTS = Path(__file__).resolve().parent / "results"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dags(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/dags", timeout=5) as response:
            return len(json.loads(response.read())["dags"])
    except OSError:
        return 0


def main() -> int:
    """Measure and print the footprint; return 0."""
    port = _free_port()
    cli = Path(sys.executable).with_name("airflow-redshift-s3")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REDSHIFT_S3_", "AWS_"))}
    with tempfile.TemporaryDirectory() as tmp:
        process = subprocess.Popen(
            [str(cli), "airflow", "--home", f"{tmp}/home", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300
            while _dags(port) < 3:
                if time.monotonic() > deadline or process.poll() is not None:
                    print("make airflow did not come up", file=sys.stderr)
                    return 1
                time.sleep(2)
            time.sleep(30)
            root = psutil.Process(process.pid)
            tree = [root, *root.children(recursive=True)]
            rss = pss = 0
            for proc in tree:
                with_info = proc.memory_full_info()
                rss += with_info.rss
                pss += with_info.pss
            pids = {proc.pid for proc in tree}
            listeners = sorted(
                {
                    f"{c.laddr.ip}:{c.laddr.port}"
                    for c in psutil.net_connections(kind="inet")
                    if c.status == psutil.CONN_LISTEN and c.pid in pids
                }
            )
        finally:
            os.kill(process.pid, signal.SIGINT)
            process.wait(timeout=120)
    result = {
        "processes": len(tree),
        "rss_mib": round(rss / 2**20),
        "pss_mib": round(pss / 2**20),
        "listeners": listeners,
        "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "make_airflow_footprint.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"make airflow, idle: {result['processes']} processes, RSS {result['rss_mib']} MiB, "
          f"PSS {result['pss_mib']} MiB on {result['cpus']} CPUs")  # fmt: skip
    print("listening on: " + ", ".join(listeners))
    return 0


if __name__ == "__main__":
    sys.exit(main())
