"""The demo behind ``make demo``: the example DAGs, run by Airflow, on the local Redshift stack.

It starts the local stack (S3, IAM and Redshift on this machine), puts sample days in S3 (gzip CSV, gzip
JSON, Parquet, and a gzip CSV day with one bad row), runs ``redshift_s3_setup``, then
``s3_to_redshift_daily`` for three logical dates, reruns one of them to show that nothing is loaded twice,
runs the day with the bad row to show the load-error report, then ``redshift_s3_audit`` on what the demo set
up (the audit's findings, and the usage report whose HTML page with charts it writes), prints a report ending
with the audit and that page's path, and stops every process.

Airflow runs for real (``dag.test()``: the scheduler loop in this process, a SQLite metadata database and
the task logs in ``<workdir>/airflow.log``).
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import io
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

BUCKET = "demo-bucket"
PREFIX = "sales"
TABLE = "public.sales"
ROLE_NAME = "redshift-copy-role"
TABLE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT, customer VARCHAR(32), amount DECIMAL(10,2), "
    "load_date DATE) DISTSTYLE AUTO SORTKEY (load_date)"
)


@dataclass(frozen=True)
class SampleDay:
    """One day of sample files under ``sales/<day>/``."""

    day: str
    format: str  # csv | json | parquet
    compression: str  # none | gzip
    files: tuple[tuple[int, int], ...]  # (first id, row count) per file
    bad_row: bool = False  # the last file gets one row whose amount is not a number

    @property
    def label(self) -> str:
        """Return the files' format and compression, e.g. csv.gz."""
        return self.format + (".gz" if self.compression == "gzip" else "")

    @property
    def good_rows(self) -> int:
        """Return the number of valid rows of the day."""
        return sum(count for _, count in self.files)


SAMPLE_DAYS = (
    SampleDay("2026-11-23", "csv", "gzip", ((1, 600), (601, 400))),
    SampleDay("2026-11-24", "json", "gzip", ((1001, 300),)),
    SampleDay("2026-11-25", "parquet", "none", ((1301, 450),)),
    SampleDay("2026-11-26", "csv", "gzip", ((1751, 200), (1951, 200)), bad_row=True),
)
LOADED_DAYS = SAMPLE_DAYS[:3]  # the three logical dates of the daily DAG
RERUN_DAY = SAMPLE_DAYS[1]
BAD_DAY = SAMPLE_DAYS[3]


@dataclass
class RunResult:
    """What one dag.test() run did."""

    label: str
    state: str
    seconds: float
    tasks: dict[str, str]
    summary: dict[str, Any] | None = None
    error: str | None = None
    usage: dict[str, Any] | None = None  # the audit DAG's usage report


def _row(i: int) -> dict[str, Any]:
    return {"id": i, "customer": f"customer-{i % 97:02d}", "amount": f"{(i * 37) % 10000 / 100:.2f}"}


def sample_files(day: SampleDay) -> dict[str, bytes]:
    """Return ``{key: body}`` for one sample day, its ``_SUCCESS`` marker included."""
    files: dict[str, bytes] = {}
    for n, (first, count) in enumerate(day.files):
        rows = [_row(i) for i in range(first, first + count)]
        key = f"{PREFIX}/{day.day}/part-{n}.{day.format}" + (".gz" if day.compression == "gzip" else "")
        if day.format == "csv":
            lines = ["id,customer,amount"] + [f"{r['id']},{r['customer']},{r['amount']}" for r in rows]
            if day.bad_row and n == len(day.files) - 1:
                lines.insert(len(lines) // 2, f"{first + count},customer-xx,12.5O")  # letter O, not zero
            body = ("\n".join(lines) + "\n").encode()
        elif day.format == "json":
            body = "".join(json.dumps(r) + "\n" for r in rows).encode()
        else:
            body = _parquet(rows)
        files[key] = gzip.compress(body, mtime=0) if day.compression == "gzip" else body
    files[f"{PREFIX}/{day.day}/_SUCCESS"] = b""
    return files


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": pa.array([r["id"] for r in rows], pa.int64()),
            "customer": pa.array([r["customer"] for r in rows], pa.string()),
            "amount": pa.array([decimal.Decimal(r["amount"]) for r in rows], pa.decimal128(10, 2)),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


class _Console:
    """Print to the terminal while Airflow's own output (both file descriptors) goes to a log file."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.out: TextIO = sys.stdout

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    @contextlib.contextmanager
    def airflow_output_to_log(self) -> Iterator[None]:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        self.out = os.fdopen(os.dup(saved[0]), "w", buffering=1)
        with open(self.log_path, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            self.out.close()
            self.out = sys.stdout


class _FailureMessages(logging.Handler):
    """Keep what the example DAGs' failure callback logs (the error of the failed task)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _airflow_environment(airflow_home: Path, dags_folder: Path) -> dict[str, str]:
    bundle = {
        "name": "redshift_s3_dags",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(dags_folder), "refresh_interval": 0},
    }
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([bundle]),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # The example DAGs' settings (airflow_redshift_s3.example_dag_defaults) for the demo's data.
        "REDSHIFT_S3_BUCKET": BUCKET,
        "REDSHIFT_S3_PREFIX": PREFIX,
        "REDSHIFT_S3_TABLE": TABLE,
        "REDSHIFT_S3_ROLE_NAME": ROLE_NAME,
        "REDSHIFT_S3_WAITER_DELAY": "0.5",
    }


def default_dags_folder() -> Path:
    """Return the repository's ``dags/`` folder (the demo runs from a clone)."""
    return Path(__file__).resolve().parents[1] / "dags"


def load_dag_file(dags_folder: Path, name: str) -> Any:
    """Import ``<dags_folder>/<name>.py`` afresh (as module ``name``) and return its ``dag``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, dags_folder / f"{name}.py")
    assert spec is not None and spec.loader is not None, f"no DAG file {name}.py in {dags_folder}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.dag


def _xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key=key)
        ).first()
        return XComModel.deserialize_value(row) if row is not None else None


def _run(dag: Any, label: str, failures: _FailureMessages, **kwargs: Any) -> RunResult:
    failures.messages.clear()
    began = time.monotonic()
    run = dag.test(**kwargs)
    seconds = time.monotonic() - began
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    result = RunResult(label=label, state=str(run.state), seconds=seconds, tasks=tasks)
    if "load" in tasks:
        result.summary = _xcom(run, "load")
    elif "report" in tasks:
        result.summary = _xcom(run, "report")
    elif "audit" in tasks:  # the findings: returned, or under "audit" when the audit failed
        result.summary = _xcom(run, "audit") or _xcom(run, "audit", key="audit")
        result.usage = _xcom(run, "usage_report")
    if failures.messages:  # "Task ... failed. Error: <the exception's message>\nLoad summary: ..."
        error = failures.messages[0].partition(" Error: ")[2].rpartition("\nLoad summary: ")[0]
        result.error = error or failures.messages[0]
    return result


def _day_conf(day: SampleDay) -> dict[str, Any]:
    return {"format": day.format, "compression": day.compression}


def run_demo(workdir: Path | None = None, dags_folder: Path | None = None) -> int:
    """Run the demo and return the exit code (0 when every run ended as the demo expects)."""
    dags_folder = (dags_folder or default_dags_folder()).resolve()
    if not (dags_folder / "s3_to_redshift_daily.py").is_file():
        print(
            f"The example DAGs are not in {dags_folder}: expected dags/s3_to_redshift_daily.py of a clone of "
            "the repository. Fix: run `make demo` from the clone, or pass --dags-folder.",
            file=sys.stderr,
        )
        return 2
    workdir = (workdir or Path.cwd() / ".demo").resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    if "airflow" in sys.modules:  # Airflow reads AIRFLOW_HOME once, when first imported
        raise RuntimeError("run_demo() must run before Airflow is imported (it sets AIRFLOW_HOME)")
    os.environ.update(_airflow_environment(workdir / "airflow", dags_folder))
    console = _Console(workdir / "airflow.log")
    began = time.monotonic()

    from airflow_redshift_s3.local import LocalRedshift

    console.say("Starting the local Redshift (PostgreSQL + gateway; moto for S3, IAM and Redshift)...")
    with LocalRedshift(role_apply_delay=1.0) as stack:
        os.environ.update(stack.environment())
        console.say(
            f"  up in {stack.startup_seconds:.1f} s: local-cluster at 127.0.0.1:{stack.redshift_port}, "
            f"AWS endpoint {stack.aws_endpoint_url}"
        )
        put_sample_data(stack, console.say)
        as_aws_creates_them(stack, console.say)
        results = _run_dags(stack, console, dags_folder)
        rows = _table_rows(stack)
    total = time.monotonic() - began
    console.say()
    ok = _report(console, results, rows, total, workdir)
    return 0 if ok else 1


def today_sample_day() -> SampleDay:
    """Return a gzip CSV day for today (UTC): a run triggered from the daily DAG's form loads that day."""
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    return SampleDay(today, "csv", "gzip", ((5001, 250),))


def put_sample_data(stack: Any, say: Any, days: tuple[SampleDay, ...] = SAMPLE_DAYS) -> None:
    """Put the sample days in S3 and create the table the example DAGs load (both safe to repeat)."""
    import redshift_connector

    s3 = stack.aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for day in days:
        files = sample_files(day)
        for key, body in files.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        bad = ", one bad row" if day.bad_row else ""
        say(
            f"  s3://{BUCKET}/{PREFIX}/{day.day}/: {len(files) - 1} {day.label} file(s), "
            f"{day.good_rows} rows{bad}, and _SUCCESS"
        )
    conn = redshift_connector.connect(**stack.connect_kwargs())
    try:
        conn.cursor().execute(TABLE_DDL)
        conn.commit()
    finally:
        conn.close()
    say(f"  table {TABLE} (id, customer, amount, load_date) created in database dev")


def as_aws_creates_them(stack: Any, say: Any) -> None:
    """Give the local cluster and the bucket what AWS gives new ones, for the audit the demo ends with.

    AWS encrypts new buckets (SSE-S3) with Block Public Access on, encrypts new provisioned clusters and
    requires TLS in their parameter groups; the local stack starts as older ones were, which the audit
    would (rightly) fail.
    """
    from airflow_redshift_s3.local.stack import CLUSTER_IDENTIFIER

    redshift, s3 = stack.aws_client("redshift"), stack.aws_client("s3")
    group = "demo-tls-only"
    redshift.create_cluster_parameter_group(
        ParameterGroupName=group, ParameterGroupFamily="redshift-1.0", Description="TLS only"
    )
    redshift.modify_cluster_parameter_group(
        ParameterGroupName=group, Parameters=[{"ParameterName": "require_ssl", "ParameterValue": "true"}]
    )
    redshift.modify_cluster(ClusterIdentifier=CLUSTER_IDENTIFIER, ClusterParameterGroupName=group,
                            Encrypted=True)  # fmt: skip
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})  # fmt: skip
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})  # fmt: skip
    say(
        f"  as AWS creates them now: {CLUSTER_IDENTIFIER} encrypted, require_ssl on; {BUCKET} SSE-S3, "
        "Block Public Access on"
    )


def _run_dags(stack: Any, console: _Console, dags_folder: Path) -> list[RunResult]:
    failures = _FailureMessages()
    results: list[RunResult] = []
    console.say(f"Running the example DAGs with dag.test() (Airflow's output: {console.log_path})")
    with console.airflow_output_to_log():
        from airflow.utils import db

        db.initdb()
        logging.getLogger("airflow_redshift_s3.example_dag_defaults").addHandler(failures)
        setup = load_dag_file(dags_folder, "redshift_s3_setup")
        daily = load_dag_file(dags_folder, "s3_to_redshift_daily")

        def run(dag: Any, label: str, **kwargs: Any) -> None:
            result = _run(dag, label, failures, **kwargs)
            results.append(result)
            console.say(f"  {label:<34} {result.state:<8} {result.seconds:5.1f} s")

        run(setup, "redshift_s3_setup", run_conf={"role_name": ROLE_NAME, "prefix": f"{PREFIX}/"})
        run(setup, "redshift_s3_setup (again)", run_conf={"role_name": ROLE_NAME, "prefix": f"{PREFIX}/"})
        for day in LOADED_DAYS:
            run(
                daily, f"s3_to_redshift_daily {day.day}", logical_date=_date(day.day), run_conf=_day_conf(day)
            )
        run(
            daily,
            f"s3_to_redshift_daily {RERUN_DAY.day} (rerun)",
            logical_date=_date(RERUN_DAY.day),
            run_conf=_day_conf(RERUN_DAY),
        )
        run(daily, f"s3_to_redshift_daily {BAD_DAY.day}", logical_date=_date(BAD_DAY.day),
            run_conf=_day_conf(BAD_DAY))  # fmt: skip
        audit = load_dag_file(dags_folder, "redshift_s3_audit")
        run(audit, "redshift_s3_audit", run_conf={"source": f"s3://{BUCKET}/{PREFIX}/"})
    return results


def _date(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.timezone.utc)


def _table_rows(stack: Any) -> dict[str, int]:
    import redshift_connector

    conn = redshift_connector.connect(**stack.connect_kwargs())
    try:
        cursor = conn.cursor()
        cursor.execute(f"SELECT load_date::text, COUNT(*) FROM {TABLE} GROUP BY 1 ORDER BY 1")
        return {day: int(count) for day, count in cursor.fetchall()}
    finally:
        conn.close()


def _expected(results: list[RunResult], rows: dict[str, int]) -> list[str]:
    """Return what went differently from the demo's expectations (empty when all is as it should be)."""
    problems = []
    states = [r.state for r in results]
    if states != ["success"] * 6 + ["failed", "success"]:
        problems.append(
            f"run states were {states}; expected six successes, the bad day failing, then the audit passing"
        )
    wanted = {day.day: day.good_rows for day in LOADED_DAYS}
    if rows != wanted:
        problems.append(f"the table holds {rows} rows per day; expected {wanted}")
    if results[1].summary and results[1].summary.get("changes"):
        problems.append(f"the second setup run changed {results[1].summary['changes']}; expected nothing")
    rerun, first = results[5].summary or {}, results[3].summary or {}
    if rerun.get("rows_deleted") != first.get("rows_inserted"):
        problems.append(
            f"the rerun replaced {rerun.get('rows_deleted')} row(s); expected the "
            f"{first.get('rows_inserted')} "
            "the first run loaded"
        )
    if not results[6].error or "line" not in results[6].error:
        problems.append("the bad day's failure did not report the rejected row")
    usage = results[7].usage or {}
    if usage.get("failures") != {"format": 1}:
        problems.append(f"the usage report counted failures {usage.get('failures')}; expected the bad day's")
    return problems


def _report(
    console: _Console, results: list[RunResult], rows: dict[str, int], total: float, workdir: Path
) -> bool:
    say = console.say
    say("Report")
    setup, again = results[0].summary or {}, results[1].summary or {}
    say(f"  redshift_s3_setup: {setup.get('role_arn')} attached to local-cluster and verified")
    say(f"    first run: {'; '.join(setup.get('changes') or []) or 'no change'}")
    say(f"    second run: {'; '.join(again.get('changes') or []) or 'no change (idempotent)'}")
    say()
    header = ("s3_to_redshift_daily", "format", "state", "files", "rows", "replaced", "time")
    say("  {:<24} {:<8} {:<8} {:>5} {:>6} {:>8} {:>7}".format(*header))
    for result, day in zip(results[2:7], (*LOADED_DAYS, RERUN_DAY, BAD_DAY), strict=True):
        summary = result.summary or {}
        say(
            f"  {result.label.removeprefix('s3_to_redshift_daily '):<24} {day.label:<8} {result.state:<8} "
            f"{summary.get('files_loaded', 0):>5} {summary.get('rows_inserted') or 0:>6} "
            f"{summary.get('rows_deleted') or 0:>8} {result.seconds:>6.1f}s"
        )
    say()
    say(f"  {TABLE} rows per load_date: " + ", ".join(f"{d}: {n}" for d, n in rows.items()))
    say(
        f"  The rerun of {RERUN_DAY.day} replaced that day's rows with the same files: no row is there twice."
    )
    say(f"  {BAD_DAY.day}: nothing loaded (the COPY is one transaction); the load task's error:")
    for line in (results[6].error or "(no error was logged)").splitlines():
        say(f"    {line}")
    say()
    problems = _expected(results, rows)
    for problem in problems:
        say(f"UNEXPECTED: {problem}")
    say(f"Done in {total:.0f} s; every process the demo started is stopped.")
    say(f"Airflow's output and the task logs: {workdir / 'airflow.log'}")
    say()
    _audit_report(say, results[7])
    return not problems


def _audit_report(say: Any, audit: RunResult) -> None:
    """Say the audit's findings and the usage report's figures, ending with the HTML page's path."""
    findings, usage = audit.summary or {}, audit.usage or {}
    say(f"Audit of the demo's setup (redshift_s3_audit, {audit.state}): {findings.get('target')}")
    say(
        f"  {findings.get('ok', 0)} ok, {findings.get('warnings', 0)} warning(s), "
        f"{findings.get('failures', 0)} failure(s)"
    )
    for finding in findings.get("findings", []):
        say(f"  {finding['status']:<8} {finding['name']}: {finding['message']}")
        if finding.get("fix"):
            say(f"           Fix: {finding['fix']}")
    totals = usage.get("totals", {})
    failed = ", ".join(f"{c}: {n}" for c, n in usage.get("failures", {}).items()) or "none"
    say(
        f"Usage of the last {usage.get('days')} days: {totals.get('copies', 0)} COPYs, failed {failed}; "
        f"{totals.get('files', 0)} files, {totals.get('rows', 0)} rows, {totals.get('bytes', 0)} bytes in "
        f"the ledger; {usage.get('cross_region_bytes', 0)} cross-region bytes, estimated transfer cost "
        f"${usage.get('transfer_cost_estimate', 0):.4f} at ${usage.get('transfer_price_per_gb')} per GB"
    )
    if usage.get("rpu_seconds") is None:
        say("  RPU-seconds: unavailable (sys_serverless_usage is Serverless only; the local stack has none)")
    say(f"The usage report's HTML page, with its charts: {usage.get('html')}")


# Sized for a demo on a laptop: four task slots (LocalExecutor forks one worker per slot) and one parsing
# process, instead of 32 workers and two.
DEMO_PARALLELISM = 4
HOME_MARKER = ".made-by-airflow-redshift-s3"


def _airflow_components(port: int) -> dict[str, list[str]]:
    """Return Airflow's components as ``airflow standalone`` runs them, minus the log servers.

    Standalone starts the scheduler's and the triggerer's log servers on 0.0.0.0:8793 and :8794; every
    component runs on this machine and writes its task logs under AIRFLOW_HOME, where the api-server reads
    them, so nothing needs serving and every listener stays on 127.0.0.1.
    """
    return {
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer", "--skip-serve-logs"],
        "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(port)],
    }


def _fresh_home(home: Path, *, ours: bool = False) -> str | None:
    """Empty the run history of a previous ``make airflow`` in home; return why not when home is not ours.

    The local stack starts empty each time (its roles, files and tables live in memory), so the run history
    starts empty too: a restart resets both, and the history never shows runs the stack knows nothing of.
    """
    if not ours and home.exists() and any(home.iterdir()) and not (home / HOME_MARKER).exists():
        return (
            f"{home} is not empty and was not made by make airflow: it starts with an empty run history "
            "and would delete this one. Fix: pass --home with a new or empty directory."
        )
    for name in ("airflow.db", "logs"):
        target = home / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    home.mkdir(parents=True, exist_ok=True)
    (home / HOME_MARKER).write_text("AIRFLOW_HOME of make airflow: emptied at each start.\n")
    return None


def _pipe_with_prefix(name: str, stream: Any) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{name:<13} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def _standalone_environment(
    home: Path, dags_folder: Path, stack: Any, port: int, airflow: Path
) -> dict[str, str]:
    """Return the environment of ``make airflow``'s components: the stack's connections, 127.0.0.1 only."""
    return {
        **os.environ,
        **_airflow_environment(home, dags_folder),
        **stack.environment(),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(DEMO_PARALLELISM),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__API__PORT": str(port),
        # One local user, no login page: this Airflow listens on 127.0.0.1 for you alone.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}/",
        # Where task processes report to: the api-server on this port, not the default 8080.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # The scheduler starts task processes as `airflow ...` from PATH.
        "PATH": os.pathsep.join([str(airflow.parent), os.environ.get("PATH", "")]),
    }


def run_airflow(home: Path | None = None, dags_folder: Path | None = None, port: int = 8080) -> int:
    """Run Airflow (what ``airflow standalone`` runs) on the local stack with the example DAGs, until Ctrl-C.

    The stack runs in this process; the scheduler, dag-processor, triggerer and api-server in child processes
    whose environment points their connections at the stack. Each start is fresh: the stack and the run
    history start empty. All stop on Ctrl-C or SIGTERM.
    """
    import signal
    import subprocess
    import threading
    import urllib.request

    dags_folder = (dags_folder or default_dags_folder()).resolve()
    ours = home is None  # the clone's .airflow, made by an earlier make airflow
    home = (home or Path.cwd() / ".airflow").resolve()
    refusal = _fresh_home(home, ours=ours)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    airflow = Path(sys.executable).with_name("airflow")
    from airflow_redshift_s3.local import LocalRedshift

    print("Starting the local Redshift (PostgreSQL + gateway; moto for S3, IAM and Redshift)...", flush=True)
    with LocalRedshift(role_apply_delay=1.0) as stack:
        put_sample_data(stack, print, (*SAMPLE_DAYS, today_sample_day()))
        env = _standalone_environment(home, dags_folder, stack, port, airflow)
        print(f"Starting Airflow (AIRFLOW_HOME={home}, run history emptied) with the DAGs of {dags_folder}.")
        migrate = subprocess.run(
            [str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, check=False
        )
        if migrate.returncode:
            print(migrate.stdout[-3000:], migrate.stderr[-3000:], sep="\n", file=sys.stderr)
            return migrate.returncode
        processes: dict[str, subprocess.Popen[bytes]] = {}
        stopping = threading.Event()

        def stop(*_: Any) -> None:
            stopping.set()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for name, command in _airflow_components(port).items():
                process = subprocess.Popen(
                    [str(airflow), *command],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches this process, which stops them in order
                )
                processes[name] = process
                threading.Thread(target=_pipe_with_prefix, args=(name, process.stdout), daemon=True).start()
            ready = False
            while not stopping.wait(1):
                exited = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
                if exited:
                    print(f"Airflow's {', '.join(exited)} exited ({exited}); stopping.", file=sys.stderr)
                    return 1
                if not ready:
                    with contextlib.suppress(OSError):
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/version", timeout=2).close()
                        ready = True
                        print(
                            f"Airflow is ready: open http://127.0.0.1:{port}. Trigger redshift_s3_setup "
                            "first, then s3_to_redshift_manual or s3_to_redshift_daily from their forms "
                            "(each form's defaults load a sample day). Ctrl-C stops Airflow and the stack.",
                            flush=True,
                        )
        finally:
            for process in processes.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            for process in processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # whatever a component left behind
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    print("Airflow and the local stack are stopped.", flush=True)
    return 0
