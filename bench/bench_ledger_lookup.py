"""Ledger lookup at scale: "is this file already loaded?" against a ledger of 10 k to 1 M rows.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_ledger_lookup.py [--rows 100000]``).
Prints a table and writes ``bench/results/ledger_lookup.json``.

The ledger is created with the operator's own DDL (``ledger.create_ledger``: sort key target schema, target
name, bucket, key) and filled through the gateway with ``INSERT ... SELECT generate_series`` (set-up only):
100 target tables, each with as many keys as the size needs, the keys of one day under one prefix. Then,
through the gateway with redshift_connector, as ``Load._to_load`` does:

- the lookup of one daily load: 24 keys of one table (``ledger.select_loaded``), median of 15;
- the lookup of a large load: 500 keys (one statement's batch);
- the compaction after a reload of those 24 keys (``ledger.compact``: LOCK, move to the history, delete);
- both lookups again once a B-tree on the sort-key columns exists (made on PostgreSQL's port, set-up only).

The local stack is PostgreSQL: without an index the lookups are a scan of the whole ledger, as they would be
on a Redshift table without a sort key; on Redshift the sort key's zone maps skip the blocks of other
tables. The sizes show how the lookup grows with the ledger, which is why the ledger keeps the current state
(one row per file) and moves reloads to the history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any

import _common

TARGETS = 100
BUCKET = "bench-ledger"


def _fill(cursor: Any, ledger: Any, rows: int) -> None:
    """Fill the ledger with ``rows`` rows over TARGETS tables (set-up, one statement)."""
    per_target = max(1, rows // TARGETS)
    cursor.execute(
        f'INSERT INTO {ledger.sql} ("load_id", "target_table", "target_schema", "target_name", "bucket", '
        '"object_key", "etag", "size_bytes", "load_mode", "load_rows", "load_files", "loaded_at") '
        "SELECT 'l' || (n / 24), 'public.t' || (n %% 100), 'public', 't' || (n %% 100), %s, "
        "'sales/' || (n / 2400) || '/part-' || lpad((n / 100 %% 24)::text, 5, '0') || '.csv', "
        "md5(n::text), 1000, 'append', 100, 24, TIMESTAMP '2026-01-01' + (n || ' seconds')::interval "
        "FROM generate_series(0, %s) AS n",
        (BUCKET, per_target * TARGETS - 1),
    )


def _day_keys(cursor: Any, ledger: Any, target: str, count: int) -> list[str]:
    cursor.execute(
        f'SELECT "object_key" FROM {ledger.sql} WHERE "target_name" = %s ORDER BY "object_key" LIMIT %s',
        (target, count),
    )
    return [str(r[0]) for r in cursor.fetchall()]


def _lookup(cursor: Any, ledger: Any, target: Any, keys: list[str], rounds: int) -> tuple[float, int]:
    from airflow_redshift_s3 import ledger as ledger_sql

    times, found = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        rows: list[Any] = []
        for statement in ledger_sql.select_loaded(ledger, target, BUCKET, keys):
            statement.execute(cursor)
            rows.extend(cursor.fetchall())
        found = len(ledger_sql.latest_etags(rows))
        times.append(time.perf_counter() - start)
    return _common.median(times), found


def _compaction(conn: Any, ledger: Any, target: Any, keys: list[str]) -> tuple[float, int]:
    """Reload ``keys`` (INSERT newer rows, as a load's transaction does), then time the compaction."""
    from airflow_redshift_s3 import ledger as ledger_sql

    now = dt.datetime(2027, 1, 1)
    entries = [
        ledger_sql.LedgerEntry(
            load_id="reload",
            target_table=str(target),
            target_schema=target.schema,
            target_name=target.name,
            bucket=BUCKET,
            object_key=key,
            etag="new",
            size_bytes=1000,
            load_mode="append",
            partition_column=None,
            partition_value=None,
            load_rows=100,
            load_files=len(keys),
            dag_id=None,
            run_id=None,
            task_id=None,
            map_index=None,
            try_number=None,
            loaded_at=now,
        )
        for key in keys
    ]
    cursor = conn.cursor()
    for statement in ledger_sql.insert_entries(ledger, entries):
        statement.execute(cursor)
    start = time.perf_counter()
    moved = ledger_sql.compact(conn, ledger, entries, 90)
    return time.perf_counter() - start, moved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    _common.time_limit(900)
    _common.airflow_environment()
    from airflow_redshift_s3 import ledger as ledger_sql
    from airflow_redshift_s3.sql import TableName

    result: dict[str, Any] = {"machine": _common.machine_info(), "parameters": vars(args), "sizes": []}
    with _common.StackProcess(timeout=300) as stack:
        conn = stack.redshift_connection()
        conn.autocommit = True
        cursor = conn.cursor()
        target = TableName("t7", "public")
        for rows in args.rows:
            ledger = TableName(f"bench_ledger_{rows}", "public")
            ledger_sql.create_ledger(ledger).execute(cursor)
            start = time.perf_counter()
            _fill(cursor, ledger, rows)
            cursor.execute(f"ANALYZE {ledger.sql}")
            fill_seconds = time.perf_counter() - start
            day = _day_keys(cursor, ledger, target.name, 24)
            large = _day_keys(cursor, ledger, target.name, 500)
            day_seconds, day_found = _lookup(cursor, ledger, target, day, args.rounds)
            large_seconds, large_found = _lookup(cursor, ledger, target, large, args.rounds)
            compact_seconds, moved = _compaction(conn, ledger, target, day)
            cursor = conn.cursor()
            assert (day_found, moved) == (len(day), len(day)), (day_found, moved)
            # What Redshift's zone maps on the sort key give: blocks of other tables skipped. PostgreSQL's
            # nearest equivalent is a B-tree on the same columns (made on PostgreSQL's port: set-up only).
            with stack.postgres_connection() as pg, pg.cursor() as pg_cursor:
                pg_cursor.execute(
                    f'CREATE INDEX ON {ledger.sql} ("target_schema", "target_name", "bucket", "object_key")'
                )
                pg_cursor.execute(f"ANALYZE {ledger.sql}")
            sorted_day, _ = _lookup(cursor, ledger, target, day, args.rounds)
            sorted_large, _ = _lookup(cursor, ledger, target, large, args.rounds)
            result["sizes"].append(
                {
                    "ledger_rows": rows,
                    "fill_seconds": round(fill_seconds, 1),
                    "lookup_24_keys_ms": round(day_seconds * 1000, 1),
                    "lookup_500_keys_ms": round(large_seconds * 1000, 1),
                    "keys_found": [day_found, large_found],
                    "compaction_24_keys_ms": round(compact_seconds * 1000, 1),
                    "indexed_lookup_24_keys_ms": round(sorted_day * 1000, 1),
                    "indexed_lookup_500_keys_ms": round(sorted_large * 1000, 1),
                }
            )
        conn.close()
    _common.print_table(
        [
            "ledger rows",
            "24 keys (ms)",
            "500 keys (ms)",
            "24 keys, sort-key index (ms)",
            "500 keys, sort-key index (ms)",
            "compaction, 24 keys (ms)",
            "fill (s)",
        ],
        [
            (
                f"{s['ledger_rows']:,}",
                s["lookup_24_keys_ms"],
                s["lookup_500_keys_ms"],
                s["indexed_lookup_24_keys_ms"],
                s["indexed_lookup_500_keys_ms"],
                s["compaction_24_keys_ms"],
                s["fill_seconds"],
            )
            for s in result["sizes"]
        ],
        title=f"Ledger lookup through the gateway (median of {args.rounds})",
    )
    print(f"results: {_common.write_result('ledger_lookup', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
