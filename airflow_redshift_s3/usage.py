"""Load usage per table and day: files, rows, bytes (the ledger); COPYs, duration, failures (Redshift).

The ledger (and its ``_history`` of superseded rows) records each file a load committed; Redshift's
``sys_load_history`` records each COPY, with its duration and whether it was aborted. A failed load
leaves no ledger row, so failures come from the history only, which Redshift keeps for a few days.
Costs (``usage_costs``) add each failure's category, the bytes COPY read from another region, and the
Serverless RPU-seconds of the minutes the loads ran.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_redshift_s3.ledger import history_table
from airflow_redshift_s3.sql import parse_table_name, since_literal

RunSql = Callable[[str], Sequence[Sequence[Any]]]


@dataclass
class UsageRow:
    """What the loads into one table did on one day."""

    table: str
    day: dt.date
    files: int = 0
    rows: int = 0
    bytes: int = 0
    copies: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)  # category -> failed COPYs
    cross_region_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict."""
        return {
            "table": self.table,
            "day": self.day.isoformat(),
            "files": self.files,
            "rows": self.rows,
            "bytes": self.bytes,
            "copies": self.copies,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "failures": dict(sorted(self.failures.items())),
            "cross_region_bytes": self.cross_region_bytes,
        }


def first_line(error: Exception) -> str:
    """Return the error's name and the first line of its message (the server's, for a driver error)."""
    from airflow_redshift_s3.transfers.copy.errors import server_message

    said = server_message(error).strip()
    return f"{type(error).__name__}: {said.splitlines()[0][:200] if said else ''}"


def _ledger_sql(table_sql: str, since: str) -> str:
    return (
        "SELECT target_table, day, COUNT(*), SUM(size_bytes), SUM(load_rows) FROM ("
        "SELECT target_table, CAST(loaded_at AS DATE) AS day, size_bytes, "
        # load_rows is the whole load's, repeated on each of its files: counted once per load
        "CASE WHEN ROW_NUMBER() OVER (PARTITION BY load_id ORDER BY object_key) = 1 "
        "THEN load_rows ELSE 0 END "
        f"AS load_rows FROM {table_sql} WHERE loaded_at >= {since}) AS files GROUP BY 1, 2"
    )


def _history_sql(since: str) -> str:
    return (
        "SELECT TRIM(table_name), CAST(start_time AS DATE), COUNT(*), SUM(duration), "
        "SUM(CASE WHEN TRIM(status) = 'aborted' THEN 1 ELSE 0 END) FROM sys_load_history "
        f"WHERE start_time >= {since} GROUP BY 1, 2"
    )


def read_usage(run_sql: RunSql, ledger: str, days: int, now: dt.datetime) -> tuple[list[UsageRow], list[str]]:
    """Return the usage per table and day of the last ``days`` days, and what could not be read.

    :param run_sql: runs a query on the cluster and returns its rows.
    :param ledger: the load ledger table ("schema.table"); its ``_history`` table is read too when it exists.
    """
    since = since_literal(now, days)
    table = parse_table_name(ledger)
    usage: dict[tuple[str, dt.date], UsageRow] = {}
    problems: list[str] = []
    for source in (table, history_table(table)):
        try:
            rows = run_sql(_ledger_sql(source.sql, since))
        except Exception as error:  # no ledger (or no history) yet
            problems.append(f"{source}: {first_line(error)}")
            continue
        for name, day, files, size, loaded in rows:
            row = usage.setdefault((str(name), day), UsageRow(str(name), day))
            row.files += int(files or 0)
            row.bytes += int(size or 0)
            row.rows += int(loaded or 0)
    try:
        history = run_sql(_history_sql(since))
    except Exception as error:
        problems.append(f"sys_load_history: {first_line(error)}")
        history = []
    tables = {name for name, _ in usage}
    for name, day, copies, duration, failed in history:
        row = usage_row(usage, tables, name, day)
        row.copies += int(copies or 0)
        row.failed += int(failed or 0)
        row.seconds += int(duration or 0) / 1_000_000
    return sorted(usage.values(), key=lambda r: (r.table, r.day)), problems


def usage_row(
    usage: dict[tuple[str, dt.date], UsageRow], tables: set[str], name: Any, day: dt.date
) -> UsageRow:
    """Return the row of a table named by Redshift's views on ``day`` (created when missing).

    :param tables: the ledger's table names ("schema.table"): Redshift's views name the table without its
        schema, so a name matching one of them is counted under it.
    """
    match = [t for t in tables if t == name or t.endswith(f".{name}")]
    key = (match[0] if len(match) == 1 else str(name), day)
    return usage.setdefault(key, UsageRow(key[0], day))


def format_usage(rows: Sequence[UsageRow]) -> list[str]:
    """Return the usage as a text table, one line per table and day, then the totals."""
    header = ("TABLE", "DAY", "COPIES", "FAILED", "FILES", "ROWS", "BYTES", "SECONDS", "XREGION_BYTES",
              "FAILURES")  # fmt: skip
    counted = ("copies", "failed", "files", "rows", "bytes")
    cells = [
        (
            r.table,
            r.day.isoformat(),
            *(str(getattr(r, f)) for f in counted),
            f"{r.seconds:.2f}",
            str(r.cross_region_bytes),
            _failures(r.failures),
        )
        for r in rows
    ]
    failures: dict[str, int] = {}
    for r in rows:
        for category, count in r.failures.items():
            failures[category] = failures.get(category, 0) + count
    total = (
        "total",
        "",
        *(str(sum(getattr(r, f) for r in rows)) for f in counted),
        f"{sum(r.seconds for r in rows):.2f}",
        str(sum(r.cross_region_bytes for r in rows)),
        _failures(failures),
    )
    widths = [max(len(line[i]) for line in (header, *cells, total)) for i in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(w) if i < 2 or i == len(header) - 1 else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    return [line(header), *(line(c) for c in cells), line(total)]


def _failures(failures: dict[str, int]) -> str:
    """Return "format:2,permission:1" (categories sorted), or "-" for none."""
    return ",".join(f"{category}:{count}" for category, count in sorted(failures.items()) if count) or "-"
