"""A client session's connection to PostgreSQL, as the gateway uses it when it runs a statement itself.

Normally the session relays every upstream message to its client. While the gateway runs a statement of
its own (a COPY from S3, a multi-statement string) the relay hands the messages to :meth:`Upstream.deliver`
instead, and the gateway reads them with :meth:`Upstream.receive`: that is "capture mode".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from airflow_redshift_s3.local.wire.messages import (
    TARGET_PORTAL,
    TARGET_STATEMENT,
    Backend,
    Frontend,
    PgError,
    TransactionStatus,
    build_parse,
    cstring,
    message,
    parse_command_tag,
    parse_data_row,
)

Relay = Callable[[bytes, bytes], None]
Rows = list[list[str | None]]
# Describes and runs a statement with no parameters on the unnamed statement and portal.
_NO_PARAMETER_TYPES = b"\x00\x00"
_BIND_NO_PARAMETERS = b"\x00\x00\x00\x00\x00\x00"
_EXECUTE_ALL_ROWS = b"\x00\x00\x00\x00\x00"


class Upstream:
    """The upstream PostgreSQL connection of one client session."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.txn_status = TransactionStatus.IDLE
        self._capture: asyncio.Queue[tuple[bytes, bytes]] | None = None

    # -- capture mode -------------------------------------------------------------------------------

    @property
    def capturing(self) -> bool:
        """Tell whether upstream messages go to the gateway instead of the client."""
        return self._capture is not None

    def start_capture(self) -> None:
        """Send the upstream messages to :meth:`receive` from now on."""
        self._capture = asyncio.Queue()

    def stop_capture(self) -> list[tuple[bytes, bytes]]:
        """Relay to the client again; return the messages captured and not read (asynchronous notices)."""
        queue, self._capture = self._capture, None
        left: list[tuple[bytes, bytes]] = []
        while queue is not None and not queue.empty():
            left.append(queue.get_nowait())
        return left

    async def deliver(self, kind: bytes, body: bytes) -> None:
        """Hand one upstream message to the gateway (called by the relay in capture mode)."""
        assert self._capture is not None
        await self._capture.put((kind, body))

    async def receive(self) -> tuple[bytes, bytes]:
        """Return the next upstream message (capture mode), noting the status of a ReadyForQuery."""
        assert self._capture is not None
        kind, body = await self._capture.get()
        self._note(kind, body)
        return kind, body

    def received(self) -> list[tuple[bytes, bytes]]:
        """Return the upstream messages already captured, without waiting."""
        assert self._capture is not None
        out: list[tuple[bytes, bytes]] = []
        while not self._capture.empty():
            kind, body = self._capture.get_nowait()
            self._note(kind, body)
            out.append((kind, body))
        return out

    def _note(self, kind: bytes, body: bytes) -> None:
        if kind == Backend.READY_FOR_QUERY:
            self.txn_status = body[:1]

    # -- sending ------------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Write encoded messages to PostgreSQL (without waiting)."""
        self.writer.write(data)

    def buffered(self) -> int:
        """Return how many bytes wait in the write buffer."""
        return self.writer.transport.get_write_buffer_size()

    async def drain(self) -> None:
        """Wait until the write buffer is below its high-water mark."""
        await self.writer.drain()

    # -- statements (capture mode) ------------------------------------------------------------------

    async def query(self, sql: str, relay: Relay | None = None) -> tuple[Rows, str, PgError | None]:
        """Run one simple query; return (rows, command tag, error).

        :param relay: called with every response but ReadyForQuery, to pass it on to the client.
        """
        self.send(message(Frontend.QUERY, cstring(sql)))
        await self.drain()
        rows: Rows = []
        tag = ""
        error: PgError | None = None
        while True:
            kind, body = await self.receive()
            if kind == Backend.READY_FOR_QUERY:
                return rows, tag, error
            if kind == Backend.ERROR_RESPONSE:
                error = PgError.parse(body)
            elif kind == Backend.DATA_ROW:
                rows.append(parse_data_row(body))
            elif kind == Backend.COMMAND_COMPLETE:
                tag = parse_command_tag(body)
            elif kind == Backend.COPY_IN_RESPONSE:  # COPY FROM STDIN sent by a multi-statement string
                self.send(message(Frontend.COPY_FAIL, cstring("COPY FROM STDIN inside a batch")))
                continue
            if relay is not None:
                relay(kind, body)

    async def rows(self, sql: str, result_formats: bytes, relay: Relay) -> tuple[str, PgError | None]:
        """Run ``sql`` through the extended protocol; relay its rows (and notices) in ``result_formats``."""
        self.send(
            build_parse(b"", sql, _NO_PARAMETER_TYPES)
            + message(Frontend.BIND, _BIND_NO_PARAMETERS + result_formats)
            + message(Frontend.DESCRIBE, TARGET_PORTAL + b"\x00")  # how the session converts its rows
            + message(Frontend.EXECUTE, _EXECUTE_ALL_ROWS)
            + message(Frontend.SYNC)
        )
        await self.drain()
        tag, error = "", None
        while True:
            kind, body = await self.receive()
            if kind in (Backend.DATA_ROW, Backend.NOTICE_RESPONSE):
                relay(kind, body)
            elif kind == Backend.COMMAND_COMPLETE:
                tag = parse_command_tag(body)
            elif kind == Backend.ERROR_RESPONSE:
                error = PgError.parse(body)
            elif kind == Backend.READY_FOR_QUERY:
                return tag, error

    async def describe(self, sql: str) -> tuple[bytes, bytes]:
        """Return the RowDescription (or NoData) of ``sql`` as (kind, body); no transaction is aborted."""
        # a failed Describe (the statement needs a table an earlier statement creates) must not abort the
        # client's transaction: inside one, describe under a savepoint
        in_transaction = self.txn_status == TransactionStatus.IN_TRANSACTION
        if in_transaction:
            await self.query("SAVEPOINT gateway_describe")
        self.send(
            build_parse(b"", sql, _NO_PARAMETER_TYPES)
            + message(Frontend.DESCRIBE, TARGET_STATEMENT + b"\x00")
            + message(Frontend.SYNC)
        )
        await self.drain()
        answer = (Backend.NO_DATA, b"")
        failed = False
        while True:
            kind, body = await self.receive()
            if kind == Backend.ROW_DESCRIPTION:
                answer = (kind, body)
            elif kind == Backend.ERROR_RESPONSE:
                failed = True
            elif kind == Backend.READY_FOR_QUERY:
                break
        if in_transaction:
            rollback = "ROLLBACK TO SAVEPOINT gateway_describe; " if failed else ""
            await self.query(rollback + "RELEASE SAVEPOINT gateway_describe")
        return answer


__all__ = ["Relay", "Rows", "Upstream"]
