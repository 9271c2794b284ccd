"""``s3_to_redshift_daily`` end to end: two days load into their partitions; rerunning a day is idempotent."""

from __future__ import annotations

import datetime

import pytest

pytestmark = pytest.mark.integration

DAYS = {
    "2026-11-26": b"id,name\n1,a\n2,b\n",
    "2026-11-27": b"id,name\n3,c\n4,d\n5,e\n",
}


def test_two_days_and_a_rerun(
    load_dag, local_redshift_env, s3_bucket, redshift_schema, copy_role_arn, query, task_states
):
    s3 = local_redshift_env.aws_client("s3")
    for day, body in DAYS.items():
        s3.put_object(Bucket=s3_bucket, Key=f"sales/{day}/part-0.csv", Body=body)
        s3.put_object(Bucket=s3_bucket, Key=f"sales/{day}/_SUCCESS", Body=b"")
    table = f"{redshift_schema}.sales"
    query(f"create table {table} (id int, name varchar(5), load_date date)")
    dag = load_dag("s3_to_redshift_daily")
    conf = {
        "bucket": s3_bucket,
        "prefix": "sales/",
        "table": table,
        "iam_role_arn": copy_role_arn,
        "compression": "none",
    }

    def run(day: str) -> dict[str, str]:
        logical_date = datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.timezone.utc)
        dag_run = dag.test(logical_date=logical_date, run_conf=conf)
        states = task_states(dag_run)
        assert str(dag_run.state) == "success", states
        return states

    def rows():
        return query(f"select id, name, load_date::text from {table} order by id")

    run("2026-11-26")
    run("2026-11-27")
    expected = [
        (1, "a", "2026-11-26"),
        (2, "b", "2026-11-26"),
        (3, "c", "2026-11-27"),
        (4, "d", "2026-11-27"),
        (5, "e", "2026-11-27"),
    ]
    assert rows() == expected
    # New files for the 26th: the rerun replaces that partition only.
    s3.put_object(Bucket=s3_bucket, Key="sales/2026-11-26/part-0.csv", Body=b"id,name\n1,a\n2,b\n6,f\n")
    run("2026-11-26")
    assert rows() == [*expected, (6, "f", "2026-11-26")]
    # Same files again: nothing changes.
    run("2026-11-26")
    assert rows() == [*expected, (6, "f", "2026-11-26")]


def test_row_count_check_fails_when_the_partition_does_not_hold_what_copy_reported(
    load_dag, local_redshift_env, redshift_schema, query
):
    from airflow.sdk.exceptions import AirflowException

    table = f"{redshift_schema}.counted"
    query(f"create table {table} (id int, load_date date)")
    query(f"insert into {table} values (1, '2026-11-27'), (2, '2026-11-27'), (3, '2026-11-26')")
    dag = load_dag("s3_to_redshift_daily")
    check = dag.task_dict["check_row_count"].python_callable
    params = {"table": table, "partition_column": "load_date"}
    # The partition holds the 2 rows the COPY reported.
    assert check({"rows_inserted": 2, "files_loaded": 1}, params=params, ds="2026-11-27")["rows"] == 2
    # A concurrent writer added a row: the check names the partition, both counts and the fix.
    query(f"insert into {table} values (4, '2026-11-27')")
    with pytest.raises(
        AirflowException, match=r"load_date = 2026-11-27 .* holds 3 row\(s\); the COPY reported 2"
    ):
        check({"rows_inserted": 2, "files_loaded": 1}, params=params, ds="2026-11-27")
    # Nothing loaded because the same files were loaded before: no count to compare with.
    assert check({"files_loaded": 0, "files_skipped": 1}, params=params, ds="2026-11-27")["expected"] is None


def test_a_scheduled_run_loads_the_day_that_has_ended(load_dag):
    """The run for day D has logical date (ds) D and starts at D+1 00:00 UTC, once D's files are complete."""
    from airflow.sdk import timezone
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import DataInterval, TimeRestriction

    dag = load_dag("s3_to_redshift_daily")
    timetable = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable  # what the scheduler uses

    day = timezone.datetime(2026, 11, 29)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(day - datetime.timedelta(days=1), day),
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True),
    )
    assert info.logical_date == day
    assert info.run_after == timezone.datetime(2026, 11, 30)
    # Triggered by hand: the logical date picked in the form is the day loaded.
    assert "{{ ds }}" in dag.task_dict["load"].partition_value


def test_a_past_day_without_its_marker_fails_at_once_and_says_how_to_rerun_it(
    load_dag, local_redshift_env, s3_bucket, redshift_schema, copy_role_arn, query, task_states
):
    """A backfill day whose _SUCCESS never came: the sensor checks once and fails, the load does not run."""
    import time

    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="sales/2026-11-20/part-0.csv", Body=b"id,name\n1,a\n")
    table = f"{redshift_schema}.sales_overdue"
    query(f"create table {table} (id int, name varchar(5), load_date date)")
    dag = load_dag("s3_to_redshift_daily")
    conf = {
        "bucket": s3_bucket,
        "prefix": "sales/",
        "table": table,
        "iam_role_arn": copy_role_arn,
        "compression": "none",
        "wait_hours": 6,
    }
    started = time.monotonic()
    dag_run = dag.test(
        logical_date=datetime.datetime(2026, 11, 20, tzinfo=datetime.timezone.utc), run_conf=conf
    )
    elapsed = time.monotonic() - started
    states = task_states(dag_run)
    assert str(dag_run.state) == "failed", states
    assert states["wait_for_files"] == "failed"
    assert states["load"] == "upstream_failed"
    assert elapsed < 120  # one check, not the sensor's 4-day fuse (the deferral would never end in dag.test)
    assert query(f"select count(*) from {table}") == [(0,)]
    # The deadline it applied: the day's end plus wait_hours.
    from airflow.sdk.execution_time import macros

    sensor = dag.task_dict["wait_for_files"]
    context = {"ds": "2026-11-20", "params": {"wait_hours": 6}, "macros": macros}
    assert sensor.render_template(sensor.deadline, context) == "2026-11-21T06:00:00+00:00"
