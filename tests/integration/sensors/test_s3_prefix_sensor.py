"""S3PrefixSensor against the local stack, in poke and deferrable modes."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, TaskDeferred

from airflow_redshift_s3.exceptions import ConfigCheckError, RedshiftS3Error, ResourceNotFoundError
from airflow_redshift_s3.sensors.s3_prefix import S3PrefixSensor
from airflow_redshift_s3.triggers.s3_prefix import S3PrefixTrigger

pytestmark = pytest.mark.integration


def sensor(**kwargs) -> S3PrefixSensor:
    kwargs.setdefault("poke_interval", 0.1)
    kwargs.setdefault("timeout", 20)
    return S3PrefixSensor(task_id="wait_for_data", **kwargs)


def later(delay: float, function, *args) -> threading.Timer:
    timer = threading.Timer(delay, function, args)
    timer.start()
    return timer


def test_25000_objects_listed_page_by_page_with_a_bounded_xcom(aws, s3_bucket, seed_objects, api_calls):
    keys = [f"big/part-{n:05d}.csv" for n in range(25_000)]
    seed_objects(s3_bucket, [*keys, "big_old.csv", "bigger/x.csv"], body=b"12345")
    op = sensor(bucket=s3_bucket, prefix="big/", min_objects=25_000)
    api_calls.watch(op.hook.conn)
    result = op.execute({})
    assert api_calls["ListObjectsV2"] == 25  # 1,000 keys a call
    assert result["object_count"] == 25_000
    assert result["total_bytes"] == 125_000
    assert (result["first_key"], result["last_key"]) == (keys[0], keys[-1])
    assert len(result["fingerprint"]) == 64
    assert result["success_marker"] is None
    assert len(json.dumps(result)) < 600  # small and bounded: never the key list


def test_waits_for_min_objects(aws, s3_bucket, put_objects):
    put_objects(s3_bucket, ["in/a.csv"])
    op = sensor(bucket=s3_bucket, prefix="in/", min_objects=3)
    assert not op.poke({})
    timer = later(0.3, put_objects, s3_bucket, ["in/b.csv", "in/c.csv"])
    assert op.execute({})["object_count"] == 3
    timer.join()


def test_success_marker_is_checked_first_and_not_counted(aws, s3_bucket, put_objects, api_calls):
    put_objects(s3_bucket, ["out/part-0.csv", "out/part-1.csv"])
    op = sensor(bucket=s3_bucket, prefix="out", success_marker="_SUCCESS")
    api_calls.watch(op.hook.conn)
    assert not op.poke({})
    assert (api_calls["HeadObject"], api_calls["ListObjectsV2"]) == (1, 0)  # no listing before the marker
    timer = later(0.3, put_objects, s3_bucket, ["out/_SUCCESS"], b"")
    result = op.execute({})
    timer.join()
    assert result["object_count"] == 2
    assert result["success_marker"] == "out/_SUCCESS"
    assert result["last_key"] == "out/part-1.csv"


def test_key_pattern_selects_the_objects_that_count(aws, s3_bucket, put_objects):
    put_objects(s3_bucket, ["d/a.csv", "d/b.json", "d/sub/c.csv", "d/_SUCCESS"])
    op = sensor(bucket=s3_bucket, prefix="d/", key_pattern="*.csv", min_objects=2)
    result = op.execute({})
    assert (result["object_count"], result["first_key"], result["last_key"]) == (2, "d/a.csv", "d/sub/c.csv")
    assert not sensor(bucket=s3_bucket, prefix="d/", key_pattern="*.parquet").poke({})


def test_quiet_period_waits_until_nothing_changed(aws, s3_bucket, put_objects):
    put_objects(s3_bucket, ["q/a.csv"])
    op = sensor(bucket=s3_bucket, prefix="q/", quiet_period=2.0)
    started = time.monotonic()
    assert not op.poke({})  # just written
    result = op.execute({})
    # LastModified has one-second precision, so the wait is between 1 and 2 seconds
    assert time.monotonic() - started >= 0.9
    assert result["object_count"] == 1


def test_a_deletion_during_the_quiet_period_restarts_it(aws, s3_bucket, put_objects):
    put_objects(s3_bucket, ["r/a.csv", "r/b.csv"])
    time.sleep(1.1)
    op = sensor(bucket=s3_bucket, prefix="r/", quiet_period=1.0)
    assert op.poke({})  # the objects are older than the quiet period
    aws.aws_client("s3").delete_object(Bucket=s3_bucket, Key="r/b.csv")
    assert not op.poke({})  # the listing changed: the newest object is old, but the listing is not quiet
    time.sleep(1.05)
    assert op.poke({}).xcom_value["object_count"] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prefix": "/data/"}, "starts with '/'"),
        ({"prefix": "s3://b/data/"}, "contains an s3:// URI"),
        ({"prefix": "data/*.csv"}, "wildcard '*'"),
        ({"prefix": "data/", "bucket": "s3://b"}, "not a bare bucket name"),
        ({"prefix": "data/", "min_objects": -1}, "min_objects is -1"),
        ({"prefix": "data/", "success_marker": "/_SUCCESS"}, "success_marker is '/_SUCCESS'"),
    ],
)
@pytest.mark.parametrize("deferrable", [False, True])
def test_malformed_arguments_fail_at_once(aws, s3_bucket, kwargs, message, deferrable, api_calls):
    op = sensor(**{"bucket": s3_bucket, **kwargs}, deferrable=deferrable)
    api_calls.watch(op.hook.conn)
    with pytest.raises(ConfigCheckError, match=message) as error:
        op.execute({})
    assert isinstance(error.value, AirflowFailException)
    assert sum(api_calls.counts.values()) == 0


def test_a_missing_bucket_fails_at_once(aws):
    with pytest.raises(ResourceNotFoundError, match="does not exist"):
        sensor(bucket="no-such-bucket-4711", prefix="in/").execute({})


def test_poke_mode_times_out(aws, s3_bucket):
    with pytest.raises(AirflowSensorTimeout):
        sensor(bucket=s3_bucket, prefix="nothing/", timeout=0.3).execute({})


async def test_deferrable_defers_then_completes_with_the_trigger(aws, s3_bucket, put_objects):
    op = sensor(
        bucket=s3_bucket,
        prefix="late/",
        success_marker="_SUCCESS",
        key_pattern="*.csv",
        quiet_period=0.5,
        deferrable=True,
    )
    with pytest.raises(TaskDeferred) as deferred:
        await asyncio.to_thread(op.execute, {})
    trigger = deferred.value.trigger
    assert isinstance(trigger, S3PrefixTrigger)
    kwargs = trigger.serialize()[1]
    assert time.time() + 15 < kwargs.pop("deadline") <= time.time() + 20
    assert kwargs == {
        "bucket": s3_bucket,
        "prefix": "late/",
        "min_objects": 1,
        "success_marker": "_SUCCESS",
        "key_pattern": "*.csv",
        "quiet_period": 0.5,
        "poll_interval": 0.1,
        "aws_conn_id": "aws_default",
        "region_name": None,
        "verify": None,
        "botocore_config": None,
    }
    assert deferred.value.method_name == "execute_complete"
    runner = trigger.run()
    task = asyncio.ensure_future(runner.__anext__())
    await asyncio.sleep(0.3)
    assert not task.done()
    await asyncio.to_thread(put_objects, s3_bucket, ["late/a.csv", "late/b.txt", "late/_SUCCESS"])
    event = await asyncio.wait_for(task, timeout=15)
    await runner.aclose()
    assert event.payload["status"] == "success"
    result = op.execute_complete({}, event.payload)
    assert (result["object_count"], result["first_key"], result["success_marker"]) == (
        1,
        "late/a.csv",
        "late/_SUCCESS",
    )


async def test_deferrable_returns_at_once_when_the_data_is_there(aws, s3_bucket, put_objects):
    put_objects(s3_bucket, ["now/a.csv"])
    result = await asyncio.to_thread(sensor(bucket=s3_bucket, prefix="now/", deferrable=True).execute, {})
    assert result["object_count"] == 1


def test_execute_complete_maps_events(s3_bucket):
    op = sensor(bucket=s3_bucket, prefix="x/", deferrable=True)
    with pytest.raises(AirflowSensorTimeout, match="waited"):
        op.execute_complete(
            {}, {"status": "timeout", "message": "waited", "summary": None, "retryable": False}
        )
    with pytest.raises(ConfigCheckError, match="no bucket"):
        op.execute_complete(
            {}, {"status": "error", "message": "no bucket", "summary": None, "retryable": False}
        )
    with pytest.raises(RedshiftS3Error, match="network") as error:
        op.execute_complete({}, {"status": "error", "message": "network", "summary": None, "retryable": True})
    assert not isinstance(error.value, AirflowFailException)
    with pytest.raises(RedshiftS3Error, match="without a trigger event"):
        op.execute_complete({}, None)


class _Run:
    dag_id, run_id = "s3_to_redshift_daily", "backfill__2026-11-05T00:00:00+00:00"


def test_a_past_deadline_fails_at_once_naming_the_marker_and_the_rerun(
    aws, s3_bucket, put_objects, api_calls
):
    """A backfill of a day whose marker never came: one check, then a no-retry error with the "
    "rerun command."""
    import datetime as dt

    from airflow_redshift_s3.exceptions import DataOverdueError

    put_objects(s3_bucket, ["old/2026-11-05/part-0.csv"])
    op = sensor(bucket=s3_bucket, prefix="old/2026-11-05/", success_marker="_SUCCESS", timeout=3600)
    op.deadline = "2026-11-06T06:00:00"  # naive: UTC
    api_calls.watch(op.hook.conn)
    logical_date = dt.datetime(2026, 11, 5, tzinfo=dt.timezone.utc)
    started = time.monotonic()
    with pytest.raises(DataOverdueError) as error:
        op.execute({"dag_run": _Run(), "logical_date": logical_date})
    assert time.monotonic() - started < 5  # not the hour of its timeout
    assert isinstance(error.value, AirflowFailException)  # no retry
    assert api_calls["HeadObject"] == 1
    message = str(error.value)
    assert (
        f"s3://{s3_bucket}/old/2026-11-05/_SUCCESS is missing and was due by 2026-11-06T06:00:00+00:00"
        in message
    )
    assert message.startswith("Fix: write the data and")
    assert " d " in message.split("was due by", 1)[1].split(")")[0]  # "(24 d 18 h ago)": days late
    assert "of run backfill__2026-11-05T00:00:00+00:00" in message
    assert (
        "airflow tasks clear s3_to_redshift_daily -t wait_for_data -d "
        "-s 2026-11-05T00:00:00+00:00 -e 2026-11-05T00:00:00+00:00 -y" in message
    )
    # Once the marker is there, the same past deadline is no obstacle: the data is loaded late, not lost.
    put_objects(s3_bucket, ["old/2026-11-05/_SUCCESS"])
    assert op.execute({})["object_count"] == 1


def test_a_future_deadline_bounds_the_wait(aws, s3_bucket):
    import datetime as dt

    from airflow_redshift_s3.exceptions import DataOverdueError

    due = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1.5)
    op = sensor(bucket=s3_bucket, prefix="soon/", success_marker="_SUCCESS", timeout=3600, deadline=due)
    started = time.monotonic()
    with pytest.raises(DataOverdueError, match=r"_SUCCESS is missing and was due by"):
        op.execute({})
    assert 1.0 < time.monotonic() - started < 10


async def test_deferred_wait_ends_at_the_deadline(aws, s3_bucket):
    import datetime as dt

    from airflow_redshift_s3.exceptions import DataOverdueError

    due = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    op = sensor(bucket=s3_bucket, prefix="late2/", success_marker="_SUCCESS", deferrable=True, timeout=3600)
    op.deadline = due.isoformat()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    trigger = deferred.value.trigger
    assert trigger.deadline <= due.timestamp() + 1  # the trigger waits until the deadline, not an hour
    event = await asyncio.wait_for(trigger.run().__anext__(), 20)
    assert event.payload["status"] == "timeout"
    with pytest.raises(DataOverdueError, match="late2/_SUCCESS is missing"):
        op.execute_complete({}, event.payload)


@pytest.mark.parametrize("deadline", ["tomorrow", "2026-13-01", 17])
def test_a_malformed_deadline_fails_at_once(aws, s3_bucket, deadline):
    with pytest.raises(ConfigCheckError, match=r"deadline is .*expected a datetime or an ISO 8601 string"):
        sensor(bucket=s3_bucket, prefix="x/", deadline=deadline).execute({})
