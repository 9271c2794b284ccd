"""Command line: ``airflow-redshift-s3``."""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_redshift_s3 import cli_data_api, rules
from airflow_redshift_s3.cli_audit import add_audit_parser, run_audit_command
from airflow_redshift_s3.cli_report import add_report_parser, run_report_command

if TYPE_CHECKING:
    from airflow_redshift_s3.checks.result import CheckResult


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="airflow-redshift-s3", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="run the example DAGs end to end on the local Redshift stack and print a report",
        description="Start the local stack, put sample days in S3, run redshift_s3_setup and "
        "s3_to_redshift_daily with dag.test(), print a report, and stop everything. Exit 0 when every run "
        "ended as expected.",
    )
    demo.add_argument(
        "--workdir", type=Path, help="Airflow home, database and log of the demo (default: ./.demo, emptied)"
    )
    demo.add_argument("--dags-folder", type=Path, help="the example DAGs (default: the clone's dags/)")
    standalone = sub.add_parser(
        "airflow",
        help="run Airflow standalone on the local stack with the example DAGs and sample data (the UI)",
        description="Start the local stack with the demo's sample data, then Airflow's scheduler, "
        "dag-processor, triggerer and api-server (what `airflow standalone` runs, on 127.0.0.1 only) with "
        "the example DAGs and connections pointing at the stack, until Ctrl-C. Each start is fresh: the "
        "stack and the run history start empty.",
    )
    standalone.add_argument(
        "--home", type=Path, help="AIRFLOW_HOME (default: ./.airflow; its run history is emptied at start)"
    )
    standalone.add_argument("--dags-folder", type=Path, help="the example DAGs (default: the clone's dags/)")
    standalone.add_argument("--port", type=int, default=8080, help="the UI and API port (8080)")
    local = sub.add_parser("local", help="the local Redshift stack (S3, IAM, Redshift on this machine)")
    local_sub = local.add_subparsers(dest="local_command", required=True)
    up = local_sub.add_parser("up", help="run the stack in the foreground until SIGINT or SIGTERM")
    up.add_argument("--redshift-port", type=int, default=5439, help="gateway port of local-cluster (5439)")
    up.add_argument(
        "--serverless-port", type=int, default=0, help="gateway port of local-workgroup (default: a free one)"
    )
    up.add_argument("--aws-port", type=int, default=5000, help="port of the AWS endpoint (5000)")
    up.add_argument("--bind", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    up.add_argument("--advertise-host", help="host name clients use (default: the bind address)")
    up.add_argument("--data-dir", type=Path, help="keep the database here across runs (default: temporary)")
    up.add_argument("--env-file", type=Path, help="write AIRFLOW_CONN_* and AWS_ENDPOINT_URL lines here")
    up.add_argument(
        "--tls-dir",
        type=Path,
        help="write the gateway's CA bundle (ca-bundle.pem, for SSL_CERT_FILE) here and keep it "
        "(default: temporary)",
    )
    up.add_argument(
        "--sample-data",
        action="store_true",
        help="put the demo's sample files in s3://demo-bucket/sales/ and create public.sales (what the "
        "example DAGs' defaults read); safe to repeat",
    )
    up.add_argument("--role-apply-delay", type=float, default=3.0, help="seconds a new role stays 'adding'")
    _add_policy_parser(sub)
    _add_doctor_parser(sub)
    add_audit_parser(sub)
    add_report_parser(sub)
    return parser


def _add_policy_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = sub.add_parser(
        "policy",
        help="print the least-privilege IAM policy and trust policy of a COPY role",
        description="Print the role's permissions policy, its trust policy and the S3 lifecycle rule that "
        "expires leftover manifests as labelled JSON documents; with --write DIR, write them to "
        "DIR/copy-policy.json, DIR/trust-policy.json and DIR/manifest-lifecycle.json instead.",
    )
    policy.add_argument("--bucket", required=True, help="the bucket COPY reads")
    policy.add_argument("--prefix", default="", help="the key prefix COPY reads (default: the whole bucket)")
    policy.add_argument(
        "--kms-key", dest="kms_key", help="ARN of the bucket's SSE-KMS key (adds kms:Decrypt)"
    )
    policy.add_argument(
        "--manifest-prefix",
        help="where S3ToRedshiftCopyOperator writes its manifests, in --manifest-bucket (default: its "
        "manifest_prefix default, _airflow_copy_manifests/)",
    )
    policy.add_argument("--manifest-bucket", help="the operator's manifest_bucket (default: --bucket)")
    policy.add_argument(
        "--no-manifest",
        action="store_true",
        help="no manifest statement: the role serves COPYs without this operator's manifests",
    )
    policy.add_argument(
        "--serverless", action="store_true", help="the role is for Redshift Serverless (trusts both services)"
    )
    policy.add_argument(
        "--manifest-days",
        type=int,
        default=7,
        help="the lifecycle rule expires manifests left by failed loads after this many days (7)",
    )
    policy.add_argument(
        "--write", type=Path, metavar="DIR", help="write the two files here instead of printing"
    )
    cli_data_api.add_policy_arguments(policy)


def _add_doctor_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="run every preflight check of a COPY from S3 and print a report",
        description="Run the checks the operators run (bucket, region, role attached and trusted, role S3 "
        "access, and a sniff of the first file with --format). Exit 0 when no check fails, 1 otherwise, 2 "
        "when an argument or the connection's credentials are wrong.",
    )
    target = doctor.add_mutually_exclusive_group(required=True)
    target.add_argument("--cluster-identifier", help="a provisioned cluster")
    target.add_argument("--workgroup", help="a Redshift Serverless workgroup")
    doctor.add_argument("--bucket", required=True, help="the bucket COPY reads")
    doctor.add_argument("--prefix", required=True, help="the key prefix COPY reads")
    doctor.add_argument("--iam-role-arn", required=True, help="the role COPY uses")
    doctor.add_argument(
        "--aws-conn-id", default="aws_default", help="the Airflow AWS connection (aws_default)"
    )
    doctor.add_argument(
        "--format",
        choices=("csv", "text", "json", "parquet", "orc", "avro"),
        help="sniff the first file as this (the input formats of S3ToRedshiftCopyOperator)",
    )
    doctor.add_argument("--columns", help="comma-separated columns COPY fills, in file order (for the sniff)")
    doctor.add_argument(
        "--header-rows", type=int, default=0, help="CSV or text header lines (IGNOREHEADER, default 0)"
    )
    doctor.add_argument(
        "--compression",
        choices=("none", "gzip", "bzip2", "zstd"),
        default="none",
        help="compression of the files, e.g. gzip for part-0.csv.gz (default none)",
    )
    doctor.add_argument(
        "--slices",
        type=int,
        help="the cluster's slice count (SELECT COUNT(*) FROM stv_slices): checks the number of compressed "
        "files against it (their sizes are checked in any case)",
    )
    cli_data_api.add_doctor_arguments(doctor)


# S3's bucket naming rules (3-63 lowercase letters, digits, dots and hyphens), as the example DAG forms
# enforce them; KMS key ARNs as IAM accepts them in a policy's Resource (an alias ARN is not a key).
_BUCKET_NAME = rules.BUCKET_RE
_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+")


def _policy_argument_problems(args: argparse.Namespace) -> list[str]:
    """Return what is wrong with the policy command's arguments, fix first; empty when nothing is."""
    problems = []
    for option, bucket in (("--bucket", args.bucket), ("--manifest-bucket", args.manifest_bucket)):
        if bucket is not None and "/" not in bucket and not _BUCKET_NAME.fullmatch(bucket):
            problems.append(
                f"Fix: pass {option} with the bucket's real name. {option} {bucket!r} is not an S3 bucket "
                "name: expected 3-63 lowercase letters, digits, dots and hyphens."
            )
    if args.kms_key is not None and not _KMS_KEY_ARN.fullmatch(args.kms_key):
        problems.append(
            "Fix: pass --kms-key with the key's ARN (`aws kms describe-key --key-id <id or alias>` shows "
            f"it). --kms-key {args.kms_key!r} is not a KMS key ARN: expected "
            "arn:aws:kms:<region>:<account>:key/<key id>."
        )
    return problems


def _policy(args: argparse.Namespace) -> int:
    from airflow_redshift_s3.checks import CheckStatus
    from airflow_redshift_s3.checks.prefix import check_bucket_name, check_prefix
    from airflow_redshift_s3.policies import (
        MANIFEST_PREFIX,
        copy_read_policy,
        copy_trust_policy,
        manifest_lifecycle,
    )

    results = [check_bucket_name(args.bucket), *check_prefix(args.prefix, args.bucket)]
    problems = [r.text() for r in results if r.failed] + _policy_argument_problems(args)
    problems += cli_data_api.policy_problems(args)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    for result in results:
        if result.status is CheckStatus.WARNING:  # e.g. --prefix sales grants sales* (sales-old/ too)
            print(result.text(), file=sys.stderr)  # on stderr: stdout stays the two documents
    documents = {
        "copy-policy.json": (
            "IAM permissions policy",
            copy_read_policy(
                args.bucket,
                args.prefix,
                args.kms_key,
                manifest_prefix=None if args.no_manifest else (args.manifest_prefix or MANIFEST_PREFIX),
                manifest_bucket=args.manifest_bucket,
            ),
        ),
        "trust-policy.json": ("Trust policy", copy_trust_policy(args.serverless)),
    }
    if not args.no_manifest:
        if args.manifest_days < 1:
            print(
                "Fix: pass --manifest-days 1 or more (7 by default).\n--manifest-days is "
                f"{args.manifest_days}: "
                "expected the days a leftover manifest is kept.",
                file=sys.stderr,
            )
            return 1
        documents["manifest-lifecycle.json"] = (
            f"S3 lifecycle rule for bucket {args.manifest_bucket or args.bucket}, to merge into its rules",
            manifest_lifecycle(args.manifest_prefix or MANIFEST_PREFIX, args.manifest_days),
        )
    if caller := cli_data_api.policy_document(args):
        documents[caller[0]] = caller[1:]
    for file_name, (label, document) in documents.items():
        text = json.dumps(document, indent=2)
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            (args.write / file_name).write_text(text + "\n")
            print(f"wrote {label.lower()} to {args.write / file_name}")
        else:
            print(f"# {label} ({file_name})")
            print(text)
    return 0


_CATEGORY_LABELS = {
    "permission": "permission (Access Denied / not authorized)",
    "region": "region (bucket in another region)",
    "format": "format (files do not match COPY's format)",
    "config": "config",
}


def _doctor_checks(args: argparse.Namespace) -> list[CheckResult]:
    """Return the results of the checks S3ToRedshiftCopyOperator runs before its COPY, for these flags."""
    import logging

    from airflow_redshift_s3.transfers.copy.diagnose import copy_checks

    options: dict[str, object] = {"type": args.format or "csv"}
    if args.compression != "none":
        options["compression"] = args.compression
    if args.format in ("csv", "text"):
        options["header_rows"] = args.header_rows
    results = copy_checks(
        bucket=args.bucket,
        prefix=args.prefix,
        iam_role_arn=args.iam_role_arn,
        cluster_identifier=args.cluster_identifier,
        workgroup_name=args.workgroup,
        input_format=options,
        columns=[c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None,
        checks=("role", "region", "access", "format") if args.format else ("role", "region", "access"),
        aws={"aws_conn_id": args.aws_conn_id, "region_name": None, "verify": None, "config": None},
        log=logging.getLogger("airflow_redshift_s3.doctor"),
        slices=args.slices,
    )
    if args.data_api:
        results.append(cli_data_api.doctor_check(args))
    return results


def _doctor(args: argparse.Namespace) -> int:
    from botocore.exceptions import NoCredentialsError

    from airflow_redshift_s3.checks import failures, warnings
    from airflow_redshift_s3.hooks.iam_role import parse_role_arn

    if args.iam_role_arn != "default" and parse_role_arn(args.iam_role_arn) is None:
        print(
            "Fix: pass --iam-role-arn with the role's ARN (`aws iam get-role --role-name <name>` shows it). "
            f"--iam-role-arn {args.iam_role_arn!r} is not an IAM role ARN: expected "
            "arn:aws:iam::<account>:role/<name>.",
            file=sys.stderr,
        )
        return 2
    if args.slices is not None and args.slices < 1:
        print(
            "Fix: pass --slices with the cluster's slice count (SELECT COUNT(*) FROM stv_slices), 1 or more. "
            f"--slices is {args.slices}: expected a number of slices.",
            file=sys.stderr,
        )
        return 2
    target = (
        f"cluster {args.cluster_identifier}" if args.cluster_identifier else f"workgroup {args.workgroup}"
    )
    print(f"Checking COPY from s3://{args.bucket}/{args.prefix} into {target} with {args.iam_role_arn}")
    try:
        results = _doctor_checks(args)
    except NoCredentialsError:
        print(
            f"Fix: give connection '{args.aws_conn_id}' credentials: set AIRFLOW_CONN_"
            f"{args.aws_conn_id.upper()} (for the local stack, `set -a; . ./local.env; set +a` with the "
            "file `airflow-redshift-s3 local up --env-file local.env` writes), or pass --aws-conn-id with "
            f"a connection that has them. No AWS credentials were found for connection '{args.aws_conn_id}' "
            "(nor in the environment).",
            file=sys.stderr,
        )
        return 2
    for result in results:
        status = result.status.value.upper()
        print(f"{status:<8} [{_CATEGORY_LABELS[result.category]}] {result.name}: {result.message}")
        fix = result.details.get("doctor_fix") or result.fix  # in doctor's flags where a check says them
        if fix:
            print(f"{'':<9}fix: {fix}")
    failed, warned = len(failures(results)), len(warnings(results))
    passed = len(results) - failed - warned
    print(f"{len(results)} checks: {passed} ok, {warned} warning(s), {failed} failure(s)")
    return 1 if failed else 0


def _local_up(args: argparse.Namespace) -> int:
    from airflow_redshift_s3.local.stack import LocalRedshift

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stack = LocalRedshift(
            redshift_port=args.redshift_port,
            serverless_port=args.serverless_port,
            aws_port=args.aws_port,
            data_dir=args.data_dir,
            role_apply_delay=args.role_apply_delay,
            bind_host=args.bind,
            advertise_host=args.advertise_host,
            tls_dir=args.tls_dir,
        )
    except ValueError as error:  # names the argument and what it accepts
        print(f"The local stack could not start: {error}", file=sys.stderr)
        return 1
    from airflow_redshift_s3.local.postgres import PostgresStartError

    try:
        stack.start()
    except PostgresStartError as error:  # its message names the directory or account, and the fix
        print(f"The local stack could not start: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a port in use, most often
        if error.errno == errno.EADDRNOTAVAIL:
            fix = f"pass --bind an address of this machine (127.0.0.1, or 0.0.0.0 for all), not {args.bind}"
        else:
            fix = (
                "stop what listens there, or choose other ports with --aws-port, --redshift-port and "
                "--serverless-port (0 picks a free one)"
            )
        print(f"The local stack could not start: {error}\nFix: {fix}.", file=sys.stderr)
        return 1
    try:
        from airflow_redshift_s3.local.aws.endpoints import ACCESS_KEY_ID, SECRET_ACCESS_KEY

        if args.sample_data:
            from airflow_redshift_s3.demo import put_sample_data

            put_sample_data(stack, lambda text: print(text, flush=True))
        # moto's conventional dummy keys and the region: plain boto3 (boto3.client("s3")) finds them too.
        env = {
            **stack.environment(),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        if args.env_file:
            args.env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))
        print(
            f"local-cluster    redshift://{stack.host}:{stack.redshift_port}/dev (user awsuser)", flush=True
        )
        print(
            f"local-workgroup  redshift://{stack.host}:{stack.serverless_port}/dev (user awsuser)", flush=True
        )
        print(f"AWS endpoint     {stack.aws_endpoint_url} (region us-east-1)", flush=True)
        print(f"started in {stack.startup_seconds:.2f} s", flush=True)
        print("READY", flush=True)
        stop.wait()
    finally:
        stack.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    if args.command in ("doctor", "audit", "report"):
        # The Amazon provider's "[info] AWS Connection ... credentials retrieved" lines are not the report's;
        # read by Airflow when it is first imported, so before any import of it.
        os.environ.setdefault("AIRFLOW__LOGGING__NAMESPACE_LEVELS", "airflow.providers.amazon=WARNING")
    if args.command == "demo":
        from airflow_redshift_s3.demo import run_demo

        return run_demo(workdir=args.workdir, dags_folder=args.dags_folder)
    if args.command == "airflow":
        from airflow_redshift_s3.demo import run_airflow

        return run_airflow(home=args.home, dags_folder=args.dags_folder, port=args.port)
    if args.command == "local" and args.local_command == "up":
        return _local_up(args)
    if args.command == "policy":
        return _policy(args)
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "audit":
        return run_audit_command(args)
    if args.command == "report":
        return run_report_command(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
