"""The ``policy`` command: the least-privilege read policy and the trust policy of a COPY role."""

from __future__ import annotations

import json

import pytest

from airflow_redshift_s3.checks.iam import REDSHIFT_SERVICE, SERVERLESS_SERVICE
from airflow_redshift_s3.cli import main
from airflow_redshift_s3.policies import copy_read_policy

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def run_policy(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict]:
    """Run ``policy`` and return its documents by label file name."""
    assert main(["policy", *args]) == 0
    out = capsys.readouterr().out
    documents: dict[str, dict] = {}
    for block in out.split("# ")[1:]:
        label, _, body = block.partition("\n")
        name = label[label.index("(") + 1 : label.index(")")]
        documents[name] = json.loads(body)
    return documents


def by_action(policy: dict) -> dict[str, dict]:
    return {statement["Action"]: statement for statement in policy["Statement"]}


MANIFESTS = "arn:aws:s3:::data/_airflow_copy_manifests/*"


@pytest.mark.parametrize(
    ("prefix", "objects"),
    [("in/", ["arn:aws:s3:::data/in/*", MANIFESTS]), ("in", ["arn:aws:s3:::data/in*", MANIFESTS]),
     ("", "arn:aws:s3:::data/*")],
)  # fmt: skip
def test_read_policy_scopes_objects_and_listing_to_the_prefix(capsys, prefix, objects):
    docs = run_policy(capsys, "--bucket", "data", "--prefix", prefix)
    assert set(docs) == {"copy-policy.json", "trust-policy.json", "manifest-lifecycle.json"}
    policy = docs["copy-policy.json"]
    assert policy["Version"] == "2012-10-17"
    statements = by_action(policy)
    assert set(statements) == {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}
    assert all(s["Effect"] == "Allow" for s in statements.values())
    # The operator's manifests are readable too, unless the prefix covers them already.
    assert statements["s3:GetObject"]["Resource"] == objects
    assert statements["s3:ListBucket"]["Resource"] == "arn:aws:s3:::data"
    assert statements["s3:GetBucketLocation"]["Resource"] == "arn:aws:s3:::data"
    if prefix:
        assert statements["s3:ListBucket"]["Condition"] == {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
    else:
        assert "Condition" not in statements["s3:ListBucket"]


def test_manifest_location_options(capsys):
    def objects(*args: str) -> object:
        docs = run_policy(capsys, "--bucket", "data", "--prefix", "in/", *args)
        return by_action(docs["copy-policy.json"])["s3:GetObject"]["Resource"]

    assert objects("--no-manifest") == "arn:aws:s3:::data/in/*"
    assert objects("--manifest-prefix", "in/manifests/") == "arn:aws:s3:::data/in/*"
    assert objects("--manifest-prefix", "m/") == ["arn:aws:s3:::data/in/*", "arn:aws:s3:::data/m/*"]
    assert objects("--manifest-bucket", "other") == [
        "arn:aws:s3:::data/in/*",
        "arn:aws:s3:::other/_airflow_copy_manifests/*",
    ]


def test_kms_statement_only_with_a_kms_key(capsys):
    without = by_action(run_policy(capsys, "--bucket", "data", "--prefix", "in/")["copy-policy.json"])
    assert "kms:Decrypt" not in without
    with_key = by_action(
        run_policy(capsys, "--bucket", "data", "--prefix", "in/", "--kms-key", KMS_KEY)["copy-policy.json"]
    )
    assert with_key["kms:Decrypt"]["Resource"] == KMS_KEY


def test_trust_policy_names_redshift_and_for_serverless_both_services(capsys):
    (cluster,) = run_policy(capsys, "--bucket", "data", "--prefix", "in/")["trust-policy.json"]["Statement"]
    assert cluster == {
        "Effect": "Allow",
        "Principal": {"Service": REDSHIFT_SERVICE},
        "Action": "sts:AssumeRole",
    }
    docs = run_policy(capsys, "--bucket", "data", "--prefix", "in/", "--serverless")
    (serverless,) = docs["trust-policy.json"]["Statement"]
    assert set(serverless["Principal"]["Service"]) == {REDSHIFT_SERVICE, SERVERLESS_SERVICE}
    assert serverless["Action"] == "sts:AssumeRole"


def test_write_puts_both_documents_in_the_directory(capsys, tmp_path):
    target = tmp_path / "iam"
    assert main(["policy", "--bucket", "data", "--prefix", "in/", "--write", str(target)]) == 0
    out = capsys.readouterr().out
    assert str(target / "copy-policy.json") in out
    assert json.loads((target / "copy-policy.json").read_text()) == copy_read_policy("data", "in/")
    trust = json.loads((target / "trust-policy.json").read_text())
    assert trust["Statement"][0]["Principal"]["Service"] == REDSHIFT_SERVICE
    (rule,) = json.loads((target / "manifest-lifecycle.json").read_text())["Rules"]
    assert (rule["Filter"], rule["Expiration"], rule["Status"]) == (
        {"Prefix": "_airflow_copy_manifests/"},
        {"Days": 7},
        "Enabled",
    )


def test_the_lifecycle_rule_follows_the_manifest_options(capsys):
    docs = run_policy(capsys, "--bucket", "data", "--manifest-prefix", "m/", "--manifest-days", "3")
    (rule,) = docs["manifest-lifecycle.json"]["Rules"]
    assert (rule["Filter"], rule["Expiration"]) == ({"Prefix": "m/"}, {"Days": 3})
    assert "manifest-lifecycle.json" not in run_policy(capsys, "--bucket", "data", "--no-manifest")
    assert main(["policy", "--bucket", "data", "--manifest-days", "0"]) == 1
    assert "--manifest-days is 0" in capsys.readouterr().err


def test_a_bad_bucket_name_fails_with_the_check_fix(capsys):
    assert main(["policy", "--bucket", "s3://data/in", "--prefix", "in/"]) == 1
    assert "FAILURE [config]" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--bucket", "My-Bucket"], "--bucket 'My-Bucket' is not an S3 bucket name"),
        (["--bucket", "my bucket"], "--bucket 'my bucket' is not an S3 bucket name"),
        (["--bucket", "data", "--manifest-bucket", "Manifests_1"], "--manifest-bucket 'Manifests_1'"),
        (["--bucket", "data", "--kms-key", "nonsense"], "--kms-key 'nonsense' is not a KMS key ARN"),
        (["--bucket", "data", "--kms-key", "alias/aws/s3"], "--kms-key 'alias/aws/s3' is not a KMS key ARN"),
    ],
)
def test_malformed_arguments_print_no_policy_and_say_the_fix_first(capsys, args, named):
    assert main(["policy", *args]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # no policy with "arn:aws:s3:::my bucket/*" or "Resource": "nonsense"
    assert err.startswith("Fix: pass --") and named in err


def test_a_prefix_without_a_trailing_slash_warns_on_stderr(capsys):
    documents = run_policy(capsys, "--bucket", "data", "--prefix", "sales")  # stdout: the documents only
    assert documents["copy-policy.json"]
    assert main(["policy", "--bucket", "data", "--prefix", "sales"]) == 0
    err = capsys.readouterr().err
    assert "WARNING [config] Fix: end the prefix at a folder (prefix='sales/')" in err
    assert "'sales_old.csv'" in err
    assert main(["policy", "--bucket", "data", "--prefix", "sales/"]) == 0
    assert capsys.readouterr().err == ""


def test_data_api_caller_policy_for_a_cluster_grants_only_what_the_load_calls(capsys):
    documents = run_policy(capsys, "--bucket", "data", "--data-api", "--region", "eu-west-1", "--account-id",
                           "123456789012", "--cluster-identifier", "prod", "--db-user", "loader")  # fmt: skip
    caller = documents["data-api-caller-policy.json"]
    sids = {s["Sid"]: s for s in caller["Statement"]}
    assert sids["RunTheLoad"]["Resource"] == "arn:aws:redshift:eu-west-1:123456789012:cluster:prod"
    assert sorted(sids["RunTheLoad"]["Action"]) == [
        "redshift-data:BatchExecuteStatement",
        "redshift-data:ExecuteStatement",
    ]
    owner = sids["ReadOwnStatements"]["Condition"]["StringEquals"]
    assert owner == {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}
    assert sids["LogIn"]["Resource"] == [
        "arn:aws:redshift:eu-west-1:123456789012:dbuser:prod/loader",
        "arn:aws:redshift:eu-west-1:123456789012:dbname:prod/dev",
    ]
    assert not any("*" in str(s["Action"]) for s in caller["Statement"])
    assert "copy-policy.json" in documents  # the COPY role's policy is still printed


def test_data_api_caller_policy_for_serverless_logs_in_with_get_credentials(capsys):
    arn = "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0a1b2c3d-0000-1111-2222-333344445555"
    documents = run_policy(capsys, "--bucket", "data", "--data-api", "--region", "us-east-1", "--account-id",
                           "123456789012", "--workgroup-arn", arn)  # fmt: skip
    login = {s["Sid"]: s for s in documents["data-api-caller-policy.json"]["Statement"]}["LogIn"]
    assert (login["Action"], login["Resource"]) == ("redshift-serverless:GetCredentials", arn)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "Fix: pass --region"),
        (["--region", "eu-west-1", "--account-id", "42", "--cluster-identifier", "c", "--db-user", "u"],
         "Fix: pass --account-id"),
        (["--region", "eu-west-1", "--account-id", "123456789012", "--cluster-identifier", "c"],
         "Fix: pass --db-user (temporary credentials) or --secret-arn"),
        (["--region", "eu-west-1", "--account-id", "123456789012", "--workgroup-arn", "my-workgroup"],
         "is not arn:aws:redshift-serverless"),
    ],
)  # fmt: skip
def test_data_api_caller_policy_arguments_are_checked_with_their_fix(capsys, extra, message):
    assert main(["policy", "--bucket", "data", "--data-api", *extra]) == 1
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--db-user", "*", "Fix: pass --db-user with the name as Redshift knows it"),
        ("--database", "dev/*", "Fix: pass --database with the name as Redshift knows it"),
        ("--cluster-identifier", "prod'; drop", "is not a cluster identifier"),
    ],
)
def test_data_api_names_that_would_widen_or_break_the_arns_are_refused(capsys, option, value, message):
    """A careless ``--db-user '*'`` would grant GetClusterCredentials for every user of the cluster."""
    target = {"--cluster-identifier": "prod", "--db-user": "loader", "--database": "dev", option: value}
    args = [part for pair in target.items() for part in pair]
    assert main(["policy", "--bucket", "data", "--data-api", "--region", "eu-west-1", "--account-id",
                 "123456789012", *args]) == 1  # fmt: skip
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""
