"""What the gateway's Redshift SQL layer costs per statement.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_sql_dialect.py [--rounds 7]``).
Prints two tables and writes ``bench/results/sql_dialect.json``.

1. In this process: the gateway's planning of one statement (``plan_statements``: split, rewrite, render)
   with the SQL layer, and with its function translation switched off (what the gateway did before it),
   for statements that need no translation and for ones that name Redshift functions (sqlglot's path).
   Microseconds per statement, median over rounds of 2,000 (200 for the translated ones), interleaved;
   the translated ones with the layer's cache of translations cleared before each, so each is translated.
   sqlglot's import, paid once by the first statement that needs it, is reported apart.
2. Through the stack (in its own process): one round trip of redshift_connector's ``execute`` + ``fetchall``
   for a plain SELECT and for one the layer translates, median over rounds of 200.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import _common

PLAIN = [
    "select id, name from public.items where id = $1",
    "insert into public.items (id, name) values ($1, $2)",
    "update public.items set name = 'x' where id = 3",
    "begin",
    "select count(*) from stl_load_errors where query = pg_last_copy_id()",
]
TRANSLATED = [
    "select nvl(name, 'none'), len(name) from public.items where id = $1",
    "select datediff(day, created, getdate()) from public.items",
    "select top 10 listagg(name, ',') within group (order by name) from public.items",
]


def _per_statement_us(plan: Callable[[str], Any], statements: list[str], count: int) -> float:
    from airflow_redshift_s3.local.sql.dialect import translate

    elapsed = 0.0
    for i in range(count):
        translate.cache_clear()
        start = time.perf_counter()
        plan(statements[i % len(statements)])
        elapsed += time.perf_counter() - start
    return elapsed / count * 1e6


def _planner(translation: bool) -> Callable[[str], Any]:
    from airflow_redshift_s3.local.gateway.local import plan_statements
    from airflow_redshift_s3.local.sql import rewrite

    def plan(sql: str) -> Any:
        saved = rewrite.QUERY_HEADS
        if not translation:
            rewrite.QUERY_HEADS = frozenset()  # no statement is looked at: the gateway before the layer
        try:
            return plan_statements(sql)
        finally:
            rewrite.QUERY_HEADS = saved

    return plan


def _sqlglot_import_ms() -> float:
    code = "import time; t = time.perf_counter(); import sqlglot.dialects.redshift; "
    code += "print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out) * 1000


def in_process(rounds: int) -> dict[str, Any]:
    """Time the planning of each kind of statement with and without translation."""
    variants = {
        ("plain", "without translation"): (_planner(False), PLAIN, 2000),
        ("plain", "with the SQL layer"): (_planner(True), PLAIN, 2000),
        ("translated", "with the SQL layer"): (_planner(True), TRANSLATED, 200),
    }
    for plan, statements, _ in variants.values():
        for sql in statements:
            plan(sql)  # warm: imports, caches
    times: dict[tuple[str, str], list[float]] = {key: [] for key in variants}
    keys = list(variants)
    for r in range(rounds):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            plan, statements, count = variants[key]
            times[key].append(_per_statement_us(plan, statements, count))
    return {f"{kind} / {variant}": _common.median(v) for (kind, variant), v in times.items()}


def through_stack(rounds: int) -> dict[str, float]:
    """Time one statement's round trip through the gateway, plain and translated."""
    queries = {
        "plain: select %s + 1": "select %s + 1",
        "translated: select nvl(%s, 0) + 1": "select nvl(%s, 0) + 1",
    }
    with _common.StackProcess() as stack:
        conn = stack.redshift_connection()
        cur = conn.cursor()
        for sql in queries.values():
            for i in range(20):
                cur.execute(sql, (i,))
                cur.fetchall()
        times: dict[str, list[float]] = {name: [] for name in queries}
        names = list(queries)
        for r in range(rounds):
            for name in names[r % 2 :] + names[: r % 2]:
                start = time.perf_counter()
                for i in range(200):
                    cur.execute(queries[name], (i,))
                    cur.fetchall()
                times[name].append((time.perf_counter() - start) / 200 * 1000)
        conn.close()
    return {name: _common.median(v) for name, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    _common.time_limit(600)
    import_ms = _sqlglot_import_ms()
    planning = in_process(args.rounds)
    base = planning["plain / without translation"]
    _common.print_table(
        ["statement / gateway", "µs per statement", "vs without translation"],
        [(name, f"{us:.1f}", f"{us / base:.2f}x") for name, us in planning.items()],
        title=f"Planning one statement in the gateway (sqlglot import, once: {import_ms:.0f} ms)",
    )
    round_trips = through_stack(args.rounds)
    _common.print_table(
        ["statement", "ms per round trip"],
        [(name, f"{ms:.3f}") for name, ms in round_trips.items()],
        title="Through the stack: redshift_connector execute + fetchall",
    )
    path = _common.write_result(
        "sql_dialect",
        {
            "machine": _common.machine_info(),
            "rounds": args.rounds,
            "sqlglot_import_ms": import_ms,
            "planning_us": planning,
            "round_trip_ms": round_trips,
        },
    )
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
