"""After each daily load, report the loaded table's last partitions: data-aware scheduling on the load.

``s3_to_redshift_daily``'s load task adds the table it loaded, as an Asset
(``redshift://<cluster>.<region>:5439/<database>/<schema>/<table>``), to the AssetAlias
``s3_to_redshift_daily.loaded_table`` whenever the load changed the table (not when every file was already
loaded, not when the load failed). This DAG is scheduled on that alias: it runs after such a load, reads the
table, the partition column and the day from the triggering events, and logs the row count of the table's
last seven partitions. Several loads finished before it starts make one run that reports each table once.

Why an alias rather than the table's Asset: the daily DAG's table is a Param, known when a run starts, so
the Asset can only be named at run time. A DAG that loads one fixed table can give that table's
``redshift_table_asset(...)`` in ``outlets`` instead, and downstream DAGs schedule on it.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, AssetAlias, task

from airflow_redshift_s3.example_dag_defaults import (
    AWS_CONN_ID,
    DAILY_LOADED_ALIAS,
    REDSHIFT_CONN_ID,
    default_args,
)

with DAG(
    dag_id="redshift_daily_report",
    description="After each daily load: the row count of the loaded table's last seven partitions.",
    schedule=[AssetAlias(DAILY_LOADED_ALIAS)],
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,  # it runs only after a load of the (paused) daily DAG
    default_args=default_args(retries=2),
    doc_md=__doc__,
    tags=["redshift", "s3", "example"],
) as dag:

    @task
    def report(**context: Any) -> list[dict[str, Any]]:
        """Log and return, per loaded table, its last seven partitions and their row counts."""
        import logging

        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

        from airflow_redshift_s3.sql import parse_table_name, quote_identifier

        log = logging.getLogger("airflow.task")
        loads: dict[tuple[str, str], dict[str, Any]] = {}
        for events in context["triggering_asset_events"].values():
            for event in events:
                extra = event.extra or {}
                if extra.get("table") and extra.get("partition_column"):
                    loads[(extra["table"], extra["partition_column"])] = extra
        hook = RedshiftSQLHook(redshift_conn_id=REDSHIFT_CONN_ID, aws_conn_id=AWS_CONN_ID)
        reports = []
        for (name, partition_column), extra in sorted(loads.items()):
            table = parse_table_name(name)
            column = quote_identifier(partition_column, "partition column")
            rows = hook.get_records(
                f"SELECT {column}::varchar, COUNT(*) FROM {table.sql} GROUP BY 1 ORDER BY 1 DESC LIMIT 7"
            )
            partitions = {str(value): int(count) for value, count in rows}
            log.info("%s after loading %s=%s: %s", table, partition_column, extra.get("partition"),
                         ", ".join(f"{k}: {v} row(s)" for k, v in partitions.items()))  # fmt: skip
            reports.append({"table": str(table), "loaded": extra.get("partition"), "partitions": partitions})
        return reports

    report()
