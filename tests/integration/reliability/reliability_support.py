"""Helpers of the reliability suite (imported by its conftest and tests)."""

from __future__ import annotations

import contextlib
import threading
import time
from types import SimpleNamespace
from typing import Any


@contextlib.contextmanager
def login_user(db: Any, stack: Any, monkeypatch: Any, *grants: str) -> Any:
    """Yield a new database user with ``grants`` (SQL after GRANT, e.g. "usage on schema s"), reachable as
    the Airflow connection ``redshift_loader``; drop it afterwards."""
    import json

    from airflow_redshift_s3.local.pytest_plugin import unique_name

    user = unique_name("loader_")
    db.run(f"create user {user} password 'Loader-Pass1'")
    for grant in grants:
        db.run(f"grant {grant} to {user}")
    kwargs = stack.connect_kwargs()
    conn = {"conn_type": "redshift", "host": kwargs["host"], "port": kwargs["port"],
            "schema": kwargs["database"],
            "login": user, "password": "Loader-Pass1", "extra": {"ssl": False}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_REDSHIFT_LOADER", json.dumps(conn))
    try:
        yield user
    finally:
        db.run(f"drop owned by {user}")
        db.run(f"drop user {user}")


def task_context(run_id: str = "manual__1", try_number: int = 1, dag_id: str = "load_dag") -> dict:
    """A minimal execute() context: what the operator reads from it (the ids for the ledger and manifest)."""
    ti = SimpleNamespace(dag_id=dag_id, run_id=run_id, task_id="load", map_index=-1, try_number=try_number)
    return {"ti": ti, "run_id": run_id}


class GatewaySql:
    """Every client connection and SQL statement the local gateway received, in order.

    It listens to the gateway's client events (``Gateway.add_client_listener``): a statement counts as soon
    as the gateway reads it from a client, whether PostgreSQL then runs it or not.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[str] = []

    def add(self, event: str) -> None:
        with self._lock:
            self.events.append(event)

    def mark(self) -> int:
        with self._lock:
            return len(self.events)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return list(self.events[mark:])


class Db:
    """Autocommit access to local-cluster for setting up and checking a test's schema."""

    def __init__(self, stack: Any, schema: str) -> None:
        self.stack, self.schema = stack, schema

    def run(self, sql: str) -> list[tuple]:
        import redshift_connector

        conn = redshift_connector.connect(**self.stack.connect_kwargs())
        try:
            conn.autocommit = True
            cursor = conn.cursor()
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            conn.close()

    def tables(self) -> set[str]:
        return {r[0] for r in self.run(f"select tablename from pg_tables where schemaname = '{self.schema}'")}

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every table of the schema and its rows, sorted: compare two snapshots to see any change."""
        return {t: sorted(self.run(f'select * from {self.schema}."{t}"'), key=repr) for t in self.tables()}

    def ledger(self) -> list[tuple]:
        return self.run(
            "select object_key, load_mode, partition_value, load_rows, run_id, try_number "
            f"from {self.schema}.s3_load_ledger order by loaded_at, object_key"
        )


def wait_until_queryable(stack: Any, timeout: float = 30.0) -> None:
    """Wait until local-cluster answers a query through the gateway (PostgreSQL may still be starting)."""
    import redshift_connector

    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = redshift_connector.connect(**stack.connect_kwargs())
            try:
                conn.cursor().execute("select 1")
                return
            finally:
                conn.close()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def restart_postgres(stack: Any) -> None:
    """Restart the stack's PostgreSQL and wait until local-cluster answers again.

    Call it from the test's main thread only: the server gets SIGTERM when the thread that started it
    ends. The gateway's own admin connections (query ids, system tables) outlive the restart broken, so
    they are closed here and reopen on their next use.
    """
    stack.postgres.restart()
    with contextlib.suppress(Exception):
        stack.gateway_thread.close_admin_connections()
    wait_until_queryable(stack)


class RawPg:
    """A bare PostgreSQL wire-protocol client: it sends what no driver sends (malformed or huge messages).

    Every read has a timeout, so a server that waits for bytes that never come fails the test instead of
    hanging it.
    """

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        import socket

        self.sock = socket.create_connection((host, port), timeout=timeout)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def startup(self, user: str, database: str = "dev", **params: str) -> None:
        import struct

        pairs = {"user": user, "database": database, **params}
        body = b"".join(k.encode() + b"\x00" + v.encode() + b"\x00" for k, v in pairs.items()) + b"\x00"
        self.send(struct.pack("!ii", len(body) + 8, 196608) + body)

    def read(self) -> tuple[bytes, bytes] | None:
        """Return the next (type, body), or None when the server closed the connection."""
        import struct

        header = self._exactly(5)
        if header is None:
            return None
        (length,) = struct.unpack("!i", header[1:])
        body = self._exactly(length - 4)
        return None if body is None else (header[:1], body)

    def _exactly(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            try:
                chunk = self.sock.recv(size - len(data))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            data += chunk
        return data

    def until_ready(self) -> list[tuple[bytes, bytes]]:
        """Read up to ReadyForQuery or an error; return what was read."""
        messages = []
        while True:
            msg = self.read()
            if msg is None:
                return messages
            messages.append(msg)
            if msg[0] in (b"Z", b"E"):
                return messages

    def login(
        self, user: str, password: str, database: str = "dev", **params: str
    ) -> list[tuple[bytes, bytes]]:
        """Log in (cleartext or md5 password); return the messages up to ReadyForQuery or the error."""
        import hashlib
        import struct

        self.startup(user, database, **params)
        while True:
            msg = self.read()
            if msg is None or msg[0] == b"E":
                return [msg] if msg else []
            kind, body = msg
            if kind == b"R" and struct.unpack("!i", body[:4])[0] == 3:
                self.send(_typed(b"p", password.encode() + b"\x00"))
            elif kind == b"R" and struct.unpack("!i", body[:4])[0] == 5:
                inner = hashlib.md5((password + user).encode()).hexdigest()
                digest = "md5" + hashlib.md5(inner.encode() + body[4:8]).hexdigest()
                self.send(_typed(b"p", digest.encode() + b"\x00"))
            elif kind == b"Z":
                return [msg]

    def query(self, sql: str) -> list[tuple[bytes, bytes]]:
        self.send(_typed(b"Q", sql.encode() + b"\x00"))
        return self.until_ready()

    def abort(self) -> None:
        """Close with a reset, as a killed client does."""
        import socket
        import struct

        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()


def _typed(kind: bytes, body: bytes) -> bytes:
    import struct

    return kind + struct.pack("!i", len(body) + 4) + body


def typed_message(kind: bytes, body: bytes) -> bytes:
    """Encode one typed protocol message."""
    return _typed(kind, body)


def error_fields(body: bytes) -> dict[str, str]:
    """Decode the fields of an ErrorResponse body ({'C': sqlstate, 'M': message, ...})."""
    fields = {}
    for part in body.rstrip(b"\x00").split(b"\x00"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


def admin_rows(stack: Any, sql: str) -> list[list[str | None]]:
    """Run ``sql`` on dev through the gateway's own PostgreSQL connection (the stack's admin path)."""
    return stack.gateway_thread.call(stack.gateway.admin("dev").query(sql))
