"""S3PrefixTrigger.run() for real (async S3 calls against the local stack): success, timeout, error."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_redshift_s3.triggers.s3_prefix import S3PrefixTrigger

pytestmark = pytest.mark.integration


async def first_event(trigger: S3PrefixTrigger, timeout: float = 20.0) -> dict:
    runner = trigger.run()
    try:
        event = await asyncio.wait_for(runner.__anext__(), timeout)
    finally:
        await runner.aclose()
    return event.payload


async def test_success_when_objects_arrive_while_waiting(aws, s3_bucket, put_objects):
    trigger = S3PrefixTrigger(bucket=s3_bucket, prefix="in/", min_objects=2, poll_interval=0.1)
    task = asyncio.ensure_future(first_event(trigger))
    await asyncio.sleep(0.3)
    assert not task.done()
    await asyncio.to_thread(put_objects, s3_bucket, ["in/a.csv", "in/b.csv", "in_other/c.csv"])
    event = await task
    assert event["status"] == "success"
    assert event["retryable"] is False
    summary = event["summary"]
    assert (summary["object_count"], summary["first_key"], summary["last_key"]) == (2, "in/a.csv", "in/b.csv")
    assert summary["success_marker"] is None
    assert f"s3://{s3_bucket}/in/ holds 2 object(s)" in event["message"]


async def test_success_marker_key_pattern_and_quiet_period(aws, s3_bucket, put_objects):
    await asyncio.to_thread(
        put_objects, s3_bucket, ["out/a.parquet", "out/b.parquet", "out/x.crc", "out/_SUCCESS"]
    )
    trigger = S3PrefixTrigger(
        bucket=s3_bucket,
        prefix="out/",
        min_objects=2,
        success_marker="_SUCCESS",
        key_pattern="*.parquet",
        quiet_period=2.0,
        poll_interval=0.1,
    )
    started = time.monotonic()
    event = await first_event(trigger)
    assert time.monotonic() - started >= 0.9  # LastModified has one-second precision
    assert event["status"] == "success"
    assert event["summary"]["object_count"] == 2
    assert event["summary"]["success_marker"] == "out/_SUCCESS"


async def test_timeout_event_at_the_deadline(aws, s3_bucket, put_objects):
    await asyncio.to_thread(put_objects, s3_bucket, ["few/a.csv"])
    trigger = S3PrefixTrigger(
        bucket=s3_bucket, prefix="few/", min_objects=5, poll_interval=0.1, deadline=time.time() + 0.5
    )
    started = time.monotonic()
    event = await first_event(trigger)
    assert 0.4 <= time.monotonic() - started < 5
    assert event["status"] == "timeout"
    assert f"Timed out waiting for s3://{s3_bucket}/few/" in event["message"]
    assert "holds 1 object(s), waiting for 5" in event["message"]
    assert event["summary"]["object_count"] == 1


async def test_timeout_while_the_marker_is_missing(aws, s3_bucket):
    trigger = S3PrefixTrigger(
        bucket=s3_bucket,
        prefix="m/",
        success_marker="_SUCCESS",
        poll_interval=0.1,
        deadline=time.time() + 0.3,
    )
    event = await first_event(trigger)
    assert event["status"] == "timeout"
    assert f"success marker s3://{s3_bucket}/m/_SUCCESS does not exist yet" in event["message"]
    assert event["summary"] is None


async def test_error_event_for_a_missing_bucket(aws):
    event = await first_event(S3PrefixTrigger(bucket="no-such-bucket-4711", prefix="in/", poll_interval=0.1))
    assert event["status"] == "error"
    assert "S3 bucket 'no-such-bucket-4711' does not exist" in event["message"]
    assert event["retryable"] is False


async def test_error_event_when_aws_cannot_be_reached(aws, monkeypatch):
    import json
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    extra = {"region_name": "us-east-1", "endpoint_url": f"http://127.0.0.1:{port}"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_NOWHERE",
        json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}),
    )
    trigger = S3PrefixTrigger(
        bucket="b",
        prefix="in/",
        aws_conn_id="aws_nowhere",
        botocore_config={"retries": {"max_attempts": 1}, "connect_timeout": 1},
    )
    event = await first_event(trigger)
    assert event["status"] == "error"
    assert event["retryable"] is True
    assert "Could not connect" in event["message"] or "Connect" in event["message"]
