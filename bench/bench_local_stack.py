"""Local stack: start-up and stop time (and, on request, this process's memory while COPY streams CSV).

Run with ``make bench`` (or ``.venv/bin/python bench/bench_local_stack.py [--sizes-mb 100 1000]``).
Prints a table and writes ``bench/results/local_stack.json``.

``make bench`` measures only the start-up here: the gateway's memory at 100 MB and 1 GB is measured by
``bench_load_throughput.py``, with the stack in its own process. With ``--sizes-mb`` this script still
loads in-process: the resident set measured is then the gateway's plus moto's and boto3's; the S3
objects are 10 MB each (moto spools objects larger than 5 MB to disk, and reads one whole object per GET),
as Redshift's own advice to split loads into files of 1 MB to 1 GB suggests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

RESULTS = Path(__file__).parent / "results"
OBJECT_MB = 10
STARTUP_SCRIPT = (
    "import time; t = time.monotonic(); from airflow_redshift_s3.local import LocalRedshift; "
    "s = LocalRedshift().start(); up = time.monotonic() - t; t = time.monotonic(); s.stop(); "
    "down = time.monotonic() - t; again = LocalRedshift().start(); again.stop(); "
    "print(s.startup_seconds, up, down, again.startup_seconds)"
)


def measure_startup(runs: int) -> dict[str, float]:
    """Start the whole stack ``runs`` times, each in a fresh process; return the medians."""
    inside, with_import, stop, second = [], [], [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", STARTUP_SCRIPT], capture_output=True, text=True, check=True, timeout=120
        ).stdout.split()
        inside.append(float(out[-4]))
        with_import.append(float(out[-3]))
        stop.append(float(out[-2]))
        second.append(float(out[-1]))
    return {
        "start_seconds_median": round(statistics.median(inside), 2),
        "start_seconds_with_import_median": round(statistics.median(with_import), 2),
        "stop_seconds_median": round(statistics.median(stop), 2),
        # a second stack in the same process (a stack per test module in one pytest session)
        "second_start_seconds_median": round(statistics.median(second), 2),
        "runs": runs,
    }


def _csv_object(start_id: int, size: int) -> tuple[bytes, int]:
    rows = []
    total = 0
    row_id = start_id
    while total < size:
        amount = (row_id * 37) % 100000 / 100
        row = f"{row_id},customer-{row_id % 9973:05d},{amount:.2f},2026-11-{row_id % 28 + 1:02d}\n"
        rows.append(row)
        total += len(row)
        row_id += 1
    return "".join(rows).encode(), row_id - start_id


class RssSampler(threading.Thread):
    """Sample this process's resident set every 20 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self._stop_event = threading.Event()
        self._process = psutil.Process(os.getpid())

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def measure_load(stack, size_mb: int) -> dict[str, float]:
    """Put ``size_mb`` of CSV in S3 as 10 MB objects and COPY it; return time and memory figures."""
    import redshift_connector

    s3 = stack.aws_client("s3")
    bucket = f"bench-{size_mb}mb-{int(time.time())}"
    s3.create_bucket(Bucket=bucket)
    rows = 0
    for index in range(max(1, size_mb // OBJECT_MB)):
        body, count = _csv_object(rows, OBJECT_MB * 1024 * 1024)
        s3.put_object(Bucket=bucket, Key=f"data/part-{index:05d}.csv", Body=body)
        rows += count
    role = stack.create_copy_role("bench-role", resources=["*"])
    conn = redshift_connector.connect(**stack.connect_kwargs())
    cur = conn.cursor()
    table = f"bench_{size_mb}"
    cur.execute(f"drop table if exists {table}")
    cur.execute(f"create table {table} (id bigint, customer varchar(20), amount numeric(12,2), day date)")
    conn.commit()
    process = psutil.Process(os.getpid())
    baseline = process.memory_info().rss
    sampler = RssSampler()
    sampler.start()
    began = time.monotonic()
    cur.execute(f"copy {table} from 's3://{bucket}/data/' iam_role '{role}' csv")
    conn.commit()
    seconds = time.monotonic() - began
    peak = sampler.stop()
    cur.execute(f"select count(*) from {table}")
    loaded = cur.fetchall()[0][0]
    assert loaded == rows, f"loaded {loaded} rows, expected {rows}"
    cur.execute(f"drop table {table}")
    conn.commit()
    conn.close()
    return {
        "input_mb": size_mb,
        "rows": rows,
        "seconds": round(seconds, 2),
        "mb_per_second": round(size_mb / seconds, 1),
        "rss_before_mb": round(baseline / 2**20, 1),
        "rss_peak_mb": round(peak / 2**20, 1),
        "rss_growth_mb": round((peak - baseline) / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="*", default=[])
    parser.add_argument("--startup-runs", type=int, default=3)
    args = parser.parse_args()
    from airflow_redshift_s3.local import LocalRedshift

    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "startup": measure_startup(args.startup_runs),
        "loads": [],
    }
    if args.sizes_mb:
        with LocalRedshift(role_apply_delay=0) as stack:
            for size in args.sizes_mb:
                result["loads"].append(measure_load(stack, size))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "local_stack.json").write_text(json.dumps(result, indent=2) + "\n")
    startup = result["startup"]
    print(
        f"start-up (median of {startup['runs']}): {startup['start_seconds_median']} s "
        f"({startup['start_seconds_with_import_median']} s with imports); "
        f"stop {startup['stop_seconds_median']} s; a second start in the same process "
        f"{startup['second_start_seconds_median']} s"
    )
    if not result["loads"]:
        return 0
    header = ("input", "rows", "seconds", "MB/s", "RSS before", "RSS peak", "growth")
    print("{:>8} {:>10} {:>8} {:>6} {:>11} {:>9} {:>7}".format(*header))
    for load in result["loads"]:
        print(
            f"{load['input_mb']:>6}MB {load['rows']:>10} {load['seconds']:>8} {load['mb_per_second']:>6} "
            f"{load['rss_before_mb']:>9}MB {load['rss_peak_mb']:>7}MB {load['rss_growth_mb']:>5}MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
