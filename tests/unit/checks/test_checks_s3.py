from __future__ import annotations

import pytest

from airflow_redshift_s3.checks import CheckStatus, check_data_format, check_objects, check_region
from airflow_redshift_s3.hooks.s3_inspect import PrefixSummary


def region(bucket_region, redshift_region="us-east-1", **kwargs):
    return check_region("b", bucket_region, redshift_region, "Redshift cluster 'c'", **kwargs)


def test_same_region_needs_no_region_clause():
    result = region("us-east-1", data_format="parquet", on_mismatch="fail")
    assert result.status is CheckStatus.OK
    assert result.details["region_needed"] is False


@pytest.mark.parametrize(
    ("on_mismatch", "data_format", "status"),
    [
        ("set_region", None, CheckStatus.WARNING),
        ("set_region", "csv", CheckStatus.WARNING),
        ("set_region", "JSON", CheckStatus.WARNING),
        ("fail", None, CheckStatus.FAILURE),
        ("fail", "csv", CheckStatus.FAILURE),
        ("set_region", "parquet", CheckStatus.FAILURE),
        ("set_region", "orc", CheckStatus.FAILURE),
        ("fail", "parquet", CheckStatus.FAILURE),
    ],
)
def test_region_mismatch_matrix(on_mismatch, data_format, status):
    result = region("eu-west-1", on_mismatch=on_mismatch, data_format=data_format)
    assert result.status is status
    assert result.category == "region"
    assert result.details == {
        "bucket_region": "eu-west-1",
        "redshift_region": "us-east-1",
        "region_needed": True,
    }
    assert "S3 bucket 'b' is in eu-west-1 but Redshift cluster 'c' is in us-east-1" in result.message


def test_set_region_warning_names_the_transfer_cost():
    result = region("eu-west-1")
    assert "REGION 'eu-west-1'" in result.message
    assert "cross-region data transfer" in result.message


def test_data_format():
    assert check_data_format(None) is None
    assert check_data_format("Parquet").status is CheckStatus.OK
    bad = check_data_format("xlsx")
    assert bad.failed and bad.category == "format"
    assert "expected one of csv" in bad.message


def test_objects():
    summary = PrefixSummary("b", "in/")
    assert check_objects(summary).failed
    assert check_objects(summary, required=False).status is CheckStatus.WARNING
    summary.add({"Key": "in/a", "Size": 3, "ETag": '"x"'})
    result = check_objects(summary)
    assert result.status is CheckStatus.OK
    assert result.details == {"object_count": 1, "total_bytes": 3}
