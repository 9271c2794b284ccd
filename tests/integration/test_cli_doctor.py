"""The ``doctor`` command against the local stack: one line per check, exit 1 on any failure."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.cli import main
from airflow_redshift_s3.local.pytest_plugin import create_role, unique_name

pytestmark = pytest.mark.integration

READ_ALL = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": ["*"],
        }
    ],
}


def doctor(capsys: pytest.CaptureFixture[str], bucket: str, role: str, *extra: str) -> tuple[int, list[str]]:
    """Run ``doctor`` on local-cluster; return the exit code and the report's lines."""
    args = ["doctor", "--cluster-identifier", "local-cluster", "--bucket", bucket, "--prefix", "in/"]
    code = main([*args, "--iam-role-arn", role, *extra])
    return code, capsys.readouterr().out.splitlines()


def lines_of(lines: list[str], status: str, check: str) -> list[str]:
    return [line for line in lines if line.startswith(status) and f"] {check}" in line]


def fix_after(lines: list[str], line: str) -> str:
    following = lines[lines.index(line) + 1]
    assert following.lstrip().startswith("fix: ")
    return following


def test_a_healthy_setup_exits_0(local_redshift_env, s3_bucket, copy_role_arn, put_objects, capsys):
    put_objects(s3_bucket, ["in/a.csv"], b"1,a\n2,b\n")
    code, lines = doctor(capsys, s3_bucket, copy_role_arn, "--format", "csv", "--columns", "id,name")
    assert code == 0, "\n".join(lines)
    assert not [line for line in lines if line.startswith("FAILURE")]
    for check in (
        "bucket.exists",
        "bucket.region",
        "iam_role.attached",
        "iam_role.trust",
        "format.csv.columns",
    ):
        assert lines_of(lines, "OK", check), check
    assert lines_of(lines, "OK", "iam_role.s3_access.s3:GetObject")
    assert "0 failure(s)" in lines[-1]


def test_a_role_not_attached_is_a_permission_failure(local_redshift_env, s3_bucket, put_objects, capsys):
    put_objects(s3_bucket, ["in/a.csv"])
    role = create_role(local_redshift_env, unique_name("role-"), READ_ALL)
    code, lines = doctor(capsys, s3_bucket, role)
    assert code == 1
    (line,) = lines_of(lines, "FAILURE", "iam_role.attached")
    assert "[permission" in line
    assert role in line
    assert "modify-cluster-iam-roles" in fix_after(lines, line)
    assert "1 failure(s)" in lines[-1]


def test_a_bucket_in_another_region_is_reported(
    local_redshift_env, eu_bucket, copy_role_arn, put_objects, capsys
):
    put_objects(eu_bucket, ["in/a.csv"])
    code, lines = doctor(capsys, eu_bucket, copy_role_arn)
    assert code == 0, "\n".join(lines)
    (line,) = lines_of(lines, "WARNING", "bucket.region")
    assert "[region" in line
    assert "eu-west-1" in line and "us-east-1" in line
    assert "REGION 'eu-west-1'" in line
    assert "fix: " in fix_after(lines, line)


def test_parquet_from_another_region_is_a_region_failure(
    local_redshift_env, eu_bucket, copy_role_arn, put_objects, capsys
):
    put_objects(eu_bucket, ["in/a.parquet"])
    code, lines = doctor(capsys, eu_bucket, copy_role_arn, "--format", "parquet")
    assert code == 1
    (line,) = lines_of(lines, "FAILURE", "bucket.region")
    assert "[region" in line
    assert "a bucket in us-east-1" in fix_after(lines, line)


def test_a_csv_with_the_wrong_column_count_is_a_format_failure(
    local_redshift_env, s3_bucket, copy_role_arn, put_objects, capsys
):
    put_objects(s3_bucket, ["in/a.csv"], b"1,a,extra\n2,b,extra\n")
    code, lines = doctor(capsys, s3_bucket, copy_role_arn, "--format", "csv", "--columns", "id,name")
    assert code == 1
    (line,) = lines_of(lines, "FAILURE", "format.csv.columns")
    assert "[format" in line
    assert "has 3 fields" in line and "expected 2" in line
    assert "column_list" in fix_after(lines, line)


def test_a_csv_file_read_as_parquet_is_a_format_failure(
    local_redshift_env, s3_bucket, copy_role_arn, put_objects, capsys
):
    put_objects(s3_bucket, ["in/a.csv"], b"1,a\n")
    code, lines = doctor(capsys, s3_bucket, copy_role_arn, "--format", "parquet")
    assert code == 1
    (line,) = lines_of(lines, "FAILURE", "format.parquet.magic")
    assert "[format" in line
    assert "is not a PARQUET file" in line
    assert "input_format" in fix_after(lines, line)


def test_gzip_files_pass_with_compression_and_the_report_holds_only_the_report(
    local_redshift_env, s3_bucket, copy_role_arn, put_objects
):
    import gzip
    import subprocess
    import sys

    put_objects(s3_bucket, ["in/a.csv.gz"], gzip.compress(b"id,name\n1,a\n2,b\n"))
    # A process of its own, as a person runs it: Airflow reads its log levels when first imported.
    done = subprocess.run(
        [sys.executable, "-m", "airflow_redshift_s3.cli", "doctor", "--cluster-identifier", "local-cluster",
         "--bucket", s3_bucket, "--prefix", "in/", "--iam-role-arn", copy_role_arn, "--format", "csv",
         "--columns", "id,name", "--header-rows", "1", "--compression", "gzip"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert lines_of(lines, "OK", "format.compression")
    assert not [line for line in lines if "credentials retrieved" in line]  # no log line in the report


def test_format_fixes_speak_doctors_flags(local_redshift_env, s3_bucket, copy_role_arn, put_objects, capsys):
    import gzip

    put_objects(s3_bucket, ["in/a.csv.gz"], gzip.compress(b"id,name\n1,a\n2,b\n"))
    code, lines = doctor(capsys, s3_bucket, copy_role_arn, "--format", "csv", "--columns", "id,name")
    assert code == 1
    (line,) = lines_of(lines, "FAILURE", "format.compression")
    assert fix_after(lines, line).strip() == "fix: pass --compression gzip"

    code, lines = doctor(
        capsys, s3_bucket, copy_role_arn, "--format", "csv", "--columns", "id,name", "--compression", "gzip"
    )
    assert code == 1
    (line,) = lines_of(lines, "FAILURE", "format.header")
    assert fix_after(lines, line).strip() == "fix: pass --header-rows 1"


def test_doctor_runs_the_copy_operators_own_checks(local_redshift_env, s3_bucket, put_objects, capsys):
    """The manifest read, the listing rules and "no file" come from the COPY preflight, as in execute()."""
    put_objects(s3_bucket, ["in/a.csv", "in-old/b.csv"], b"1,a\n")
    objects_only = {  # may read the files, not the operator's manifests
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{s3_bucket}/in*"},
            {"Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": "*"},
        ],
    }
    role = create_role(local_redshift_env, unique_name("role-"), objects_only)
    local_redshift_env.aws_client("redshift").modify_cluster_iam_roles(
        ClusterIdentifier="local-cluster", AddIamRoles=[role]
    )
    args = ["doctor", "--cluster-identifier", "local-cluster", "--bucket", s3_bucket, "--iam-role-arn", role]
    code = main([*args, "--prefix", "in"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1, "\n".join(lines)
    (manifest,) = lines_of(lines, "FAILURE", "iam_role.s3_access.manifest")
    assert "_airflow_copy_manifests/" in manifest
    (boundary,) = lines_of(lines, "WARNING", "prefix.boundary")  # 'in' also matches in-old/
    assert "in-old/b.csv" in boundary
    assert main([*args, "--prefix", "nothing-here/"]) == 1
    assert lines_of(capsys.readouterr().out.splitlines(), "FAILURE", "copy")  # no file to load


def test_pipe_delimited_text_is_sniffed_as_the_operator_reads_it(
    local_redshift_env, s3_bucket, copy_role_arn, put_objects, capsys
):
    put_objects(s3_bucket, ["in/a.txt"], b"1|a\n2|b\n")
    code, lines = doctor(capsys, s3_bucket, copy_role_arn, "--format", "text", "--columns", "id,name")
    assert code == 0, "\n".join(lines)
    code, lines = doctor(capsys, s3_bucket, copy_role_arn, "--format", "text", "--columns", "id,name,extra")
    assert code == 1 and [line for line in lines if line.startswith("FAILURE") and "format" in line], lines


def test_slices_check_the_number_of_compressed_files(
    local_redshift_env, s3_bucket, copy_role_arn, put_objects, capsys
):
    import gzip
    import os

    # 3 MB compressed for 2 slices: enough to split into two files of more than 1 MB each.
    rows = b"".join(b"%d,%s\n" % (n, os.urandom(8).hex().encode()) for n in range(250_000))
    put_objects(s3_bucket, ["in/a.csv.gz"], gzip.compress(rows))
    code, lines = doctor(capsys, s3_bucket, copy_role_arn, "--format", "csv", "--compression", "gzip",
                         "--slices", "2")  # fmt: skip
    assert code == 0, "\n".join(lines)  # a warning, not a failure
    (line,) = lines_of(lines, "WARNING", "layout.file_count")
    assert "1 compressed file(s) for 2 slices" in line and "keeps 50% of the slices busy" in line
    assert (
        fix_after(lines, line).strip()
        == "fix: split the data into a multiple of 2 files (e.g. 2), each 1 MB-1 GB compressed"
    )


def test_a_slice_count_below_one_is_refused_with_its_fix(capsys):
    code = main(["doctor", "--cluster-identifier", "local-cluster", "--bucket", "b-1", "--prefix", "in/",
                 "--iam-role-arn", "arn:aws:iam::123456789012:role/r", "--slices", "-3"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("Fix: pass --slices with the cluster's slice count") and "--slices is -3" in err


def test_data_api_runs_a_statement_as_the_load_would(
    local_redshift_env, s3_bucket, copy_role_arn, put_objects, capsys
):
    put_objects(s3_bucket, ["in/a.csv"], b"1,a\n")
    code, lines = doctor(capsys, s3_bucket, copy_role_arn, "--data-api", "--db-user", "awsuser")
    assert code == 0, "\n".join(lines)
    assert lines_of(lines, "OK", "data_api.statement")
    code, lines = doctor(capsys, s3_bucket, copy_role_arn, "--data-api")
    assert code == 1
    (failed,) = lines_of(lines, "FAILURE", "data_api.statement")
    assert "without a login" in failed and "--db-user" in fix_after(lines, failed)
