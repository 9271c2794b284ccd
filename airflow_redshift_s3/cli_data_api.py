"""The Data API parts of the ``policy`` and ``doctor`` commands (``--data-api``).

``policy --data-api`` prints the Airflow worker's own policy for loading through the Data API (the COPY
role's policy is unchanged: Redshift still reads S3 with it). ``doctor --data-api`` runs one statement
through the Data API as the load would, with the same target and login, and reports what failed.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3 import rules

if TYPE_CHECKING:
    from airflow_redshift_s3.checks.result import CheckResult

_ACCOUNT = re.compile(r"[0-9]{12}")
_WORKGROUP_ARN = re.compile(
    r"arn:aws[a-z-]*:redshift-serverless:[a-z0-9-]+:[0-9]{12}:workgroup/[0-9a-f-]{36}"
)
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:\S+")
POLICY_FILE = "data-api-caller-policy.json"


def add_policy_arguments(policy: argparse.ArgumentParser) -> None:
    """Add ``--data-api`` and the target it needs to the ``policy`` command."""
    group = policy.add_argument_group(
        "Data API caller (--data-api)",
        "also print the policy of the identity Airflow's workers use to load through the Data API "
        f"({POLICY_FILE})",
    )
    group.add_argument("--data-api", action="store_true", help="print the Data API caller's policy too")
    group.add_argument("--region", help="the cluster's or workgroup's region")
    group.add_argument("--account-id", help="the AWS account of the cluster or workgroup (12 digits)")
    group.add_argument(
        "--cluster-identifier", help="the provisioned cluster (with --db-user or --secret-arn)"
    )
    group.add_argument("--workgroup-arn", help="the Serverless workgroup's ARN (it holds the workgroup's id)")
    group.add_argument("--database", default="dev", help="the database loaded into (dev)")
    group.add_argument("--db-user", help="the database user of GetClusterCredentials")
    group.add_argument("--secret-arn", help="the Secrets Manager secret holding the login, instead")


def policy_problems(args: argparse.Namespace) -> list[str]:
    """Return what is wrong with ``--data-api``'s arguments, fix first; empty when nothing is."""
    if not args.data_api:
        return []
    problems = []
    if not (args.region and rules.REGION_RE.fullmatch(args.region)):
        problems.append(
            f"Fix: pass --region, e.g. eu-west-1. --region is {args.region!r}: expected a region."
        )
    if not (args.account_id and _ACCOUNT.fullmatch(args.account_id)):
        problems.append(
            "Fix: pass --account-id with the 12 digits of `aws sts get-caller-identity`. --account-id is "
            f"{args.account_id!r}."
        )
    if bool(args.cluster_identifier) == bool(args.workgroup_arn):
        problems.append(
            "Fix: pass --cluster-identifier (a cluster) or --workgroup-arn (Serverless), one of them: "
            "--data-api needs the target the load runs on."
        )
    elif args.workgroup_arn and not _WORKGROUP_ARN.fullmatch(args.workgroup_arn):
        problems.append(
            "Fix: pass --workgroup-arn as `aws redshift-serverless get-workgroup --workgroup-name <name>` "
            f"shows it. --workgroup-arn {args.workgroup_arn!r} is not arn:aws:redshift-serverless:<region>:"
            "<account>:workgroup/<workgroup id>."
        )
    elif args.cluster_identifier and not (args.db_user or args.secret_arn):
        problems.append(
            "Fix: pass --db-user (temporary credentials) or --secret-arn: the Data API logs in to the "
            "cluster with one of them."
        )
    if args.cluster_identifier and not rules.CLUSTER_IDENTIFIER_RE.fullmatch(args.cluster_identifier):
        problems.append(
            "Fix: pass --cluster-identifier as `aws redshift describe-clusters` shows it. "
            f"{args.cluster_identifier!r} is not a cluster identifier: expected 1-63 lowercase letters, "
            "digits and hyphens, starting with a letter."
        )
    problems += _name_problems(args)
    if args.secret_arn and not _SECRET_ARN.fullmatch(args.secret_arn):
        problems.append(f"Fix: pass --secret-arn with the secret's ARN. {args.secret_arn!r} is not one.")
    return problems


def _name_problems(args: argparse.Namespace) -> list[str]:
    """Return what is wrong with --database and --db-user: they go into ARNs (a ``*`` would widen them)."""
    from airflow_redshift_s3.sql import SqlInputError, check_identifier

    problems = []
    for option, value in (("--database", args.database), ("--db-user", args.db_user)):
        if value is None:
            continue
        try:
            check_identifier(value, option)
        except SqlInputError as error:
            said = str(error).split(" Fix:")[0]  # its fix speaks of the operator's arguments
            problems.append(f"Fix: pass {option} with the name as Redshift knows it. {said}")
    return problems


def policy_document(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]] | None:
    """Return (file name, label, document) of the Data API caller's policy, or None without --data-api."""
    if not args.data_api:
        return None
    from airflow_redshift_s3.policies import data_api_caller_policy

    document = data_api_caller_policy(
        region=args.region,
        account_id=args.account_id,
        database=args.database,
        cluster_identifier=args.cluster_identifier,
        db_user=args.db_user,
        secret_arn=args.secret_arn,
        workgroup_arn=args.workgroup_arn,
    )
    return POLICY_FILE, "IAM policy of the Data API caller, the identity of Airflow's workers", document


def add_doctor_arguments(doctor: argparse.ArgumentParser) -> None:
    """Add ``--data-api`` to the ``doctor`` command."""
    group = doctor.add_argument_group("Data API (--data-api)", "check the load's Data API path too")
    group.add_argument(
        "--data-api", action="store_true", help="run a statement through the Data API as the load would"
    )
    group.add_argument("--database", default="dev", help="the database loaded into (dev)")
    group.add_argument("--db-user", help="the database user of GetClusterCredentials (a cluster)")
    group.add_argument("--secret-arn", help="the Secrets Manager secret holding the login, instead")


def doctor_check(args: argparse.Namespace) -> CheckResult:
    """Run ``SELECT 1`` through the Data API on the doctor's target and login; return the result."""
    import logging

    from airflow.providers.amazon.aws.hooks.redshift_data import RedshiftDataHook
    from botocore.exceptions import ClientError

    from airflow_redshift_s3.checks.result import CheckResult
    from airflow_redshift_s3.exceptions import ConfigCheckError
    from airflow_redshift_s3.transfers.copy.data_api import (
        DataApiClient,
        DataApiStatementError,
        DataApiTarget,
    )

    name = "data_api.statement"
    policy_fix = (
        "give the workers' identity the policy `airflow-redshift-s3 policy --data-api ...` prints "
        "(ExecuteStatement, BatchExecuteStatement, DescribeStatement, GetStatementResult and the login)"
    )
    try:
        target = DataApiTarget.from_kwargs(
            {
                "database": args.database,
                "cluster_identifier": args.cluster_identifier,
                "workgroup_name": args.workgroup,
                "db_user": args.db_user,
                "secret_arn": args.secret_arn,
                "poll_interval": 0.5,
            },
            "--data-api",
        )
    except ConfigCheckError as error:
        return CheckResult.failure(
            name, "config", str(error), "pass --db-user or --secret-arn with --data-api"
        )
    hook = RedshiftDataHook(aws_conn_id=args.aws_conn_id)
    client = DataApiClient(hook, target, logging.getLogger("airflow_redshift_s3.doctor"))
    try:
        client.run("SELECT 1")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        denied = "AccessDenied" in code or "not authorized" in message.lower()
        fix = policy_fix if denied else "check the cluster or workgroup name and the login"
        return CheckResult.failure(
            name,
            "permission" if denied else "config",
            f"The Data API refused a statement on {target}: {code}: {message}",
            fix,
        )
    except DataApiStatementError as error:
        return CheckResult.failure(
            name, "permission", f"A statement through the Data API on {target} failed: {error}",
            f"grant the database user the privileges the load needs, or {policy_fix}",
        )  # fmt: skip
    return CheckResult.ok(name, "permission", f"The Data API runs statements on {target} as this caller.")
