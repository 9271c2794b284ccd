"""The Redshift Data API as this provider uses it: statements run and waited for, typed results, a cursor.

Built on the Amazon provider's ``RedshiftDataHook`` (its client, credentials and connection). What this
module adds: polling that returns the whole ``DescribeStatement`` answer (a batch's sub-statements, the
failed one's index and Redshift's message), ``GetStatementResult`` pages read into typed Python values,
and ``DataApiConnection``, the small DB-API subset (``cursor().execute()``, ``fetchone()``,
``fetchall()``, ``rowcount``) the operator's reads use, so that they run unchanged over either transport.

Every statement of ``DataApiConnection`` commits on its own (the Data API has no open transaction across
calls); the load's transaction is one ``BatchExecuteStatement`` (``DataApiClient.run_batch``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_redshift_s3.exceptions import ConfigCheckError

FINISHED, FAILED, ABORTED = "FINISHED", "FAILED", "ABORTED"
_READ = re.compile(r"\s*(SELECT|WITH|SHOW)\b", re.IGNORECASE)
SESSION_KEEP_ALIVE_SECONDS = 300
"""How long the session of a load's batch stays open after it ends: the load-error report reads it."""


@dataclass(frozen=True)
class DataApiTarget:
    """Where Data API statements run: a cluster or a Serverless workgroup, a database, and a login.

    :param database: the database.
    :param cluster_identifier: a provisioned cluster (with ``db_user`` or ``secret_arn``).
    :param workgroup_name: a Serverless workgroup (the login is the caller's IAM identity, or the secret).
    :param db_user: the database user for temporary credentials (``redshift:GetClusterCredentials``).
    :param secret_arn: a Secrets Manager secret holding the login.
    :param poll_interval: seconds between two ``DescribeStatement`` calls (the first waits a tenth of it).
    """

    database: str
    cluster_identifier: str | None = None
    workgroup_name: str | None = None
    db_user: str | None = None
    secret_arn: str | None = None
    poll_interval: float = 1.0

    @classmethod
    def from_kwargs(cls, kwargs: Any, what: str = "data_api_kwargs") -> DataApiTarget:
        """Return the target of ``kwargs`` (the Amazon provider's ``redshift_data_api_kwargs`` names)."""
        if not isinstance(kwargs, dict):
            raise ConfigCheckError(
                f"{what} is {kwargs!r}: expected a dict such as {{'database': 'dev', 'cluster_identifier': "
                "'my-cluster', 'db_user': 'loader'}. Fix: pass one with transport='data_api'."
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ConfigCheckError(
                f"{what} has unknown key(s) {', '.join(unknown)}: expected some of "
                f"{', '.join(sorted(known))}. Fix: remove or rename them."
            )
        if not kwargs.get("database"):
            raise ConfigCheckError(f"{what} has no 'database'. Fix: name the database to load into.")
        for name, value in kwargs.items():
            expected, kind = ((int, float), "number") if name == "poll_interval" else (str, "string")
            if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
                raise ConfigCheckError(f"{what}['{name}'] is {value!r}: expected a {kind}. Fix: pass one.")
        target = cls(**kwargs)
        if bool(target.cluster_identifier) == bool(target.workgroup_name):
            raise ConfigCheckError(
                f"{what} names {'both' if target.cluster_identifier else 'neither'} of "
                "'cluster_identifier' and 'workgroup_name': expected exactly one. Fix: give the cluster, "
                "or the Serverless workgroup."
            )
        if target.cluster_identifier and not (target.db_user or target.secret_arn):
            raise ConfigCheckError(
                f"{what} names cluster '{target.cluster_identifier}' without a login: expected 'db_user' "
                "(temporary credentials) or 'secret_arn'. Fix: add one of them."
            )
        return target

    def hook_kwargs(self) -> dict[str, Any]:
        """Return the target as ``RedshiftDataHook.execute_query`` takes it."""
        kwargs = {
            "database": self.database,
            "cluster_identifier": self.cluster_identifier,
            "workgroup_name": self.workgroup_name,
            "db_user": self.db_user,
            "secret_arn": self.secret_arn,
        }
        return {k: v for k, v in kwargs.items() if v is not None}

    def __str__(self) -> str:
        where = f"cluster '{self.cluster_identifier}'" if self.cluster_identifier else (
            f"workgroup '{self.workgroup_name}'"
        )  # fmt: skip
        return f"{where}, database '{self.database}'"


class DataApiStatementError(Exception):
    """A Data API statement ended FAILED or ABORTED; ``str()`` is Redshift's message.

    :param part: for a batch, the 0-based index of the sub-statement that failed (None: unknown).
    """

    def __init__(self, message: str, statement_id: str, status: str, part: int | None = None) -> None:
        super().__init__(message)
        self.statement_id = statement_id
        self.status = status
        self.part = part


class DataApiClient:
    """Runs statements on one ``DataApiTarget`` through a ``RedshiftDataHook`` and waits for them."""

    def __init__(self, hook: Any, target: DataApiTarget, log: Any) -> None:
        self.hook = hook
        self.target = target
        self.log = log

    def run(
        self, sql: str | Sequence[str], *, session_id: str | None = None, keep_session: int | None = None
    ) -> dict[str, Any]:
        """Run ``sql`` (a list: one BatchExecuteStatement, one transaction); return its final description.

        Raise ``DataApiStatementError`` when it fails or is aborted.
        """
        output = self.submit(sql, session_id=session_id, keep_session=keep_session)
        return self.wait(output.statement_id, output.session_id)

    def submit(
        self, sql: str | Sequence[str], *, session_id: str | None = None, keep_session: int | None = None
    ) -> Any:
        """Submit ``sql`` without waiting; return the hook's output (``statement_id``, ``session_id``)."""
        # A session already knows its target, database and login: the hook takes exactly one of the three.
        place = {"session_id": session_id} if session_id else self.target.hook_kwargs()
        return self.hook.execute_query(
            sql=list(sql) if not isinstance(sql, str) else sql,
            wait_for_completion=False,
            session_keep_alive_seconds=keep_session,
            **place,
        )

    def wait(self, statement_id: str, session_id: str | None = None) -> dict[str, Any]:
        """Poll ``DescribeStatement`` until ``statement_id`` ends; return the answer (with ``SessionId``)."""
        delay = max(0.05, self.target.poll_interval / 10)
        while True:
            described = self.hook.conn.describe_statement(Id=statement_id)
            status = described["Status"]
            if status == FINISHED:
                if session_id and not described.get("SessionId"):
                    described["SessionId"] = session_id
                return dict(described)
            if status in (FAILED, ABORTED):
                part = next(
                    (
                        n
                        for n, sub in enumerate(described.get("SubStatements") or [])
                        if sub["Status"] != FINISHED
                    ),
                    None,
                )
                message = described.get("Error") or f"statement {statement_id} ended {status}"
                if part is not None:
                    message = described["SubStatements"][part].get("Error") or message
                error = DataApiStatementError(message, statement_id, status, part)
                error.session_id = session_id or described.get("SessionId")  # type: ignore[attr-defined]
                raise error
            time.sleep(delay)
            delay = min(self.target.poll_interval, delay * 2)

    def records(self, statement_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Return the column names and the typed rows of a finished statement (every page)."""
        names: list[str] = []
        rows: list[tuple[Any, ...]] = []
        token = None
        while True:
            page = self.hook.conn.get_statement_result(
                Id=statement_id, **({"NextToken": token} if token else {})
            )
            metadata = page.get("ColumnMetadata") or []
            names = names or [str(c.get("name") or c.get("label") or "") for c in metadata]
            types = [str(c.get("typeName") or "") for c in metadata]
            rows += [
                tuple(_value(f, t) for f, t in zip(record, types, strict=False)) for record in page["Records"]
            ]
            token = page.get("NextToken")
            if not token:
                return names, rows


def _value(field: dict[str, Any], type_name: str) -> Any:
    """Return a Data API ``Field`` as the Python value redshift_connector would give for its type."""
    if field.get("isNull"):
        return None
    for kind in ("booleanValue", "longValue", "doubleValue", "blobValue"):
        if kind in field:
            return field[kind]
    text = field.get("stringValue")
    if text is None:
        return None
    name = type_name.lower()
    try:
        if name in ("numeric", "decimal"):
            return decimal.Decimal(text)
        if name == "date":
            return dt.date.fromisoformat(text)
        if name in ("timestamp", "timestamptz"):
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return text


class RowsCursor:
    """The fetching half of a DB-API cursor over rows already read (``_rows``)."""

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        self.rowcount = -1
        self.description: list[tuple[Any, ...]] | None = None

    def fetchone(self) -> tuple[Any, ...] | None:
        """Return the next row, or None."""
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Return the rows not fetched yet."""
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        """Forget the rows."""
        self._rows = []


class DataApiCursor(RowsCursor):
    """The DB-API subset the operator's reads use; each ``execute`` is one statement, committed.

    In a transaction (``autocommit = False`` on the connection) ``execute`` only queues the statement:
    ``commit()`` sends the queue as one BatchExecuteStatement. A read cannot run there (nothing runs before
    COMMIT) and is refused.
    """

    def __init__(self, connection: DataApiConnection) -> None:
        super().__init__()
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> DataApiCursor:
        """Run ``sql`` (``%s`` parameters written as literals by ``Statement.inline``) and keep its rows."""
        from airflow_redshift_s3.sql import Statement

        text = Statement(sql, tuple(params)).inline() if params is not None else sql
        connection, client = self._connection, self._connection.client
        if connection.pending is not None:
            if _READ.match(text):
                raise ConfigCheckError(
                    f"A read inside a Data API transaction cannot return rows (the statements run as one "
                    f"batch at COMMIT): {text[:120]!r}. Fix: run it over redshift_connector, or outside the "
                    "transaction."
                )
            connection.pending.append(text)
            self._rows, self.description, self.rowcount = [], None, -1
            return self
        described = client.run(text, session_id=connection.session_id)
        self.rowcount = int(described.get("ResultRows", -1))
        if described.get("HasResultSet"):
            names, self._rows = client.records(described["Id"])
            self.description = [(name, None, None, None, None, None, None) for name in names]
            self.rowcount = len(self._rows)
        else:
            self._rows, self.description = [], None
        return self


class DataApiConnection:
    """A connection-like object over the Data API: each statement commits, or a queue is one batch."""

    def __init__(self, client: DataApiClient, session_id: str | None = None) -> None:
        self.client = client
        self.session_id = session_id
        self.pending: list[str] | None = None

    @property
    def autocommit(self) -> bool:
        """True: each statement commits when it ends. False: statements queue until ``commit()``."""
        return self.pending is None

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if value and self.pending:
            raise ConfigCheckError("autocommit turned on with statements not committed: commit or roll back")
        self.pending = None if value else []

    def cursor(self) -> DataApiCursor:
        """Return a cursor running its statements on this connection (and its session, if any)."""
        return DataApiCursor(self)

    def commit(self) -> None:
        """Send the queued statements as one BatchExecuteStatement (one transaction)."""
        if self.pending:
            queued, self.pending = self.pending, []
            self.client.run(queued, session_id=self.session_id)

    def rollback(self) -> None:
        """Forget the queued statements (nothing ran)."""
        if self.pending is not None:
            self.pending = []

    def close(self) -> None:
        """Nothing to close: the Data API keeps no connection (a session ends on its own)."""


class DataApiSqlHook:
    """What the load asks of a ``RedshiftSQLHook`` (primary key, lineage names), over the Data API."""

    def __init__(self, client: DataApiClient) -> None:
        from types import SimpleNamespace

        self.client = client
        self.target = client.target
        self.conn = SimpleNamespace(schema=client.target.database, host=None)

    def get_table_primary_key(self, table: str, schema: str | None = "public") -> list[str] | None:
        """Return the table's primary key columns (``RedshiftSQLHook.get_table_primary_key``'s query).

        Not the Amazon ``RedshiftDataHook.get_table_primary_key``: it writes the names into the SQL
        unquoted, so that ``table_schema = public`` names a column and the statement fails.
        """
        cursor = DataApiConnection(self.client).cursor()
        cursor.execute(
            "SELECT kcu.column_name FROM information_schema.table_constraints tco "
            "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tco.constraint_name "
            "AND kcu.constraint_schema = tco.constraint_schema "
            "WHERE tco.constraint_type = 'PRIMARY KEY' AND kcu.table_schema = %s AND kcu.table_name = %s "
            "ORDER BY kcu.ordinal_position",
            (schema or "public", table),
        )
        return [str(row[0]) for row in cursor.fetchall()] or None

    def get_openlineage_database_info(self, conn: Any) -> Any:
        """Return the authority the Amazon ``S3ToRedshiftOperator`` gives a Data API load."""
        from types import SimpleNamespace

        name = self.target.cluster_identifier or self.target.workgroup_name
        return SimpleNamespace(authority=f"{name}.{self.client.hook.region_name}:5439")
