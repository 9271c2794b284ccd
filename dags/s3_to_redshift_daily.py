"""Load one day of files from S3 into a Redshift table partition, once a day, idempotently.

copy format from the Params -> ensure role -> verify bucket -> wait for ``<prefix>/<ds>/_SUCCESS``
(deferrable) -> COPY the day's ``*.<format>*`` files with ``replace_partition`` on ``load_date = ds`` ->
check the partition's row count against the COPY summary. A rerun or a backfill of a day replaces that
day's rows and nothing else.

**Which day a run loads: the day of its logical date (``ds``), and a scheduled run starts once that day
is over.** The schedule is a data-interval timetable (``CronDataIntervalTimetable``, midnight UTC): the
run for 2026-11-29 has the data interval 2026-11-29T00:00 to 2026-11-30T00:00 and starts at
2026-11-30T00:00 UTC. (Airflow 3's plain ``"@daily"`` would start the run for day D at D 00:00 and wait
for files that cannot exist until D is over.) A backfill of 2026-11-01 to 2026-11-10 loads those ten days.
Triggered from the form, the run's logical date is the one you pick (now by default): ``make airflow``
puts a gzip CSV day for today's date (UTC) in S3, so the form's defaults load it once
``redshift_s3_setup`` ran.

**How long it waits:** the day's ``_SUCCESS`` marker is due ``wait_hours`` (6) after the day ends. Before
that the sensor waits in the triggerer; past it (any backfill of older days) a missing marker fails the
run at once, without retries, naming the marker and the command that reruns that day alone, so a
backfill never sits on one missing day for hours.

**After the load:** the load task adds the table's Asset (``redshift://<cluster>.<region>:5439/<database>/
<schema>/<table>``) to the AssetAlias ``s3_to_redshift_daily.loaded_table`` when it changed the table;
``redshift_daily_report`` is scheduled on that alias.

**Concurrency:** ``max_active_runs=3``. Loads of one table serialise on its LOCK anyway, so more runs only
queue inside Redshift while holding worker slots. A backfill has its own limit (Airflow's default is 10):
pass ``--max-active-runs 3``. The DAG is paused when first parsed: unpause it before its first backfill,
or the backfill's runs stay queued.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, AssetAlias, CronDataIntervalTimetable, Param, task

from airflow_redshift_s3.example_dag_defaults import (
    AWS_CONN_ID,
    BUCKET,
    BUCKET_PATTERN,
    BUCKET_RULE,
    CLUSTER,
    COLUMN_PATTERN,
    COLUMN_RULE,
    DAILY_LOADED_ALIAS,
    PREFIX,
    PREFIX_PATTERN,
    PREFIX_RULE,
    REDSHIFT_CONN_ID,
    ROLE_ARN,
    ROLE_ARN_PATTERN,
    ROLE_ARN_RULE,
    TABLE,
    TABLE_PATTERN,
    TABLE_RULE,
    WAITER_DELAY,
    default_args,
)
from airflow_redshift_s3.operators.redshift_iam import RedshiftEnsureIamRoleOperator
from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator
from airflow_redshift_s3.sensors.s3_prefix import S3PrefixSensor
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

DAY_PREFIX = "{{ params.prefix.rstrip('/') }}/{{ ds }}/"
# The day's data files, e.g. part-0.csv.gz, part-0.json, part-0.parquet; the _SUCCESS marker is not one.
DAY_FILES = "*.{{ params.format }}*"
# When the day's marker is due: the end of the day (UTC) plus params.wait_hours.
DAY_DEADLINE = (
    "{{ (macros.datetime.fromisoformat(macros.ds_add(ds, 1) + 'T00:00:00+00:00')"
    " + macros.timedelta(hours=params.wait_hours)).isoformat() }}"
)

with DAG(
    dag_id="s3_to_redshift_daily",
    description="Load s3://<bucket>/<prefix>/<ds>/ into one partition of a Redshift table every day.",
    # A run per day, started once the day is over: logical date = the day loaded (see the doc above).
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,  # backfill with `airflow backfill create` when needed: each day is idempotent
    max_active_runs=3,  # see "Concurrency" above; a backfill takes --max-active-runs instead
    default_args=default_args(),
    tags=["redshift", "s3", "copy", "example"],
    doc_md=__doc__,
    params={
        "bucket": Param(
            BUCKET, type="string", pattern=BUCKET_PATTERN, title="S3 bucket", description=f"{BUCKET_RULE}."
        ),
        "prefix": Param(
            PREFIX,
            type="string",
            minLength=1,
            pattern=PREFIX_PATTERN,
            title="Key prefix",
            description="The day's files are under <prefix>/<ds>/, closed by a _SUCCESS marker; "
            f"{PREFIX_RULE}.",
        ),
        "table": Param(
            TABLE, type="string", pattern=TABLE_PATTERN, title="Target table", description=f"{TABLE_RULE}."
        ),
        "partition_column": Param(
            "load_date",
            type="string",
            pattern=COLUMN_PATTERN,
            title="Partition column",
            description=f"Filled with the run's date (ds) for every row; {COLUMN_RULE}.",
        ),
        "iam_role_arn": Param(
            ROLE_ARN,
            type="string",
            pattern=ROLE_ARN_PATTERN,
            title="COPY IAM role",
            description=f"{ROLE_ARN_RULE}, attached to the cluster (redshift_s3_setup attaches it).",
        ),
        "cluster_identifier": Param(
            CLUSTER, type="string", minLength=1, title="Redshift cluster", description="Its identifier."
        ),
        "format": Param(
            "csv",
            type="string",
            enum=["csv", "json", "parquet"],
            title="File format",
            description="csv, json ('auto': keys match the column names) or parquet. The files are named "
            "*.<format>, with a compression suffix if any (part-0.csv.gz).",
        ),
        "compression": Param(
            "gzip",
            type="string",
            enum=["none", "gzip", "bzip2", "zstd"],
            title="Compression",
            description="Of the csv or json files (parquet carries its own: choose none).",
        ),
        "header_rows": Param(1, type="integer", minimum=0, maximum=1, title="CSV header rows"),
        "wait_hours": Param(
            6,
            type="integer",
            minimum=0,
            maximum=72,
            title="Hours to wait for the marker",
            description="After the day ends. Past that, a missing _SUCCESS fails the run at once (a "
            "backfill of old days does not wait).",
        ),
        "max_errors": Param(
            0,
            type="integer",
            minimum=0,
            maximum=100000,
            title="Bad rows to skip",
            description="MAXERROR: 0 fails the load on the first bad row and lists it.",
        ),
    },
) as dag:

    @task
    def copy_format(**context: Any) -> dict[str, Any]:
        """Return the COPY format the Params describe; refuse a combination COPY would reject."""
        from airflow_redshift_s3.copy_format import FormatError, parse_format

        params = context["params"]
        spec: dict[str, Any] = {"type": params["format"]}
        if params["format"] != "parquet":
            spec["max_errors"] = params["max_errors"]
        elif params["max_errors"]:
            raise FormatError(
                f"max_errors is {params['max_errors']} with format parquet: COPY skips no bad row of a "
                "Parquet file (no MAXERROR). Fix: set 'Bad rows to skip' to 0."
            )
        if params["compression"] != "none":
            spec["compression"] = params["compression"]
        if params["format"] == "csv":
            spec["header_rows"] = params["header_rows"]
        return parse_format(spec).to_dict()  # raises FormatError (no retry) naming the fix

    input_format = copy_format()
    ensure_role = RedshiftEnsureIamRoleOperator(
        task_id="ensure_role",
        iam_role_arn="{{ params.iam_role_arn }}",
        cluster_identifier="{{ params.cluster_identifier }}",
        waiter_delay=WAITER_DELAY,
        aws_conn_id=AWS_CONN_ID,
    )
    verify_bucket = S3VerifyBucketOperator(
        task_id="verify_bucket",
        bucket="{{ params.bucket }}",
        prefix=DAY_PREFIX,
        cluster_identifier="{{ params.cluster_identifier }}",
        iam_role_arn="{{ params.iam_role_arn }}",
        on_region_mismatch="set_region",
        aws_conn_id=AWS_CONN_ID,
    )
    wait_for_files = S3PrefixSensor(
        task_id="wait_for_files",
        bucket="{{ params.bucket }}",
        prefix=DAY_PREFIX,
        success_marker="_SUCCESS",
        deadline=DAY_DEADLINE,
        deferrable=True,
        poke_interval=60,
        timeout=datetime.timedelta(days=4).total_seconds(),  # a fuse: the deadline ends the wait first
        aws_conn_id=AWS_CONN_ID,
    )
    load = S3ToRedshiftCopyOperator(
        task_id="load",
        bucket="{{ params.bucket }}",
        prefix=DAY_PREFIX,
        key_pattern=DAY_FILES,
        table="{{ params.table }}",
        iam_role_arn="{{ params.iam_role_arn }}",
        cluster_identifier="{{ params.cluster_identifier }}",
        redshift_conn_id=REDSHIFT_CONN_ID,
        aws_conn_id=AWS_CONN_ID,
        input_format=input_format,
        mode="replace_partition",
        partition_column="{{ params.partition_column }}",
        partition_value="{{ ds }}",
        # The table is a Param, known at run time: the load adds its Asset to this alias, and DAGs
        # scheduled on the alias (redshift_daily_report) run after each load that changed the table.
        outlets=[AssetAlias(DAILY_LOADED_ALIAS)],
    )

    @task
    def check_row_count(summary: dict[str, Any], **context: Any) -> dict[str, Any]:
        """Fail when the partition does not hold the rows the COPY reported."""
        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook
        from airflow.sdk.exceptions import AirflowException

        from airflow_redshift_s3.sql import parse_table_name, quote_identifier

        params, ds = context["params"], context["ds"]
        table = parse_table_name(params["table"])
        column = quote_identifier(params["partition_column"], "partition column")
        hook = RedshiftSQLHook(redshift_conn_id=REDSHIFT_CONN_ID, aws_conn_id=AWS_CONN_ID)
        # The value is bound, never formatted into the statement.
        row = hook.get_first(f"SELECT COUNT(*) FROM {table.sql} WHERE {column} = %s", parameters=(ds,))
        found = int(row[0]) if row else 0
        if summary.get("files_loaded", 0) == 0 and summary.get("files_skipped", 0) > 0:
            # The same files were loaded before: COPY did nothing, the partition holds that load.
            expected = None
        else:
            expected = int(summary.get("rows_inserted") or summary.get("rows_loaded") or 0)
        if expected is not None and found != expected:
            raise AirflowException(
                f"Partition {params['partition_column']} = {ds} of {table} holds {found} row(s); the COPY "
                f"reported {expected}. Fix: look for a concurrent writer of that partition, then rerun the "
                "day."
            )
        return {"table": str(table), "partition": ds, "rows": found, "expected": expected}

    counted = check_row_count(load.output)
    input_format >> ensure_role >> verify_bucket >> wait_for_files >> load


if __name__ == "__main__":
    dag.test()
