"""One client connection of the gateway: startup, authentication, and the relay both ways.

Statements PostgreSQL can run (after rewriting) are forwarded; the others (a COPY from S3, a
multi-statement string) are planned here and run by :class:`~.local.LocalStatements` in capture mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.local.copy.access import aws_endpoint_failed
from airflow_redshift_s3.local.gateway.events import ClientEvent
from airflow_redshift_s3.local.gateway.local import (
    LocalPlan,
    LocalStatementError,
    LocalStatements,
    plan_statements,
)
from airflow_redshift_s3.local.sql.identifiers import IdentifierCase
from airflow_redshift_s3.local.sql.redshift_types import varbyte_too_long
from airflow_redshift_s3.local.sql.super_navigation import SUPER_COLUMNS
from airflow_redshift_s3.local.sql.tokens import SqlLexError
from airflow_redshift_s3.local.sql.varchar_bytes import value_too_long
from airflow_redshift_s3.local.wire.client import open_postgres_connection
from airflow_redshift_s3.local.wire.messages import (
    AUTH_CLEARTEXT_PASSWORD,
    AUTH_OK,
    CANCEL_REQUEST,
    GSSENC_REQUEST,
    MAX_CLIENT_MESSAGE,
    MAX_CLIENT_MESSAGE_BEFORE_LOGIN,
    PROTOCOL_V3,
    SSL_ACCEPTED,
    SSL_REFUSED,
    SSL_REQUEST,
    Backend,
    Frontend,
    PgError,
    ProtocolError,
    TransactionStatus,
    bind_result_formats,
    build_parse,
    cstring,
    message,
    parse_bind_names,
    parse_parse,
    parse_startup_params,
    read_message,
    read_startup,
    ready_for_query,
    startup_message,
)
from airflow_redshift_s3.local.wire.result_metadata import EXTENDED_RESULT_METADATA, RENAMING_TAGS, negotiate
from airflow_redshift_s3.local.wire.result_types import NumericOutOfRange, ResultTypes, bind_formats
from airflow_redshift_s3.local.wire.upstream import Upstream

if TYPE_CHECKING:
    from airflow_redshift_s3.local.copy.access import AwsAccess, Owner
    from airflow_redshift_s3.local.gateway.server import Gateway
    from airflow_redshift_s3.local.wire.client import PgSimpleClient

REDSHIFT_SERVER_VERSION = "8.0.2"
SHOW_DISCOVERY_VERSION = "4"  # the SHOW commands of the catalog (local/catalog_show.py), one object at a time
# Startup parameters PostgreSQL understands; the Redshift driver's own ones are dropped.
PASSED_STARTUP_PARAMS = frozenset(
    {"user", "database", "application_name", "client_encoding", "DateStyle", "TimeZone", "extra_float_digits"}
)
IAM_USER_PREFIXES = ("IAM:", "IAMA:", "IAMR:")
# PostgreSQL's predefined roles; the stack's own administrative names come from the gateway's config.
RESERVED_USER_PREFIX = "pg_"
# How often a statement the gateway runs itself checks that its client is still there.
_CLIENT_CHECK_SECONDS = 0.25
_BUFFER_HIGH_WATER = 1 << 16
# Upstream messages after which the client gets what is buffered at once.
_FLUSH_TO_CLIENT_AFTER = (
    Backend.READY_FOR_QUERY,
    Backend.COPY_IN_RESPONSE,
    Backend.COPY_OUT_RESPONSE,
    Backend.COPY_BOTH_RESPONSE,
)
# Client messages after which PostgreSQL gets what is buffered at once.
_FLUSH_UPSTREAM_AFTER = (Frontend.SYNC, Frontend.QUERY, Frontend.FLUSH, Frontend.COPY_DONE, Frontend.PASSWORD)
# Client messages that end an extended-protocol exchange (PostgreSQL answers each with ReadyForQuery).
_EXCHANGE_ENDS = (Frontend.SYNC, Frontend.QUERY, Frontend.FUNCTION_CALL)
# What PostgreSQL still sends after a row the gateway replaced with an error: dropped until ReadyForQuery.
_KEPT_AFTER_A_FAILED_ROW = (Backend.READY_FOR_QUERY, Backend.PARAMETER_STATUS, Backend.NOTICE_RESPONSE)
# Client messages that do not open an extended-protocol exchange.
_NOT_STATEMENT_PARTS = (
    Frontend.FLUSH,
    Frontend.COPY_DATA,
    Frontend.COPY_DONE,
    Frontend.COPY_FAIL,
    Frontend.PASSWORD,
)


class Session:
    """One client connection and its upstream PostgreSQL connection.

    What a COPY runner may use of it (``upstream``, ``owner``, ``user``, ``database``, ``backend_pid``,
    ``aws``, ``admin()``, ``drops_connections_during_copy``, ``close()``) is its public interface.
    """

    def __init__(
        self, gateway: Gateway, owner: Owner, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ):
        self.gateway = gateway
        self.owner = owner
        self.client_r = reader
        self.client_w = writer
        self.upstream: Upstream | None = None
        self.backend_pid = 0
        self.user = ""
        self.database = ""
        self.forwarded_since_sync = False
        self.local = LocalStatements(self)
        self.identifier_case = IdentifierCase()  # enable_case_sensitive_identifier, as SET by the client
        # SUPER, VARBYTE, interval and (under protocol 2) binary NUMERIC columns as Redshift shows them
        self.result_types = ResultTypes()
        self._failed_row = False  # a row was replaced with an error: the rest of the result is dropped
        self._renamed = False  # an ALTER or DROP ran in the open transaction (see ColumnOrigins)
        self._outstanding = 1  # the startup sequence ends with a ReadyForQuery
        self._idle = asyncio.Event()
        self._relay_task: asyncio.Task[None] | None = None
        self._closed = False
        self.logged_in = False  # PostgreSQL said AuthenticationOk: the larger message limit applies

    # -- what the local statements and the COPY runner use ------------------------------------------

    @property
    def txn_status(self) -> bytes:
        """Return the upstream transaction status (I, T or E)."""
        return self.upstream.txn_status if self.upstream is not None else TransactionStatus.IDLE

    @property
    def aws(self) -> AwsAccess:
        """Return the AWS endpoint a COPY reads from."""
        aws = self.gateway.config.aws
        assert aws is not None, "the gateway has no AWS endpoint"
        return aws

    @property
    def drops_connections_during_copy(self) -> bool:
        """Tell whether the fault switch of the reliability suite is on."""
        return self.gateway.drop_connections_during_copy

    def admin(self) -> PgSimpleClient:
        """Return the gateway's own autocommit connection to this session's database."""
        return self.gateway.admin(self.database)

    @property
    def protocol(self) -> int:
        """Return the client protocol version negotiated at startup (local/wire/result_metadata.py)."""
        return self.result_types.protocol

    def relay(self, kind: bytes, body: bytes) -> None:
        """Pass one message on to the client (buffered); a RowDescription in the protocol's form."""
        if kind == Backend.ROW_DESCRIPTION and self.protocol >= EXTENDED_RESULT_METADATA:
            body = self.gateway.column_origins.extend(body, self.database)
        self.client_w.write(message(kind, body))

    @contextlib.asynccontextmanager
    async def captured(self) -> Any:
        """Wait until PostgreSQL answered everything forwarded, then capture its messages (see Upstream)."""
        assert self.upstream is not None
        await self._wait_idle()
        self.upstream.start_capture()
        try:
            yield
        finally:
            for kind, body in self.upstream.stop_capture():  # asynchronous (a notice): pass it on
                self.relay(kind, body)

    # -- lifecycle ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Authenticate the client, connect upstream, then relay until either side closes."""
        self.gateway.notify(ClientEvent("connect"))
        params = await self._read_startup()
        if params is None:
            return
        self.user = params.get("user", "")
        self.database = params.get("database") or self.user
        self.result_types.protocol = negotiate(params.get("client_protocol_version"))
        upstream_params = {k: v for k, v in params.items() if k in PASSED_STARTUP_PARAMS}
        if self._is_administrative(self.user):
            # as Redshift answers a user it does not know; nothing reaches PostgreSQL
            await self._fatal(f'password authentication failed for user "{self.user}"', "28000")
            return
        if self.user.startswith(IAM_USER_PREFIXES) and not await self._authenticate_temporary_user():
            return
        reader, writer = await open_postgres_connection(
            self.gateway.config.upstream_host, self.gateway.config.upstream_port
        )
        self.upstream = Upstream(reader, writer)
        writer.write(startup_message(upstream_params))
        self._relay_task = asyncio.create_task(self._relay_upstream(self.upstream))
        try:
            await self._serve_client(self.upstream)
        finally:
            self._relay_task.cancel()

    def _client_limit(self) -> tuple[int, str]:
        if self.logged_in:
            return MAX_CLIENT_MESSAGE, "after login"
        return MAX_CLIENT_MESSAGE_BEFORE_LOGIN, "before login"

    def _is_administrative(self, user: str) -> bool:
        name = user.lower()
        return name in self.gateway.config.refused_users or name.startswith(RESERVED_USER_PREFIX)

    async def refuse(self, error: ProtocolError) -> None:
        """Tell the client its message broke the protocol (the connection is closed next)."""
        await self._fatal(str(error), "08P01")

    def close(self) -> None:
        """Close both connections."""
        if self._closed:
            return
        self._closed = True
        upstream_w = self.upstream.writer if self.upstream is not None else None
        for writer in (self.client_w, upstream_w):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()

    async def _read_startup(self) -> dict[str, str] | None:
        while True:
            code, body = await read_startup(self.client_r)
            context = self.gateway.config.ssl_context
            if code == SSL_REQUEST and context is not None and hasattr(self.client_w, "start_tls"):
                self.client_w.write(SSL_ACCEPTED)
                await self.client_w.drain()
                await self.client_w.start_tls(context)  # Python 3.11+; without it the gateway offers no TLS
                continue
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                self.client_w.write(SSL_REFUSED)
                await self.client_w.drain()
                continue
            if code == CANCEL_REQUEST:
                await self.gateway.cancel(body)
                return None
            if code != PROTOCOL_V3:
                await self._fatal(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}", "0A000")
                return None
            return parse_startup_params(body)

    async def _authenticate_temporary_user(self) -> bool:
        """Check an IAM:<user> login against the passwords GetClusterCredentials/GetCredentials issued."""
        # cleartext: the check needs the token
        self.client_w.write(message(Backend.AUTHENTICATION, struct.pack("!i", AUTH_CLEARTEXT_PASSWORD)))
        await self.client_w.drain()
        kind, body = await read_message(self.client_r, self._client_limit)
        password = body.rstrip(b"\x00").decode("utf-8", "replace") if kind == Frontend.PASSWORD else ""
        verify = self.gateway.config.verify_temporary_credentials
        try:
            verified = verify is not None and await asyncio.to_thread(verify, self.user, password)
        except Exception as err:  # the AWS endpoint (moto's process) is gone or failed: say so, not "wrong"
            failed = aws_endpoint_failed(err)
            await self._fatal(f'cannot check the temporary password of "{self.user}": {failed}', "XX000")
            return False
        if not verified:
            await self._fatal(f'password authentication failed for user "{self.user}"', "28P01")
            return False
        await self.gateway.ensure_login_role(self.user)
        return True

    async def _fatal(self, text: str, code: str) -> None:
        self.client_w.write(PgError.make(text, code, severity="FATAL").encode())
        with contextlib.suppress(ConnectionError):
            await self.client_w.drain()

    # -- upstream -> client -------------------------------------------------------------------------

    async def _relay_upstream(self, upstream: Upstream) -> None:
        try:
            while True:
                kind, body = await read_message(upstream.reader)
                if self._failed_row and kind not in _KEPT_AFTER_A_FAILED_ROW:
                    continue
                if kind == Backend.PARAMETER_STATUS and body.startswith(b"server_version\x00"):
                    body = cstring("server_version") + cstring(REDSHIFT_SERVER_VERSION)
                    # redshift_connector's metadata API needs it (Cursor.get_show_discovery_version)
                    self.relay(kind, cstring("show_discovery") + cstring(SHOW_DISCOVERY_VERSION))
                    if self.protocol:
                        self.relay(kind, cstring("server_protocol_version") + cstring(str(self.protocol)))
                elif kind == Backend.BACKEND_KEY_DATA:
                    self.backend_pid = struct.unpack("!i", body[:4])[0]
                elif kind == Backend.AUTHENTICATION and body[:4] == struct.pack("!i", AUTH_OK):
                    self.logged_in = True
                elif kind == Backend.ERROR_RESPONSE:
                    body = _redshift_error(body)
                elif kind == Backend.ROW_DESCRIPTION:
                    body = self.result_types.row_description(body)
                    if self.protocol >= EXTENDED_RESULT_METADATA and not upstream.capturing:
                        await self._learn_columns(body)
                elif kind == Backend.DATA_ROW and self.result_types.active:
                    kind, body = self._convert_row(body)
                elif kind == Backend.NO_DATA:
                    self.result_types.no_data()
                elif kind == Backend.COMMAND_COMPLETE and body.startswith(RENAMING_TAGS):
                    self._renamed = True  # names looked up until this transaction ends may be the old ones
                    self.gateway.column_origins.forget()
                if kind == Backend.READY_FOR_QUERY:
                    self._failed_row = False
                    if self._renamed and body[:1] == TransactionStatus.IDLE:
                        self._renamed = False
                        self.gateway.column_origins.forget()
                if upstream.capturing:
                    await upstream.deliver(kind, body)
                    continue
                if kind == Backend.READY_FOR_QUERY:
                    upstream.txn_status = body[:1]
                    self._outstanding -= 1
                    if self._outstanding <= 0:
                        self._outstanding = 0
                        self._idle.set()
                self.relay(kind, body)
                if (
                    kind in _FLUSH_TO_CLIENT_AFTER
                    or self.client_w.transport.get_write_buffer_size() > _BUFFER_HIGH_WATER
                ):
                    await self.client_w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
        except asyncio.CancelledError:
            raise

    def _convert_row(self, body: bytes) -> tuple[bytes, bytes]:
        """Return a DataRow in Redshift's forms, or the error Redshift gives for a value it cannot hold."""
        try:
            return Backend.DATA_ROW, self.result_types.data_row(body)
        except NumericOutOfRange as err:
            self._failed_row = True
            return Backend.ERROR_RESPONSE, PgError.make(str(err), "22003").encode()[5:]

    async def _learn_columns(self, body: bytes) -> None:
        """Look up the catalog names protocol 1 adds to a RowDescription (none if the lookup fails)."""
        with contextlib.suppress(Exception):
            await self.gateway.column_origins.learn(self.admin(), self.database, body)

    async def _wait_idle(self) -> None:
        if self._outstanding:
            assert self.upstream is not None
            await self.upstream.drain()
            await self._idle.wait()

    # -- client -> upstream -------------------------------------------------------------------------

    def _forward(self, kind: bytes, body: bytes) -> None:
        assert self.upstream is not None
        if kind in _EXCHANGE_ENDS:
            self._outstanding += 1
            self._idle.clear()
            self.forwarded_since_sync = False
        elif kind not in _NOT_STATEMENT_PARTS:
            self.forwarded_since_sync = True
        self.upstream.send(message(kind, body))

    async def _serve_client(self, upstream: Upstream) -> None:
        while True:
            kind, body = await read_message(self.client_r, self._client_limit)
            if kind == Frontend.TERMINATE:
                self._forward(kind, body)
                with contextlib.suppress(ConnectionError):
                    await upstream.drain()
                return
            if kind == Frontend.FLUSH and not self.logged_in:
                # drivers send one after their password; it means nothing before login, and after a
                # wrong password PostgreSQL has closed: writing it would lose PostgreSQL's error
                continue
            if self.local.batching:
                if self.local.add_to_batch(kind, body):
                    await self._while_client_stays(self.local.run_batch())
                continue
            await self._dispatch(kind, body)
            if upstream.buffered() > _BUFFER_HIGH_WATER or kind in _FLUSH_UPSTREAM_AFTER:
                await upstream.drain()

    async def _dispatch(self, kind: bytes, body: bytes) -> None:
        if kind in (Frontend.QUERY, Frontend.PARSE) and self.database not in SUPER_COLUMNS.loaded_databases:
            await self._load_super_columns()
        if kind == Frontend.QUERY:
            self.result_types.simple_query()
            await self._simple_query(body)
        elif kind == Frontend.PARSE:
            await self._parse(body)
        elif kind == Frontend.BIND:
            portal, statement, _ = parse_bind_names(body)
            if statement in self.local.statements:
                self.local.start_batch(kind, body)
            else:
                self.result_types.bind(statement, bind_formats(bind_result_formats(body)))
                self.local.portals.pop(portal, None)
                self._forward(kind, body)
        elif kind == Frontend.DESCRIBE:
            self.result_types.describe(body)
            if self.local.names_local(kind, body):
                self.local.start_batch(kind, body)
            else:
                self._forward(kind, body)
        elif self.local.names_local(kind, body):
            self.local.start_batch(kind, body)
        else:
            self._forward(kind, body)

    async def _load_super_columns(self) -> None:
        """Learn the SUPER columns of this session's database once (their navigation is rewritten)."""
        SUPER_COLUMNS.loaded_databases.add(self.database)
        with contextlib.suppress(Exception):  # a database that does not exist: PostgreSQL tells the client
            rows = await self.admin().query(
                "SELECT DISTINCT attname FROM pg_catalog.pg_attribute WHERE NOT attisdropped "
                "AND atttypid = pg_catalog.to_regtype('pg_catalog.super')"
            )
            SUPER_COLUMNS.add(*(row[0] for row in rows if row[0]))

    async def _simple_query(self, body: bytes) -> None:
        self.gateway.notify(ClientEvent("statement", body.rstrip(b"\x00").decode("utf-8", "replace")))
        try:
            sql = body.rstrip(b"\x00").decode()
        except UnicodeDecodeError as err:
            raise ProtocolError("invalid Query message: its text is not UTF-8") from err
        try:
            forwarded, plan = plan_statements(sql, self.identifier_case)
        except LocalStatementError as err:
            async with self.captured():
                await self.local.raise_in_transaction(err.error)
                self.client_w.write(err.error.encode())
                self.client_w.write(ready_for_query(self.txn_status))
            return
        except SqlLexError:
            forwarded, plan = sql, None  # PostgreSQL reports the syntax error in its own words
        if plan is None:
            self._forward(Frontend.QUERY, cstring(forwarded))
            return
        await self._while_client_stays(self.local.run_simple(plan))

    async def _while_client_stays(self, statement: Any) -> None:
        """Run a statement of the gateway's own; if the client goes meanwhile, stop it and close the session.

        Nothing reads the client while the statement runs, so its departure is seen on the transport; the
        closed upstream connection then ends the PostgreSQL backend, its transaction and its locks.
        """
        task = asyncio.ensure_future(statement)
        while not task.done():
            await asyncio.wait({task}, timeout=_CLIENT_CHECK_SECONDS)
            if not task.done() and self._client_gone():
                task.cancel()
                self.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                raise ConnectionResetError("the client left while the gateway ran its statement")
        task.result()

    def _client_gone(self) -> bool:
        return self.client_r.at_eof() or self.client_r.exception() is not None or self.client_w.is_closing()

    async def _parse(self, body: bytes) -> None:
        name, sql, rest = parse_parse(body)
        self.gateway.notify(ClientEvent("statement", sql))
        try:
            forwarded, plan = plan_statements(sql, self.identifier_case)
        except SqlLexError:
            forwarded, plan = sql, None  # PostgreSQL reports the syntax error in its own words
        except LocalStatementError as err:
            forwarded, plan = sql, LocalPlan([], error=err.error)
        if plan is not None and len(plan.statements) > 1 and rest[:2] != b"\x00\x00":
            plan = None  # parameters: only PostgreSQL can bind them
        if plan is None:
            self.local.statements.pop(name, None)
            self._forward(Frontend.PARSE, build_parse(name, forwarded, rest)[5:])
            return
        self.local.statements[name] = plan
        self.local.start_batch(Frontend.PARSE, body)


def _redshift_error(body: bytes) -> bytes:
    """Reword a PostgreSQL error as Redshift words it (a VARCHAR byte-limit violation); else keep it."""
    error = PgError.parse(body)
    if error.code != "23514":
        return body
    constraint = error.fields.get("n", "")
    text = value_too_long(constraint) or varbyte_too_long(constraint)
    if text is None:
        return body
    return PgError.make(text, "22001").encode()[5:]


__all__ = ["Session"]
