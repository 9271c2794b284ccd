"""What the gateway's Redshift SQL layer costs per statement.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_sql_dialect.py [--rounds 7]``).
Prints two tables and writes ``bench/results/sql_dialect.json``.

1. In this process: the gateway's planning of one statement (``plan_statements``: split, rewrite, render)
   with the SQL layer, and with its function translation switched off (what the gateway did before it),
   for statements that need no translation and for ones that name Redshift functions (sqlglot's path).
   Microseconds per statement, median over rounds of 2,000 (200 for the translated ones), interleaved;
   the translated ones with the layer's cache of translations cleared before each, so each is translated;
   likewise for PartiQL navigation into a SUPER column.
   sqlglot's import, paid once by the first statement that needs it, is reported apart.
2. Through the stack (in its own process): one round trip (``execute`` + ``fetchall``) of simple statements,
   with redshift_connector and psycopg2, through a gateway with the SQL layer and through one without it
   (``_stack_process.py --no-sql-layer``: a pass-through), both stacks up in the same run, rounds
   interleaved; the difference is the layer's cost per statement. A translated SELECT and a SUPER
   navigation, which only the layer runs, are timed with it. Median over rounds of 500.
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
NAVIGATED = [  # PartiQL navigation into a SUPER column ("doc", known to the layer in this process)
    "select doc.a.b from public.docs where id = $1",
    "select d.doc.items[0].sku, count(*) from public.docs d group by 1",
]


def _per_statement_us(plan: Callable[[str], Any], statements: list[str], count: int) -> float:
    from airflow_redshift_s3.local.sql.dialect import translate
    from airflow_redshift_s3.local.sql.super_navigation import _navigate

    elapsed = 0.0
    for i in range(count):
        translate.cache_clear()
        _navigate.cache_clear()
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
    """Time the planning of each kind of statement with and without translation.

    A SUPER column is known to the layer throughout, so every statement "with the SQL layer" also pays the
    search for a navigation into it.
    """
    from airflow_redshift_s3.local.sql.super_navigation import SUPER_COLUMNS

    SUPER_COLUMNS.add("doc")
    variants = {
        ("plain", "without translation"): (_planner(False), PLAIN, 2000),
        ("plain", "with the SQL layer"): (_planner(True), PLAIN, 2000),
        ("translated", "with the SQL layer"): (_planner(True), TRANSLATED, 200),
        ("SUPER navigation", "with the SQL layer"): (_planner(True), NAVIGATED, 200),
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


SETUP = [
    "create table public.bench_items (id int, name varchar(20))",
    "insert into public.bench_items values (1, 'a'), (2, 'b'), (3, 'c')",
    "create table public.bench_sink (id int, name varchar(20))",
    "create table public.bench_docs (id int, doc super)",
    """insert into public.bench_docs values (1, json_parse('{"a": {"b": [1, 2]}}'))""",
]
SETUP_PASS_THROUGH = SETUP[:3]
# Simple statements both gateways run; the last two only the SQL layer can (they are Redshift SQL).
SIMPLE = {
    "select %s + 1": "select %s + 1",
    "select ... where id = %s": "select id, name from public.bench_items where id = %s",
    "insert ... values (%s, 'x')": "insert into public.bench_sink (id, name) values (%s, 'x')",
}
LAYER_ONLY = {
    "translated: select nvl(%s, 0) + 1": "select nvl(%s, 0) + 1",
    "SUPER: select doc.a.b ... where id = %s": "select doc.a.b from public.bench_docs where id = %s",
}
_PER_ROUND = 500


def _connections(stack: _common.StackProcess, setup: list[str]) -> dict[str, Any]:
    import psycopg2

    rs = stack.redshift_connection()
    rs.autocommit = True
    kwargs = stack.info["connect_kwargs"]
    pg = psycopg2.connect(
        host=kwargs["host"],
        port=kwargs["port"],
        dbname=kwargs["database"],
        user=kwargs["user"],
        password=kwargs["password"],
        sslmode="disable",
    )
    pg.autocommit = True
    cur = rs.cursor()
    for sql in setup:
        cur.execute(sql)
    return {"redshift_connector": rs, "psycopg2": pg}


def _round_ms(conn: Any, sql: str) -> float:
    cur = conn.cursor()
    start = time.perf_counter()
    for i in range(_PER_ROUND):
        cur.execute(sql, (i % 3 + 1,))
        if cur.description:
            cur.fetchall()
    return (time.perf_counter() - start) / _PER_ROUND * 1000


def through_stack(rounds: int) -> dict[str, dict[str, float]]:
    """Time simple statements' round trips through the gateway with the SQL layer and as a pass-through.

    Two stacks run side by side (``--no-sql-layer`` for the pass-through) and every (gateway, driver,
    statement) is timed in each round, in a rotating order. redshift_connector prepares a statement once
    and then binds it by name (the layer plans it once, then relays its rows); psycopg2 sends each
    statement as a simple query with its values inlined (the layer plans every one).
    """
    with _common.StackProcess() as layer_stack, _common.StackProcess("--no-sql-layer") as pass_stack:
        gateways = {
            "with the SQL layer": _connections(layer_stack, SETUP),
            "pass-through": _connections(pass_stack, SETUP_PASS_THROUGH),
        }
        cases = [
            (gateway, driver, name, sql)
            for gateway in gateways
            for driver in ("redshift_connector", "psycopg2")
            for name, sql in (SIMPLE | (LAYER_ONLY if gateway == "with the SQL layer" else {})).items()
        ]
        for gateway, driver, _, sql in cases:  # warm: caches, prepared statements
            conn = gateways[gateway][driver]
            for i in range(20):
                conn.cursor().execute(sql, (i % 3 + 1,))
        times: dict[tuple[str, str, str], list[float]] = {case[:3]: [] for case in cases}
        for r in range(rounds):
            for gateway, driver, name, sql in cases[r % len(cases) :] + cases[: r % len(cases)]:
                times[(gateway, driver, name)].append(_round_ms(gateways[gateway][driver], sql))
        for connections in gateways.values():
            for conn in connections.values():
                conn.close()
    result: dict[str, dict[str, float]] = {}
    for (gateway, driver, name), values in times.items():
        result.setdefault(f"{driver}: {name}", {})[gateway] = _common.median(values)
    return result


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
    rows = []
    for name, by_gateway in round_trips.items():
        layer, passing = by_gateway["with the SQL layer"], by_gateway.get("pass-through")
        cost = f"{(layer - passing) * 1000:+.0f}" if passing is not None else "-"
        rows.append((name, f"{passing:.3f}" if passing is not None else "-", f"{layer:.3f}", cost))
    _common.print_table(
        ["driver: statement", "pass-through ms", "with the SQL layer ms", "layer cost µs"],
        rows,
        title="Through the stack: one execute (+ fetchall), gateway with the SQL layer vs. pass-through",
    )
    path = _common.write_result(
        "sql_dialect",
        {
            "machine": _common.machine_info(),
            "rounds": args.rounds,
            "sqlglot_import_ms": import_ms,
            "planning_us": planning,
            "round_trip_ms": round_trips,
            "layer_cost_us": {
                name: (by["with the SQL layer"] - by["pass-through"]) * 1000
                for name, by in round_trips.items()
                if "pass-through" in by
            },
        },
    )
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
