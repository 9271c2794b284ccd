"""``doctor`` refuses what no check can use, before any AWS call: the fix first, no traceback."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.cli import main

ARGS = ["doctor", "--cluster-identifier", "c", "--bucket", "data", "--prefix", "in/"]


def test_a_role_that_is_not_an_arn_is_refused_before_any_advice(capsys):
    assert main([*ARGS, "--iam-role-arn", "nonsense"]) == 2
    out, err = capsys.readouterr()
    assert "Checking COPY" not in out and "modify-cluster-iam-roles" not in out  # no check, no advice
    assert err.startswith("Fix: pass --iam-role-arn with the role's ARN")
    assert "'nonsense' is not an IAM role ARN" in err


def test_no_credentials_names_the_connection_and_local_env(capsys, monkeypatch, tmp_path):
    # Real AWS cannot be reached here, and no call is made: botocore refuses to sign without credentials.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_ENDPOINT_URL", "AIRFLOW_CONN_AWS_DEFAULT", "AIRFLOW_CONN_NOPE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    role = "arn:aws:iam::123456789012:role/r"
    assert main([*ARGS, "--iam-role-arn", role, "--aws-conn-id", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Fix: give connection 'nope' credentials: set AIRFLOW_CONN_NOPE")
    assert "local.env" in err and "Traceback" not in err


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compression_is_a_flag(compression):
    from airflow_redshift_s3.cli import build_parser

    args = build_parser().parse_args([*ARGS, "--iam-role-arn", "default", "--compression", compression])
    assert args.compression == compression
