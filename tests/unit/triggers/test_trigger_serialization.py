"""Triggers serialize exactly their __init__ arguments, JSON only, and rebuild identically."""

from __future__ import annotations

import importlib
import json
from datetime import datetime, timezone

import pytest

from airflow_redshift_s3.hooks.s3_inspect import PrefixSummary
from airflow_redshift_s3.triggers.redshift_iam import RedshiftIamRoleTrigger
from airflow_redshift_s3.triggers.s3_prefix import PrefixReadiness, S3PrefixTrigger, marker_key

CASES = [
    (
        S3PrefixTrigger,
        {
            "bucket": "b",
            "prefix": "data/",
            "min_objects": 3,
            "success_marker": "_SUCCESS",
            "key_pattern": "*.parquet",
            "quiet_period": 30.0,
            "poll_interval": 5.0,
            "deadline": 1_900_000_000.5,
            "aws_conn_id": "aws_prod",
            "region_name": "eu-west-1",
            "verify": False,
            "botocore_config": {"retries": {"mode": "standard"}},
        },
    ),
    (S3PrefixTrigger, {"bucket": "b", "prefix": ""}),
    (
        RedshiftIamRoleTrigger,
        {
            "iam_role_arn": "arn:aws:iam::123456789012:role/r",
            "cluster_identifier": None,
            "workgroup_name": "wg",
            "namespace_name": None,
            "poll_interval": 2.5,
            "deadline": 1_900_000_000.0,
            "fail_if_absent": True,
            "aws_conn_id": None,
            "region_name": "us-east-1",
            "verify": "/etc/ca.pem",
            "botocore_config": {"connect_timeout": 5},
        },
    ),
    (RedshiftIamRoleTrigger, {"iam_role_arn": "arn:aws:iam::1:role/r", "cluster_identifier": "c"}),
]


@pytest.mark.parametrize(("cls", "kwargs"), CASES)
def test_serialize_round_trips_exactly(cls, kwargs):
    classpath, serialized = cls(**kwargs).serialize()
    module, _, name = classpath.rpartition(".")
    assert getattr(importlib.import_module(module), name) is cls
    assert json.loads(json.dumps(serialized)) == serialized  # JSON only
    assert {k: serialized[k] for k in kwargs} == kwargs  # every argument given comes back as given
    rebuilt = cls(**serialized)
    assert rebuilt.serialize() == (classpath, serialized)
    # exactly the __init__ arguments
    import inspect

    parameters = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert set(serialized) == parameters


def test_marker_key():
    assert marker_key("data/", "_SUCCESS") == "data/_SUCCESS"
    assert marker_key("data", "_SUCCESS") == "data/_SUCCESS"
    assert marker_key("", "_SUCCESS") == "_SUCCESS"
    assert marker_key("data/", None) is None


def summary_of(*keys, modified=1000.0, etag="e"):
    summary = PrefixSummary("b", "p/")
    when = datetime.fromtimestamp(modified, tz=timezone.utc)
    for key in keys:
        summary.add({"Key": key, "Size": 1, "ETag": etag, "LastModified": when})
    return summary


def test_readiness_needs_min_objects():
    readiness = PrefixReadiness(min_objects=2)
    ready, why = readiness.evaluate(summary_of("p/a"), now=5000)
    assert not ready and "holds 1 object(s), waiting for 2" in why
    assert readiness.evaluate(summary_of("p/a", "p/b"), now=5000)[0]
    assert PrefixReadiness(min_objects=0).evaluate(summary_of(), now=5000)[0]


def test_quiet_period_counts_from_the_newest_object():
    readiness = PrefixReadiness(quiet_period=60)
    ready, why = readiness.evaluate(summary_of("p/a", modified=1000), now=1030)
    assert not ready and "modified 30 s ago" in why
    assert readiness.evaluate(summary_of("p/a", modified=1000), now=1061)[0]


def test_a_change_seen_restarts_the_quiet_period():
    readiness = PrefixReadiness(quiet_period=60)
    assert readiness.evaluate(summary_of("p/a", "p/b"), now=2000)[0]  # old objects: ready at once
    ready, why = readiness.evaluate(summary_of("p/a"), now=2010)  # p/b deleted: no newer LastModified
    assert not ready and "listing of s3://b/p/ changed 0 s ago" in why
    assert not readiness.evaluate(summary_of("p/a"), now=2069)[0]
    assert readiness.evaluate(summary_of("p/a"), now=2071)[0]


def test_without_quiet_period_changes_do_not_matter():
    readiness = PrefixReadiness()
    assert readiness.evaluate(summary_of("p/a", modified=5000), now=5000)[0]
    assert readiness.evaluate(summary_of("p/a", "p/b", modified=5000), now=5000)[0]
