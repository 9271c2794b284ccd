"""The ``audit`` command: the guide's best practices checked on an existing cluster or namespace."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_redshift_s3.checks.result import CheckResult


def add_audit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` sub-command."""
    audit = sub.add_parser(
        "audit",
        help="audit a cluster or namespace against the guide's best practices and print the findings",
        description="Check the roles attached to a cluster or Serverless namespace (trust, permissions "
        "beyond "
        "COPY, use, default role), its encryption at rest and in transit (require_ssl, the Airflow "
        "connection's TLS), the buckets the loads read (encryption, a policy denying plain HTTP, Block "
        "Public Access) and the query history (COPYs with access keys, masked). Exit 0 when nothing fails, "
        "1 when a finding is a failure, 2 when an argument or the credentials are wrong.",
    )
    target = audit.add_mutually_exclusive_group(required=True)
    target.add_argument("--cluster-identifier", help="a provisioned cluster")
    target.add_argument("--workgroup", help="a Redshift Serverless workgroup")
    audit.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="S3_URI",
        help="s3://bucket/prefix the loads read (repeat for several; default: the buckets of the ledger's "
        "loads in the last --days days)",
    )
    audit.add_argument(
        "--aws-conn-id", default="aws_default", help="the Airflow AWS connection (aws_default)"
    )
    audit.add_argument(
        "--redshift-conn-id",
        default="redshift_default",
        help="the Airflow Redshift connection: query history, ledger and its TLS mode (redshift_default)",
    )
    audit.add_argument(
        "--no-sql",
        action="store_true",
        help="do not connect to the database (no history, ledger or TLS mode)",
    )
    audit.add_argument("--ledger", default="public.s3_load_ledger", help="the load ledger table")
    audit.add_argument(
        "--days",
        type=int,
        default=7,
        help="history read back; a role no COPY used in that time is unused (7)",
    )


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_findings(results: Sequence[CheckResult]) -> list[str]:
    """Return the findings as a table (status, category, check, resource), then each problem in full."""
    from airflow_redshift_s3.checks.audit import evidence_of, resource_of
    from airflow_redshift_s3.checks.result import CheckStatus

    rows = [(r.status.value.upper(), r.category, r.name, resource_of(r)) for r in results]
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(("STATUS", "CATEGORY", "CHECK"))
    ]
    header = ("STATUS", "CATEGORY", "CHECK", "RESOURCE")
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, [*widths, 0], strict=True)).rstrip()]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)] + [_cell(row[3], 90)]
        lines.append("  ".join(cells))
    problems = [r for r in results if r.status is not CheckStatus.OK]
    for number, result in enumerate(problems, 1):
        lines.append("")
        lines.append(f"{number}. {result.status.value.upper()} {result.name} on {resource_of(result)}")
        lines.append(f"   {result.message}")
        lines.append(f"   evidence: {evidence_of(result)}")
        lines.extend(
            f"   {'fix: ' if i == 0 else ''}{line}" for i, line in enumerate((result.fix or "").splitlines())
        )
    return lines


def run_audit_command(args: argparse.Namespace) -> int:
    """Run the audit for the command's flags, print the findings; return the exit code."""
    from botocore.exceptions import NoCredentialsError

    from airflow_redshift_s3.checks.audit.connections import audit_from_connections, parse_source
    from airflow_redshift_s3.checks.result import CheckStatus
    from airflow_redshift_s3.exceptions import RedshiftS3FailError

    if args.days < 1:
        print(
            f"Fix: pass --days 1 or more. --days is {args.days}: expected the days of history to read.",
            file=sys.stderr,
        )
        return 2
    try:
        for source in args.source:
            parse_source(source)
    except ValueError as error:
        print(f"--source {error}", file=sys.stderr)
        return 2
    target = (
        f"cluster {args.cluster_identifier}" if args.cluster_identifier else f"workgroup {args.workgroup}"
    )
    print(f"Auditing {target} (history of the last {args.days} day(s))")
    try:
        report = audit_from_connections(
            cluster_identifier=args.cluster_identifier,
            workgroup_name=args.workgroup,
            sources=args.source,
            redshift_conn_id=None if args.no_sql else args.redshift_conn_id,
            aws={"aws_conn_id": args.aws_conn_id, "region_name": None, "verify": None, "config": None},
            ledger=args.ledger,
            days=args.days,
        )
    except NoCredentialsError:
        print(
            f"Fix: give connection '{args.aws_conn_id}' credentials (AIRFLOW_CONN_{args.aws_conn_id.upper()}"
            f"), or pass --aws-conn-id. No AWS credentials were found for connection '{args.aws_conn_id}'.",
            file=sys.stderr,
        )
        return 2
    except RedshiftS3FailError as error:  # the cluster or workgroup does not exist, or may not be read
        print(str(error), file=sys.stderr)
        return 2
    for line in format_findings(report.results):
        print(line)
    failed, warned = report.count(CheckStatus.FAILURE), report.count(CheckStatus.WARNING)
    print(
        f"\n{len(report.results)} findings on {report.target}: {report.count(CheckStatus.OK)} ok, "
        f"{warned} warning(s), {failed} failure(s)"
    )
    return 1 if failed else 0
