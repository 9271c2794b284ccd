"""``REDSHIFT_S3_SYSTEM_TARGET=aws`` without its variables fails at once, naming each and the fix.

The real-AWS run itself cannot happen here (no AWS account): ``make system-test`` is for users' accounts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system


def test_the_aws_target_names_every_missing_variable():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDSHIFT_S3_SYSTEM_", "AIRFLOW_CONN_"))}
    env["REDSHIFT_S3_SYSTEM_TARGET"] = "aws"
    env["REDSHIFT_S3_SYSTEM_BUCKET"] = "my-bucket"
    flow = Path(__file__).with_name("test_example_dags_flow.py")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(flow)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "REDSHIFT_S3_SYSTEM_TARGET=aws needs: REDSHIFT_S3_SYSTEM_CLUSTER" in output, output[-3000:]
    for name in ("REDSHIFT_S3_SYSTEM_REGION", "AIRFLOW_CONN_REDSHIFT_DEFAULT"):
        assert name in output, output[-3000:]
    assert "REDSHIFT_S3_SYSTEM_BUCKET" not in output.split("needs:")[1].split("Fix:")[0]  # it was given
    assert "without AWS, `make test` runs the same flow on the local stack" in output
