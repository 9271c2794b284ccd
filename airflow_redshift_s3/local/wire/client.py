"""A minimal asyncio PostgreSQL client for the gateway's own use, and how the gateway reaches PostgreSQL.

The client logs in without a password (peer or trust authentication) and runs simple queries; PostgreSQL
is reached over TCP or through a Unix socket in a directory.
"""

from __future__ import annotations

import asyncio
import contextlib

from airflow_redshift_s3.local.wire.messages import (
    AUTH_OK,
    FIELD_SEVERITY_V,
    Backend,
    Frontend,
    PgError,
    cstring,
    message,
    parse_data_row,
    read_message,
    startup_message,
)


async def open_postgres_connection(
    host: str, port: int, limit: int = 1 << 20
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to PostgreSQL: ``host`` is an address, or (as in libpq) the directory of its Unix socket."""
    if host.startswith("/"):
        return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}", limit=limit)
    return await asyncio.open_connection(host, port, limit=limit)


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
        self._reader, self._writer = await open_postgres_connection(self._host, self._port)
        self._writer.write(startup_message(self._params))
        await self._writer.drain()
        while True:
            kind, body = await read_message(self._reader)
            if kind == Backend.ERROR_RESPONSE:
                raise PgQueryError(PgError.parse(body))
            if kind == Backend.AUTHENTICATION and int.from_bytes(body[:4], "big") != AUTH_OK:
                raise PgQueryError(
                    PgError.make("the gateway's admin connection needs peer or trust authentication")
                )
            if kind == Backend.READY_FOR_QUERY:
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
                    raise broken.__cause__ from None  # type: ignore[misc]  # always set by the raiser
            return await self._query(sql)

    async def _query(self, sql: str) -> list[list[str | None]]:
        if self._writer is None or self._writer.is_closing():
            await self._connect()
        assert self._reader is not None and self._writer is not None
        rows: list[list[str | None]] = []
        error: PgError | None = None
        answered = False
        try:
            self._writer.write(message(Frontend.QUERY, cstring(sql)))
            await self._writer.drain()
            while True:
                kind, body = await read_message(self._reader)
                if kind == Backend.ERROR_RESPONSE and PgError.parse(body).fields.get(FIELD_SEVERITY_V) in (
                    "FATAL",
                    "PANIC",
                ):
                    continue  # the server is closing the connection (e.g. it shut down while it was idle)
                answered = True
                if kind == Backend.ROW_DESCRIPTION:
                    rows = []
                elif kind == Backend.DATA_ROW:
                    rows.append(parse_data_row(body))
                elif kind == Backend.ERROR_RESPONSE:
                    error = PgError.parse(body)
                elif kind == Backend.READY_FOR_QUERY:
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
                self._writer.write(message(Frontend.TERMINATE))
                self._writer.close()
            self._writer = None
