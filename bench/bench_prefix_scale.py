"""Prefix scale: list 100,000 objects and build the COPY manifest: API calls, time, peak memory.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_prefix_scale.py [--objects 10000]``).
Prints a table and writes ``bench/results/prefix_scale.json``.

Set-up only: the objects are written straight into moto's in-process S3 store by the stack's own process
(``_stack_process.py --seed-count``), which skips 100,000 PutObject round trips. Everything measured goes
over HTTP to moto's server with the project's code: the COPY operator's ``copy.listing.list_files`` (through
``S3InspectHook.iter_objects``) and ``copy.load.manifest_body``, and, for comparison,
``S3InspectHook.summarize_prefix`` (what ``S3PrefixSensor`` runs, in constant memory) and a bare boto3
paginator that only counts keys (the floor: one ListObjectsV2 call per 1,000 keys). The stack runs in
another process, so this process's memory is the client's alone: its RSS growth while each way runs
(smallest first, as RSS keeps its high mark), and, for the operator, the peak of Python allocations under
tracemalloc in a separate untimed run (tracemalloc slows allocation). CPU seconds of this process are the
listing's client-side cost (mostly botocore parsing the XML pages, a LastModified timestamp per key); wall
time adds moto building each page.

moto 5 answers each ListObjectsV2 call by sorting the whole bucket and writes the page through a generic
serializer: about 90 s for this listing here, where S3 answers a page in tens of milliseconds. So the
stack process runs with ``--fast-listing`` (see ``_stack_process._fast_listing``: same responses, pages by
bisection, written directly); pass ``--native-moto-listing`` to measure with moto as it is.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import _common

BUCKET = "bench-prefix"
PREFIX = "events/2026-11-27/"


class ListCalls:
    """Count ListObjectsV2 calls through the client's event system (``before-call``)."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    def __call__(self, model: Any = None, **_: Any) -> None:
        self.counts[model.name] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000, help="objects under the prefix (100,000)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each way to list (1)")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the operator's traced run")
    parser.add_argument("--native-moto-listing", action="store_true", help="moto's own, slow ListObjectsV2")
    args = parser.parse_args()
    _common.time_limit(900)
    _common.airflow_environment()
    result: dict[str, Any] = {"machine": _common.machine_info(), "parameters": vars(args)}
    began = time.monotonic()
    stack_args = ["--seed-bucket", BUCKET, "--seed-prefix", PREFIX, "--seed-count", str(args.objects)]
    if not args.native_moto_listing:
        stack_args.append("--fast-listing")
    with _common.StackProcess(*stack_args, timeout=600) as stack:
        stack.use_environment()
        result["seed_seconds"] = stack.info["seed_seconds"]
        from airflow_redshift_s3.copy_format import CsvFormat
        from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook
        from airflow_redshift_s3.transfers.copy import listing
        from airflow_redshift_s3.transfers.copy.load import manifest_body
        from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

        calls = ListCalls()
        hook = S3InspectHook(aws_conn_id="aws_default")
        hook.conn.meta.events.register("before-call", calls)  # the client is made here, not timed below
        floor_client = stack.aws_client("s3")
        floor_client.meta.events.register("before-call", calls)
        operator = S3ToRedshiftCopyOperator(
            task_id="bench_prefix",
            bucket=BUCKET,
            prefix=PREFIX,
            table="public.events",
            iam_role_arn=stack.info["role_arn"],
            cluster_identifier="local-cluster",
            input_format=CsvFormat(compression="gzip"),
        )
        request = operator.validate()

        def floor() -> dict[str, Any]:
            keys = 0
            pages = floor_client.get_paginator("list_objects_v2").paginate(
                Bucket=BUCKET, Prefix=PREFIX, PaginationConfig={"PageSize": 1000}
            )
            for page in pages:
                keys += len(page.get("Contents") or [])
            return {"objects": keys}

        def operator_listing() -> dict[str, Any]:
            files, _ = listing.list_files(hook, request, operator.log)
            start = time.perf_counter()
            body = manifest_body(request, files)
            return {
                "objects": len(files),
                "manifest_bytes": len(body),
                "manifest_seconds": time.perf_counter() - start,
            }

        def sensor_summary() -> dict[str, Any]:
            summary = hook.summarize_prefix(BUCKET, PREFIX)
            return {"objects": summary.object_count}

        traced = [] if args.no_tracemalloc else ["operator: list_files + manifest_body"]
        ways: dict[str, Callable[[], dict[str, Any]]] = {
            "floor: boto3 paginator, count keys only": floor,
            "operator: list_files + manifest_body": operator_listing,
            "sensor: S3InspectHook.summarize_prefix": sensor_summary,
        }
        rows = []
        # smallest memory first, so that each RSS growth is that way's own (RSS keeps its high-water mark)
        for name in (names := list(ways))[:1] + names[2:] + names[1:2]:
            wall, cpu, api = [], [], []
            outcome: dict[str, Any] = {}
            with _common.RssSampler(os.getpid()) as rss:
                for _ in range(args.repeat):
                    calls.counts.clear()
                    start_wall, start_cpu = time.perf_counter(), time.process_time()
                    outcome = ways[name]()
                    wall.append(time.perf_counter() - start_wall)
                    cpu.append(time.process_time() - start_cpu)
                    api.append(dict(calls.counts))
                    assert outcome["objects"] == args.objects, f"{name}: {outcome['objects']} objects listed"
            row = {
                "way": name,
                "objects": outcome["objects"],
                "list_objects_v2_calls": api[-1].get("ListObjectsV2", 0),
                "other_api_calls": sum(n for op, n in api[-1].items() if op != "ListObjectsV2"),
                "median_seconds": round(_common.median(wall), 2),
                "seconds": [round(s, 2) for s in wall],
                "client_cpu_seconds": round(_common.median(cpu), 2),
                "rss_growth_mb": _common.mb(rss.peak - rss.before),
            }
            if "manifest_bytes" in outcome:
                row["manifest_mb"] = _common.mb(outcome["manifest_bytes"])
                row["of_which_manifest_seconds"] = round(outcome["manifest_seconds"], 2)
            if name in traced:
                tracemalloc.start()
                base = tracemalloc.get_traced_memory()[0]
                ways[name]()
                row["peak_python_memory_mb"] = _common.mb(tracemalloc.get_traced_memory()[1] - base)
                tracemalloc.stop()
            rows.append(row)
        rows.sort(key=lambda r: names.index(r["way"]))
    floor_calls = math.ceil(args.objects / 1000)
    result["floor_list_calls"] = floor_calls
    result["ways"] = rows
    result["total_seconds"] = round(time.monotonic() - began, 1)
    path = _common.write_result("prefix_scale", result)
    listing = "native" if args.native_moto_listing else "fast (bisection)"
    _common.print_table(
        (
            "way to list",
            "ListObjectsV2",
            "other",
            "wall s",
            "client CPU s",
            "RSS growth",
            "peak traced",
            "manifest",
        ),
        [
            (
                r["way"],
                r["list_objects_v2_calls"],
                r["other_api_calls"],
                r["median_seconds"],
                r["client_cpu_seconds"],
                f"{r['rss_growth_mb']} MB",
                f"{r['peak_python_memory_mb']} MB" if "peak_python_memory_mb" in r else "-",
                f"{r['manifest_mb']} MB in {r['of_which_manifest_seconds']} s" if "manifest_mb" in r else "-",
            )
            for r in rows
        ],
        title=f"{args.objects:,} objects under one prefix (floor: {floor_calls} ListObjectsV2 calls), "
        f"median of {args.repeat}; moto listing: {listing}",
    )
    print(f"\nwrote {path.relative_to(_common.ROOT)} in {result['total_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
