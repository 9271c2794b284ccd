"""An asyncio PostgreSQL wire-protocol gateway that makes a PostgreSQL look like Redshift to clients.

Clients (redshift_connector, psycopg, Airflow's RedshiftSQLHook) connect to the gateway; each client
session gets its own upstream PostgreSQL session and messages are relayed both ways. The gateway:

- drops the Redshift driver's startup parameters PostgreSQL rejects and reports server_version 8.0.2;
- accepts the temporary credentials of GetClusterCredentials / GetCredentials (``IAM:<user>`` logins);
- rewrites Redshift-only SQL (DDL attributes, ``#temp`` tables, settings) for PostgreSQL;
- executes ``COPY ... FROM 's3://...'`` itself, inside the client's upstream session and transaction,
  streaming the objects through ``COPY ... FROM STDIN``, and fails like Redshift does.

Tests observe it through public seams: :meth:`Gateway.add_client_listener` (every connection and SQL
statement a client sends), :meth:`Gateway.close_admin_connections` (after a PostgreSQL restart) and the
``drop_connections_during_copy`` fault switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.local.gateway.events import ClientEvent, ClientListener
from airflow_redshift_s3.local.gateway.session import Session
from airflow_redshift_s3.local.sql.tokens import quote_ident, quote_literal
from airflow_redshift_s3.local.wire.client import PgSimpleClient, open_postgres_connection
from airflow_redshift_s3.local.wire.messages import CANCEL_REQUEST, ProtocolError
from airflow_redshift_s3.local.wire.result_metadata import ColumnOrigins

if TYPE_CHECKING:
    from airflow_redshift_s3.local.copy.access import AwsAccess, Owner

log = logging.getLogger(__name__)


# Administrative names no client may log in as (Redshift's own superuser is rdsdb), besides admin_user.
ADMINISTRATIVE_USERS = frozenset({"postgres", "rdsdb", "rdsadmin"})


@dataclass
class GatewayConfig:
    """Where the gateway listens, what each listener serves, and where PostgreSQL is.

    ``upstream_host`` is an address or, as in libpq, the directory of PostgreSQL's Unix socket.
    """

    upstream_host: str
    upstream_port: int
    admin_user: str
    listeners: list[tuple[str, int, Owner]]
    aws: AwsAccess | None = None
    verify_temporary_credentials: Callable[[str, str], bool] | None = None
    ssl_context: ssl.SSLContext | None = None

    @property
    def refused_users(self) -> frozenset[str]:
        """Return the user names (lower case) refused at login: the administrative ones."""
        return frozenset(name.lower() for name in ADMINISTRATIVE_USERS | {self.admin_user})


def _reserved_array(names: frozenset[str]) -> str:
    """Return a SQL array literal of the administrative names (never granted to a login)."""
    return "ARRAY[" + ", ".join(quote_literal(name) for name in sorted(names)) + "]::name[]"


class Gateway:
    """Serve the listeners of ``config`` on an asyncio loop."""

    def __init__(self, config: GatewayConfig):
        self.config = config
        self._servers: list[asyncio.AbstractServer] = []
        self._added: dict[int, tuple[asyncio.AbstractServer, Owner]] = {}  # listeners opened after start
        self._sessions: set[Session] = set()
        self.ports: list[int] = []
        self.drop_connections_during_copy = False  # fault injection for the reliability suite
        self._admins: dict[str, PgSimpleClient] = {}
        self.column_origins = ColumnOrigins()  # the names protocol 1 adds to result columns
        self._listeners: list[ClientListener] = []

    # -- public seams for tests ---------------------------------------------------------------------

    def add_client_listener(self, listener: ClientListener) -> None:
        """Call ``listener`` with every connection and SQL statement a client sends (on the gateway's loop).

        :param listener: a quick, thread-safe function; what it raises is logged and ignored.
        """
        self._listeners.append(listener)

    def remove_client_listener(self, listener: ClientListener) -> None:
        """Stop calling ``listener`` (no error when it was not added)."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def notify(self, event: ClientEvent) -> None:
        """Pass ``event`` to every listener."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a gateway client listener failed")

    async def close_admin_connections(self) -> None:
        """Close the gateway's own connections (query ids, system tables); they reopen on their next use.

        After a PostgreSQL restart they are broken: closing them spares the next COPY a reconnection.
        """
        admins, self._admins = list(self._admins.values()), {}
        for admin in admins:
            with contextlib.suppress(Exception):
                await admin.close()

    # -- the gateway's own connections --------------------------------------------------------------

    def admin(self, database: str) -> PgSimpleClient:
        """Return the gateway's own autocommit superuser connection to ``database``."""
        if database not in self._admins:
            self._admins[database] = PgSimpleClient(
                self.config.upstream_host, self.config.upstream_port, self.config.admin_user, database
            )
        return self._admins[database]

    async def ensure_login_role(self, role: str) -> None:
        """Create the database user a temporary-credentials login maps to, as Redshift's AutoCreate does.

        Like Redshift's auto-created users it is an ordinary user, not a superuser. When the user it names
        exists (``IAM:awsuser`` for ``awsuser``), it gets that user's privileges, as GetClusterCredentials
        documents ("the same database permissions as the user named in DbUser"); never a superuser's or
        a reserved role's.
        """
        name = role.split(":", 1)[1] if ":" in role else role
        await self.admin("postgres").query(
            "DO $gateway$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
            f"{quote_literal(role)}) THEN CREATE ROLE {quote_ident(role)} LOGIN; END IF; "
            f"IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {quote_literal(name)} AND NOT rolsuper "
            f"AND rolname !~ '^pg_' AND rolname <> ALL ({_reserved_array(self.config.refused_users)})) "
            f"AND NOT pg_has_role({quote_literal(role)}, {quote_literal(name)}, 'MEMBER') "
            f"THEN GRANT {quote_ident(name)} TO {quote_ident(role)}; END IF; "
            "END $gateway$"
        )

    # -- serving ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening on every configured address."""
        for host, port, owner in self.config.listeners:
            server = await asyncio.start_server(
                lambda r, w, owner=owner: self._handle(r, w, owner),  # type: ignore[misc]
                host=host,
                port=port,
                limit=1 << 20,
            )
            self._servers.append(server)
            self.ports.append(server.sockets[0].getsockname()[1])

    async def add_listener(self, host: str, port: int, owner: Owner) -> int:
        """Start serving ``owner`` (a cluster created later) on ``host:port``; return the bound port."""
        server = await asyncio.start_server(
            lambda r, w: self._handle(r, w, owner), host=host, port=port, limit=1 << 20
        )
        bound = int(server.sockets[0].getsockname()[1])
        self._added[bound] = (server, owner)
        return bound

    async def remove_listener(self, port: int) -> None:
        """Stop a listener add_listener opened and close its sessions, as a deleted cluster drops them."""
        server, owner = self._added.pop(port, (None, None))
        if server is None:
            return
        server.close()
        for session in list(self._sessions):
            if session.owner == owner:
                session.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)

    async def stop(self) -> None:
        """Stop listening and close every session."""
        for port in list(self._added):
            await self.remove_listener(port)
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
        except ProtocolError as err:
            log.debug("session refused: %s", err)
            await session.refuse(err)
        except (ConnectionError, asyncio.IncompleteReadError) as err:
            log.debug("session ended: %s", err)
        except Exception:
            log.exception("gateway session failed")
        finally:
            session.close()
            self._sessions.discard(session)

    async def cancel(self, body: bytes) -> None:
        """Forward a CancelRequest to PostgreSQL (the backend keys are PostgreSQL's own)."""
        with contextlib.suppress(OSError):
            _, writer = await open_postgres_connection(self.config.upstream_host, self.config.upstream_port)
            writer.write(struct.pack("!ii", 16, CANCEL_REQUEST) + body[:8])
            await writer.drain()
            writer.close()


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

    def close_admin_connections(self, timeout: float = 10.0) -> None:
        """Close the gateway's own PostgreSQL connections, from any thread (see ``Gateway``)."""
        self.call(self.gateway.close_admin_connections(), timeout=timeout)

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


__all__ = ["Gateway", "GatewayConfig", "GatewayThread"]
