"""Load throughput: 1 M rows of gzip CSV from S3 through S3ToRedshiftCopyOperator vs COPY FROM STDIN.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_load_throughput.py [--rows 100000]``).
Prints two tables and writes ``bench/results/load_throughput.json``.

The local stack runs in its own process (``_stack_process.py``: the SQL gateway is threads of it, moto's
server and PostgreSQL its children), so the resident set sampled is the gateway's, not this process's,
and moto's is sampled in its own process. Four ways load the same rows into identical empty tables of the same
PostgreSQL, interleaved (rotating the order) ``--repeat`` times so that the machine's noise falls on all:

- floor: ``COPY ... FROM STDIN (FORMAT csv)`` of the already-decompressed rows, with psycopg2 straight to
  PostgreSQL: no S3, no gzip, no gateway;
- gateway COPY: ``COPY ... FROM 's3://...' IAM_ROLE ... CSV GZIP`` through the gateway with
  redshift_connector (what any client sending that COPY gets);
- operator: ``S3ToRedshiftCopyOperator.execute`` with its defaults (every preflight check, the ledger,
  a manifest): listing, preflight, manifest, LOCK, COPY, ledger rows, COMMIT;
- the same with ``preflight_checks=()``, to show what the preflight adds.

Before each run the tables (and the ledger) are truncated and PostgreSQL checkpoints, outside the timing.
Then the gateway's peak RSS is sampled while the operator loads ``--big-mb`` (1 GB) of CSV, and moto's
process's beside it (target for the gateway: < 120 MB, flat from 100 MB to 1 GB).
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import time
from typing import Any

import _common
import psutil

BUCKET = "bench-load"
TABLE_COLUMNS = (
    ("id", "bigint"),
    ("customer", "varchar(20)"),
    ("amount", "numeric(12,2)"),
    ("day", "date"),
    ("sku", "varchar(16)"),
    ("note", "varchar(80)"),
)
COLUMNS = [name for name, _ in TABLE_COLUMNS]
FLOOR_TABLE, GATEWAY_TABLE = "load_floor", "load_gateway"
OPERATOR_TABLE, BARE_OPERATOR_TABLE = "load_operator", "load_operator_no_preflight"
TABLES = (FLOOR_TABLE, GATEWAY_TABLE, OPERATOR_TABLE, BARE_OPERATOR_TABLE)
GATEWAY_RSS_TARGET_MB = 120


def csv_rows(start: int, count: int) -> bytes:
    """Return ``count`` CSV rows of about 100 bytes each (6 columns: number, text, decimal, date)."""
    return "".join(
        f"{i},customer-{i % 99991:05d},{(i * 37) % 1000000 / 100:.2f},2026-11-{i % 28 + 1:02d},"
        f"SKU-{(i * 7919) % 100000000:08d},"
        f"order {i} shipped from warehouse {i % 97:02d} by carrier {i % 13:02d}\n"
        for i in range(start, start + count)
    ).encode()


def make_parts(rows: int, parts: int) -> tuple[list[bytes], list[bytes]]:
    """Return the CSV bytes and the gzip objects of ``rows`` rows split into ``parts`` files."""
    per_part = -(-rows // parts)
    plain, packed = [], []
    for start in range(0, rows, per_part):
        body = csv_rows(start, min(per_part, rows - start))
        plain.append(body)
        packed.append(gzip.compress(body, compresslevel=6))
    return plain, packed


class _Chunks(io.RawIOBase):
    """A file over a list of byte strings, read by psycopg2's copy_expert without joining them."""

    def __init__(self, chunks: list[bytes]):
        self._chunks = iter(chunks)
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._current = memoryview(nxt)
        n = min(len(buffer), len(self._current))
        buffer[:n] = self._current[:n]
        self._current = self._current[n:]
        return n


class Loads:
    """The three ways to load, on one stack, into the tables of ``schema`` (the ledger's there too)."""

    def __init__(self, stack: _common.StackProcess, plain: list[bytes], schema: str = "public"):
        self.stack = stack
        self.plain = plain
        self.schema = schema
        self.role = stack.info["role_arn"]
        self.pg = stack.postgres_connection()
        self.pg.autocommit = True

    def reset(self) -> None:
        """Empty the three tables and the ledger, and checkpoint, so that each run starts alike."""
        cur = self.pg.cursor()
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{self.schema}.s3_load_ledger",))
        ledger = f", {self.schema}.s3_load_ledger" if cur.fetchone()[0] else ""
        cur.execute(f"TRUNCATE {', '.join(f'{self.schema}.{t}' for t in TABLES)}{ledger}")
        cur.execute("CHECKPOINT")

    def count(self, table: str) -> int:
        cur = self.pg.cursor()
        cur.execute(f"SELECT count(*) FROM {self.schema}.{table}")
        return int(cur.fetchone()[0])

    def floor(self) -> None:
        self.pg.autocommit = False
        cur = self.pg.cursor()
        cur.copy_expert(
            f"COPY {self.schema}.{FLOOR_TABLE} ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)",
            _Chunks(self.plain),
            size=1 << 20,
        )
        self.pg.commit()
        self.pg.autocommit = True

    def gateway(self, prefix: str) -> None:
        conn = self.stack.redshift_connection()
        try:
            cur = conn.cursor()
            cur.execute(
                f"COPY {self.schema}.{GATEWAY_TABLE} ({', '.join(COLUMNS)}) FROM 's3://{BUCKET}/{prefix}' "
                f"IAM_ROLE '{self.role}' CSV GZIP"
            )
            conn.commit()
        finally:
            conn.close()

    def operator(self, prefix: str, table: str = OPERATOR_TABLE, **options: Any) -> dict[str, Any]:
        from airflow_redshift_s3.copy_format import CsvFormat
        from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

        return S3ToRedshiftCopyOperator(
            task_id="bench_load",
            bucket=BUCKET,
            prefix=prefix,
            table=f"{self.schema}.{table}",
            column_list=COLUMNS,
            iam_role_arn=self.role,
            cluster_identifier="local-cluster",
            input_format=CsvFormat(compression="gzip"),
            **options,
        ).execute(context={})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the throughput load (1 M)")
    parser.add_argument("--parts", type=int, default=10, help="gzip files the rows are split into (10)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each way to load (5)")
    parser.add_argument(
        "--big-mb", type=int, default=1000, help="CSV MB of the RSS-only load (1000; 0 to skip)"
    )
    args = parser.parse_args()
    _common.time_limit(900)
    _common.airflow_environment()
    result: dict[str, Any] = {"machine": _common.machine_info(), "parameters": vars(args)}
    began = time.monotonic()

    plain, packed = make_parts(args.rows, args.parts)
    csv_bytes, gzip_bytes = sum(map(len, plain)), sum(map(len, packed))
    result["data"] = {
        "rows": args.rows,
        "files": len(packed),
        "csv_mb": _common.mb(csv_bytes),
        "gzip_mb": _common.mb(gzip_bytes),
        "generate_seconds": round(time.monotonic() - began, 1),
    }
    # objects over this size are kept in temporary files (moto's default keeps objects under 5 MB in
    # memory), so that moto's RSS is its server's, not its S3 store's
    with _common.StackProcess(env={"MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": "65536"}) as stack:
        result["gateway_rss_idle_mb"] = _common.mb(psutil.Process(stack.pid).memory_info().rss)
        result["moto_rss_idle_mb"] = _common.mb(psutil.Process(stack.aws_pid).memory_info().rss)
        stack.use_environment()
        s3 = stack.aws_client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for index, body in enumerate(packed):
            s3.put_object(Bucket=BUCKET, Key=f"small/part-{index:04d}.csv.gz", Body=body)
        conn = stack.redshift_connection()
        conn.autocommit = True
        for table in TABLES:
            columns = ", ".join(f"{name} {kind}" for name, kind in TABLE_COLUMNS)
            conn.cursor().execute(f"CREATE TABLE public.{table} ({columns})")
        conn.close()
        s3.put_object(Bucket=BUCKET, Key="warmup/part-0000.csv.gz", Body=gzip.compress(csv_rows(0, 100)))
        loads = Loads(stack, plain)
        _common.allow_execute_outside_task_runner()
        # one untimed run of each on a tiny file: imports, first connections, the ledger's creation
        loads.reset()
        Loads(stack, [csv_rows(0, 100)]).floor()
        loads.gateway("warmup/")
        loads.operator("warmup/")
        loads.operator("warmup/", BARE_OPERATOR_TABLE, preflight_checks=())

        ways = {
            "floor: COPY FROM STDIN (psycopg2, no S3)": (loads.floor, FLOOR_TABLE),
            "gateway COPY from S3 (redshift_connector)": (lambda: loads.gateway("small/"), GATEWAY_TABLE),
            "S3ToRedshiftCopyOperator (defaults)": (lambda: loads.operator("small/"), OPERATOR_TABLE),
            "S3ToRedshiftCopyOperator, preflight_checks=()": (
                lambda: loads.operator("small/", BARE_OPERATOR_TABLE, preflight_checks=()),
                BARE_OPERATOR_TABLE,
            ),
        }
        names = list(ways)
        seconds: dict[str, list[float]] = {name: [] for name in names}
        rss: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        for rep in range(args.repeat):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                run, table = ways[name]
                loads.reset()
                with _common.RssSampler(stack.pid) as sampler, _common.RssSampler(stack.aws_pid) as moto:
                    start = time.perf_counter()
                    run()
                    seconds[name].append(time.perf_counter() - start)
                loaded = loads.count(table)
                assert loaded == args.rows, f"{name}: loaded {loaded} rows, expected {args.rows}"
                rss[name].append(
                    {
                        "before_mb": _common.mb(sampler.before),
                        "peak_mb": _common.mb(sampler.peak),
                        "moto_peak_mb": _common.mb(moto.peak),
                    }
                )
        floor = _common.median(seconds[names[0]])
        result["throughput"] = [
            {
                "way": name,
                "seconds": [round(s, 2) for s in seconds[name]],
                "median_seconds": round(_common.median(seconds[name]), 2),
                "best_seconds": round(min(seconds[name]), 2),
                "csv_mb_per_second": round(csv_bytes / 2**20 / _common.median(seconds[name]), 1),
                "rows_per_second": round(args.rows / _common.median(seconds[name])),
                "ratio_to_floor": _common.ratio(_common.median(seconds[name]), floor),
                "gateway_rss": rss[name],
            }
            for name in names
        ]
        operator = result["throughput"][2]
        result["operator_to_floor_ratio"] = operator["ratio_to_floor"]
        result["operator_without_preflight_to_floor_ratio"] = result["throughput"][3]["ratio_to_floor"]
        result["operator_to_floor_ratio_best"] = _common.ratio(
            operator["best_seconds"], result["throughput"][0]["best_seconds"]
        )
        result["operator_to_gateway_copy_ratio"] = _common.ratio(
            operator["median_seconds"], result["throughput"][1]["median_seconds"]
        )
        memory = [
            {
                "csv_mb": _common.mb(csv_bytes),
                "gzip_mb": _common.mb(gzip_bytes),
                "files": len(packed),
                "rows": args.rows,
                "seconds": operator["median_seconds"],
                "gateway_rss_before_mb": max(r["before_mb"] for r in operator["gateway_rss"]),
                "gateway_rss_peak_mb": max(r["peak_mb"] for r in operator["gateway_rss"]),
                "moto_rss_peak_mb": max(r["moto_peak_mb"] for r in operator["gateway_rss"]),
            }
        ]
        if args.big_mb:
            memory.append(big_load(stack, loads, packed, plain, args.big_mb))
        for entry in memory:
            entry["gateway_rss_growth_mb"] = round(
                entry["gateway_rss_peak_mb"] - entry["gateway_rss_before_mb"], 1
            )
        result["gateway_memory"] = memory
        result["gateway_rss_target_mb"] = GATEWAY_RSS_TARGET_MB
        result["gateway_rss_target_met"] = all(
            m["gateway_rss_peak_mb"] < GATEWAY_RSS_TARGET_MB for m in memory
        )
        loads.reset()
        loads.pg.close()
    result["total_seconds"] = round(time.monotonic() - began, 1)
    path = _common.write_result("load_throughput", result)

    data = result["data"]
    _common.print_table(
        ("way to load", "median s", "best s", "CSV MB/s", "rows/s", "x floor"),
        [
            (
                t["way"],
                t["median_seconds"],
                t["best_seconds"],
                t["csv_mb_per_second"],
                t["rows_per_second"],
                t["ratio_to_floor"],
            )
            for t in result["throughput"]
        ],
        title=f"{data['rows']:,} rows, {data['csv_mb']} MB CSV in {data['files']} gzip files "
        f"({data['gzip_mb']} MB), median of {args.repeat}",
    )
    print(
        f"operator / floor: {result['operator_to_floor_ratio']}x median, "
        f"{result['operator_to_floor_ratio_best']}x best (target <= 1.3x); without the preflight: "
        f"{result['operator_without_preflight_to_floor_ratio']}x; "
        f"operator / gateway COPY: {result['operator_to_gateway_copy_ratio']}x"
    )
    _common.print_table(
        ("input CSV", "gzip", "files", "rows", "seconds", "RSS before", "RSS peak", "growth", "moto's peak"),
        [
            (
                f"{m['csv_mb']} MB",
                f"{m['gzip_mb']} MB",
                m["files"],
                f"{m['rows']:,}",
                m["seconds"],
                f"{m['gateway_rss_before_mb']} MB",
                f"{m['gateway_rss_peak_mb']} MB",
                f"{m['gateway_rss_growth_mb']} MB",
                f"{m['moto_rss_peak_mb']} MB",
            )
            for m in memory
        ],
        title="gateway process RSS (moto's process and PostgreSQL not included) while the operator loads; "
        f"idle after start: {result['gateway_rss_idle_mb']} MB (moto's process: {result['moto_rss_idle_mb']} "
        f"MB); target < {GATEWAY_RSS_TARGET_MB} MB at every size "
        f"({'met' if result['gateway_rss_target_met'] else 'MISSED'})",
    )
    print(f"\nwrote {path.relative_to(_common.ROOT)} in {result['total_seconds']} s")
    return 0


def big_load(
    stack: _common.StackProcess, loads: Loads, packed: list[bytes], plain: list[bytes], big_mb: int
) -> dict[str, Any]:
    """Load ``big_mb`` of CSV with the operator and sample the gateway's RSS; return the figures.

    The objects are the throughput load's gzip files copied (server-side CopyObject) under new keys
    until they add up to ``big_mb`` of CSV. Identical content is fine here: the gateway reads, inflates
    and forwards one object at a time, so what its memory does depends on the size and the number of
    objects, not on which rows they hold; and it spares generating and compressing 1 GB.
    """
    s3 = stack.aws_client("s3")
    part_csv = sum(map(len, plain)) / len(plain)
    count = max(1, round(big_mb * 2**20 / part_csv))
    for index in range(count):
        source = f"small/part-{index % len(packed):04d}.csv.gz"
        s3.copy_object(
            Bucket=BUCKET, Key=f"big/part-{index:05d}.csv.gz", CopySource={"Bucket": BUCKET, "Key": source}
        )
    rows = sum(c.count(b"\n") for c in plain)
    expected = sum(plain[i % len(plain)].count(b"\n") for i in range(count)) if rows else 0
    loads.reset()
    with _common.RssSampler(stack.pid) as sampler, _common.RssSampler(stack.aws_pid) as moto:
        start = time.perf_counter()
        loads.operator("big/")
        seconds = time.perf_counter() - start
    loaded = loads.count(OPERATOR_TABLE)
    assert loaded == expected, f"big load: loaded {loaded} rows, expected {expected}"
    return {
        "csv_mb": _common.mb(sum(len(plain[i % len(plain)]) for i in range(count))),
        "gzip_mb": _common.mb(sum(len(packed[i % len(packed)]) for i in range(count))),
        "files": count,
        "rows": loaded,
        "seconds": round(seconds, 2),
        "gateway_rss_before_mb": _common.mb(sampler.before),
        "gateway_rss_peak_mb": _common.mb(sampler.peak),
        "moto_rss_peak_mb": _common.mb(moto.peak),
    }


if __name__ == "__main__":
    sys.exit(main())
