"""The ``report`` command: what the loads did per table and day (the guide's fifth practice, usage)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` sub-command."""
    report = sub.add_parser(
        "report",
        help="print the loads' usage per table and day: COPYs, failures by category, files, rows, bytes, "
        "seconds, cross-region bytes and their cost, Serverless RPU-seconds",
        description="Read the load ledger (files, rows and bytes each load committed) and "
        "sys_load_history (each COPY, its duration, whether it was aborted), sys_query_history (why a COPY "
        "failed, which COPYs read another region) and sys_serverless_usage (RPU-seconds) through the Airflow "
        "Redshift connection, and print one line per table and day with the totals. Exit 0, or 2 when "
        "nothing could be read.",
    )
    report.add_argument(
        "--redshift-conn-id", default="redshift_default", help="the Airflow Redshift connection"
    )
    report.add_argument("--ledger", default="public.s3_load_ledger", help="the load ledger table")
    report.add_argument("--days", type=int, default=7, help="the days to report, up to today (7)")
    report.add_argument(
        "--transfer-price-per-gb",
        type=float,
        default=0.02,
        help="the data-transfer price per GB of the bytes read from another region, for the estimate (0.02)",
    )
    report.add_argument(
        "--html", metavar="PATH", help="also write the report as one self-contained HTML page with charts"
    )


def run_report_command(args: argparse.Namespace) -> int:
    """Print the usage table for the command's flags; return the exit code."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    from airflow_redshift_s3.sql import parse_table_name
    from airflow_redshift_s3.usage import format_usage
    from airflow_redshift_s3.usage_costs import format_costs, read_report

    problem = _bad_flag(args)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        parse_table_name(args.ledger)
    except ValueError as error:
        print(f"Fix: pass --ledger as schema.table. --ledger {args.ledger!r}: {error}", file=sys.stderr)
        return 2
    hook = RedshiftSQLHook(redshift_conn_id=args.redshift_conn_id)
    hook.log_sql = False
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    report = read_report(
        lambda sql: hook.get_records(sql) or [], args.ledger, args.days, now, args.transfer_price_per_gb
    )
    for problem in report.problems:
        print(f"not read: {problem}", file=sys.stderr)
    if report.unread_sources == 3:  # neither the ledger, its history nor sys_load_history
        return 2
    print(f"Loads of the last {args.days} day(s) (ledger {args.ledger}, sys_load_history)")
    for line in [*format_usage(report.rows), *format_costs(report)]:
        print(line)
    if args.html:
        from airflow_redshift_s3.usage_html import write_html

        path = write_html(
            report, args.html, title=f"Loads of the last {args.days} day(s), ledger {args.ledger}"
        )
        print(f"HTML report: {path}")
    return 0


def _bad_flag(args: argparse.Namespace) -> str | None:
    if args.days < 1:
        return f"Fix: pass --days 1 or more. --days is {args.days}: expected the days to report."
    if not args.transfer_price_per_gb >= 0:  # also refuses nan
        return (
            f"Fix: pass --transfer-price-per-gb 0 or more (0.02 is a common inter-region price). "
            f"--transfer-price-per-gb is {args.transfer_price_per_gb}: expected a price per GB."
        )
    return None
