"""Errors put their fix first: a task log shows the start of a line, not its end past the window's edge."""

from __future__ import annotations

from airflow_redshift_s3.exceptions import PermissionCheckError, RedshiftS3FailError


def test_the_fix_moves_to_a_first_line_of_its_own():
    error = PermissionCheckError(
        "Cannot read the region of bucket 'b': expected HeadBucket to answer, found AccessDenied. "
        "Fix: allow s3:GetBucketLocation on arn:aws:s3:::b.",
        fix="allow s3:GetBucketLocation on arn:aws:s3:::b",
    )
    assert str(error).splitlines() == [
        "Fix: allow s3:GetBucketLocation on arn:aws:s3:::b.",
        "Cannot read the region of bucket 'b': expected HeadBucket to answer, found AccessDenied.",
    ]
    assert error.fix == "allow s3:GetBucketLocation on arn:aws:s3:::b"


def test_a_message_without_its_fix_or_in_lines_already_is_kept():
    assert str(RedshiftS3FailError("no fix here", fix=None)) == "no fix here"
    assert str(RedshiftS3FailError("Fix: do it. Then more.", fix="do it")) == "Fix: do it. Then more."
    laid_out = "2 checks failed:\nFAILURE [config] Fix: a\n    b"
    assert str(RedshiftS3FailError(laid_out, fix="a")) == laid_out


def test_the_problem_without_its_fix_is_a_field():
    error = RedshiftS3FailError("Bucket 'b' does not exist. Fix: create it.", fix="create it")
    assert error.problem == "Bucket 'b' does not exist."
    assert str(RedshiftS3FailError("plain", fix=None)) == RedshiftS3FailError("plain").problem == "plain"
