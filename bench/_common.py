"""What the benchmarks share: machine facts, the stack in its own process, RSS sampling, tables, JSON.

Not a benchmark itself (``make bench`` runs ``bench/bench_*.py`` only).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"


def machine_info() -> dict[str, Any]:
    """Return what the figures depend on: CPU, memory, Python, OS, and how busy the machine was."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_model": model or platform.processor(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` and return its path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    """Print a plain-text table: first column left-aligned, the others right-aligned."""
    text_rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in text_rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    if title:
        print(f"\n{title}")
    print(line([str(h) for h in headers]))
    print("  ".join("-" * w for w in widths))
    for row in text_rows:
        print(line(row))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(value: float, base: float) -> float:
    return round(value / base, 2) if base else float("nan")


def mb(n_bytes: float) -> float:
    return round(n_bytes / 2**20, 1)


def time_limit(seconds: int) -> None:
    """Raise TimeoutError in the main thread after ``seconds``, so that a hung load still stops the stack."""

    def expired(*_: object) -> None:
        raise TimeoutError(f"the benchmark did not finish within {seconds} s")

    signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)


def airflow_environment() -> dict[str, str]:
    """Point Airflow at a private home (it writes there on import) and keep it quiet; return the values."""
    home = tempfile.mkdtemp(prefix="bench-airflow-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    values = {
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    os.environ.update(values)
    return values


def allow_execute_outside_task_runner() -> None:
    """Let ``operator.execute(context)`` run without a task runner, quietly (what Airflow's tests do)."""
    from airflow.sdk.bases.operator import ExecutorSafeguard

    ExecutorSafeguard.test_mode = True


def _parent_death_signal() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: the stack stops if the benchmark is killed


class StackProcess:
    """The local Redshift in a child process (``bench/_stack_process.py``), so its memory is its own.

    ``pid`` is the process running the SQL gateway and moto's server (PostgreSQL is its child);
    ``info`` holds its endpoints (see ``_stack_process.py``). Stops on ``stop()``/``__exit__``, and on its
    own when this process dies (its stdin closes, and it gets SIGTERM on parent death).
    """

    def __init__(self, *args: str, timeout: float = 180.0, env: dict[str, str] | None = None):
        self._argv = [sys.executable, str(BENCH / "_stack_process.py"), *args]
        self._env = env or {}
        self._timeout = timeout
        self.process: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        self._descendants: list[psutil.Process] = []

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def aws_pid(self) -> int:
        """The process moto's server runs in (the stack's child; ``pid`` itself with ``--fast-listing``)."""
        return int(self.info["aws_pid"])

    def cpu_seconds(self) -> dict[str, float]:
        """Return the CPU seconds (user + system) the stack has used so far: gateway, moto and PostgreSQL.

        "gateway" is this stack's own process (moto's server too with ``--fast-listing``), "moto" moto's
        process, "PostgreSQL" every other descendant. A process that ended and was waited for counts in
        its parent's ``children_*`` times (PostgreSQL's postmaster waits for its backends), a live one by
        its own; so the difference between two calls is what each part used in between, even across
        connections that came and went.
        """
        root = psutil.Process(self.pid)
        parts = {"gateway": 0.0, "moto": 0.0, "PostgreSQL": 0.0}
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                part = (
                    "gateway"
                    if process.pid == root.pid
                    else "moto"
                    if process.pid == self.aws_pid
                    else "PostgreSQL"
                )
                parts[part] += times.user + times.system + times.children_user + times.children_system
        return parts

    def start(self) -> StackProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self._env)
        self.process = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
            cwd=ROOT,
            preexec_fn=_parent_death_signal,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        deadline = time.monotonic() + self._timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the stack did not print READY within {self._timeout:.0f} s")
                try:
                    line = lines.get(timeout=min(remaining, 1.0))
                except queue.Empty:
                    if self.process.poll() is not None:
                        raise RuntimeError(
                            f"the stack exited ({self.process.returncode}):\n{self.log()}"
                        ) from None
                    continue
                if line.startswith("READY "):
                    self.info = json.loads(line[len("READY ") :])
                    break
        except BaseException:
            self.stop()
            raise
        self._descendants = psutil.Process(self.pid).children(recursive=True)
        return self

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read()[-4000:]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()  # the stack's signal to stop cleanly
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        # PostgreSQL gets SIGTERM when its parent dies; wait for it, and never leave one behind.
        _, alive = psutil.wait_procs(self._descendants, timeout=15)
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()
        self._log.close()

    def __enter__(self) -> StackProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def use_environment(self) -> None:
        """Point this process's Airflow connections and boto3 at the stack."""
        os.environ.update(self.info["environment"])
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )

    def aws_client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.info["aws_endpoint_url"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def redshift_connection(self) -> Any:
        """Return a redshift_connector connection to local-cluster through the gateway."""
        import redshift_connector

        return redshift_connector.connect(**self.info["connect_kwargs"])

    def postgres_connection(self) -> Any:
        """Return a psycopg2 connection straight to PostgreSQL (bypassing the gateway)."""
        import psycopg2

        pg = self.info["postgres"]
        return psycopg2.connect(
            host=pg["host"], port=pg["port"], user=pg["user"], dbname=self.info["database"]
        )


class RssSampler(threading.Thread):
    """Sample one process's resident set (not its children's) every ``interval`` seconds; keep the peak."""

    def __init__(self, pid: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop_event = threading.Event()
        self.before = self._process.memory_info().rss
        self.peak = self.before

    def run(self) -> None:
        while not self._stop_event.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self._interval)

    def __enter__(self) -> RssSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join()
        with contextlib.suppress(psutil.Error):
            self.peak = max(self.peak, self._process.memory_info().rss)
