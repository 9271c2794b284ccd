"""Importing the operators, sensors and triggers (as a DAG file does) must not load boto3 or botocore."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "airflow_redshift_s3.operators.redshift_iam",
    "airflow_redshift_s3.operators.s3_verify",
    "airflow_redshift_s3.sensors.redshift_iam",
    "airflow_redshift_s3.sensors.s3_prefix",
    "airflow_redshift_s3.triggers.redshift_iam",
    "airflow_redshift_s3.triggers.s3_prefix",
    "airflow_redshift_s3.checks",
]


def test_importing_does_not_load_the_aws_sdk():
    code = (
        "import sys, airflow.sdk\n"
        "before = {m for m in ('boto3', 'botocore') if m in sys.modules}\n"
        + "".join(f"import {module}\n" for module in MODULES)
        + "print(sorted({m for m in ('boto3', 'botocore') if m in sys.modules} - before))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
