"""A minimal asyncio PostgreSQL client (trust authentication, simple queries) for the gateway's own use."""

from __future__ import annotations

import asyncio
import contextlib

from airflow_redshift_s3.local import pgwire
from airflow_redshift_s3.local.pgwire import PgError


class PgQueryError(Exception):
    """PostgreSQL answered a query with an error."""

    def __init__(self, error: PgError):
        super().__init__(f"{error.code}: {error.message}")
        self.error = error


class _BrokenBeforeAnswer(ConnectionError):
    """The connection broke before PostgreSQL answered: the query did not run."""


class PgSimpleClient:
    """One connection that runs simple queries one at a time (autocommit)."""

    def __init__(self, host: str, port: int, user: str, database: str):
        self._params = {"user": user, "database": database, "application_name": "local-redshift-gateway"}
        self._host = host
        self._port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        self._writer.write(pgwire.startup_message(self._params))
        await self._writer.drain()
        while True:
            kind, body = await pgwire.read_message(self._reader)
            if kind == b"E":
                raise PgQueryError(PgError.parse(body))
            if kind == b"R" and body[:4] != b"\x00\x00\x00\x00":
                raise PgQueryError(PgError.make("the gateway's admin connection needs trust authentication"))
            if kind == b"Z":
                return

    async def query(self, sql: str) -> list[list[str | None]]:
        """Run ``sql`` (one or more statements) and return the rows of the last result.

        A kept connection that PostgreSQL closed meanwhile (a restart) is replaced once, when it broke
        before any answer: the query did not run.
        """
        async with self._lock:
            reused = self._writer is not None and not self._writer.is_closing()
            try:
                return await self._query(sql)
            except _BrokenBeforeAnswer as broken:
                if not reused:
                    raise broken.__cause__ from None
            return await self._query(sql)

    async def _query(self, sql: str) -> list[list[str | None]]:
        if self._writer is None or self._writer.is_closing():
            await self._connect()
        assert self._reader is not None and self._writer is not None
        rows: list[list[str | None]] = []
        error: PgError | None = None
        answered = False
        try:
            self._writer.write(pgwire.message(b"Q", pgwire.cstring(sql)))
            await self._writer.drain()
            while True:
                kind, body = await pgwire.read_message(self._reader)
                if kind == b"E" and PgError.parse(body).fields.get("V") in ("FATAL", "PANIC"):
                    continue  # the server is closing the connection (e.g. it shut down while it was idle)
                answered = True
                if kind == b"T":
                    rows = []
                elif kind == b"D":
                    rows.append(pgwire.parse_data_row(body))
                elif kind == b"E":
                    error = PgError.parse(body)
                elif kind == b"Z":
                    break
        except (asyncio.IncompleteReadError, ConnectionError) as err:
            self._writer = None
            if answered:
                raise
            raise _BrokenBeforeAnswer() from err
        if error is not None:
            raise PgQueryError(error)
        return rows

    async def close(self) -> None:
        """Terminate the connection."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.write(pgwire.message(b"X"))
                self._writer.close()
            self._writer = None
