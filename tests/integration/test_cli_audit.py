"""The ``audit`` command as a user runs it, against the local stack (moto over HTTP, the gateway, PostgreSQL).

Its whole output is read: the table (one row per finding) and, for each warning and failure, the message,
the evidence and the fix.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from airflow_redshift_s3.cli import main
from airflow_redshift_s3.local.pytest_plugin import create_role, unique_name
from airflow_redshift_s3.policies import copy_read_policy, copy_trust_policy
from tests.integration.conftest import FAKE_KEY_ID, FAKE_SECRET, make_clean

pytestmark = pytest.mark.integration
ROW = re.compile(r"^(OK|WARNING|FAILURE)\s+(permission|config)\s+(\S+)\s+(.*)$")


def audit(*args: str) -> tuple[int, list[str]]:
    """Run ``airflow-redshift-s3 audit`` in its own process, as a user does; return the code and lines."""
    env = {key: value for key, value in os.environ.items() if key != "AIRFLOW__CORE__UNIT_TEST_MODE"}
    done = subprocess.run(
        [sys.executable, "-m", "airflow_redshift_s3.cli", "audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stderr == "", done.stderr
    return done.returncode, done.stdout.splitlines()


def parse(lines: list[str]) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], list[str]]]:
    """Return {(check, resource): status} from the table and {(check, resource): lines} of each problem."""
    assert lines[0].startswith("Auditing cluster ")
    assert lines[1].split() == ["STATUS", "CATEGORY", "CHECK", "RESOURCE"]
    table: dict[tuple[str, str], str] = {}
    index = 2
    while lines[index]:
        match = ROW.match(lines[index])
        assert match, lines[index]
        table[(match.group(3), match.group(4))] = match.group(1)
        index += 1
    problems: dict[tuple[str, str], list[str]] = {}
    for block in "\n".join(lines[index:]).strip().split("\n\n"):
        head, *body = block.splitlines()
        if re.match(r"^\d+ findings on ", head):
            continue
        match = re.match(r"^\d+\. (WARNING|FAILURE) (\S+) on (.*)$", head)
        assert match, head
        problems[(match.group(2), match.group(3))] = body
    return table, problems


def test_a_bad_setup_fails_with_every_finding_and_its_fix(local_redshift_env, bad_setup):
    cluster, bucket = bad_setup["cluster"], bad_setup["bucket"]
    broad, unused, used = bad_setup["broad"], bad_setup["unused"], bad_setup["used"]
    code, lines = audit("--cluster-identifier", cluster, "--source", f"s3://{bucket}/data/")
    text = "\n".join(lines)
    assert code == 1, text
    assert FAKE_KEY_ID not in text and FAKE_SECRET not in text
    table, problems = parse(lines)
    target = f"Redshift cluster '{cluster}'"
    expected = {
        ("audit.redshift.encryption", target): "FAILURE",
        ("audit.redshift.require_ssl", target): "FAILURE",
        ("audit.connection.tls", "Airflow connection 'redshift_default'"): "WARNING",
        ("audit.role.trust", broad): "WARNING",
        ("audit.role.permissions", broad): "FAILURE",
        ("audit.role.used", broad): "WARNING",
        ("audit.role.trust", unused): "OK",
        ("audit.role.permissions", unused): "OK",
        ("audit.role.used", unused): "WARNING",
        ("audit.role.permissions", used): "FAILURE",
        ("audit.role.used", used): "OK",
        ("audit.role.default", target): "OK",
        ("audit.bucket.encryption", f"s3://{bucket}"): "FAILURE",
        ("audit.bucket.secure_transport", f"s3://{bucket}"): "WARNING",
        ("audit.bucket.public_access", f"s3://{bucket}"): "WARNING",
        ("audit.history.access_keys", target): "FAILURE",
    }
    assert {key: table.get(key) for key in expected} == expected
    assert set(problems) == {key for key, status in table.items() if status != "OK"}
    assert lines[-1].endswith(
        f"{table_count(table, 'WARNING')} warning(s), {table_count(table, 'FAILURE')} failure(s)"
    )

    def fix(check: str, resource: str) -> str:
        body = problems[(check, resource)]
        start = next(i for i, line in enumerate(body) if line.startswith("   fix: "))
        return "\n".join(body[start:])

    assert "require_ssl = 'false' in parameter group 'default.redshift-1.0'" in "\n".join(
        problems[("audit.redshift.require_ssl", target)]
    )
    assert "ParameterName=require_ssl,ParameterValue=true" in fix("audit.redshift.require_ssl", target)
    assert "--encrypted" in fix("audit.redshift.encryption", target)
    assert '"aws:SourceAccount":"123456789012"' in fix("audit.role.trust", broad)
    assert f"cluster:{cluster}" in fix("audit.role.trust", broad)
    diff = [line[3:] for line in fix("audit.role.permissions", broad).splitlines()]  # the block's indent
    assert any(line.startswith("-") and '"s3:*"' in line for line in diff), diff
    assert any(line.startswith("+") and f'"arn:aws:s3:::{bucket}/data/*"' in line for line in diff), diff
    assert not any(line.startswith("+") and "s3:PutObject" in line for line in diff)
    assert f"--remove-iam-roles {unused}" in fix("audit.role.used", unused)
    assert "put-bucket-encryption" in fix("audit.bucket.encryption", f"s3://{bucket}")
    assert '"aws:SecureTransport":"false"' in fix("audit.bucket.secure_transport", f"s3://{bucket}")
    assert "BlockPublicAcls=true" in fix("audit.bucket.public_access", f"s3://{bucket}")
    keys = "\n".join(problems[("audit.history.access_keys", target)])
    assert f"query {bad_setup['key_query']} at " in keys and "CREDENTIALS '***'" in keys
    assert '"ssl": true' in fix("audit.connection.tls", "Airflow connection 'redshift_default'")


def table_count(table: dict[tuple[str, str], str], status: str) -> int:
    return sum(1 for value in table.values() if value == status)


def test_the_setup_dags_role_on_a_clean_cluster_has_no_failure(local_redshift_env, s3_bucket):
    cluster = make_clean(local_redshift_env, s3_bucket)
    role = create_role(
        local_redshift_env, unique_name("setup-"), copy_read_policy(s3_bucket, "data/"), copy_trust_policy()
    )
    local_redshift_env.aws_client("redshift").modify_cluster_iam_roles(
        ClusterIdentifier=cluster, AddIamRoles=[role]
    )
    code, lines = audit("--cluster-identifier", cluster, "--source", f"s3://{s3_bucket}/data/")
    assert code == 0, "\n".join(lines)
    table, _ = parse(lines)
    assert "FAILURE" not in table.values()
    target = f"Redshift cluster '{cluster}'"
    for check, resource in [
        ("audit.redshift.encryption", target),
        ("audit.redshift.require_ssl", target),
        ("audit.role.permissions", role),
        ("audit.bucket.encryption", f"s3://{s3_bucket}"),
        ("audit.bucket.secure_transport", f"s3://{s3_bucket}"),
        ("audit.bucket.public_access", f"s3://{s3_bucket}"),
        ("audit.history.access_keys", target),
    ]:
        assert table[(check, resource)] == "OK", (check, resource)
    # What the package's own trust policy and the local stack's plain connection still leave to do:
    assert {key for key, status in table.items() if status == "WARNING"} == {
        ("audit.role.trust", role),
        ("audit.role.used", role),
        ("audit.connection.tls", "Airflow connection 'redshift_default'"),
    }


def test_bad_arguments_exit_2_with_the_fix(local_redshift_env, capsys):
    assert main(["audit", "--cluster-identifier", "x", "--source", "s3://Bad_Bucket/p"]) == 2
    assert "'Bad_Bucket' is not an S3 bucket name" in capsys.readouterr().err
    assert main(["audit", "--cluster-identifier", unique_name("missing-"), "--no-sql"]) == 2
    assert "was not found" in capsys.readouterr().err


def test_a_role_that_cannot_decrypt_the_buckets_kms_key_fails(local_redshift_env, s3_bucket):
    """SSE-KMS bucket: the role needs kms:Decrypt on its key (simulated), or COPY gets Access Denied."""
    cluster = make_clean(local_redshift_env, s3_bucket)
    key = local_redshift_env.aws_client("kms").create_key(Description="bucket key")["KeyMetadata"]["Arn"]
    kms = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    local_redshift_env.aws_client("s3").put_bucket_encryption(
        Bucket=s3_bucket,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": kms}]},
    )
    with_key = create_role(
        local_redshift_env,
        unique_name("kms-ok-"),
        copy_read_policy(s3_bucket, "data/", key),
        copy_trust_policy(),
    )
    without = create_role(local_redshift_env, unique_name("kms-no-"), copy_read_policy(s3_bucket, "data/"),
                          copy_trust_policy())  # fmt: skip
    local_redshift_env.aws_client("redshift").modify_cluster_iam_roles(
        ClusterIdentifier=cluster, AddIamRoles=[with_key, without]
    )
    code, lines = audit("--cluster-identifier", cluster, "--source", f"s3://{s3_bucket}/data/", "--no-sql")
    table, problems = parse(lines)
    assert code == 1, "\n".join(lines)
    assert table[("audit.role.kms", with_key)] == "OK"
    assert table[("audit.role.kms", without)] == "FAILURE"
    text = "\n".join(problems[("audit.role.kms", without)])
    assert (
        f"may not kms:Decrypt {key}" in text and '"Action": "kms:Decrypt"' in text and "key's policy" in text
    )
