"""The pure parts of the hooks: Serverless role strings, trust policies, bucket regions, listing summaries."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from airflow_redshift_s3.hooks.iam_role import parse_role_arn, trusted_services
from airflow_redshift_s3.hooks.redshift_iam import (
    AttachedRole,
    RedshiftTarget,
    parse_serverless_role,
    roles_from_cluster,
    roles_from_namespace,
)
from airflow_redshift_s3.hooks.s3_inspect import BucketEncryption, PrefixSummary, location_to_region

ARN = "arn:aws:iam::123456789012:role/service-role/copy-role"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"IamRole(applyStatus=in-sync, iamRoleArn={ARN})", AttachedRole(ARN, "in-sync")),
        (f"IamRole(applyStatus=adding, iamRoleArn={ARN})", AttachedRole(ARN, "adding")),
        (f"IamRole(iamRoleArn={ARN}, applyStatus=removing)", AttachedRole(ARN, "removing")),
        (f"IamRole(iamRoleArn={ARN})", AttachedRole(ARN, "in-sync")),
        (ARN, AttachedRole(ARN, "in-sync")),
        ("garbage", None),
    ],
)
def test_serverless_role_strings(text, expected):
    assert parse_serverless_role(text) == expected


def test_roles_from_descriptions():
    cluster = roles_from_cluster(
        RedshiftTarget("cluster", "c"),
        {"IamRoles": [{"IamRoleArn": ARN, "ApplyStatus": "adding"}], "DefaultIamRoleArn": ""},
    )
    assert cluster.status(ARN) == "adding"
    assert cluster.default_role_arn is None
    namespace = roles_from_namespace(
        RedshiftTarget("namespace", "n", "w"),
        {
            "iamRoles": [
                f"IamRole(applyStatus=removing, iamRoleArn={ARN})",
                "IamRole(applyStatus=in-sync, iamRoleArn=arn:aws:iam::1:role/x)",
            ],
            "defaultIamRoleArn": "arn:aws:iam::1:role/x",
        },
    )
    assert namespace.associated == ["arn:aws:iam::1:role/x"]
    assert namespace.default_role_arn == "arn:aws:iam::1:role/x"
    assert str(namespace.target) == "Redshift Serverless namespace 'n' (workgroup 'w')"
    assert "is not attached" in namespace.describe("arn:aws:iam::1:role/other")


def test_trusted_services_from_any_document_shape():
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "redshift.amazonaws.com"},
                "Action": "sts:AssumeRole",
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": ["glue.amazonaws.com"]},
                "Action": ["sts:AssumeRole"],
            },
            {"Effect": "Deny", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:TagSession"},
        ]
    }
    expected = {"redshift.amazonaws.com", "glue.amazonaws.com"}
    assert trusted_services(document) == expected
    assert trusted_services(json.dumps(document)) == expected
    assert trusted_services(quote(json.dumps(document))) == expected  # IAM returns it URL-encoded
    assert trusted_services({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:*"}}) == {"*"}


def test_role_arns():
    assert parse_role_arn(ARN) == ("aws", "123456789012", "copy-role")
    assert parse_role_arn("arn:aws:iam::123456789012:user/bob") is None
    assert parse_role_arn("copy-role") is None


@pytest.mark.parametrize(
    ("location", "region"),
    [(None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"), ("eu-central-1", "eu-central-1")],
)
def test_get_bucket_location_quirks(location, region):
    assert location_to_region(location) == region


def test_bucket_encryption_kinds():
    assert BucketEncryption("AES256").kind == "SSE-S3"
    assert BucketEncryption("aws:kms", "k").uses_kms
    assert BucketEncryption("aws:kms:dsse", "k").kind == "DSSE-KMS"
    assert BucketEncryption(None).kind == "none"
    assert BucketEncryption(None, readable=False).kind == "unknown"


def objects(*keys, size=10, when=datetime(2026, 1, 1, tzinfo=timezone.utc)):
    return [{"Key": k, "Size": size, "ETag": f'"{k}"', "LastModified": when} for k in keys]


def test_prefix_summary_counts_what_matches():
    summary = PrefixSummary("b", "data/", key_pattern="*.csv", exclude_keys=frozenset({"data/skip.csv"}))
    summary.add_all(objects("data/a.csv", "data/b.json", "data/skip.csv", "data/sub/c.csv"))
    assert (summary.object_count, summary.total_bytes, summary.keys_seen) == (2, 20, 4)
    assert (summary.first_key, summary.last_key) == ("data/a.csv", "data/sub/c.csv")
    assert summary.to_dict()["last_modified"] == "2026-01-01T00:00:00+00:00"


def test_fingerprint_follows_keys_sizes_and_etags():
    def fingerprint(items):
        summary = PrefixSummary("b", "p/")
        summary.add_all(items)
        return summary.fingerprint

    base = fingerprint(objects("p/a", "p/b"))
    assert base == fingerprint(objects("p/a", "p/b"))
    assert base != fingerprint(objects("p/a"))
    assert base != fingerprint(objects("p/a", "p/b", size=11))
    changed = objects("p/a", "p/b")
    changed[1]["ETag"] = '"other"'
    assert base != fingerprint(changed)


def test_summary_stays_small_whatever_the_count():
    summary = PrefixSummary("b", "p/")
    for n in range(50_000):
        summary.add({"Key": f"p/{n:08d}", "Size": 1, "ETag": '"e"'})
    assert summary.object_count == 50_000
    assert len(json.dumps(summary.to_dict())) < 400
