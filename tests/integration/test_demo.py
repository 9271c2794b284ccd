"""``make demo``'s command, run as a user runs it: its own process, its own local stack, the real DAGs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path, float]:
    workdir = tmp_path_factory.mktemp("demo")
    started = time.time()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REDSHIFT_S3_", "AWS_"))}
    cli = Path(sys.executable).with_name("airflow-redshift-s3")
    result = subprocess.run(
        [str(cli), "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    return result, workdir, started


def test_the_demo_succeeds_and_reports_every_run(demo):
    result, workdir, _ = demo
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "UNEXPECTED" not in out
    # The table holds each of the three days once, after a rerun of the second.
    assert "public.sales rows per load_date: 2026-11-23: 1000, 2026-11-24: 300, 2026-11-25: 450" in out
    rows = {
        m[0]: m[1:]
        for m in re.findall(r"^  (2026-11-2\d(?: \(rerun\))?)\s+(\S+)\s+(\w+)\s+(\d+)\s+(\d+)", out, re.M)
    }
    assert rows == {
        "2026-11-23": ("csv.gz", "success", "2", "1000"),
        "2026-11-24": ("json.gz", "success", "1", "300"),
        "2026-11-25": ("parquet", "success", "1", "450"),
        "2026-11-24 (rerun)": ("json.gz", "success", "1", "300"),
        "2026-11-26": ("csv.gz", "failed", "0", "0"),
    }
    assert "second run: no change (idempotent)" in out
    # The failure callback's message carries the load-error report of the bad row.
    assert "s3://demo-bucket/sales/2026-11-26/part-1.csv.gz, line 101, column amount" in out
    assert "raw value '12.5O'" in out and "Fix:" in out
    assert (workdir / "airflow.log").stat().st_size > 0
    # It ends with the audit of what it set up: no failure, each warning with its fix...
    audit = out[
        out.index(
            "Audit of the demo's setup (redshift_s3_audit, success): Redshift cluster 'local-cluster'"
        ) :
    ]
    assert re.search(r"^  \d+ ok, 3 warning\(s\), 0 failure\(s\)$", audit, re.M), audit
    warned = re.findall(r"^  warning  (\S+): ", audit, re.M)
    assert set(warned) == {"audit.connection.tls", "audit.role.trust", "audit.bucket.secure_transport"}
    assert audit.count("           Fix: ") == len(warned)
    # ... the usage of its loads (five COPYs, the bad day's a format failure; no Serverless here) ...
    assert "Usage of the last 7 days: 5 COPYs, failed format: 1; 5 files, 2050 rows" in audit
    assert "RPU-seconds: unavailable" in audit
    # ... and the path of the usage report's HTML page, under the demo's Airflow logs, last
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("The usage report's HTML page, with its charts: ")
    page = Path(last.rpartition(": ")[2])
    assert page.is_relative_to(workdir / "airflow" / "logs") and page.read_text().count("<svg") == 3


def test_the_demo_stops_every_process_it_started(demo):
    import psutil

    result, workdir, started = demo
    assert result.returncode == 0
    left = []
    for process in psutil.process_iter(["cmdline", "create_time", "ppid"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        # A PostgreSQL of a local stack (data in local-redshift-pg-*) started during the demo and orphaned:
        # its parent is gone and it was adopted by an older process (init or a subreaper). Other stacks
        # started meanwhile (by other test sessions) still have their parent.
        if process.info["create_time"] >= started and "local-redshift-pg-" in cmdline:
            try:
                adopted = psutil.Process(process.info["ppid"]).create_time() < started
            except psutil.Error:
                adopted = True
            if adopted:
                left.append(cmdline)
        elif str(workdir) in cmdline:
            left.append(cmdline)
    assert left == []
