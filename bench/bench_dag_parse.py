"""DAG parse cost: import time of each example DAG file vs an empty DAG file, and of the provider.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_dag_parse.py [--rounds 3]``).
Prints two tables and writes ``bench/results/dag_parse.json``.

Every measurement is a fresh interpreter (``python -c``) that times, with ``time.perf_counter``:
``import airflow.sdk`` first, then the target: a DAG file executed as a module (as Airflow's DAG
processor loads it), or the provider's modules. So each run gives both the cold cost of a file (Airflow's
SDK + the file, what a fresh interpreter pays) and its cost once ``airflow.sdk`` is loaded, which is what
the DAG processor pays per parse: it imports the ``airflow.*`` modules a file names ahead of time
(``[dag_processor] parsing_pre_import_modules``), but not this provider. The empty DAG file has the same
``from airflow.sdk import DAG`` and one DAG with no task. Targets run in a rotated order each round;
figures are medians. A first, untimed round (``-X importtime``) compiles the bytecode and names the
heaviest modules each file adds beyond ``airflow.sdk``; the heavy modules the project keeps out of DAG
parsing (boto3, botocore, redshift_connector, pyarrow, moto, sqlglot, pandas) must not be loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

HEAVY = ("boto3", "botocore", "redshift_connector", "pyarrow", "moto", "sqlglot", "pandas", "aiobotocore")
EMPTY_DAG = '''"""An empty DAG: the baseline of a DAG file's import."""

from __future__ import annotations

import datetime

from airflow.sdk import DAG

with DAG(
    dag_id="empty",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
):
    pass
'''
OPERATOR_MODULES = (
    "airflow_redshift_s3.transfers.s3_to_redshift_copy",
    "airflow_redshift_s3.operators.redshift_iam",
    "airflow_redshift_s3.operators.s3_verify",
    "airflow_redshift_s3.sensors.s3_prefix",
)
# Runs in the fresh interpreter: argv = [preimport (comma-separated or ""), kind ("file"|"modules"), target]
RUNNER = r"""
import importlib, importlib.util, json, sys, time
preimport, kind, target = sys.argv[1:4]
t0 = time.perf_counter()
for name in filter(None, preimport.split(",")):
    importlib.import_module(name)
t1 = time.perf_counter()
before = set(sys.modules)
print("--- target ---", file=sys.stderr, flush=True)
if kind == "file":
    spec = importlib.util.spec_from_file_location("dag_under_test", target)
    module = importlib.util.module_from_spec(spec)
    sys.modules["dag_under_test"] = module
    spec.loader.exec_module(module)
else:
    for name in target.split(","):
        importlib.import_module(name)
t2 = time.perf_counter()
heavy = [m for m in HEAVY if m in sys.modules]
added = len(set(sys.modules) - before)
print(json.dumps({"pre": t1 - t0, "target": t2 - t1, "heavy": heavy, "added_modules": added}))
"""


def run(target: dict[str, Any], env: dict[str, str], importtime: bool = False) -> tuple[dict[str, Any], str]:
    argv = [
        sys.executable,
        *(["-X", "importtime"] if importtime else []),
        "-c",
        f"HEAVY = {HEAVY!r}\n{RUNNER}",
    ]
    argv += [target["preimport"], target["kind"], target["target"]]
    started = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=_common.ROOT, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{target['name']} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_seconds"] = time.perf_counter() - started
    return figures, done.stderr


def heaviest_imports(stderr: str, count: int = 5) -> list[tuple[str, float]]:
    """Return the top-level modules imported after the marker, by cumulative import time (ms)."""
    lines = stderr.split("--- target ---", 1)[-1].splitlines()
    top = []
    for line in lines:
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        indent = len(line.rsplit("|", 1)[1]) - len(line.rsplit("|", 1)[1].lstrip())
        if cumulative.isdigit() and indent <= 1:
            top.append((name, round(int(cumulative) / 1000, 1)))
    return sorted(top, key=lambda item: -item[1])[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each target (5)")
    args = parser.parse_args()
    _common.time_limit(600)
    env = dict(os.environ, **_common.airflow_environment())
    result: dict[str, Any] = {"machine": _common.machine_info(), "parameters": vars(args)}
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-dags-") as tmp:
        empty = Path(tmp) / "empty_dag.py"
        empty.write_text(EMPTY_DAG)
        dag_files = sorted((_common.ROOT / "dags").glob("*.py"))
        targets = [
            {"name": "empty DAG file", "preimport": "airflow.sdk", "kind": "file", "target": str(empty)}
        ]
        targets += [
            {"name": f"dags/{path.name}", "preimport": "airflow.sdk", "kind": "file", "target": str(path)}
            for path in dag_files
        ]
        targets += [
            {
                "name": "import airflow_redshift_s3",
                "preimport": "",
                "kind": "modules",
                "target": "airflow_redshift_s3",
            },
            {
                "name": "import the provider's 4 operator/sensor modules",
                "preimport": "airflow.sdk",
                "kind": "modules",
                "target": ",".join(OPERATOR_MODULES),
            },
        ]
        runs: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in targets}
        heaviest: dict[str, list[tuple[str, float]]] = {}
        for target in targets:  # untimed: bytecode, Airflow's home; and what each file imports
            figures, stderr = run(target, env, importtime=True)
            heaviest[target["name"]] = heaviest_imports(stderr)
        for rnd in range(args.rounds):
            for target in targets[rnd % len(targets) :] + targets[: rnd % len(targets)]:
                runs[target["name"]].append(run(target, env)[0])
    # import airflow.sdk varies by +-15 % from run to run, more than a DAG file's own cost: the cold cost of
    # a target is the median of every run's airflow.sdk import plus the target's own median.
    sdk_seconds = [r["pre"] for t in targets if t["preimport"] == "airflow.sdk" for r in runs[t["name"]]]
    sdk = _common.median(sdk_seconds)
    empty_own = _common.median([r["target"] for r in runs["empty DAG file"]])
    rows = []
    for target in targets:
        figures = runs[target["name"]]
        own = _common.median([r["target"] for r in figures])
        cold = sdk + own
        rows.append(
            {
                "target": target["name"],
                "own_ms": round(own * 1000, 1),
                "own_ratio_to_empty_dag": _common.ratio(own, empty_own) if target["kind"] == "file" else None,
                "with_airflow_sdk_ms": round(cold * 1000, 1) if target["preimport"] else None,
                "ratio_to_empty_dag": _common.ratio(cold, sdk + empty_own)
                if target["kind"] == "file"
                else None,
                "ratio_to_airflow_sdk": _common.ratio(cold, sdk) if target["preimport"] else None,
                "process_ms": round(_common.median([r["process_seconds"] for r in figures]) * 1000),
                "added_modules": figures[-1]["added_modules"],
                "heavy_modules_loaded": figures[-1]["heavy"],
                "heaviest_imports_ms": heaviest[target["name"]],
            }
        )
    result["airflow_sdk_import_ms"] = round(sdk * 1000, 1)
    result["airflow_sdk_import_ms_range"] = [round(min(sdk_seconds) * 1000), round(max(sdk_seconds) * 1000)]
    result["targets"] = rows
    result["max_dag_ratio_to_empty"] = max(r["ratio_to_empty_dag"] for r in rows if r["ratio_to_empty_dag"])
    result["total_seconds"] = round(time.monotonic() - began, 1)
    path = _common.write_result("dag_parse", result)
    _common.print_table(
        (
            "import",
            "own ms",
            "own x empty",
            "+ airflow.sdk ms",
            "x empty DAG",
            "x airflow.sdk",
            "modules",
            "heavy",
        ),
        [
            (
                r["target"],
                r["own_ms"],
                r["own_ratio_to_empty_dag"] or "-",
                r["with_airflow_sdk_ms"] or "-",
                r["ratio_to_empty_dag"] or "-",
                r["ratio_to_airflow_sdk"] or "-",
                r["added_modules"],
                ", ".join(r["heavy_modules_loaded"]) or "none",
            )
            for r in rows
        ],
        title=f"fresh interpreter each, median of {args.rounds}; import airflow.sdk alone: "
        f"{result['airflow_sdk_import_ms']} ms (runs from {result['airflow_sdk_import_ms_range'][0]} to "
        f"{result['airflow_sdk_import_ms_range'][1]} ms); own = after airflow.sdk, what the DAG processor "
        "pays",
    )
    print(
        f"DAG file (with airflow.sdk) / empty DAG file, worst: {result['max_dag_ratio_to_empty']}x "
        "(target <= 1.2x)"
    )
    print("\nheaviest modules each adds beyond airflow.sdk (cumulative ms, -X importtime, first run):")
    for r in rows:
        print(
            f"  {r['target']}: " + (", ".join(f"{name} {ms}" for name, ms in r["heaviest_imports_ms"]) or "-")
        )
    print(f"\nwrote {path.relative_to(_common.ROOT)} in {result['total_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
