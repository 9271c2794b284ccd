"""Helpers of the reliability suite (imported by its conftest and tests)."""

from __future__ import annotations

import contextlib
import threading
import time
from types import SimpleNamespace
from typing import Any


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
