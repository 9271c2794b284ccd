"""IamRoleHook against the local stack: roles, trust policies, policy simulation, the caller."""

from __future__ import annotations

import json

import pytest

from airflow_redshift_s3.exceptions import PermissionCheckError, SimulationUnavailableError
from airflow_redshift_s3.hooks.iam_role import IamRoleHook

pytestmark = pytest.mark.integration


def test_get_role_reads_the_trusted_services(aws, role_arn):
    role = IamRoleHook().get_role(role_arn)
    assert role.arn == role_arn
    assert role.trusted_services == {"redshift.amazonaws.com", "redshift-serverless.amazonaws.com"}
    assert role.trusts("redshift.amazonaws.com")


def test_missing_role_is_a_permission_error_naming_it(aws):
    arn = "arn:aws:iam::123456789012:role/no-such-role"
    with pytest.raises(PermissionCheckError) as error:
        IamRoleHook().get_role(arn)
    assert f"IAM role {arn} does not exist" in str(error.value)
    assert "Fix:" in str(error.value)


def test_simulation_reads_every_page(aws, make_role, api_calls):
    role = make_role(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/in/*"}],
        }
    )
    hook = IamRoleHook()
    api_calls.watch(hook.conn)
    resources = [f"arn:aws:s3:::b/in/{n}" for n in range(120)] + ["arn:aws:s3:::b/out/x"]
    results = hook.simulate(role, ["s3:GetObject"], resources)
    assert api_calls["SimulatePrincipalPolicy"] == 2  # 100 results a page
    assert len(results) == 121
    assert all(r.allowed for r in results[:120])
    assert results[-1].decision == "implicitDeny"


def test_simulation_with_context_keys(aws, make_role):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::b",
                "Condition": {"StringEquals": {"s3:prefix": "in/"}},
            }
        ],
    }
    role = make_role(policy)
    hook = IamRoleHook()
    (allowed,) = hook.simulate(role, ["s3:ListBucket"], ["arn:aws:s3:::b"], {"s3:prefix": "in/"})
    (denied,) = hook.simulate(role, ["s3:ListBucket"], ["arn:aws:s3:::b"], {"s3:prefix": "out/"})
    (unknown,) = hook.simulate(role, ["s3:ListBucket"], ["arn:aws:s3:::b"])
    assert (allowed.allowed, denied.allowed) == (True, False)
    assert unknown.missing_context == ("s3:prefix",)


def test_caller_that_cannot_be_simulated(aws):
    hook = IamRoleHook()
    # moto's default identity is a user that IAM does not know
    assert hook.caller_principal_arn() == "arn:aws:iam::123456789012:user/moto"
    with pytest.raises(SimulationUnavailableError, match="Cannot simulate"):
        hook.simulate(hook.caller_principal_arn(), ["iam:PassRole"], ["*"])


def test_the_pass_role_warning_for_a_caller_that_cannot_be_simulated_ends_one_sentence(aws):
    from airflow_redshift_s3.checks.iam import check_pass_role

    result = check_pass_role(IamRoleHook(), "arn:aws:iam::123456789012:role/r")
    assert result.status.value == "warning"
    assert result.message.endswith(".") and ".." not in result.message, result.message


def test_caller_principal_of_a_user_and_an_assumed_role(aws, connection_as_user, role_arn, monkeypatch):
    user_arn = connection_as_user(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
        }
    )
    assert IamRoleHook(aws_conn_id="aws_limited").caller_principal_arn() == user_arn
    extra = {"region_name": "us-east-1", "endpoint_url": aws.aws_endpoint_url, "role_arn": role_arn}

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_AS_ROLE",
        json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}),
    )
    hook = IamRoleHook(aws_conn_id="aws_as_role")
    assert ":assumed-role/" in hook.caller_arn
    assert hook.caller_principal_arn() == role_arn
