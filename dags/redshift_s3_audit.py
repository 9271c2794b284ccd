"""Every week, audit the Redshift cluster and the bucket of the example loads against the guide's practices.

One task, ``RedshiftAuditOperator``: the roles attached to the cluster (trust policy and its confused-deputy
conditions, grants beyond what COPY needs with the diff to the least-privilege policy, roles no COPY used in
the history, the default role), encryption at rest (cluster, bucket) and in transit (``require_ssl``, the
Airflow connection's TLS mode, a bucket policy denying plain HTTP), the bucket's Block Public Access, and
COPYs of the query history that used access keys (never printed). A failure fails the run (its findings
stay in the XCom ``audit``); warnings are kept in the task's return value.
"""

from __future__ import annotations

import datetime

from airflow.sdk import DAG, Param

from airflow_redshift_s3 import rules
from airflow_redshift_s3.example_dag_defaults import (
    AWS_CONN_ID,
    BUCKET,
    CLUSTER,
    PREFIX,
    REDSHIFT_CONN_ID,
    default_args,
)
from airflow_redshift_s3.operators.redshift_audit import RedshiftAuditOperator

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


if __name__ == "__main__":
    dag.test()
