"""The setup guide as a DAG: a COPY role for one bucket and prefix, attached to Redshift and verified.

create or adopt the IAM role (Redshift's trust policy, the least-privilege read policy) -> attach it to the
provisioned cluster or the Serverless workgroup's namespace and wait until in-sync -> verify the bucket,
its region and the role's access -> report. Idempotent: a second run adopts the role, finds the policies as
they should be, and changes nothing.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_redshift_s3.example_dag_defaults import (
    AWS_CONN_ID,
    BUCKET,
    BUCKET_PATTERN,
    CLUSTER,
    PREFIX,
    PREFIX_PATTERN,
    ROLE_NAME,
    ROLE_NAME_PATTERN,
    WAITER_DELAY,
    default_args,
)
from airflow_redshift_s3.operators.redshift_iam import RedshiftEnsureIamRoleOperator
from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator

CREATED_ROLE_ARN = "{{ ti.xcom_pull(task_ids='create_or_adopt_role')['role_arn'] }}"

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
        "cluster_identifier": Param(
            CLUSTER,
            type="string",
            title="Redshift cluster",
            description="A provisioned cluster; leave empty for Redshift Serverless.",
        ),
        "workgroup_name": Param(
            "",
            type="string",
            title="Serverless workgroup",
            description="A Redshift Serverless workgroup, instead of a cluster: its namespace gets the role.",
        ),
    },
) as dag:

    @task
    def create_or_adopt_role(**context: Any) -> dict[str, Any]:
        """Create the role, or adopt it; put its trust and read policies only when they differ."""
        import json

        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        from airflow_redshift_s3.policies import copy_read_policy, copy_trust_policy

        params = context["params"]
        target = _target(params)
        name = params["role_name"]
        trust = copy_trust_policy(serverless=target.startswith("Serverless"))
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
        return {"role_arn": role["Arn"], "policy_name": policy_name, "changes": changes, "target": target}

    def _target(params: dict[str, Any]) -> str:
        """Return "cluster 'x'" or "Serverless workgroup 'y'"; refuse both or neither."""
        from airflow.sdk.exceptions import AirflowFailException

        cluster, workgroup = params["cluster_identifier"], params["workgroup_name"]
        if bool(cluster) == bool(workgroup):
            raise AirflowFailException(
                f"cluster_identifier is {cluster!r} and workgroup_name is {workgroup!r}: expected exactly "
                "one. Fix: fill 'Redshift cluster' for a provisioned cluster, or empty it and fill "
                "'Serverless workgroup'."
            )
        return f"cluster '{cluster}'" if cluster else f"Serverless workgroup '{workgroup}'"

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
        workgroup_name="{{ params.workgroup_name }}",
        wait_for_completion=True,
        waiter_delay=WAITER_DELAY,
        aws_conn_id=AWS_CONN_ID,
    )
    verify = S3VerifyBucketOperator(
        task_id="verify_access",
        bucket="{{ params.bucket }}",
        prefix="{{ params.prefix }}",
        cluster_identifier="{{ params.cluster_identifier }}",
        workgroup_name="{{ params.workgroup_name }}",
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
            "target": created["target"],
            "changes": created["changes"],
            "verified": checked,
        }
        logging.getLogger(__name__).info(
            "Role %s is attached to %s and may read s3://%s/%s. Changes: %s. Use iam_role_arn=%r in "
            "S3ToRedshiftCopyOperator.",
            created["role_arn"],
            created["target"],
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
