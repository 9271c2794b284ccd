"""The setup guide as a DAG: a COPY role for one bucket and prefix, attached to the cluster and verified.

create or adopt the IAM role (Redshift's trust policy, the least-privilege read policy) -> attach it to the
cluster and wait until in-sync -> verify the bucket, its region and the role's access -> report. Idempotent:
a second run adopts the role, finds the policies as they should be, and changes nothing.
"""

from __future__ import annotations

import datetime
import logging
import os
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_redshift_s3.operators.redshift_iam import RedshiftEnsureIamRoleOperator
from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator

CREATED_ROLE_ARN = "{{ ti.xcom_pull(task_ids='create_or_adopt_role')['role_arn'] }}"

# Defaults point at the local stack; override them with REDSHIFT_S3_<NAME> environment variables
# (read when the file is parsed, no I/O) or per run through the Params.
log = logging.getLogger(__name__)

OWNER = os.environ.get("REDSHIFT_S3_OWNER", "data-platform")
CLUSTER = os.environ.get("REDSHIFT_S3_CLUSTER", "local-cluster")
REGION = os.environ.get("REDSHIFT_S3_REGION", "us-east-1")
BUCKET = os.environ.get("REDSHIFT_S3_BUCKET", "demo-bucket")
PREFIX = os.environ.get("REDSHIFT_S3_PREFIX", "sales")
TABLE = os.environ.get("REDSHIFT_S3_TABLE", "public.sales")
ROLE_NAME = os.environ.get("REDSHIFT_S3_ROLE_NAME", "redshift-copy-role")
ROLE_ARN = os.environ.get("REDSHIFT_S3_ROLE_ARN", f"arn:aws:iam::123456789012:role/{ROLE_NAME}")
AWS_CONN_ID = os.environ.get("REDSHIFT_S3_AWS_CONN_ID", "aws_default")
REDSHIFT_CONN_ID = os.environ.get("REDSHIFT_S3_REDSHIFT_CONN_ID", "redshift_default")
# How often to poll while a role is being attached; the local stack applies a role in under a second.
WAITER_DELAY = float(os.environ.get("REDSHIFT_S3_WAITER_DELAY", "15"))

# JSON-schema patterns the trigger forms enforce before a run is created.
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
PREFIX_PATTERN = r"^(?!/)(?!s3://)[^*?\[\]\x00-\x1f]*$"
TABLE_PATTERN = r"^([A-Za-z_][A-Za-z0-9_$]{0,126}\.)?[A-Za-z_][A-Za-z0-9_$]{0,126}$"
COLUMN_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]{0,126}$"
ROLE_ARN_PATTERN = r"^(default|arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512})$"
ROLE_NAME_PATTERN = r"^[A-Za-z0-9+=,.@_-]{1,64}$"


def default_args(**extra: Any) -> dict[str, Any]:
    """Return the default_args every DAG here uses: an owner and retries for transient failures only.

    The package's permission, region, format and configuration errors are ``AirflowFailException``: they
    fail the task at once whatever ``retries`` says.
    """
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": log_failure,
    }
    args.update(extra)
    return args


def log_failure(context: Any) -> None:
    """Log what failed: the task, the run, the error and the load summary if any (never credentials)."""
    ti = context.get("ti") or context.get("task_instance")
    error = context.get("exception")
    summary = None
    if ti is not None:
        try:
            summary = ti.xcom_pull(task_ids="load")
        except Exception:  # a callback must never raise
            summary = None
    log.error(
        "Task %s of DAG %s, run %s failed: %s. Load summary: %s",
        getattr(ti, "task_id", "?"),
        getattr(ti, "dag_id", "?"),
        getattr(ti, "run_id", "?"),
        error,
        _safe_summary(summary),
    )


def _safe_summary(summary: Any) -> Any:
    if not isinstance(summary, dict):
        return summary
    keep = (
        "table",
        "mode",
        "files_found",
        "files_loaded",
        "files_skipped",
        "rows_loaded",
        "rows_deleted",
        "rows_inserted",
        "copy_query_id",
        "warnings",
    )
    return {key: summary.get(key) for key in keep}


with DAG(
    dag_id="redshift_s3_setup",
    description="Create or adopt the COPY role for one bucket and prefix, attach it, verify access.",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    default_args=default_args(retries=1),
    tags=["redshift", "s3", "iam", "setup", "example"],
    doc_md=__doc__,
    params={
        "role_name": Param(
            ROLE_NAME,
            type="string",
            pattern=ROLE_NAME_PATTERN,
            title="IAM role name",
            description="Created when missing, adopted (and its policies brought up to date) when it exists.",
        ),
        "bucket": Param(BUCKET, type="string", pattern=BUCKET_PATTERN, title="S3 bucket COPY reads"),
        "prefix": Param(
            f"{PREFIX}/",
            type="string",
            pattern=PREFIX_PATTERN,
            title="Key prefix COPY reads",
            description="The role may read only under this prefix ('' for the whole bucket).",
        ),
        "kms_key_arn": Param(
            None,
            type=["null", "string"],
            title="KMS key ARN",
            description="The bucket's SSE-KMS key, if any: adds kms:Decrypt on it.",
        ),
        "cluster_identifier": Param(CLUSTER, type="string", minLength=1, title="Redshift cluster"),
    },
) as dag:

    @task
    def create_or_adopt_role(**context: Any) -> dict[str, Any]:
        """Create the role, or adopt it; put its trust and read policies only when they differ."""
        import json

        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        from airflow_redshift_s3.policies import copy_read_policy, copy_trust_policy

        params = context["params"]
        name = params["role_name"]
        trust = copy_trust_policy()
        read = copy_read_policy(params["bucket"], params["prefix"], params["kms_key_arn"])
        iam = AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="iam").get_conn()
        changes: list[str] = []
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description="Lets Redshift COPY read one S3 prefix (airflow_redshift_s3).",
            )["Role"]
            changes.append("created the role")
        else:
            if _document(role.get("AssumeRolePolicyDocument")) != trust:
                iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
                changes.append("replaced the trust policy")
        policy_name = f"{name}-copy-read"
        try:
            current = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        except iam.exceptions.NoSuchEntityException:
            current = None
        if _document(current) != read:
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(read))
            changes.append(f"put the read policy {policy_name}")
        return {"role_arn": role["Arn"], "policy_name": policy_name, "changes": changes}

    def _document(value: Any) -> Any:
        """Return an IAM policy document as a dict (the API may return it URL-encoded JSON)."""
        import json
        from urllib.parse import unquote

        if isinstance(value, str):
            return json.loads(unquote(value))
        return value

    role = create_or_adopt_role()
    attach = RedshiftEnsureIamRoleOperator(
        task_id="attach_role",
        iam_role_arn=CREATED_ROLE_ARN,
        cluster_identifier="{{ params.cluster_identifier }}",
        wait_for_completion=True,
        waiter_delay=WAITER_DELAY,
        aws_conn_id=AWS_CONN_ID,
    )
    verify = S3VerifyBucketOperator(
        task_id="verify_access",
        bucket="{{ params.bucket }}",
        prefix="{{ params.prefix }}",
        cluster_identifier="{{ params.cluster_identifier }}",
        iam_role_arn=CREATED_ROLE_ARN,
        on_region_mismatch="set_region",
        aws_conn_id=AWS_CONN_ID,
    )

    @task
    def report(created: dict[str, Any], checked: dict[str, Any], **context: Any) -> dict[str, Any]:
        """Log what the run changed and what COPY needs to use the role."""
        import logging

        params = context["params"]
        result = {
            "role_arn": created["role_arn"],
            "cluster_identifier": params["cluster_identifier"],
            "changes": created["changes"],
            "verified": checked,
        }
        logging.getLogger(__name__).info(
            "Role %s is attached to %s and may read s3://%s/%s. Changes: %s. Use iam_role_arn=%r in "
            "S3ToRedshiftCopyOperator.",
            created["role_arn"],
            params["cluster_identifier"],
            params["bucket"],
            params["prefix"],
            "; ".join(created["changes"]) or "none",
            created["role_arn"],
        )
        return result

    role >> attach >> verify
    report(role, verify.output)


if __name__ == "__main__":
    dag.test()
