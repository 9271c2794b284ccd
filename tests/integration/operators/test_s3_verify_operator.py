"""S3VerifyBucketOperator against the local stack."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_redshift_s3.exceptions import (
    ConfigCheckError,
    PermissionCheckError,
    RegionCheckError,
    ResourceNotFoundError,
)
from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook
from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator

pytestmark = pytest.mark.integration


def verify(**kwargs) -> S3VerifyBucketOperator:
    kwargs.setdefault("cluster_identifier", "local-cluster")
    return S3VerifyBucketOperator(task_id="verify_bucket", **kwargs)


@pytest.fixture
def attached(aws, cluster, apply_delay):
    """Return a function attaching a role to the fresh cluster, in-sync at once."""

    def attach(role: str) -> str:
        apply_delay(0)
        RedshiftIamRoleHook(cluster_identifier=cluster).attach_role(role)
        return role

    return attach


def test_a_good_bucket_returns_what_copy_needs(aws, s3_bucket, copy_role_arn, put_objects):
    put_objects(s3_bucket, ["in/a.csv", "in/b.csv"])
    result = verify(bucket=s3_bucket, prefix="in/", iam_role_arn=copy_role_arn, require_objects=True).execute(
        {}
    )
    assert result == {
        "bucket": s3_bucket,
        "prefix": "in/",
        "bucket_region": "us-east-1",
        "redshift_region": "us-east-1",
        "region_needed": False,
        "copy_region": None,
        "encryption": {"type": "none", "kms_key_id": None, "bucket_key_enabled": False},
        "iam_role_arn": copy_role_arn,
        "redshift": {"kind": "cluster", "name": "local-cluster", "workgroup": None},
        "role_checked": True,  # what lets a COPY downstream reuse these checks
        "object_count": 2,
        "total_bytes": 8,
        "warnings": [],
    }
    assert json.loads(json.dumps(result)) == result


def test_region_mismatch_with_set_region_is_a_warning_naming_the_cost(aws, eu_bucket, copy_role_arn):
    result = verify(bucket=eu_bucket, prefix="in/", iam_role_arn=copy_role_arn).execute({})
    assert (result["bucket_region"], result["redshift_region"]) == ("eu-west-1", "us-east-1")
    assert result["region_needed"] is True
    assert result["copy_region"] == "eu-west-1"
    (warning,) = result["warnings"]
    assert "WARNING [region]" in warning
    assert (
        f"S3 bucket '{eu_bucket}' is in eu-west-1 but Redshift cluster 'local-cluster' is in us-east-1"
        in warning
    )
    assert "REGION 'eu-west-1'" in warning
    assert "cross-region data transfer" in warning


def test_region_mismatch_with_fail_fails_without_retry(aws, eu_bucket, copy_role_arn):
    op = verify(bucket=eu_bucket, prefix="in/", iam_role_arn=copy_role_arn, on_region_mismatch="fail")
    with pytest.raises(RegionCheckError) as error:
        op.execute({})
    assert isinstance(error.value, AirflowFailException)
    message = str(error.value)
    assert "is in eu-west-1 but Redshift cluster 'local-cluster' is in us-east-1" in message
    assert "expected the same region" in message
    assert "on_region_mismatch='set_region'" in message  # the fix
    assert "Status 301" in message  # what COPY would have said


@pytest.mark.parametrize("data_format", ["parquet", "ORC"])
def test_region_mismatch_with_columnar_formats_always_fails(aws, eu_bucket, copy_role_arn, data_format):
    op = verify(bucket=eu_bucket, prefix="p/", iam_role_arn=copy_role_arn, data_format=data_format)
    with pytest.raises(RegionCheckError) as error:
        op.execute({})
    assert f"REGION argument is not supported for {data_format.upper()} based COPY" in str(error.value)
    assert "copy the data to a bucket in us-east-1" in str(error.value)


def test_a_role_whose_policy_lacks_get_object_on_the_prefix(aws, s3_bucket, cluster, attached, make_role):
    bucket_arn = f"arn:aws:s3:::{s3_bucket}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/other/*"},
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
        ],
    }
    role = attached(make_role(policy))
    op = verify(bucket=s3_bucket, prefix="data/", cluster_identifier=cluster, iam_role_arn=role)
    with pytest.raises(PermissionCheckError) as error:
        op.execute({})
    message = str(error.value)
    assert f"IAM role {role} may not s3:GetObject on {bucket_arn}/data/*" in message
    assert "expected Allow because COPY reads every object under" in message
    assert "implicitDeny" in message
    assert "S3ServiceException:Access Denied" in message
    assert f'"Action":"s3:GetObject","Resource":"{bucket_arn}/data/*"' in message
    assert [r.name for r in error.value.results] == ["iam_role.s3_access.s3:GetObject"]


def test_list_bucket_limited_to_the_prefix_passes(aws, s3_bucket, cluster, attached, make_role, put_objects):
    put_objects(s3_bucket, ["data/a.csv"])
    bucket_arn = f"arn:aws:s3:::{s3_bucket}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/data/*"},
            {"Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket_arn},
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringEquals": {"s3:prefix": "data/"}},
            },
        ],
    }
    role = attached(make_role(policy))
    result = verify(
        bucket=s3_bucket, prefix="data/", cluster_identifier=cluster, iam_role_arn=role, require_objects=True
    ).execute({})
    assert result["warnings"] == []
    assert result["object_count"] == 1


def test_a_role_that_is_not_attached(aws, s3_bucket, cluster, role_arn):
    op = verify(bucket=s3_bucket, prefix="in/", cluster_identifier=cluster, iam_role_arn=role_arn)
    with pytest.raises(PermissionCheckError) as error:
        op.execute({})
    message = str(error.value)
    assert (
        f"Expected IAM role {role_arn} to be attached to Redshift cluster '{cluster}' and in-sync" in message
    )
    assert "found role" in message and "not attached" in message
    assert "Not authorized to get credentials of role" in message
    assert "modify-cluster-iam-roles" in message


def test_kms_encrypted_bucket_needs_kms_decrypt(aws, s3_bucket, cluster, attached, make_role):
    key = aws.aws_client("kms").create_key()["KeyMetadata"]["Arn"]
    aws.aws_client("s3").put_bucket_encryption(
        Bucket=s3_bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
            ]
        },
    )
    without = attached(
        make_role(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        )
    )
    with pytest.raises(PermissionCheckError) as error:
        verify(bucket=s3_bucket, prefix="in/", cluster_identifier=cluster, iam_role_arn=without).execute({})
    assert f"may not kms:Decrypt on {key}" in str(error.value)
    allowed = attached(
        make_role(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key},
                ],
            }
        )
    )
    result = verify(bucket=s3_bucket, prefix="in/", cluster_identifier=cluster, iam_role_arn=allowed).execute(
        {}
    )
    assert result["encryption"] == {"type": "SSE-KMS", "kms_key_id": key, "bucket_key_enabled": False}


def test_a_missing_bucket(aws, copy_role_arn):
    with pytest.raises(ConfigCheckError) as error:
        verify(bucket="no-such-bucket-4711", prefix="in/", iam_role_arn=copy_role_arn).execute({})
    assert "S3 bucket 'no-such-bucket-4711' does not exist" in str(error.value)


def test_require_objects_on_an_empty_prefix(aws, s3_bucket, copy_role_arn, put_objects):
    put_objects(s3_bucket, ["other/a.csv"])
    op = verify(bucket=s3_bucket, prefix="in/", iam_role_arn=copy_role_arn, require_objects=True)
    with pytest.raises(ConfigCheckError) as error:
        op.execute({})
    assert f"No object under s3://{s3_bucket}/in/" in str(error.value)
    assert "S3PrefixSensor" in str(error.value)


@pytest.mark.parametrize(
    ("prefix", "name", "fix"),
    [
        ("/data/", "prefix.leading_slash", "use prefix='data/'"),
        ("s3://my-bucket/data/", "prefix.s3_uri", "pass bucket='my-bucket' and prefix='data/'"),
        ("data/*.csv", "prefix.wildcard", "use prefix='data/' and select files with key_pattern='*.csv'"),
        ("data/part-?.csv", "prefix.wildcard", "use prefix='data/'"),
    ],
)
def test_malformed_prefixes_fail_before_any_aws_call(
    aws, s3_bucket, copy_role_arn, api_calls, prefix, name, fix
):
    op = verify(bucket=s3_bucket, prefix=prefix, iam_role_arn=copy_role_arn)
    for hook in (op.s3_hook, op.redshift_hook, op.iam_hook):
        api_calls.watch(hook.conn)
    with pytest.raises(ConfigCheckError) as error:
        op.execute({})
    assert name in [r.name for r in error.value.results]
    assert fix in str(error.value)
    assert f"S3 prefix '{prefix}'" in str(error.value)
    assert sum(api_calls.counts.values()) == 0


def test_a_prefix_without_a_slash_boundary_is_a_warning(aws, s3_bucket, copy_role_arn):
    result = verify(bucket=s3_bucket, prefix="data/2026-11-27", iam_role_arn=copy_role_arn).execute({})
    (warning,) = result["warnings"]
    assert "does not end with '/'" in warning
    assert "data/2026-11-27_old.csv" in warning


def test_serverless_default_role_is_checked_when_no_role_is_given(
    aws, s3_bucket, workgroup, role_arn, apply_delay
):
    apply_delay(0)
    RedshiftIamRoleHook(workgroup_name=workgroup[0]).attach_role(role_arn, set_as_default=True)
    result = verify(
        bucket=s3_bucket, prefix="in/", cluster_identifier=None, workgroup_name=workgroup[0]
    ).execute({})
    assert result["iam_role_arn"] == role_arn
    assert result["redshift_region"] == "us-east-1"


def test_no_role_and_no_default_is_a_warning(aws, s3_bucket, cluster):
    result = verify(bucket=s3_bucket, prefix="in/", cluster_identifier=cluster).execute({})
    (warning,) = result["warnings"]
    assert "has no default role" in warning


def test_a_caller_that_may_not_simulate_gets_a_warning(aws, s3_bucket, copy_role_arn):
    op = verify(bucket=s3_bucket, prefix="in/", iam_role_arn=copy_role_arn)

    def access_denied(**_):
        # moto's server does not enforce IAM on its own API, so the AccessDenied a real caller without
        # iam:SimulatePrincipalPolicy gets is produced here, through botocore's event system.
        from botocore.awsrequest import AWSResponse

        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized to SimulatePrincipalPolicy"}}
        return AWSResponse("", 403, {}, None), {**error, "ResponseMetadata": {"HTTPStatusCode": 403}}

    op.iam_hook.conn.meta.events.register("before-call.iam.SimulatePrincipalPolicy", access_denied)
    result = op.execute({})
    (warning,) = result["warnings"]
    assert "Could not simulate what IAM role" in warning
    assert "iam:SimulatePrincipalPolicy" in warning


def test_unknown_cluster_fails_with_a_check_result(aws, s3_bucket, copy_role_arn):
    op = verify(
        bucket=s3_bucket, prefix="in/", cluster_identifier="no-such-cluster", iam_role_arn=copy_role_arn
    )
    with pytest.raises(ConfigCheckError, match="Redshift cluster 'no-such-cluster' was not found"):
        op.execute({})
    with pytest.raises(ResourceNotFoundError):
        op.redshift_hook.get_roles()


def test_a_bucket_the_connection_may_not_read(aws, s3_bucket, copy_role_arn):
    from botocore.awsrequest import AWSResponse

    op = verify(bucket=s3_bucket, prefix="in/", iam_role_arn=copy_role_arn)

    def forbidden(**_):
        # moto's server does not enforce bucket policies: S3's 403 (with the region header) is produced here.
        headers = {"x-amz-bucket-region": "us-east-1"}
        parsed = {
            "Error": {"Code": "403"},
            "ResponseMetadata": {"HTTPStatusCode": 403, "HTTPHeaders": headers},
        }
        return AWSResponse("", 403, headers, None), parsed

    op.s3_hook.conn.meta.events.register("before-call.s3.HeadBucket", forbidden)
    with pytest.raises(PermissionCheckError) as error:
        op.execute({})
    message = str(error.value)
    assert (
        f"S3 bucket '{s3_bucket}' exists (region us-east-1) but connection 'aws_default' may not read it"
        in message
    )
    assert f"s3:ListBucket on arn:aws:s3:::{s3_bucket}" in message
