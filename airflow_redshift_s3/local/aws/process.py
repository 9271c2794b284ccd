"""The AWS half of the local Redshift in a process of its own, so moto's memory is not the gateway's.

``AwsProcess`` starts ``python -m airflow_redshift_s3.local.aws.process``, which runs ``LocalAws`` (moto's
server with this project's extensions) and answers, over its standard input and output, what the stack
asks of moto's state besides the AWS API: checking a temporary database password, setting a cluster's or
workgroup's local endpoint, resetting, the role apply delay, and writing many S3 objects at once. The child
asks the stack in turn to serve each cluster CreateCluster makes (and to stop serving a deleted one).

Messages are JSON lines: first ``{"config": {...}}`` to the child and ``{"event": "ready", "value": {...}}``
back (its port, or the error that kept it from serving); then ``{"call": n, "op": ..., "args": {...}}`` and
``{"reply": n, "ok": value}`` or ``{"reply": n, "error": message, "type": "ValueError" | ...}``, each side
numbering its own calls. The pipe is the two processes' own: no port, nothing another account can reach
(the temporary passwords checked cross it). The child stops when its standard input closes: when the
stack stops, or when the stack's process dies.
This module imports no moto in the parent (only the child's ``main`` does).
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import gc
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from airflow_redshift_s3.local.aws.endpoints import (
    EndpointOverride,
    NewCluster,
    Provision,
    Remove,
    provisioner,
)

_START_TIMEOUT = 60.0  # the child imports moto and builds its backends: seconds on a busy machine
_CALL_TIMEOUT = 60.0
_ERRORS: dict[str, type[Exception]] = {"ValueError": ValueError, "OSError": OSError, "KeyError": KeyError}


class AwsProcessError(RuntimeError):
    """The AWS endpoint's process failed, or ended while the stack was using it."""


class _Channel:
    """Calls both ways over a pair of byte streams; requests run on threads of their own."""

    def __init__(self, reader: IO[bytes], writer: IO[bytes], handlers: dict[str, Callable[..., Any]]):
        self._reader = reader
        self._writer = writer
        self._handlers = handlers
        self._write_lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future[Any]] = {}
        self._closed: str | None = None
        self.events: dict[str, concurrent.futures.Future[Any]] = {}  # one-off messages (``ready``)

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        with self._write_lock:
            self._writer.write(line)
            self._writer.flush()

    def call(self, op: str, timeout: float = _CALL_TIMEOUT, **args: Any) -> Any:
        """Ask the other side to run ``op``; return its answer or raise its error."""
        if self._closed is not None:
            raise AwsProcessError(self._closed)
        number = next(self._numbers)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._pending[number] = future
        try:
            if self._closed is not None:  # the stream ended while this call was being registered
                raise AwsProcessError(self._closed)
            self.send({"call": number, "op": op, "args": args})
            return future.result(timeout)
        except TimeoutError as err:  # (an OSError too)
            if future.done():
                raise
            raise AwsProcessError(f"the other process did not answer {op} in {timeout:.0f} s") from err
        except (OSError, ValueError) as err:  # the pipe is closed, or the other side's error
            if future.done():
                raise
            raise AwsProcessError(self._closed or f"the other process ended ({op}: {err})") from err
        finally:
            self._pending.pop(number, None)

    def event(self, name: str) -> concurrent.futures.Future[Any]:
        return self.events.setdefault(name, concurrent.futures.Future())

    def serve(self, gone: str) -> None:
        """Read messages until the stream ends; then fail every call still waiting with ``gone``."""
        try:
            for line in self._reader:
                message = json.loads(line)
                if "reply" in message:
                    future = self._pending.get(message["reply"])
                    if future is not None and not future.done():
                        if "error" in message:
                            error = _ERRORS.get(message.get("type", ""), AwsProcessError)
                            future.set_exception(error(message["error"]))
                        else:
                            future.set_result(message.get("ok"))
                elif "call" in message:
                    threading.Thread(target=self._answer, args=(message,), daemon=True).start()
                elif "event" in message:
                    future = self.event(message["event"])
                    if not future.done():
                        future.set_result(message.get("value"))
        except (OSError, ValueError):
            pass
        finally:
            self._closed = gone
            for future in [*self._pending.values(), *self.events.values()]:
                if not future.done():
                    future.set_exception(AwsProcessError(gone))

    def _answer(self, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"reply": message["call"]}
        try:
            reply["ok"] = self._handlers[message["op"]](**message.get("args", {}))
        except Exception as err:  # the caller gets it, with its type when it is one of _ERRORS
            reply.update(error=str(err), type=type(err).__name__)
        with contextlib.suppress(OSError, ValueError):  # the other side is gone
            self.send(reply)


class AwsProcess:
    """``LocalAws`` in a child process; the stack's view of it has ``LocalAws``'s methods.

    :param provision: serves a cluster CreateCluster makes (``endpoints.Provision``), with ``remove``,
        which stops serving a deleted one; None: clusters keep AWS's endpoints.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        role_apply_delay: float = 3.0,
        *,
        provision: Provision | None = None,
        remove: Remove | None = None,
    ) -> None:
        if role_apply_delay < 0:
            raise ValueError(f"role_apply_delay must be >= 0, got {role_apply_delay}")
        self.host = host
        self.port = port
        self._requested_port = port
        self._role_apply_delay = float(role_apply_delay)
        self._provisioner = provisioner(provision, remove)
        self.process: subprocess.Popen[bytes] | None = None
        self._channel: _Channel | None = None
        self._endpoint_url: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> str:
        """Start the child, wait until its server answers and return its endpoint URL."""
        if self._endpoint_url is not None:
            return self._endpoint_url
        self.process = subprocess.Popen(
            [sys.executable, "-m", "airflow_redshift_s3.local.aws.process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_child_environment(),
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._channel = _Channel(
            self.process.stdout,
            self.process.stdin,
            {"provision": self._provision_cluster, "remove": self._remove_cluster},
        )
        ready = self._channel.event("ready")
        threading.Thread(
            target=self._channel.serve,
            args=(f"the AWS endpoint's process (pid {self.process.pid}) ended",),
            name="aws-process-channel",
            daemon=True,
        ).start()
        try:
            self._channel.send(
                {
                    "config": {
                        "host": self.host,
                        "port": self._requested_port,
                        "role_apply_delay": self._role_apply_delay,
                        "provision": self._provisioner is not None,
                    }
                }
            )
            answer = ready.result(_START_TIMEOUT)
        except BaseException as err:
            self.stop()
            if isinstance(err, concurrent.futures.TimeoutError):
                raise AwsProcessError(f"the AWS endpoint did not start in {_START_TIMEOUT:.0f} s") from err
            raise
        if "error" in answer:
            self.stop()
            raise OSError(answer["error"])
        self.port = int(answer["port"])
        self._endpoint_url = answer["endpoint_url"]
        return self._endpoint_url

    def stop(self) -> None:
        """Close the child's input (it stops its server and exits); kill it if it does not."""
        process, self.process, self._endpoint_url = self.process, None, None
        if process is None:
            return
        assert process.stdin is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    @property
    def pid(self) -> int | None:
        """Return the child's process id while it runs."""
        return self.process.pid if self.process is not None else None

    # -- what the stack asks of moto's state ----------------------------------------------------------

    def _call(self, op: str, **args: Any) -> Any:
        if self._channel is None or self.process is None:
            raise RuntimeError("the AWS endpoint is not running: call start() first")
        return self._channel.call(op, **args)

    def reset(self, clear_endpoints: bool = False) -> None:
        """Forget all AWS state and issued passwords; keep local endpoints unless asked."""
        self._call("reset", clear_endpoints=clear_endpoints)

    def verify_temporary_credentials(self, db_user: str, password: str) -> bool:
        """Return whether GetClusterCredentials/GetCredentials issued this live password to ``db_user``."""
        return bool(self._call("verify", db_user=db_user, password=password))

    def set_cluster_endpoint(self, cluster_identifier: str, address: str, port: int, region: str) -> None:
        """Make DescribeClusters report ``address:port`` as the cluster's endpoint."""
        self._call(
            "cluster_endpoint",
            cluster_identifier=cluster_identifier,
            address=address,
            port=port,
            region=region,
        )

    def set_workgroup_endpoint(self, workgroup_name: str, address: str, port: int, region: str) -> None:
        """Make GetWorkgroup report ``address:port`` as the workgroup's endpoint."""
        self._call(
            "workgroup_endpoint", workgroup_name=workgroup_name, address=address, port=port, region=region
        )

    def seed_objects(self, bucket: str, keys: list[str], body: bytes = b"x") -> None:
        """Write objects into the local S3 store at once (no PutObject per key); the bucket must exist."""
        self._call("seed", bucket=bucket, keys=keys, body=base64.b64encode(body).decode())

    @property
    def role_apply_delay(self) -> float:
        """Return the seconds an added/removed IAM role stays ``adding``/``removing``."""
        return self._role_apply_delay

    @role_apply_delay.setter
    def role_apply_delay(self, seconds: float) -> None:
        self._call("role_apply_delay", seconds=seconds)  # validated there
        self._role_apply_delay = float(seconds)

    # -- what the child asks of the stack --------------------------------------------------------------

    def _provision_cluster(self, **cluster: Any) -> dict[str, Any]:
        assert self._provisioner is not None  # the child asks only when told the stack serves clusters
        endpoint = self._provisioner[0](NewCluster(**cluster))
        return {"address": endpoint.address, "port": endpoint.port}

    def _remove_cluster(self, account_id: str, region: str, cluster_identifier: str) -> None:
        assert self._provisioner is not None
        self._provisioner[1](account_id, region, cluster_identifier)


def _child_environment() -> dict[str, str]:
    """Return this process's environment, with this package importable in the child as it is here.

    A package found through this process's ``sys.path`` only (a checkout, a test runner's ``pythonpath``)
    is found by the child too: its directory goes first on the child's ``PYTHONPATH``. moto's EC2 backend,
    which its Redshift backend builds on the first Redshift call, skips its 1,301 default machine images
    (0.17 s of moto's work at each start, 4 MB; a local Redshift has no instances), unless the environment
    asks for them.
    """
    import airflow_redshift_s3

    root = os.path.dirname(os.path.dirname(os.path.abspath(airflow_redshift_s3.__file__)))
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)), PYTHONUNBUFFERED="1")
    environment.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    return environment


# -------------------------------------------------------------------------------------------- the child


def _child_handlers(aws: Any) -> dict[str, Callable[..., Any]]:
    def seed(bucket: str, keys: list[str], body: str) -> None:
        aws.seed_objects(bucket, keys, base64.b64decode(body))

    def role_apply_delay(seconds: float) -> None:
        aws.role_apply_delay = seconds

    return {
        "verify": aws.verify_temporary_credentials,
        "cluster_endpoint": aws.set_cluster_endpoint,
        "workgroup_endpoint": aws.set_workgroup_endpoint,
        "reset": aws.reset,
        "seed": seed,
        "role_apply_delay": role_apply_delay,
    }


def main() -> int:
    """Run ``LocalAws`` as the stack's child: the configuration, then calls, on standard input."""
    # Ctrl-C in a terminal reaches the whole process group: the stack stops this process by closing its input
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # moto's import, its server and the first backends make ~300,000 long-lived objects: with the collector
    # on, its full passes over them took 0.22 s of this process's 0.79 s start (4 passes; measured). It is
    # off until then; what exists once started is frozen (never scanned again): 4,103 unreachable objects
    # were left at that point, RSS unchanged. Every later pass then scans only what came after.
    gc.disable()
    # the messages go to the original standard output; anything else printed goes to standard error
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    stdin = sys.stdin.buffer
    config = json.loads(stdin.readline())["config"]
    from airflow_redshift_s3.local.aws.server import LocalAws

    channel: _Channel | None = None

    def provision(cluster: NewCluster) -> EndpointOverride:
        assert channel is not None
        fields = {name: getattr(cluster, name) for name in NewCluster.__dataclass_fields__}
        answer = channel.call("provision", **fields)
        return EndpointOverride(answer["address"], int(answer["port"]))

    def remove(account_id: str, region: str, cluster_identifier: str) -> None:
        assert channel is not None
        channel.call("remove", account_id=account_id, region=region, cluster_identifier=cluster_identifier)

    aws = LocalAws(
        host=config["host"],
        port=config["port"],
        role_apply_delay=config["role_apply_delay"],
        provision=provision if config["provision"] else None,
        remove=remove if config["provision"] else None,
    )
    channel = _Channel(stdin, out, _child_handlers(aws))
    try:
        endpoint_url = aws.start()
    except OSError as err:
        channel.send({"event": "ready", "value": {"error": str(err)}})
        return 1
    try:
        aws.warm()
    except Exception as err:  # only a head start: the first requests build the backends anyway
        warning = f"local AWS: building moto's backends ahead failed ({err!r}); the first calls will"
        print(warning, file=sys.stderr)
    finally:
        gc.freeze()
        gc.enable()
    try:
        channel.send({"event": "ready", "value": {"port": aws.port, "endpoint_url": endpoint_url}})
        channel.serve("the stack has stopped")
    finally:
        aws.stop()
    # moto's state dies with the process: skip tearing its objects down one by one (most of a second);
    # the files S3 spools large objects to are already unlinked
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
