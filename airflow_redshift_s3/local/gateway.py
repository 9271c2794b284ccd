"""An asyncio PostgreSQL wire-protocol gateway that makes a PostgreSQL look like Redshift to clients.

Clients (redshift_connector, psycopg, Airflow's RedshiftSQLHook) connect to the gateway; each client
session gets its own upstream PostgreSQL session and messages are relayed both ways. The gateway:

- drops the Redshift driver's startup parameters PostgreSQL rejects and reports server_version 8.0.2;
- accepts the temporary credentials of GetClusterCredentials / GetCredentials (``IAM:<user>`` logins);
- rewrites Redshift-only SQL (DDL attributes, ``#temp`` tables, settings) for PostgreSQL;
- executes ``COPY ... FROM 's3://...'`` itself, inside the client's upstream session and transaction,
  streaming the objects through ``COPY ... FROM STDIN``, and fails like Redshift does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import struct
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.local import pgwire
from airflow_redshift_s3.local.pgclient import PgSimpleClient
from airflow_redshift_s3.local.pgwire import PgError
from airflow_redshift_s3.local.sql.rewrite import rewrite_for_postgres
from airflow_redshift_s3.local.sql.tokens import (
    SqlLexError,
    first_words,
    quote_ident,
    quote_literal,
    render,
    split_statements,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_redshift_s3.local.copy.access import AwsAccess, Owner

log = logging.getLogger(__name__)

REDSHIFT_SERVER_VERSION = "8.0.2"
# Startup parameters PostgreSQL understands; the Redshift driver's own ones are dropped.
PASSED_STARTUP_PARAMS = frozenset(
    {"user", "database", "application_name", "client_encoding", "DateStyle", "TimeZone", "extra_float_digits"}
)
IAM_USER_PREFIXES = ("IAM:", "IAMA:", "IAMR:")


@dataclass
class GatewayConfig:
    """Where the gateway listens, what each listener serves, and where PostgreSQL is."""

    upstream_host: str
    upstream_port: int
    admin_user: str
    listeners: list[tuple[str, int, Owner]]
    aws: AwsAccess | None = None
    verify_temporary_credentials: Callable[[str, str], bool] | None = None
    ssl_context: ssl.SSLContext | None = None


class LocalStatementError(Exception):
    """An error the gateway raises itself, already worded for the client."""

    def __init__(self, error: PgError):
        super().__init__(error.message)
        self.error = error


@dataclass
class _LocalPlan:
    """A statement the gateway executes itself instead of forwarding it."""

    statements: list[str]  # rewritten PostgreSQL text or, for COPY from S3, the original text
    copy_indexes: set[int] = field(default_factory=set)
    error: PgError | None = None  # refused when planned (e.g. UNLOAD): reported at execution
    result_formats: bytes = b"\x00\x00"  # from the client's Bind, for the last statement's rows


class Gateway:
    """Serve the listeners of ``config`` on an asyncio loop."""

    def __init__(self, config: GatewayConfig):
        self.config = config
        self._servers: list[asyncio.AbstractServer] = []
        self._sessions: set[Session] = set()
        self.ports: list[int] = []
        self.drop_connections_during_copy = False  # fault injection for the reliability suite
        self._admins: dict[str, PgSimpleClient] = {}

    def admin(self, database: str) -> PgSimpleClient:
        """Return the gateway's own autocommit superuser connection to ``database``."""
        if database not in self._admins:
            self._admins[database] = PgSimpleClient(
                self.config.upstream_host, self.config.upstream_port, self.config.admin_user, database
            )
        return self._admins[database]

    async def ensure_login_role(self, role: str) -> None:
        """Create the database user a temporary-credentials login maps to, as Redshift's AutoCreate does."""
        await self.admin("postgres").query(
            "DO $gateway$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
            f"{quote_literal(role)}) THEN CREATE ROLE {quote_ident(role)} LOGIN SUPERUSER; END IF; "
            "END $gateway$"
        )

    async def start(self) -> None:
        """Start listening on every configured address."""
        for host, port, owner in self.config.listeners:
            server = await asyncio.start_server(
                lambda r, w, owner=owner: self._handle(r, w, owner), host=host, port=port, limit=1 << 20
            )
            self._servers.append(server)
            self.ports.append(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every session."""
        for server in self._servers:
            server.close()
        for session in list(self._sessions):
            session.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        for admin in self._admins.values():
            await admin.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, owner: Owner) -> None:
        session = Session(self, owner, reader, writer)
        self._sessions.add(session)
        try:
            await session.run()
        except (ConnectionError, asyncio.IncompleteReadError, pgwire.ProtocolError) as err:
            log.debug("session ended: %s", err)
        except Exception:
            log.exception("gateway session failed")
        finally:
            session.close()
            self._sessions.discard(session)

    async def cancel(self, body: bytes) -> None:
        """Forward a CancelRequest to PostgreSQL (the backend keys are PostgreSQL's own)."""
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection(self.config.upstream_host, self.config.upstream_port)
            writer.write(struct.pack("!ii", 16, pgwire.CANCEL_REQUEST) + body[:8])
            await writer.drain()
            writer.close()


class Session:
    """One client connection and its upstream PostgreSQL connection."""

    def __init__(
        self, gateway: Gateway, owner: Owner, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ):
        self.gateway = gateway
        self.owner = owner
        self.client_r = reader
        self.client_w = writer
        self.up_r: asyncio.StreamReader | None = None
        self.up_w: asyncio.StreamWriter | None = None
        self.txn_status = b"I"
        self.backend_pid = 0
        self.user = ""
        self.database = ""
        self._outstanding = 1  # the startup sequence ends with a ReadyForQuery
        self._idle = asyncio.Event()
        self._capture: asyncio.Queue[tuple[bytes, bytes]] | None = None
        self._local_statements: dict[bytes, _LocalPlan] = {}
        self._local_portals: dict[bytes, _LocalPlan] = {}
        self._local_batch: list[tuple[bytes, bytes]] | None = None
        self._forwarded_since_sync = False
        self._relay_task: asyncio.Task[None] | None = None
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Authenticate the client, connect upstream, then relay until either side closes."""
        params = await self._read_startup()
        if params is None:
            return
        self.user = params.get("user", "")
        self.database = params.get("database") or self.user
        upstream_params = {k: v for k, v in params.items() if k in PASSED_STARTUP_PARAMS}
        if self.user.startswith(IAM_USER_PREFIXES) and not await self._authenticate_temporary_user():
            return
        self.up_r, self.up_w = await asyncio.open_connection(
            self.gateway.config.upstream_host, self.gateway.config.upstream_port, limit=1 << 20
        )
        self.up_w.write(pgwire.startup_message(upstream_params))
        self._relay_task = asyncio.create_task(self._relay_upstream())
        try:
            await self._serve_client()
        finally:
            self._relay_task.cancel()

    def close(self) -> None:
        """Close both connections."""
        if self._closed:
            return
        self._closed = True
        for writer in (self.client_w, self.up_w):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()

    async def _read_startup(self) -> dict[str, str] | None:
        while True:
            code, body = await pgwire.read_startup(self.client_r)
            context = self.gateway.config.ssl_context
            if code == pgwire.SSL_REQUEST and context is not None and hasattr(self.client_w, "start_tls"):
                self.client_w.write(b"S")
                await self.client_w.drain()
                await self.client_w.start_tls(context)  # Python 3.11+; without it the gateway offers no TLS
                continue
            if code in (pgwire.SSL_REQUEST, pgwire.GSSENC_REQUEST):
                self.client_w.write(b"N")
                await self.client_w.drain()
                continue
            if code == pgwire.CANCEL_REQUEST:
                await self.gateway.cancel(body)
                return None
            if code != pgwire.PROTOCOL_V3:
                await self._fatal(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}", "0A000")
                return None
            return pgwire.parse_startup_params(body)

    async def _authenticate_temporary_user(self) -> bool:
        """Check an IAM:<user> login against the passwords GetClusterCredentials/GetCredentials issued."""
        self.client_w.write(
            pgwire.message(b"R", struct.pack("!i", 3))
        )  # cleartext: the check needs the token
        await self.client_w.drain()
        kind, body = await pgwire.read_message(self.client_r)
        password = body.rstrip(b"\x00").decode() if kind == b"p" else ""
        verify = self.gateway.config.verify_temporary_credentials
        if verify is None or not await asyncio.to_thread(verify, self.user, password):
            await self._fatal(f'password authentication failed for user "{self.user}"', "28P01")
            return False
        await self.gateway.ensure_login_role(self.user)
        return True

    async def _fatal(self, text: str, code: str) -> None:
        self.client_w.write(PgError.make(text, code, severity="FATAL").encode())
        with contextlib.suppress(ConnectionError):
            await self.client_w.drain()

    # -- upstream -> client -------------------------------------------------------------------------

    async def _relay_upstream(self) -> None:
        assert self.up_r is not None
        try:
            while True:
                kind, body = await pgwire.read_message(self.up_r)
                if kind == b"S" and body.startswith(b"server_version\x00"):
                    body = pgwire.cstring("server_version") + pgwire.cstring(REDSHIFT_SERVER_VERSION)
                elif kind == b"K":
                    self.backend_pid = struct.unpack("!i", body[:4])[0]
                if self._capture is not None:
                    await self._capture.put((kind, body))
                    continue
                if kind == b"Z":
                    self.txn_status = body[:1]
                    self._outstanding -= 1
                    if self._outstanding <= 0:
                        self._outstanding = 0
                        self._idle.set()
                self.client_w.write(pgwire.message(kind, body))
                if (
                    kind in (b"Z", b"G", b"H", b"W")
                    or self.client_w.transport.get_write_buffer_size() > 1 << 16
                ):
                    await self.client_w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
        except asyncio.CancelledError:
            raise

    # -- client -> upstream -------------------------------------------------------------------------

    def _forward(self, kind: bytes, body: bytes) -> None:
        assert self.up_w is not None
        if kind in (b"S", b"Q", b"F"):
            self._outstanding += 1
            self._idle.clear()
            self._forwarded_since_sync = False
        elif kind not in (b"H", b"d", b"c", b"f", b"p"):
            self._forwarded_since_sync = True
        self.up_w.write(pgwire.message(kind, body))

    async def _serve_client(self) -> None:
        assert self.up_w is not None
        while True:
            kind, body = await pgwire.read_message(self.client_r)
            if kind == b"X":
                self._forward(kind, body)
                with contextlib.suppress(ConnectionError):
                    await self.up_w.drain()
                return
            if self._local_batch is not None:
                self._local_batch.append((kind, body))
                if kind == b"S":
                    await self._run_local_batch()
                continue
            if kind == b"Q":
                await self._simple_query(body)
            elif kind == b"P":
                await self._parse(body)
            elif kind == b"B":
                portal, statement, _ = pgwire.parse_bind_names(body)
                if statement in self._local_statements:
                    self._local_batch = [(kind, body)]
                else:
                    self._local_portals.pop(portal, None)
                    self._forward(kind, body)
            elif (
                (
                    kind in (b"D", b"C")
                    and body[:1] == b"S"
                    and body[1:].rstrip(b"\x00") in self._local_statements
                )
                or (
                    kind in (b"D", b"C")
                    and body[:1] == b"P"
                    and body[1:].rstrip(b"\x00") in self._local_portals
                )
                or (kind == b"E" and body[: body.index(b"\x00")] in self._local_portals)
            ):
                self._local_batch = [(kind, body)]
            else:
                self._forward(kind, body)
            if self.up_w.transport.get_write_buffer_size() > 1 << 16 or kind in (
                b"S",
                b"Q",
                b"H",
                b"c",
                b"p",
            ):
                await self.up_w.drain()

    # -- statement classification -------------------------------------------------------------------

    def _plan(self, sql: str) -> tuple[str, _LocalPlan | None]:
        """Return the text to forward, or a plan to execute locally."""
        statements = split_statements(sql)
        if not statements:
            return sql, None
        texts: list[str] = []
        copies: set[int] = set()
        for index, tokens in enumerate(statements):
            words = first_words(tokens, 1)
            if words == ["COPY"] and _is_copy_from_s3(render(tokens)):
                copies.add(index)
                texts.append(render(tokens))
            elif words == ["UNLOAD"]:
                raise LocalStatementError(
                    PgError.make("UNLOAD is not supported by the local Redshift", "0A000")
                )
            else:
                texts.append(render(rewrite_for_postgres(tokens)))
        if copies or len(texts) > 1:
            return sql, _LocalPlan(texts, copies)
        return texts[0], None

    async def _parse(self, body: bytes) -> None:
        name, sql, rest = pgwire.parse_parse(body)
        try:
            forwarded, plan = self._plan(sql)
        except SqlLexError:
            forwarded, plan = sql, None  # PostgreSQL reports the syntax error in its own words
        except LocalStatementError as err:
            forwarded, plan = sql, _LocalPlan([], error=err.error)
        if plan is not None and len(plan.statements) > 1 and rest[:2] != b"\x00\x00":
            plan = None  # parameters: only PostgreSQL can bind them
        if plan is None:
            self._local_statements.pop(name, None)
            self._forward(b"P", pgwire.build_parse(name, forwarded, rest)[5:])
            return
        self._local_statements[name] = plan
        self._local_batch = [(b"P", body)]

    # -- local execution ----------------------------------------------------------------------------

    async def _wait_idle(self) -> None:
        if self._outstanding:
            assert self.up_w is not None
            await self.up_w.drain()
            await self._idle.wait()

    async def _recv(self) -> tuple[bytes, bytes]:
        assert self._capture is not None
        return await self._capture.get()

    @contextlib.asynccontextmanager
    async def _captured(self) -> Any:
        await self._wait_idle()
        self._capture = asyncio.Queue()
        try:
            yield
        finally:
            queue, self._capture = self._capture, None
            while not queue.empty():  # anything left is asynchronous (a notice); pass it on
                kind, body = queue.get_nowait()
                self.client_w.write(pgwire.message(kind, body))

    async def _upstream_query(
        self, sql: str, relay: bool | frozenset[bytes] = False
    ) -> tuple[list[list[str | None]], str, PgError | None]:
        """Run one simple query upstream; return (rows, command tag, error). Needs capture mode.

        :param relay: pass the responses on to the client (all but ReadyForQuery, or only these kinds).
        """
        assert self.up_w is not None
        self.up_w.write(pgwire.message(b"Q", pgwire.cstring(sql)))
        await self.up_w.drain()
        rows: list[list[str | None]] = []
        tag = ""
        error: PgError | None = None
        while True:
            kind, body = await self._recv()
            if kind == b"Z":
                self.txn_status = body[:1]
                return rows, tag, error
            if kind == b"E":
                error = PgError.parse(body)
            elif kind == b"D":
                rows.append(pgwire.parse_data_row(body))
            elif kind == b"C":
                tag = pgwire.parse_command_tag(body)
            elif kind == b"G":  # COPY FROM STDIN sent by a multi-statement string: refuse the data
                self.up_w.write(pgwire.message(b"f", pgwire.cstring("COPY FROM STDIN inside a batch")))
                continue
            if relay is True or (relay and kind in relay):
                self.client_w.write(pgwire.message(kind, body))

    async def _simple_query(self, body: bytes) -> None:
        sql = body.rstrip(b"\x00").decode()
        try:
            forwarded, plan = self._plan(sql)
        except LocalStatementError as err:
            async with self._captured():
                await self._raise_in_transaction(err.error)
                self.client_w.write(err.error.encode())
                self.client_w.write(pgwire.ready_for_query(self.txn_status))
            return
        except SqlLexError:
            forwarded, plan = sql, None  # PostgreSQL reports the syntax error in its own words
        if plan is None:
            self._forward(b"Q", pgwire.cstring(forwarded))
            return
        async with self._captured():
            for index, statement in enumerate(plan.statements):
                if index in plan.copy_indexes:
                    error = await self._run_copy_reporting(statement)
                else:
                    _, _, error = await self._upstream_query(statement, relay=True)
                if error is not None:
                    if index in plan.copy_indexes:
                        self.client_w.write(error.encode())
                    break
            self.client_w.write(pgwire.ready_for_query(self.txn_status))
            await self.client_w.drain()

    async def _run_local_batch(self) -> None:
        batch, self._local_batch = self._local_batch or [], None
        failed = False
        async with self._captured():
            for kind, body in batch:
                if kind == b"S":
                    self.client_w.write(pgwire.ready_for_query(self.txn_status))
                    break
                if failed or kind == b"H":
                    continue
                if self._forwarded_since_sync and kind != b"S":
                    err = PgError.make(
                        "the local Redshift cannot mix a COPY from S3 with other statements before one Sync",
                        "0A000",
                    )
                    self.client_w.write(err.encode())
                    failed = True
                    continue
                if kind == b"P":
                    plan = self._local_statements[pgwire.parse_parse(body)[0]]
                    if plan.error is not None:
                        await self._raise_in_transaction(plan.error)
                        self.client_w.write(plan.error.encode())
                        failed = True
                        continue
                    self.client_w.write(pgwire.message(b"1"))
                elif kind == b"B":
                    portal, statement, has_params = pgwire.parse_bind_names(body)
                    plan = self._local_statements.get(statement)
                    if plan is None or has_params:
                        err = PgError.make(
                            f'prepared statement "{statement.decode()}" does not exist', "26000"
                        )
                        self.client_w.write(err.encode())
                        failed = True
                        continue
                    plan.result_formats = pgwire.bind_result_formats(body)
                    self._local_portals[portal] = plan
                    self.client_w.write(pgwire.message(b"2"))
                elif kind == b"D":
                    name = body[1:].rstrip(b"\x00")
                    plan = (self._local_statements if body[:1] == b"S" else self._local_portals)[name]
                    if body[:1] == b"S":
                        self.client_w.write(pgwire.message(b"t", struct.pack("!h", 0)))
                    self.client_w.write(await self._describe_last(plan))
                elif kind == b"C":
                    name = body[1:].rstrip(b"\x00")
                    (self._local_statements if body[:1] == b"S" else self._local_portals).pop(name, None)
                    self.client_w.write(pgwire.message(b"3"))
                elif kind == b"E":
                    portal = body[: body.index(b"\x00")]
                    plan = self._local_portals[portal]
                    error, tag = await self._execute_plan(plan)
                    if error is not None:
                        self.client_w.write(error.encode())
                        failed = True
                    else:
                        self.client_w.write(pgwire.command_complete(tag))
                else:
                    err = PgError.make(f"unexpected message {kind!r} for a local statement", "08P01")
                    self.client_w.write(err.encode())
                    failed = True
            await self.client_w.drain()

    async def _execute_plan(self, plan: _LocalPlan) -> tuple[PgError | None, str]:
        tag = ""
        for index, statement in enumerate(plan.statements):
            if index in plan.copy_indexes:
                error = await self._run_copy_reporting(statement)
                tag = f"COPY {self._last_copy_count}"
            elif index == len(plan.statements) - 1:
                # like Redshift, a multi-statement string returns the rows of its last statement
                tag, error = await self._upstream_rows(statement, plan.result_formats)
            else:
                _, tag, error = await self._upstream_query(statement)
            if error is not None:
                return error, tag
        return None, tag

    async def _describe_last(self, plan: _LocalPlan) -> bytes:
        """Return the RowDescription (or NoData) of a multi-statement string's last statement."""
        last = len(plan.statements) - 1
        if not plan.statements or last in plan.copy_indexes or self.txn_status == b"E":
            return pgwire.message(b"n")
        assert self.up_w is not None
        # a failed Describe (the statement needs a table an earlier statement creates) must not abort the
        # client's transaction: inside one, describe under a savepoint
        in_transaction = self.txn_status == b"T"
        if in_transaction:
            await self._upstream_query("SAVEPOINT gateway_describe")
        self.up_w.write(
            pgwire.build_parse(b"", plan.statements[last], b"\x00\x00")
            + pgwire.message(b"D", b"S\x00")
            + pgwire.message(b"S")
        )
        await self.up_w.drain()
        answer = pgwire.message(b"n")
        failed = False
        while True:
            kind, body = await self._recv()
            if kind == b"T":
                answer = pgwire.message(kind, body)
            elif kind == b"E":
                failed = True
            elif kind == b"Z":
                self.txn_status = body[:1]
                break
        if in_transaction:
            rollback = "ROLLBACK TO SAVEPOINT gateway_describe; " if failed else ""
            await self._upstream_query(rollback + "RELEASE SAVEPOINT gateway_describe")
        return answer

    async def _upstream_rows(self, sql: str, result_formats: bytes) -> tuple[str, PgError | None]:
        """Run ``sql`` through the extended protocol and relay its rows in the client's formats."""
        assert self.up_w is not None
        self.up_w.write(
            pgwire.build_parse(b"", sql, b"\x00\x00")
            + pgwire.message(b"B", b"\x00\x00\x00\x00\x00\x00" + result_formats)
            + pgwire.message(b"E", b"\x00\x00\x00\x00\x00")
            + pgwire.message(b"S")
        )
        await self.up_w.drain()
        tag, error = "", None
        while True:
            kind, body = await self._recv()
            if kind == b"D" or kind == b"N":
                self.client_w.write(pgwire.message(kind, body))
            elif kind == b"C":
                tag = pgwire.parse_command_tag(body)
            elif kind == b"E":
                error = PgError.parse(body)
            elif kind == b"Z":
                self.txn_status = body[:1]
                return tag, error

    async def _raise_in_transaction(self, error: PgError) -> None:
        """Put an open upstream transaction in the failed state, as the error would in Redshift."""
        if self.txn_status == b"T":
            text = quote_literal(error.message[:900])
            await self._upstream_query(
                f"DO $gateway$ BEGIN RAISE EXCEPTION USING MESSAGE = {text}, ERRCODE = 'XX000'; END $gateway$"
            )

    # -- COPY from S3 -------------------------------------------------------------------------------

    _last_copy_count = 0

    async def _run_copy_reporting(self, sql: str) -> PgError | None:
        from airflow_redshift_s3.local.copy.runner import CopyRunner

        runner = CopyRunner(self, sql)
        error = await runner.run()
        self._last_copy_count = runner.rows_loaded
        if error is not None and self.txn_status != b"E":
            await self._raise_in_transaction(error)
        return error


def _is_copy_from_s3(sql: str) -> bool:
    if "s3://" not in sql.lower():
        return False
    from airflow_redshift_s3.local.sql.copy_command import CopySyntaxError
    from airflow_redshift_s3.local.sql.copy_parser import parse_copy

    try:
        return parse_copy(sql) is not None
    except CopySyntaxError:
        return True  # a COPY the gateway must answer, with the syntax error


class GatewayThread:
    """Run a Gateway on its own event loop in a daemon thread."""

    def __init__(self, config: GatewayConfig):
        self.gateway = Gateway(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="local-redshift-gateway", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.gateway.start())
        except BaseException as err:  # reported to start()
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def start(self, timeout: float = 10.0) -> list[int]:
        """Start the loop and return the bound ports."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the gateway did not start in time")
        if self._error is not None:
            raise self._error
        return self.gateway.ports

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the gateway's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        """Close every session, stop the loop and join the thread."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self.call(self.gateway.stop(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()


__all__ = ["Gateway", "GatewayConfig", "GatewayThread", "Session"]
