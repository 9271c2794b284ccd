"""The setup guide as a DAG: a COPY role for one bucket and prefix, attached to Redshift and verified.

create or adopt the IAM role (Redshift's trust policy, the least-privilege read policy) -> attach it to the
provisioned cluster or the Serverless workgroup's namespace and wait until in-sync -> verify the bucket,
its region and the role's access -> report. The form's "Redshift type" chooses the target: a provisioned
cluster (the "Redshift cluster" field) or a Serverless workgroup (the "Serverless workgroup" field); the
other field is not used. Idempotent: a second run adopts the role, finds the policies as
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
    BUCKET_RULE,
    CLUSTER,
    PREFIX,
    PREFIX_PATTERN,
    PREFIX_RULE,
    ROLE_NAME,
    ROLE_NAME_PATTERN,
    WAITER_DELAY,
    default_args,
    refuse_params,
)
from airflow_redshift_s3.operators.redshift_iam import RedshiftEnsureIamRoleOperator
from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator

CREATED_ROLE_ARN = "{{ ti.xcom_pull(task_ids='create_or_adopt_role')['role_arn'] }}"
# Only the name of the chosen Redshift type reaches the operators; the other field is not used.
TARGET_CLUSTER = "{{ params.cluster_identifier if params.redshift_type == 'cluster' else '' }}"
TARGET_WORKGROUP = "{{ params.workgroup_name if params.redshift_type == 'serverless' else '' }}"

with DAG(
    dag_id="redshift_s3_setup",
    description="Create or adopt the COPY role for one bucket and prefix, attach it, verify access.",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    # Never runs by itself (no schedule): unpaused, the first trigger from the form runs at once.
    is_paused_upon_creation=False,
    default_args=default_args(retries=1),
    tags=["redshift", "s3", "iam", "setup", "example"],
    doc_md=__doc__,
    params={
        "role_name": Param(
            ROLE_NAME,
            type="string",
            pattern=ROLE_NAME_PATTERN,
            title="IAM role name",
            description="Created when missing, adopted (and its policies brought up to date) when it exists: "
            "1-64 letters, digits and +=,.@_-",
        ),
        "bucket": Param(
            BUCKET,
            type="string",
            pattern=BUCKET_PATTERN,
            title="S3 bucket COPY reads",
            description=f"{BUCKET_RULE}.",
        ),
        "prefix": Param(
            f"{PREFIX}/",
            type=["null", "string"],
            pattern=PREFIX_PATTERN,
            title="Key prefix COPY reads",
            description=f"The role may read only under this prefix (empty: the whole bucket); {PREFIX_RULE}.",
        ),
        "kms_key_arn": Param(
            None,
            type=["null", "string"],
            title="KMS key ARN",
            description="The bucket's SSE-KMS key, if any: adds kms:Decrypt on it. Empty for none.",
        ),
        "redshift_type": Param(
            "cluster",
            type="string",
            enum=["cluster", "serverless"],
            values_display={
                "cluster": "Provisioned cluster (fill 'Redshift cluster')",
                "serverless": "Redshift Serverless (fill 'Serverless workgroup')",
            },
            title="Redshift type",
            description="Which Redshift gets the role; only the matching field below is used.",
        ),
        "cluster_identifier": Param(
            CLUSTER,
            type=["null", "string"],
            title="Redshift cluster",
            description="The provisioned cluster's identifier (Redshift type: provisioned cluster).",
        ),
        "workgroup_name": Param(
            None,
            type=["null", "string"],
            title="Serverless workgroup",
            description="The workgroup's name (Redshift type: Redshift Serverless); its namespace gets "
            "the role.",
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
        read = copy_read_policy(params["bucket"], params["prefix"] or "", params["kms_key_arn"] or None)
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
        """Return "cluster 'x'" or "Serverless workgroup 'y'"; refuse an empty name for the chosen type."""
        if params["redshift_type"] == "cluster":
            cluster = params["cluster_identifier"]
            refuse_params(
                []
                if cluster
                else [
                    (
                        "fill 'Redshift cluster', or set 'Redshift type' to Redshift Serverless and fill "
                        "'Serverless workgroup'",
                        "Redshift type is cluster but cluster_identifier is empty",
                    )
                ]
            )
            return f"cluster '{cluster}'"
        workgroup = params["workgroup_name"]
        refuse_params(
            []
            if workgroup
            else [
                (
                    "fill 'Serverless workgroup', or set 'Redshift type' to Provisioned cluster",
                    "Redshift type is serverless but workgroup_name is empty",
                )
            ]
        )
        return f"Serverless workgroup '{workgroup}'"

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
        cluster_identifier=TARGET_CLUSTER,
        workgroup_name=TARGET_WORKGROUP,
        wait_for_completion=True,
        waiter_delay=WAITER_DELAY,
        aws_conn_id=AWS_CONN_ID,
    )
    verify = S3VerifyBucketOperator(
        task_id="verify_access",
        bucket="{{ params.bucket }}",
        prefix="{{ params.prefix or '' }}",
        cluster_identifier=TARGET_CLUSTER,
        workgroup_name=TARGET_WORKGROUP,
        iam_role_arn=CREATED_ROLE_ARN,
        on_region_mismatch="set_region",
        aws_conn_id=AWS_CONN_ID,
    )

    @task
    def report(created: dict[str, Any], checked: dict[str, Any], **context: Any) -> dict[str, Any]:
        """Log what the run changed, what COPY needs to use the role, and the manifests' lifecycle rule."""
        import json
        import logging

        from airflow_redshift_s3.policies import manifest_lifecycle

        params = context["params"]
        result = {
            "role_arn": created["role_arn"],
            "target": created["target"],
            "changes": created["changes"],
            "verified": checked,
            "manifest_lifecycle": manifest_lifecycle(),
        }
        logging.getLogger(__name__).info(
            "Role %s is attached to %s and may read s3://%s/%s. Changes: %s. Use iam_role_arn=%r in "
            "S3ToRedshiftCopyOperator.",
            created["role_arn"],
            created["target"],
            params["bucket"],
            params["prefix"] or "",
            "; ".join(created["changes"]) or "none",
            created["role_arn"],
        )
        logging.getLogger(__name__).info(
            "The COPY operator deletes its manifests after each load and keeps those of failed "
            "loads; to expire "
            "them, merge this rule into the lifecycle rules of bucket %s: %s",
            params["bucket"],
            json.dumps(result["manifest_lifecycle"]),
        )
        return result

    role >> attach >> verify
    report(role, verify.output)


if __name__ == "__main__":
    dag.test()
