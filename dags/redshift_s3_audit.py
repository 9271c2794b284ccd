"""Every week, audit the Redshift cluster and the bucket of the example loads against the guide's practices.

One task, ``RedshiftAuditOperator``: the roles attached to the cluster (trust policy and its confused-deputy
conditions, grants beyond what COPY needs with the diff to the least-privilege policy, roles no COPY used in
the history, the default role), encryption at rest (cluster, bucket) and in transit (``require_ssl``, the
Airflow connection's TLS mode, a bucket policy denying plain HTTP), the bucket's Block Public Access, and
COPYs of the query history that used access keys (never printed). A failure fails the run (its findings
stay in the XCom ``audit``); warnings are kept in the task's return value.

Beside it, ``usage_report`` (independent, so the audit's outcome alone decides the run's) attaches the week's
usage to the run: the figures of ``airflow-redshift-s3 report`` as its return value (COPYs, failures by
category, files, rows, bytes, seconds, cross-region bytes and their estimated transfer cost, Serverless
RPU-seconds or why they are unavailable), and the report's HTML page with its charts written next to the
task logs, under ``<base_log_folder>/redshift_s3_usage/``, its path logged and returned.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_redshift_s3 import rules
from airflow_redshift_s3.example_dag_defaults import (
    AWS_CONN_ID,
    BUCKET,
    CLUSTER,
    PREFIX,
    REDSHIFT_CONN_ID,
    TABLE,
    default_args,
)
from airflow_redshift_s3.operators.redshift_audit import RedshiftAuditOperator

# the example loads' ledger: the operator's default, s3_load_ledger in the target's schema
LEDGER = f"{TABLE.rpartition('.')[0] or 'public'}.s3_load_ledger"


@task(task_id="usage_report")
def usage_report(days: int, **context: Any) -> dict[str, Any]:
    """Return the usage report's figures of the last ``days`` days and write its HTML page by the logs."""
    import logging
    import re
    from pathlib import Path

    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook
    from airflow.sdk import conf

    from airflow_redshift_s3.usage_costs import read_report
    from airflow_redshift_s3.usage_html import write_html

    hook = RedshiftSQLHook(redshift_conn_id=REDSHIFT_CONN_ID)
    hook.log_sql = False
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    price = float(context["params"]["transfer_price_per_gb"])
    report = read_report(lambda sql: hook.get_records(sql) or [], LEDGER, days, now, price)
    log = logging.getLogger(__name__)
    for problem in report.problems:
        log.warning("not read: %s", problem)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(context["run_id"]))
    folder = Path(conf.get("logging", "base_log_folder")) / "redshift_s3_usage"
    path = write_html(report, folder / f"{name}.html", title=f"Loads of the {days} days to {now:%Y-%m-%d}")
    log.info("The usage report's HTML page: %s", path)
    return {**report.summary(), "html": str(path)}


with DAG(
    dag_id="redshift_s3_audit",
    description="Weekly: the cluster's roles, encryption, transport and key-based loads, checked.",
    schedule="@weekly",
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=1),
    doc_md=__doc__,
    tags=["redshift", "s3", "iam", "audit", "example"],
    params={
        "cluster_identifier": Param(
            CLUSTER, type="string", minLength=1, title="Redshift cluster", description="The cluster to audit."
        ),
        "source": Param(
            f"s3://{BUCKET}/{PREFIX}/",
            type="string",
            pattern=rules.form_pattern(f"s3://{rules.BUCKET_NAME}(/[^\\x00-\\x1f]*)?"),
            title="What the loads read",
            description="s3://bucket/prefix: the least-privilege policy the roles are compared with.",
        ),
        "transfer_price_per_gb": Param(
            0.02,
            type="number",
            minimum=0,
            title="Data-transfer price per GB",
            description="For the usage report's estimate of what the cross-region bytes cost.",
        ),
    },
) as dag:
    RedshiftAuditOperator(
        task_id="audit",
        cluster_identifier="{{ params.cluster_identifier }}",
        sources=["{{ params.source }}"],
        redshift_conn_id=REDSHIFT_CONN_ID,
        days=7,  # Redshift keeps about seven days of query history
        aws_conn_id=AWS_CONN_ID,
    )
    usage_report(days=7)


if __name__ == "__main__":
    dag.test()
