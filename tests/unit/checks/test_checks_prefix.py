from __future__ import annotations

import pytest

from airflow_redshift_s3.checks import CheckStatus, check_bucket_name, check_prefix


def names(results):
    return {(r.name, r.status.value) for r in results}


def test_a_folder_prefix_is_ok():
    (result,) = check_prefix("data/2026-11-27/", "b")
    assert (result.name, result.status) == ("prefix.format", CheckStatus.OK)


@pytest.mark.parametrize(
    ("prefix", "expected", "fix"),
    [
        ("/data/", {("prefix.leading_slash", "failure")}, "use prefix='data/'"),
        (
            "s3://my-bucket/data/",
            {("prefix.s3_uri", "failure")},
            "pass bucket='my-bucket' and prefix='data/'",
        ),
        ("data/s3://x/y/", {("prefix.s3_uri", "failure")}, "pass bucket='x' and prefix='y/'"),
        (
            "data/*.csv",
            {("prefix.wildcard", "failure")},
            "use prefix='data/' and select files with key_pattern='*.csv'",
        ),
        (
            "data/2026-??/",
            {("prefix.wildcard", "failure")},
            "use prefix='data/' and select files with key_pattern='2026-??/'",
        ),
        ("*", {("prefix.wildcard", "failure")}, "use prefix=''"),
        (
            "/data/*",
            {("prefix.leading_slash", "failure"), ("prefix.wildcard", "failure")},
            "use prefix='data/*'",
        ),
        ("data/2026-11-27", {("prefix.boundary", "warning")}, "prefix='data/2026-11-27/'"),
        ("data/file.csv", {("prefix.boundary", "warning")}, "end the prefix at a folder"),
        ("", {("prefix.boundary", "warning")}, "give the folder to load"),
        ("data//x/", {("prefix.double_slash", "warning")}, "use prefix='data/x/'"),
        (" data/", {("prefix.whitespace", "warning")}, "use prefix='data/'"),
        ("data/[0-9]/", {("prefix.glob", "warning")}, "manifest"),
        ("data/{a,b}/", {("prefix.glob", "warning")}, "manifest"),
    ],
)
def test_malformed_prefixes(prefix, expected, fix):
    results = check_prefix(prefix, "b")
    assert names(results) == expected
    assert any(fix in (r.fix or "") for r in results)
    for result in results:
        assert result.category == "config"
        assert f"S3 prefix '{prefix}'" in result.message or prefix == ""


def test_boundary_warning_gives_an_example_of_the_extra_match():
    (result,) = check_prefix("data/2026-11-27", "b")
    assert "also load e.g. 'data/2026-11-27_old.csv'" in result.message
    assert "in bucket 'b'" in result.message


@pytest.mark.parametrize(
    ("bucket", "fix"),
    [
        ("s3://my-bucket", "pass bucket='my-bucket'"),
        ("s3://my-bucket/data/", "pass bucket='my-bucket' and put 'data/' in the prefix"),
        ("my-bucket/data", "pass bucket='my-bucket' and put 'data' in the prefix"),
        ("", "pass the bucket name"),
        (" my-bucket", "pass bucket='my-bucket'"),
    ],
)
def test_bucket_names(bucket, fix):
    result = check_bucket_name(bucket)
    assert result.failed
    assert fix in result.fix


def test_a_bare_bucket_name_is_ok():
    assert check_bucket_name("my-bucket.with.dots").status is CheckStatus.OK
