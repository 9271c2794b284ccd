"""What the gateway's Redshift SQL layer costs per statement.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_sql_dialect.py [--rounds 7] [--load-rows 0]``).
Prints four tables and writes ``bench/results/sql_dialect.json``.

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
3. One load of 1 M rows (``bench_load_throughput.py``'s gzip CSV files and tables) through one stack whose
   layer a statement switches off and on (``_stack_process.py --switch-sql-layer``), with
   ``S3ToRedshiftCopyOperator.execute`` and with a bare COPY (see :func:`load_cost`): median wall time and
   CPU time of the stack's processes over ``--load-rounds`` (7) interleaved rounds, the layer's cost (the
   median of the rounds' differences, see :func:`_compare`) in percent against the target (< 5%), and
   PostgreSQL's part of the CPU; and the same cost as the sum of its parts: the layer's work inside
   the gateway during each load (``_stack_process.py --time-sql-layer``) and what its byte-limit CHECKs
   cost PostgreSQL for every row, timed apart (see :func:`_checks_ms`), in percent of the pass-through's
   median load.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
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


LOAD_TARGET_PERCENT = 5.0


def _put_files(stack: _common.StackProcess, packed: list[bytes]) -> None:
    """Put the load's gzip files, and a small warm-up file, in the stack's S3."""
    import bench_load_throughput as throughput

    s3 = stack.aws_client("s3")
    s3.create_bucket(Bucket=throughput.BUCKET)
    for index, body in enumerate(packed):
        s3.put_object(Bucket=throughput.BUCKET, Key=f"small/part-{index:04d}.csv.gz", Body=body)
    warm = gzip.compress(throughput.csv_rows(0, 100))
    s3.put_object(Bucket=throughput.BUCKET, Key="warmup/part-0000.csv.gz", Body=warm)


def _make_tables(
    stack: _common.StackProcess, switch: Callable[[bool], None], layer: bool, schema: str
) -> Any:
    """Make the load's tables in ``schema`` through the gateway, with the SQL layer on or off.

    Made with the layer on, a table gets what the layer adds to a CREATE TABLE (a CHECK on the byte
    length of each VARCHAR column), as a user's tables do; made with it off, it does not. The
    pass-through cannot run the ledger's Redshift DDL (DISTSTYLE, SORTKEY): its ledger is made
    beforehand, through the gateway by the same user, without them (what the layer does to it).
    """
    import bench_load_throughput as throughput

    from airflow_redshift_s3.ledger import DEFAULT_LEDGER_NAME, create_ledger
    from airflow_redshift_s3.sql import parse_table_name

    switch(layer)
    conn = stack.redshift_connection()
    conn.autocommit = True
    columns = ", ".join(f"{name} {kind}" for name, kind in throughput.TABLE_COLUMNS)
    conn.cursor().execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in throughput.TABLES:  # Loads.reset truncates all four
        conn.cursor().execute(f"CREATE TABLE {schema}.{table} ({columns})")
    if not layer:
        ledger = str(create_ledger(parse_table_name(f"{schema}.{DEFAULT_LEDGER_NAME}")))
        conn.cursor().execute(ledger.split(" DISTSTYLE ")[0])
    conn.close()
    loads = throughput.Loads(stack, [], schema)
    cur = loads.pg.cursor()
    cur.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c' AND conrelid = %s::regclass",
        (f"{schema}.{throughput.GATEWAY_TABLE}",),
    )
    loads.checks = [row[0] for row in cur.fetchall()]
    loads.reset()
    loads.operator("warmup/")  # untimed: imports, first connections, the ledger's creation
    loads.gateway("warmup/")
    return loads


def _checks_ms(loads: Any, checks: list[str], plain: list[bytes], rounds: int = 9) -> dict[str, float]:
    """Time what the layer's CHECKs cost PostgreSQL in a load, apart from the rest of a whole load.

    The load's rows, decompressed, go with ``COPY FROM STDIN`` straight to PostgreSQL (no gateway, no S3)
    into two new tables alike but for the CHECKs, one after the other, ``rounds`` rounds in alternating
    order: the median of each round's difference is what PostgreSQL spends evaluating them for every row
    as COPY inserts it (a best of each side moved from 28 to 144 ms between two runs on one machine).
    """
    import bench_load_throughput as throughput

    columns = ", ".join(f"{name} {kind}" for name, kind in throughput.TABLE_COLUMNS)
    tables = {
        "COPY without the checks": ("public.bench_no_checks", f"({columns})"),
        "COPY with the checks": ("public.bench_checks", f"({', '.join([columns, *checks])})"),
    }
    pg = loads.pg
    pg.autocommit = True
    cur = pg.cursor()
    for table, definition in tables.values():
        cur.execute(f"CREATE TABLE {table} {definition}")
    names = ", ".join(throughput.COLUMNS)
    rows = b"".join(plain)
    times: dict[str, list[float]] = {name: [] for name in tables}
    for round_ in range(rounds):
        for name in list(tables)[round_ % 2 :] + list(tables)[: round_ % 2]:
            table = tables[name][0]
            cur.execute(f"TRUNCATE {table}")
            cur.execute("CHECKPOINT")
            pg.autocommit = False
            start = time.perf_counter()
            cur.copy_expert(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)", io.BytesIO(rows))
            pg.commit()
            times[name].append(time.perf_counter() - start)
            pg.autocommit = True
    for table, _ in tables.values():
        cur.execute(f"DROP TABLE {table}")
    pairs = zip(times["COPY with the checks"], times["COPY without the checks"], strict=True)
    return {
        **{name: round(_common.median(values) * 1000, 1) for name, values in times.items()},
        "difference": round(_common.median([with_ - without for with_, without in pairs]) * 1000, 1),
    }


def _compare(
    values: dict[tuple[str, str], list[float]], way: str, runs: str, median: str, cost: str, met: str | None
) -> dict[str, Any]:
    """Return one way's runs, medians, the layer's cost in percent of the pass-through and the verdict.

    ``met`` names the verdict against the target; None for a measure that is a part of the load, not the
    load (PostgreSQL's CPU), which the target does not apply to.
    The cost is the median of the rounds' differences (each round's load with the layer minus the same
    round's load without it, run next to each other) in percent of the pass-through's median: a drift
    of the machine over the rounds (loads a third slower by the last round on a busy one) is in both
    loads of a round and cancels out, where it would not between two medians.
    """
    gateways = ("pass-through", "with the SQL layer")
    medians = {gateway: _common.median(values[(way, gateway)]) for gateway in gateways}
    pairs = zip(values[(way, "with the SQL layer")], values[(way, "pass-through")], strict=True)
    differences = [layer - passing for layer, passing in pairs]
    percent = _common.median(differences) / medians["pass-through"] * 100
    result = {
        runs: {gateway: [round(v, 3) for v in values[(way, gateway)]] for gateway in gateways},
        median: {gateway: round(m, 3) for gateway, m in medians.items()},
        f"{runs}_differences": [round(d, 3) for d in differences],
        cost: round(percent, 1),
    }
    if met is not None:
        result[met] = percent < LOAD_TARGET_PERCENT
    return result


def load_cost(rows: int, rounds: int) -> dict[str, Any]:
    """Time one load of ``rows`` rows through the gateway with its SQL layer and as a pass-through.

    One stack (``_stack_process.py --switch-sql-layer``): a statement switches its layer off and on, so
    both modes load with the same PostgreSQL, moto and process. The rows, files and tables are
    ``bench_load_throughput.py``'s (gzip CSV in 10 files); each mode has its own tables, made through the
    gateway in that mode (schema ``public`` with the layer, ``passthrough`` without: see
    :func:`_make_tables`). Two ways: ``S3ToRedshiftCopyOperator.execute`` with its defaults (what a user
    of this provider runs: every statement of the preflight, LOCK, COPY, ledger goes through the layer)
    and a bare COPY with redshift_connector. Tables and ledger truncated and a CHECKPOINT before each
    load; ``rounds`` rounds of the four (way, gateway) cases in a rotating order.
    """
    import bench_load_throughput as throughput
    from _stack_process import SWITCH_QUERY

    _common.airflow_environment()
    _common.allow_execute_outside_task_runner()
    began = time.monotonic()
    plain, packed = throughput.make_parts(rows, 10)
    data = {
        "rows": rows,
        "files": len(packed),
        "csv_mb": _common.mb(sum(map(len, plain))),
        "gzip_mb": _common.mb(sum(map(len, packed))),
        "generate_seconds": round(time.monotonic() - began, 1),
    }
    with _common.StackProcess("--time-sql-layer", "--switch-sql-layer") as stack:
        stack.use_environment()
        control = stack.redshift_connection()
        control.autocommit = True

        def switch(on: bool) -> None:
            cur = control.cursor()
            cur.execute(f"{SWITCH_QUERY}{'on' if on else 'off'}', {time.perf_counter_ns()}")
            assert cur.fetchone()[0] == ("on" if on else "off")

        _put_files(stack, packed)
        loads = {
            "pass-through": _make_tables(stack, switch, False, "passthrough"),
            "with the SQL layer": _make_tables(stack, switch, True, "public"),
        }
        # the switch took: only the tables made with the layer on have its byte-limit CHECKs
        assert loads["with the SQL layer"].checks and not loads["pass-through"].checks, {
            gateway: ld.checks for gateway, ld in loads.items()
        }
        ways = {
            "S3ToRedshiftCopyOperator": (lambda ld: ld.operator("small/"), throughput.OPERATOR_TABLE),
            "COPY (redshift_connector)": (lambda ld: ld.gateway("small/"), throughput.GATEWAY_TABLE),
        }
        cases = [(way, gateway) for way in ways for gateway in loads]
        seconds: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
        cpu: dict[tuple[str, str], list[dict[str, float]]] = {case: [] for case in cases}
        layer_ms: dict[str, list[float]] = {way: [] for way in ways}
        for r in range(rounds):
            for way, gateway in cases[r % len(cases) :] + cases[: r % len(cases)]:
                run, table = ways[way]
                layer = gateway == "with the SQL layer"
                switch(layer)
                loads[gateway].reset()
                layer_before = _layer_seconds(control) if layer else 0.0
                cpu_before = stack.cpu_seconds()
                start = time.perf_counter()
                run(loads[gateway])
                seconds[(way, gateway)].append(time.perf_counter() - start)
                cpu_after = stack.cpu_seconds()
                cpu[(way, gateway)].append({part: cpu_after[part] - cpu_before[part] for part in cpu_after})
                if layer:
                    layer_ms[way].append((_layer_seconds(control) - layer_before) * 1000)
                loaded = loads[gateway].count(table)
                assert loaded == rows, f"{way} / {gateway}: loaded {loaded} rows, expected {rows}"
        checks_ms = _checks_ms(loads["pass-through"], loads["with the SQL layer"].checks, plain)
        control.close()
        for ld in loads.values():
            ld.reset()
            ld.pg.close()
    result: dict[str, Any] = {
        "data": data,
        "rounds": rounds,
        "target_percent": LOAD_TARGET_PERCENT,
        "table_checks": {gateway: ld.checks for gateway, ld in loads.items()},
        "checks_copy_ms": checks_ms,
    }
    totals = {case: [sum(run.values()) for run in runs] for case, runs in cpu.items()}
    postgres = {case: [run["PostgreSQL"] for run in runs] for case, runs in cpu.items()}
    for way in ways:
        result[way] = {
            **_compare(seconds, way, "seconds", "median_seconds", "layer_cost_percent", "target_met"),
            "stack_cpu_seconds_by_part": {gateway: cpu[(way, gateway)] for gateway in loads},
            **_compare(
                postgres,
                way,
                "postgres_cpu_seconds",
                "median_postgres_cpu_seconds",
                "layer_postgres_cpu_cost_percent",
                None,
            ),
            **_compare(
                totals,
                way,
                "stack_cpu_seconds",
                "median_stack_cpu_seconds",
                "layer_cpu_cost_percent",
                "cpu_target_met",
            ),
        }
        result[way].update(_layer_parts(result[way], layer_ms[way], checks_ms))
    return result


def _layer_seconds(conn: Any) -> float:
    """Return the seconds the gateway's SQL layer has worked so far (``--time-sql-layer``)."""
    from _stack_process import LAYER_SECONDS_QUERY

    cur = conn.cursor()
    cur.execute(f"{LAYER_SECONDS_QUERY}, {time.perf_counter_ns()}")
    return float(cur.fetchone()[0])


def _layer_parts(way: dict[str, Any], layer_ms: list[float], checks_ms: dict[str, float]) -> dict[str, Any]:
    """The layer's cost on one load as the sum of its parts, in percent of the pass-through's median load.

    Its work inside the gateway per load (timed there: ``_timing_sql_layer``; median of the rounds) plus
    what its CHECKs cost PostgreSQL per load (``_checks_ms``). A whole load's wall time on a shared
    2-core machine moves by more than 5% between two runs of the same code; these parts do not.
    """
    base_ms = way["median_seconds"]["pass-through"] * 1000
    work_ms = _common.median(layer_ms)
    checks = max(checks_ms["difference"], 0.0)
    percent = (work_ms + checks) / base_ms * 100
    return {
        "layer_work_ms": [round(v, 2) for v in layer_ms],
        "median_layer_work_ms": round(work_ms, 2),
        "checks_ms": round(checks, 1),
        "layer_parts_percent": round(percent, 2),
        "parts_target_met": percent < LOAD_TARGET_PERCENT,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--load-rows", type=int, default=1_000_000, help="rows of the load (0 to skip)")
    parser.add_argument("--load-rounds", type=int, default=7, help="loads of each (way, gateway)")
    args = parser.parse_args()
    _common.time_limit(900)
    machine = _common.machine_info()
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
    load = load_cost(args.load_rows, args.load_rounds) if args.load_rows else None
    if load is not None:
        data = load["data"]
        _common.print_table(
            ["way: measure", "pass-through", "with the SQL layer", "layer cost", "target"],
            [
                (
                    f"{way}: {label}",
                    f"{load[way][median]['pass-through']:.2f}",
                    f"{load[way][median]['with the SQL layer']:.2f}",
                    f"{load[way][cost]:+.1f}%",
                    f"< {LOAD_TARGET_PERCENT:.0f}% ({'met' if load[way][met] else 'MISSED'})"
                    if met is not None
                    else "(of PostgreSQL's CPU)",
                )
                for way in ("S3ToRedshiftCopyOperator", "COPY (redshift_connector)")
                for label, median, cost, met in (
                    ("wall s", "median_seconds", "layer_cost_percent", "target_met"),
                    ("stack CPU s", "median_stack_cpu_seconds", "layer_cpu_cost_percent", "cpu_target_met"),
                    (
                        "PostgreSQL CPU",
                        "median_postgres_cpu_seconds",
                        "layer_postgres_cpu_cost_percent",
                        None,
                    ),
                )
            ],
            title=f"One load of {data['rows']:,} rows ({data['csv_mb']} MB of CSV in {data['files']} gzip "
            f"files, {data['gzip_mb']} MB), median of {args.load_rounds}; the cost: the median of the "
            "rounds' differences",
        )
        _common.print_table(
            ["way", "layer's work in the gateway ms", "its CHECKs in PostgreSQL ms", "layer cost", "target"],
            [
                (
                    way,
                    f"{load[way]['median_layer_work_ms']:.1f}",
                    f"{load[way]['checks_ms']:.0f}",
                    f"{load[way]['layer_parts_percent']:.1f}% of "
                    f"{load[way]['median_seconds']['pass-through']:.2f} s",
                    f"< {LOAD_TARGET_PERCENT:.0f}% ({'met' if load[way]['parts_target_met'] else 'MISSED'})",
                )
                for way in ("S3ToRedshiftCopyOperator", "COPY (redshift_connector)")
            ],
            title="The same loads, the layer's cost as the sum of its parts (work timed inside the gateway, "
            "median; CHECKs timed apart)",
        )
        copies = load["checks_copy_ms"]
        print(
            f"the layer's {len(load['table_checks']['with the SQL layer'])} byte-limit CHECKs in a load: "
            f"{copies['difference']:+.0f} ms (the rows with COPY FROM STDIN straight to PostgreSQL, median "
            f"of 9: {copies['COPY without the checks']:.0f} ms into a table without them, "
            f"{copies['COPY with the checks']:.0f} ms with them; the cost: the median of the rounds' "
            "differences)"
        )
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(
        f"load average at start {machine['load_average_at_start']}, at end {machine['load_average_at_end']}"
    )
    path = _common.write_result(
        "sql_dialect",
        {
            "machine": machine,
            "rounds": args.rounds,
            "sqlglot_import_ms": import_ms,
            "planning_us": planning,
            "round_trip_ms": round_trips,
            "layer_cost_us": {
                name: (by["with the SQL layer"] - by["pass-through"]) * 1000
                for name, by in round_trips.items()
                if "pass-through" in by
            },
            "load": load,
        },
    )
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
