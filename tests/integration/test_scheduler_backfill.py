"""The daily DAG as production runs it: the real scheduler, dag-processor, triggerer and api-server.

Each component is its own process (what ``make airflow`` starts: LocalExecutor, 127.0.0.1 only) on the
shared local stack. The test does what an operator of a daily load does, through the REST API and the CLI
the README's "Backfill a month" recipe shows:

- unpauses ``s3_to_redshift_daily``: the scheduler creates the run of the last complete day (yesterday,
  UTC), which loads yesterday's files: the day a scheduled run loads, under the real scheduler and clock;
- backfills ten days over REST with ``max_active_runs=3``: one day has no ``_SUCCESS`` (its marker is long
  overdue: the run fails at once, not after hours), one day has a bad row (the load fails and changes
  nothing);
- kills the scheduler with SIGKILL (its whole process group: the executor's workers, which supervise the
  tasks) once some days are done, and starts it again: the backfill finishes. Since Airflow 3.3 a task's
  own process has a process group of its own, so a task caught mid-load runs on without its supervisor
  (it cannot report) while the restarted scheduler retries it: loads of one table serialise on its LOCK;
- writes the missing marker and reruns that day alone with the ``airflow tasks clear`` command its error
  printed; fixes the bad row and reprocesses three days with the CLI (``--reprocess-behavior completed``).

It asserts the run states, the rows of every day, the ledger (one row per file) and its history, and reads
the failed sensor's log as a person would. The wall time and peak memory of the backfill are printed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

DAG_ID = "s3_to_redshift_daily"
DAYS = [f"2026-11-{d:02d}" for d in range(1, 11)]
NO_MARKER_DAY = "2026-11-05"
BAD_ROW_DAY = "2026-11-08"
ROWS_PER_FILE = 50
# Recovery after SIGKILL within a minute: the restarted scheduler looks for the dead scheduler's tasks every
# 10 s instead of 5 min (they count as orphaned once its heartbeat is older than the default 30 s).
RECOVERY = {
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _csv(day: str, file: int, bad: bool = False) -> bytes:
    first = {d: n for n, d in enumerate(DAYS)}.get(day, 90) * 1000 + file * ROWS_PER_FILE
    lines = ["id,name"] + [f"{first + n},n{n}" for n in range(ROWS_PER_FILE)]
    if bad:
        lines[7] = "not-a-number,oops"
    return gzip.compress(("\n".join(lines) + "\n").encode())


class Airflow:
    """Airflow's components as processes on the local stack; the REST API without login (one local user)."""

    def __init__(self, home: Path, env: dict[str, str], port: int) -> None:
        self.home, self.env, self.port = home, env, port
        self.processes: dict[str, subprocess.Popen] = {}
        self.airflow = str(Path(sys.executable).with_name("airflow"))

    def start(self, name: str, command: list[str]) -> None:
        log = (self.home / f"{name}.out").open("a")
        self.processes[name] = subprocess.Popen(
            [self.airflow, *command],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=60)

    def stop(self) -> None:
        for name in list(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.processes[name].pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        for name in list(self.processes):
            process = self.processes.pop(name)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def api(self, path: str, body: Any = None, method: str = "GET") -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v2/{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.airflow, *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                assert process.poll() is None, f"{name} exited ({process.returncode}): {self.tail(name)}"
            try:
                value = predicate()
            except OSError:
                value = None
            if value:
                return value
            time.sleep(2)
        logs = "\n".join(f"--- {name}\n{self.tail(name)}" for name in self.processes)
        pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")

    def tail(self, name: str) -> str:
        path = self.home / f"{name}.out"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def runs(self, run_type: str) -> dict[str, dict[str, Any]]:
        """Return {day: run} of the DAG's runs of ``run_type`` (the newest run of each day)."""
        runs = self.api(f"dags/{DAG_ID}/dagRuns?run_type={run_type}&limit=100&order_by=run_after")["dag_runs"]
        return {run["logical_date"][:10]: run for run in runs}

    def explain(self, run_id: str) -> str:
        """Return each task's tries of a run and the end of each try's log: what a person would open first."""
        try:
            return self._explain(run_id)
        except Exception as error:  # only ever called to explain a failure: never hide that failure
            return f"(could not read the run's tasks: {error!r})"

    def _explain(self, run_id: str) -> str:
        out = []
        for ti in self.api(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]:
            out.append(f"--- {ti['task_id']}: {ti['state']} (try {ti['try_number']})")
            for number in range(1, ti["try_number"] + 1):
                try:
                    log = self.api(
                        f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{number}"
                        "?full_content=true"
                    )
                except OSError as error:
                    out.append(f"try {number}: no log ({error})")
                    continue
                content = log.get("content", [])
                lines = [e.get("event", "") if isinstance(e, dict) else str(e) for e in content]
                out.append(f"try {number}:\n" + "\n".join(str(line)[:300] for line in lines[-25:]))
        return "\n".join(out)

    def task_states(self, run_id: str) -> dict[str, str]:
        tis = self.api(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in tis}


class PeakMemory(threading.Thread):
    """Sample the memory of every component's process tree (workers and task processes included).

    ``peak_rss`` sums RSS (pages shared by forked processes counted in each); ``peak_pss`` counts a shared
    page once, split between its sharers: the memory the tree really takes.
    """

    def __init__(self, airflow: Airflow) -> None:
        super().__init__(daemon=True)
        self.airflow, self.peak_rss, self.peak_pss, self.done = airflow, 0, 0, threading.Event()

    def run(self) -> None:
        import psutil

        while not self.done.wait(1.0):
            rss = pss = 0
            for process in list(self.airflow.processes.values()):
                try:
                    root = psutil.Process(process.pid)
                    tree = [root, *root.children(recursive=True)]
                except psutil.Error:
                    continue
                for proc in tree:
                    try:
                        info = proc.memory_full_info()
                    except psutil.Error:
                        continue
                    rss, pss = rss + info.rss, pss + getattr(info, "pss", info.rss)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)


@pytest.fixture
def airflow_metadata() -> Iterator[str]:
    """Airflow's metadata database in PostgreSQL, as in production (SQLite locks up under four components)."""
    from airflow_redshift_s3.local.postgres import LocalPostgres

    server = LocalPostgres(hba_lines=["host all postgres 127.0.0.1/32 trust"]).start()
    yield server.dsn.replace("postgresql://", "postgresql+psycopg2://")
    server.stop()


@pytest.fixture
def airflow(airflow_metadata: str, tmp_path: Path, local_redshift: Any, redshift_schema: str, s3_bucket: str,
            copy_role_arn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Airflow]:  # fmt: skip
    from airflow_redshift_s3 import demo

    for name in list(os.environ):
        if name.startswith(("AIRFLOW", "REDSHIFT_S3_", "AWS_")):
            monkeypatch.delenv(name)
    port = _free_port()
    home = tmp_path / "home"
    home.mkdir()
    airflow_bin = Path(sys.executable).with_name("airflow")
    env = demo._standalone_environment(home, demo.default_dags_folder(), local_redshift, port, airflow_bin)
    # The daily DAG's defaults point at this test's bucket, table and role.
    env.update(RECOVERY)
    env.update(
        REDSHIFT_S3_BUCKET=s3_bucket,
        REDSHIFT_S3_PREFIX="sales",
        REDSHIFT_S3_TABLE=f"{redshift_schema}.sales",
        REDSHIFT_S3_ROLE_ARN=copy_role_arn,
    )
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = airflow_metadata
    af = Airflow(home, env, port)
    migrate = af.cli("db", "migrate")
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    try:
        for name, command in demo._airflow_components(port).items():
            af.start(name, command)
        af.wait(lambda: af.api(f"dags/{DAG_ID}")["dag_id"], 300, "the api-server and the parsed daily DAG")
        yield af
    finally:
        af.stop()


def test_backfill_under_the_real_scheduler_survives_a_killed_scheduler(
    airflow: Airflow, local_redshift: Any, redshift_schema: str, s3_bucket: str, query: Any
) -> None:
    s3 = local_redshift.aws_client("s3")
    yesterday = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).date().isoformat()
    for day in [*DAYS, yesterday]:
        for file in range(2):
            bad = day == BAD_ROW_DAY and file == 1
            s3.put_object(Bucket=s3_bucket, Key=f"sales/{day}/part-{file}.csv.gz", Body=_csv(day, file, bad))
        if day != NO_MARKER_DAY:
            s3.put_object(Bucket=s3_bucket, Key=f"sales/{day}/_SUCCESS", Body=b"")
    table = f"{redshift_schema}.sales"
    query(f"create table {table} (id int, name varchar(10), load_date date)")

    def rows_per_day() -> dict[str, int]:
        return {str(d): n for d, n in query(f"select load_date, count(*) from {table} group by 1")}

    def ledger() -> list[tuple]:
        return query(f"select partition_value, object_key from {redshift_schema}.s3_load_ledger")

    # The DAG is paused on creation (a production default, see the README); unpausing it lets the scheduler
    # create the run of the last complete day.
    assert airflow.api(f"dags/{DAG_ID}")["is_paused"] is True
    airflow.api(f"dags/{DAG_ID}", {"is_paused": False}, "PATCH")
    started = time.monotonic()
    memory = PeakMemory(airflow)
    memory.start()
    backfill = airflow.api(
        "backfills",
        {
            "dag_id": DAG_ID,
            "from_date": f"{DAYS[0]}T00:00:00Z",
            "to_date": f"{DAYS[-1]}T00:00:00Z",
            "max_active_runs": 3,
            "reprocess_behavior": "none",
        },
        "POST",
    )

    def done_days() -> int:
        return sum(r["state"] in ("success", "failed") for r in airflow.runs("backfill").values())

    airflow.wait(lambda: done_days() >= 3, 400, "three backfill days done")
    running = sum(r["state"] == "running" for r in airflow.runs("backfill").values())
    airflow.kill("scheduler")  # SIGKILL: the scheduler and its executor's workers (the tasks' supervisors)
    killed_at = done_days()
    time.sleep(3)
    airflow.start("scheduler", ["scheduler", "--skip-serve-logs"])
    airflow.wait(
        lambda: airflow.api(f"backfills/{backfill['id']}")["completed_at"], 700, "the backfill to complete"
    )
    backfill_seconds = time.monotonic() - started
    memory.done.set()
    memory.join()
    print(
        f"\nbackfill of {len(DAYS)} days: {backfill_seconds:.0f} s wall time (scheduler killed after "
        f"{killed_at} days done, {running} running); peak memory of all Airflow processes: "
        f"{memory.peak_pss / 2**20:.0f} MiB PSS, {memory.peak_rss / 2**20:.0f} MiB summed RSS"
    )

    runs = airflow.runs("backfill")
    states = {day: run["state"] for day, run in runs.items()}
    failed = {NO_MARKER_DAY, BAD_ROW_DAY}
    expected_states = {day: "failed" if day in failed else "success" for day in DAYS}
    wrong = [day for day in DAYS if states.get(day) != expected_states[day]]
    assert not wrong, (
        f"{states}\n"
        + "\n".join(f"=== {day}\n{airflow.explain(runs[day]['dag_run_id'])}" for day in wrong if day in runs)
        + f"\n--- scheduler\n{airflow.tail('scheduler')}"
    )
    no_marker = airflow.task_states(runs[NO_MARKER_DAY]["dag_run_id"])
    assert (no_marker["wait_for_files"], no_marker["load"]) == ("failed", "upstream_failed")
    assert airflow.task_states(runs[BAD_ROW_DAY]["dag_run_id"])["load"] == "failed"
    # What a person reads in the failed sensor's log: the marker, that it is overdue, how to rerun the day.
    log = airflow.api(
        f"dags/{DAG_ID}/dagRuns/{runs[NO_MARKER_DAY]['dag_run_id']}/taskInstances/wait_for_files/logs/1"
        "?full_content=true"
    )
    text = json.dumps(log)
    assert f"sales/{NO_MARKER_DAY}/_SUCCESS is missing and was due by 2026-11-06T06:00:00+00:00" in text
    assert f"-s {NO_MARKER_DAY}T00:00:00+00:00" in text
    # The scheduled run: the last complete day (yesterday), loaded by the real scheduler.
    scheduled = airflow.wait(
        lambda: {d: r for d, r in airflow.runs("scheduled").items() if r["state"] in ("success", "failed")},
        300,
        "the scheduled run",
    )
    assert list(scheduled) == [yesterday]
    assert scheduled[yesterday]["state"] == "success"
    assert (
        scheduled[yesterday]["data_interval_end"][:10] == dt.datetime.now(dt.timezone.utc).date().isoformat()
    )
    loaded = {day for day in DAYS if day not in failed} | {yesterday}
    assert rows_per_day() == {day: 2 * ROWS_PER_FILE for day in loaded}
    assert sorted(ledger()) == sorted((day, f"sales/{day}/part-{f}.csv.gz") for day in loaded for f in (0, 1))

    # Fix the day without its marker and rerun it alone with the command its error printed.
    s3.put_object(Bucket=s3_bucket, Key=f"sales/{NO_MARKER_DAY}/_SUCCESS", Body=b"")
    (command,) = set(re.findall(r"`(airflow tasks clear [^`]+)`", text))
    cleared = airflow.cli(*shlex.split(command)[1:])
    assert cleared.returncode == 0, cleared.stdout[-2000:] + cleared.stderr[-2000:]
    airflow.wait(
        lambda: airflow.runs("backfill")[NO_MARKER_DAY]["state"] == "success", 300, "the day rerun alone"
    )
    assert {d: r["state"] for d, r in airflow.runs("backfill").items()} == {
        day: "failed" if day == BAD_ROW_DAY else "success" for day in DAYS
    }
    # Fix the bad row, then reprocess three days with the CLI, completed runs included.
    s3.put_object(Bucket=s3_bucket, Key=f"sales/{BAD_ROW_DAY}/part-1.csv.gz", Body=_csv(BAD_ROW_DAY, 1))
    reprocessed = ["2026-11-06", "2026-11-07", "2026-11-08"]
    before = {d: runs[d]["end_date"] for d in reprocessed}
    created = airflow.cli(
        "backfill", "create", "--dag-id", DAG_ID, "--from-date", reprocessed[0], "--to-date", reprocessed[-1],
        "--max-active-runs", "3", "--reprocess-behavior", "completed",
    )  # fmt: skip
    assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-2000:]

    def reprocessed_done() -> bool:
        now = airflow.runs("backfill")
        return all(
            now[d]["end_date"] != before[d] and now[d]["state"] in ("success", "failed") for d in reprocessed
        )

    airflow.wait(reprocessed_done, 600, "the reprocessed days")
    after = airflow.runs("backfill")
    assert {d: after[d]["state"] for d in reprocessed} == dict.fromkeys(reprocessed, "success")
    loaded |= failed
    assert rows_per_day() == {day: 2 * ROWS_PER_FILE for day in loaded}  # replaced, never doubled
    total = 2 * ROWS_PER_FILE * len(loaded)
    assert query(f"select count(*), count(distinct id) from {table}")[0] == (total, total)
    # One ledger row per file; the rows each reload superseded are in the history (the 6th and 7th at
    # least: same files again; a day killed mid-load and loaded again by its retry adds its own).
    assert sorted(ledger()) == sorted((day, f"sales/{day}/part-{f}.csv.gz") for day in loaded for f in (0, 1))
    history = dict(
        query(f"select partition_value, count(*) from {redshift_schema}.s3_load_ledger_history group by 1")
    )
    assert {"2026-11-06", "2026-11-07"} <= set(history) <= loaded, history
    assert all(count % 2 == 0 for count in history.values()), history  # whole loads: both files
    print(f"ledger history rows per day: {history}")

    # Every load that changed the table queued redshift_daily_report (scheduled on the load's AssetAlias):
    # the scheduler runs it, and a run after the last load reports the table's last seven partitions.
    expected = {day: 2 * ROWS_PER_FILE for day in sorted(loaded, reverse=True)[:7]}
    reports_url = "dags/redshift_daily_report/dagRuns"

    def last_report() -> dict[str, Any] | None:
        found = airflow.api(f"{reports_url}?order_by=-run_after&limit=1")["dag_runs"]
        if not found or found[0]["state"] != "success":
            return None
        xcom = f"{reports_url}/{found[0]['dag_run_id']}/taskInstances/report/xcomEntries/return_value"
        [report] = airflow.api(xcom)["value"]
        return report if report["partitions"] == expected else None

    report = airflow.wait(last_report, 300, f"a report run giving {expected}")
    assert report["table"] == table, report
    reports = airflow.api(f"{reports_url}?limit=100")["dag_runs"]
    assert {r["run_type"] for r in reports} == {"asset_triggered"}, reports
    assert {r["state"] for r in reports} <= {"success", "running", "queued"}, reports
    print(f"report runs: {len(reports)}, the last after loading {report['loaded']}")
