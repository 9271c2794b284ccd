"""Every operator and sensor takes the AWS arguments the same way, from its arguments or from default_args."""

from __future__ import annotations

import pytest
from airflow.sdk import DAG

from airflow_redshift_s3.operators.redshift_iam import RedshiftEnsureIamRoleOperator
from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator
from airflow_redshift_s3.sensors.redshift_iam import RedshiftIamRoleSensor
from airflow_redshift_s3.sensors.s3_prefix import S3PrefixSensor
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

ROLE = "arn:aws:iam::123456789012:role/copy"
CLASSES = {
    RedshiftEnsureIamRoleOperator: {"iam_role_arn": ROLE, "cluster_identifier": "c"},
    S3VerifyBucketOperator: {"bucket": "data", "prefix": "in/", "cluster_identifier": "c"},
    RedshiftIamRoleSensor: {"iam_role_arn": ROLE, "cluster_identifier": "c"},
    S3PrefixSensor: {"bucket": "data", "prefix": "in/"},
    S3ToRedshiftCopyOperator: {"bucket": "data", "prefix": "in/", "table": "t", "iam_role_arn": ROLE},
}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_aws_arguments_come_from_default_args_and_reach_the_hooks(cls):
    default_args = {"aws_conn_id": "my_aws", "region_name": "eu-west-1", "verify": False,
                    "botocore_config": {"retries": {"max_attempts": 2}}}  # fmt: skip
    with DAG("aws_args", schedule=None, default_args=default_args):
        task = cls(task_id="t", **CLASSES[cls])
    assert (task.aws_conn_id, task.region_name, task.verify) == ("my_aws", "eu-west-1", False)
    assert task._aws_kwargs == {
        "aws_conn_id": "my_aws",
        "region_name": "eu-west-1",
        "verify": False,
        "config": {"retries": {"max_attempts": 2}},
    }
    assert {"aws_conn_id", "region_name", "verify"} <= set(cls.template_fields)
    explicit = cls(task_id="u", aws_conn_id=None, **CLASSES[cls])
    assert (explicit.aws_conn_id, explicit.region_name) == (None, None)
