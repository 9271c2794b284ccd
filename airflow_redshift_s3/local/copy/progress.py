"""STV_LOAD_STATE for a running local COPY: one row (slice 0) while it loads, updated as bytes go in.

Columns and meanings from the "STV_LOAD_STATE" page of the Redshift Database Developer Guide:
``bytes_to_load``/``bytes_loaded`` for uncompressed input (0 to load when compressed; loaded counts the
decompressed bytes), ``bytes_to_load_compressed``/``bytes_loaded_compressed`` for compressed input (0 when
not), ``lines``, ``num_files``, ``num_files_complete``, ``current_file``, ``pct_complete``. Redshift updates
the table every million records; the local stack every ``INTERVAL`` seconds of loading, so that a test's
load of a few megabytes shows progress. The row is written through the gateway's autocommit connection, so
other sessions see it while the load's own transaction is open, and deleted when the load ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from airflow_redshift_s3.local.sql.tokens import quote_literal

INTERVAL = 0.2
TABLE_SQL = """
CREATE TABLE IF NOT EXISTS pg_catalog.stv_load_state (
    userid integer, session integer, query integer, slice integer, pid integer, recordtime timestamp,
    bytes_to_load bigint, bytes_loaded bigint, bytes_to_load_compressed bigint,
    bytes_loaded_compressed bigint, lines integer, num_files integer, num_files_complete integer,
    current_file character(256), pct_complete integer
);
GRANT SELECT ON pg_catalog.stv_load_state TO PUBLIC;
"""


class _CountedBody:
    """An S3 body whose ``read`` counts the (compressed) bytes it returns; the rest passes through."""

    def __init__(self, body: Any, progress: LoadProgress, url: str) -> None:
        self._body = body
        self._progress = progress
        self._url = url
        progress.current_file = url

    def read(self, *args: Any) -> bytes:
        data: bytes = self._body.read(*args)
        self._progress.read_bytes += len(data)
        return data

    def close(self) -> None:
        self._progress.files_complete += 1
        self._body.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)


class LoadProgress:
    """The STV_LOAD_STATE row of one COPY, kept up to date by the runner as it sends the data."""

    def __init__(
        self,
        admin: Any,
        *,
        userid_sql: str,
        session_pid: int,
        query_id: int,
        objects: list[Any],
        compressed: bool,
    ) -> None:
        self.admin = admin
        self.key = f"session = {int(session_pid)} AND query = {int(query_id)}"
        self.userid_sql, self.session_pid, self.query_id = userid_sql, int(session_pid), int(query_id)
        self.total = sum(int(getattr(o, "size", 0) or 0) for o in objects)
        self.files = len(objects)
        self.compressed = compressed
        self.read_bytes = 0  # compressed bytes read from S3 (the bodies' read())
        self.sent_bytes = 0  # decompressed bytes sent to PostgreSQL
        self.lines = 0
        self.files_complete = 0
        self.current_file = ""
        self._written = 0.0

    def opener(self, open_object: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Return ``open_object`` whose bodies count what they read."""
        return lambda ref: _CountedBody(open_object(ref), self, f"s3://{ref.bucket}/{ref.key}")

    def sent(self, chunk: bytes) -> None:
        """Count one chunk sent to PostgreSQL."""
        self.sent_bytes += len(chunk)
        self.lines += chunk.count(b"\n")

    async def begin(self) -> None:
        """Insert the row (nothing loaded yet)."""
        to_load, to_load_compressed = (0, self.total) if self.compressed else (self.total, 0)
        await self._run(
            "INSERT INTO pg_catalog.stv_load_state VALUES "
            f"({self.userid_sql}, {self.session_pid}, {self.query_id}, 0, {self.session_pid}, "
            f"localtimestamp, {to_load}, 0, {to_load_compressed}, 0, 0, {self.files}, 0, '', 0)"
        )
        self._written = time.monotonic()

    async def maybe_update(self) -> None:
        """Write the counters when ``INTERVAL`` has passed since the last write."""
        if time.monotonic() - self._written < INTERVAL:
            return
        self._written = time.monotonic()
        done = self.read_bytes if self.compressed else min(self.sent_bytes, self.total)
        pct = min(100, done * 100 // self.total) if self.total else 0
        loaded_compressed = self.read_bytes if self.compressed else 0
        await self._run(
            "UPDATE pg_catalog.stv_load_state SET recordtime = localtimestamp, "
            f"bytes_loaded = {self.sent_bytes}, "
            f"bytes_loaded_compressed = {loaded_compressed}, lines = {min(self.lines, 2**31 - 1)}, "
            f"num_files_complete = {self.files_complete}, "
            f"current_file = {quote_literal(self.current_file[:256])}, pct_complete = {pct} WHERE {self.key}"
        )

    async def end(self) -> None:
        """Delete the row: the load is over (STV tables show running work only)."""
        await self._run(f"DELETE FROM pg_catalog.stv_load_state WHERE {self.key}")

    async def _run(self, sql: str) -> None:
        try:
            await self.admin.query(sql)
        except Exception:  # progress must never fail a load
            import logging

            logging.getLogger(__name__).warning("could not write stv_load_state", exc_info=True)
