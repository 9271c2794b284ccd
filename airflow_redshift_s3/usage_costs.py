"""What the loads cost beyond their rows: failures by category, cross-region bytes, Serverless RPU-seconds.

- A failed COPY's category (permission, region, format, config) comes from its error text, read the way the
  COPY operator reads Redshift's messages (``transfers.copy.errors``): rows rejected (listed in
  ``sys_load_error_detail``) are "format"; otherwise ``sys_query_history.error_message`` is classified.
  A failure whose text cannot be read (the local stack keeps none) is "unknown".
- Cross-region bytes: the ledger records the bucket, not its region, and ``sys_load_history`` neither; what
  is recorded is the COPY statement in ``sys_query_history``, whose ``REGION`` clause the operator adds only
  when the bucket is in another region than Redshift. The bytes those COPYs read are billed as data transfer.
- RPU-seconds: Redshift does not give them per query; ``sys_serverless_usage`` (Serverless, superusers)
  gives the workgroup's per minute, so the report sums the minutes during which a load ran: an upper bound,
  since other queries of those minutes count too. Elsewhere they are reported unavailable, never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_redshift_s3.sql import since_literal
from airflow_redshift_s3.usage import RunSql, UsageRow, first_line, read_usage, usage_row

DEFAULT_TRANSFER_PRICE_PER_GB = 0.02
GB = 1024**3  # AWS bills data transfer per GB of 2^30 bytes
_REGION_CLAUSE = re.compile(r"\bREGION\s+(?:AS\s+)?'([a-z0-9-]+)'", re.IGNORECASE)
_IN_CHUNK = 500  # query ids per IN list


@dataclass
class UsageReport:
    """The usage rows and the figures of the whole report, with what could not be read and why."""

    rows: list[UsageRow]
    problems: list[str] = field(default_factory=list)
    days: int = 7
    transfer_price_per_gb: float = DEFAULT_TRANSFER_PRICE_PER_GB
    rpu_seconds: dict[dt.date, float] | None = None  # None: unavailable (see rpu_note)
    rpu_note: str = ""
    cross_region_note: str = ""
    unread_sources: int = 0  # of the ledger, its history and sys_load_history

    @property
    def cross_region_bytes(self) -> int:
        """Return the bytes read from buckets in another region than Redshift."""
        return sum(r.cross_region_bytes for r in self.rows)

    @property
    def transfer_cost(self) -> float:
        """Return the estimated data-transfer cost of the cross-region bytes, at the price per GB."""
        return self.cross_region_bytes / GB * self.transfer_price_per_gb

    def summary(self) -> dict[str, Any]:
        """Return the report as a JSON-able dict (totals, failures by category, the rows)."""
        failures: dict[str, int] = {}
        for row in self.rows:
            for category, count in row.failures.items():
                failures[category] = failures.get(category, 0) + count
        totals = {
            f: sum(getattr(r, f) for r in self.rows) for f in ("copies", "failed", "files", "rows", "bytes")
        }
        return {
            "days": self.days,
            "totals": {**totals, "seconds": round(sum(r.seconds for r in self.rows), 3)},
            "failures": dict(sorted(failures.items())),
            "cross_region_bytes": self.cross_region_bytes,
            "transfer_price_per_gb": self.transfer_price_per_gb,
            "transfer_cost_estimate": round(self.transfer_cost, 6),
            "rpu_seconds": None
            if self.rpu_seconds is None
            else {d.isoformat(): round(s, 3) for d, s in sorted(self.rpu_seconds.items())},
            "notes": [n for n in (self.cross_region_note, self.rpu_note) if n],
            "rows": [r.to_dict() for r in self.rows],
        }


def read_report(
    run_sql: RunSql,
    ledger: str,
    days: int,
    now: dt.datetime,
    price_per_gb: float = DEFAULT_TRANSFER_PRICE_PER_GB,
) -> UsageReport:
    """Return the usage report of the last ``days`` days.

    :param run_sql: runs a query on the cluster and returns its rows.
    :param ledger: the load ledger table ("schema.table").
    :param price_per_gb: the data-transfer price per GB of the cross-region bytes (an estimate).
    """
    rows, problems = read_usage(run_sql, ledger, days, now)
    since = since_literal(now, days)
    usage = {(r.table, r.day): r for r in rows}
    report = UsageReport(rows, list(problems), days, price_per_gb, unread_sources=len(problems))
    _add_failures(run_sql, since, usage, report)
    _add_cross_region(run_sql, since, usage, report)
    report.rpu_seconds, report.rpu_note = _rpu_seconds(run_sql, since)
    report.rows = sorted(usage.values(), key=lambda r: (r.table, r.day))
    return report


def failure_category(error_text: str | None, rejected_rows: bool) -> str:
    """Return the category of a failed COPY: permission, region, format, config, other, or unknown.

    :param error_text: Redshift's message for the COPY (``sys_query_history.error_message``), if known.
    :param rejected_rows: the COPY has rows in ``sys_load_error_detail`` (rows of the files rejected).
    """
    from airflow_redshift_s3.exceptions import RedshiftS3FailError
    from airflow_redshift_s3.transfers.copy.errors import CopyContext, is_load_failure, translate

    if rejected_rows:
        return "format"  # the operator raises CopyLoadError, a format error, for rejected rows
    if not error_text:
        return "unknown"
    error = Exception(error_text)
    if is_load_failure(error):
        return "format"
    translated = translate(error, CopyContext("", "", "", "", None, None, 0))
    return translated.category if isinstance(translated, RedshiftS3FailError) else "other"


def _in_lists(ids: Sequence[int]) -> list[str]:
    return [", ".join(str(int(i)) for i in ids[at : at + _IN_CHUNK]) for at in range(0, len(ids), _IN_CHUNK)]


def _add_failures(
    run_sql: RunSql, since: str, usage: dict[tuple[str, dt.date], UsageRow], report: UsageReport
) -> None:
    try:
        aborted = run_sql(
            "SELECT TRIM(table_name), CAST(start_time AS DATE), query_id FROM sys_load_history "
            f"WHERE start_time >= {since} AND TRIM(status) = 'aborted'"
        )
    except Exception as error:
        report.problems.append(f"sys_load_history (failures): {first_line(error)}")
        return
    ids = [int(query_id) for _, _, query_id in aborted]
    rejected: set[int] = set()
    texts: dict[int, str] = {}
    for chunk in _in_lists(ids):
        try:
            found = run_sql(
                f"SELECT DISTINCT query_id FROM sys_load_error_detail WHERE query_id IN ({chunk})"
            )
            rejected.update(int(q) for (q,) in found)
        except Exception as error:
            report.problems.append(f"sys_load_error_detail: {first_line(error)}")
        try:
            said = run_sql(
                f"SELECT query_id, TRIM(error_message) FROM sys_query_history WHERE query_id IN ({chunk})"
            )
            texts.update((int(q), str(text)) for q, text in said if text)
        except Exception as error:  # the local stack's sys_query_history has no error_message
            report.problems.append(f"sys_query_history.error_message: {first_line(error)}")
    tables = {name for name, _ in usage}
    for name, day, query_id in aborted:
        row = usage_row(usage, tables, name, day)
        category = failure_category(texts.get(int(query_id)), int(query_id) in rejected)
        row.failures[category] = row.failures.get(category, 0) + 1


def _add_cross_region(
    run_sql: RunSql, since: str, usage: dict[tuple[str, dt.date], UsageRow], report: UsageReport
) -> None:
    try:
        loads = run_sql(
            "SELECT TRIM(h.table_name), CAST(h.start_time AS DATE), h.source_file_bytes, q.query_text "
            "FROM sys_load_history h JOIN sys_query_history q ON q.query_id = h.query_id "
            f"WHERE h.start_time >= {since} AND TRIM(h.status) <> 'aborted' "
            "AND UPPER(q.query_text) LIKE '%REGION%'"
        )
    except Exception as error:
        report.cross_region_note = (
            "cross-region bytes unknown: the COPY statements (sys_query_history) could not be read "
            f"({first_line(error)})"
        )
        return
    tables = {name for name, _ in usage}
    for name, day, size, text in loads:
        if _REGION_CLAUSE.search(str(text or "")):
            usage_row(usage, tables, name, day).cross_region_bytes += int(size or 0)
    report.cross_region_note = (
        "cross-region bytes: the bytes read by COPYs with a REGION clause in sys_query_history (the operator "
        "adds it only when the bucket is in another region); the ledger records no region"
    )


def _rpu_seconds(run_sql: RunSql, since: str) -> tuple[dict[dt.date, float] | None, str]:
    try:
        minutes = run_sql(
            "SELECT CAST(u.start_time AS DATE), SUM(u.compute_seconds) FROM sys_serverless_usage u "
            f"WHERE u.start_time >= {since} AND EXISTS (SELECT 1 FROM sys_load_history h "
            "WHERE h.start_time < u.end_time AND h.end_time >= u.start_time) GROUP BY 1"
        )
    except Exception as error:
        return None, (
            "RPU-seconds unavailable: sys_serverless_usage could not be read (a provisioned cluster, the "
            f"local stack, or a user that is not a superuser: {first_line(error)})"
        )
    return {day: float(seconds or 0) for day, seconds in minutes}, (
        "RPU-seconds: the workgroup's compute_seconds of the minutes a load ran (sys_serverless_usage), an "
        "upper bound: other queries of those minutes count too"
    )


def format_costs(report: UsageReport) -> list[str]:
    """Return the lines after the table: cross-region transfer estimate and RPU-seconds, or why not."""
    gb = report.cross_region_bytes / GB
    lines = [
        f"Cross-region: {report.cross_region_bytes} bytes ({gb:.3f} GB), estimated transfer cost "
        f"${report.transfer_cost:.4f} at ${report.transfer_price_per_gb:g} per GB (--transfer-price-per-gb)",
        f"  {report.cross_region_note}",
    ]
    if report.rpu_seconds is None:
        lines.append(report.rpu_note)
    else:
        per_day = ", ".join(f"{d.isoformat()}: {s:.1f}" for d, s in sorted(report.rpu_seconds.items()))
        lines += [f"RPU-seconds of the load minutes: {per_day or 'none'}", f"  {report.rpu_note}"]
    return lines
