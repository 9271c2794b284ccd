"""The ``report`` command: what the loads did per table and day (the guide's fifth practice, usage)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` sub-command."""
    report = sub.add_parser(
        "report",
        help="print the loads' usage per table and day: COPYs, failures, files, rows, bytes, seconds",
        description="Read the load ledger (files, rows and bytes each load committed) and "
        "sys_load_history (each COPY, its duration, whether it was aborted) through the Airflow Redshift "
        "connection, and print one line per table and day with the totals. Exit 0, or 2 when nothing "
        "could be read.",
    )
    report.add_argument(
        "--redshift-conn-id", default="redshift_default", help="the Airflow Redshift connection"
    )
    report.add_argument("--ledger", default="public.s3_load_ledger", help="the load ledger table")
    report.add_argument("--days", type=int, default=7, help="the days to report, up to today (7)")


def run_report_command(args: argparse.Namespace) -> int:
    """Print the usage table for the command's flags; return the exit code."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    from airflow_redshift_s3.sql import parse_table_name
    from airflow_redshift_s3.usage import format_usage, read_usage

    if args.days < 1:
        print(
            f"Fix: pass --days 1 or more. --days is {args.days}: expected the days to report.",
            file=sys.stderr,
        )
        return 2
    try:
        parse_table_name(args.ledger)
    except ValueError as error:
        print(f"Fix: pass --ledger as schema.table. --ledger {args.ledger!r}: {error}", file=sys.stderr)
        return 2
    hook = RedshiftSQLHook(redshift_conn_id=args.redshift_conn_id)
    hook.log_sql = False
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows, problems = read_usage(lambda sql: hook.get_records(sql) or [], args.ledger, args.days, now)
    for problem in problems:
        print(f"not read: {problem}", file=sys.stderr)
    if len(problems) == 3:  # neither the ledger, its history nor sys_load_history
        return 2
    print(f"Loads of the last {args.days} day(s) (ledger {args.ledger}, sys_load_history)")
    for line in format_usage(rows):
        print(line)
    return 0
