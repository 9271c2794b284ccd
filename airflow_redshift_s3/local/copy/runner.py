"""Execute one Redshift ``COPY ... FROM 's3://...'`` inside a gateway session, the way Redshift would."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from typing import TYPE_CHECKING, Any, Protocol

from airflow_redshift_s3.local.copy.access import CopyAccessError, aws_endpoint_errors, aws_endpoint_failed
from airflow_redshift_s3.local.copy.model import LOAD_FAILED_MESSAGE, LoadError, LoadFailed, TableColumn
from airflow_redshift_s3.local.copy.objects import resolve_objects
from airflow_redshift_s3.local.copy.progress import LoadProgress
from airflow_redshift_s3.local.copy.stream import build_copy_stream, record_from_postgres_error
from airflow_redshift_s3.local.sql.copy_command import CopySyntaxError
from airflow_redshift_s3.local.sql.copy_parser import redact_sql
from airflow_redshift_s3.local.sql.tokens import quote_ident, quote_literal
from airflow_redshift_s3.local.wire.messages import (
    Backend,
    Frontend,
    PgError,
    TransactionStatus,
    cstring,
    message,
    parse_command_tag,
)

if TYPE_CHECKING:
    from airflow_redshift_s3.local.copy.access import AwsAccess, Owner
    from airflow_redshift_s3.local.sql.copy_command import CopyCommand
    from airflow_redshift_s3.local.wire.client import PgSimpleClient
    from airflow_redshift_s3.local.wire.upstream import Upstream

log = logging.getLogger(__name__)

_COPY_CONTEXT = re.compile(r'COPY [^,]+, line (\d+)(?:, column ([^:]+?))?(?:: "(.*)")?$', re.S)
_SKIPPED_ROW = re.compile(
    r'skipping row due to data type incompatibility at line (\d+) for column "?([^":]+)"?: "(.*)"', re.S
)
_WRITE_HIGH_WATER = 1 << 20


class CopySession(Protocol):
    """What a COPY needs of the gateway session it runs in (the session's public interface)."""

    upstream: Upstream | None  # in capture mode while the COPY runs
    owner: Owner
    user: str
    database: str
    backend_pid: int

    @property
    def aws(self) -> AwsAccess:
        """Return the AWS endpoint to read from."""

    @property
    def drops_connections_during_copy(self) -> bool:
        """Tell whether the fault switch of the reliability suite is on."""

    def admin(self) -> PgSimpleClient:
        """Return an autocommit connection to the session's database (for the system tables)."""

    def close(self) -> None:
        """Close the client and upstream connections."""


class CopyRunner:
    """Run one COPY from S3 on a session's upstream connection, inside the client's transaction."""

    def __init__(self, session: CopySession, command: CopyCommand | CopySyntaxError, text: str = ""):
        """Prepare the COPY.

        :param session: the session (in capture mode) whose upstream connection and transaction to use.
        :param command: the COPY as the gateway parsed it, or the syntax error to answer it with.
        :param text: the statement as the client sent it, for ``stl_query`` (its credentials masked there).
        """
        self.session = session
        self.command = command
        self.text = text
        self.rows_loaded = 0
        self.query_id = 0

    @property
    def upstream(self) -> Upstream:
        """Return the session's upstream connection."""
        assert self.session.upstream is not None
        return self.session.upstream

    async def run(self) -> PgError | None:
        """Execute the COPY; return the error to send to the client, or None on success."""
        if isinstance(self.command, CopySyntaxError):
            return PgError.make(str(self.command), "42601")
        cmd = self.command
        started = time.time()
        try:
            objects = await asyncio.to_thread(self._authorize_and_list, cmd)
        except (CopyAccessError, LoadError) as err:  # the message is Redshift's
            return PgError.make(str(err), "XX000")
        except aws_endpoint_errors() as err:  # the double's own failure: said, and the session goes on
            return PgError.make(aws_endpoint_failed(err), "XX000")
        table = await self._table(cmd)
        if isinstance(table, PgError):
            return table
        oid, columns = table
        self.query_id = await self._next_query_id()
        return await self._load(cmd, oid, columns, objects, started)

    # -- before the data ----------------------------------------------------------------------------

    def _authorize_and_list(self, cmd: CopyCommand) -> list[Any]:
        aws = self.session.aws
        role = None
        if cmd.credentials is None:
            if not cmd.iam_role:
                raise CopyAccessError(
                    "Either IAM_ROLE or CREDENTIALS must be specified for COPY from Amazon S3"
                )
            role = aws.authorize_role(self.session.owner, cmd.iam_role)
        aws.check_region(self.session.owner, cmd)
        if role is not None:
            if cmd.manifest:
                aws.check_s3_access(role, cmd.bucket, [cmd.key_prefix], listing=False, manifest=True)
            else:
                aws.check_s3_access(role, cmd.bucket, [], listing=True, manifest=False)
        objects = resolve_objects(aws.client("s3"), cmd)
        if role is not None:
            by_bucket: dict[str, list[str]] = {}
            for obj in objects:
                by_bucket.setdefault(obj.bucket, []).append(obj.key)
            for bucket, keys in by_bucket.items():
                aws.check_s3_access(role, bucket, keys, listing=False, manifest=False)
        return objects

    async def _table(self, cmd: CopyCommand) -> tuple[int, list[Any]] | PgError:
        name = (quote_ident(cmd.schema) + "." if cmd.schema else "") + quote_ident(cmd.table)
        rows, _, error = await self.upstream.query(
            "SELECT c.oid, a.attname, format_type(a.atttypid, a.atttypmod), "
            "CASE WHEN a.atttypmod > 4 AND t.typname IN ('varchar', 'bpchar') THEN a.atttypmod - 4 END, "
            "a.attidentity "
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
            "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
            f"WHERE c.oid = to_regclass({quote_literal(name)}) AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum"
        )
        if error is not None:
            return error
        if not rows:
            shown = f"{cmd.schema}.{cmd.table}" if cmd.schema else cmd.table
            return PgError.make(f'relation "{shown}" does not exist', "42P01")
        by_name = {
            r[1]: TableColumn(name=r[1] or "", type=r[2] or "", char_length=int(r[3]) if r[3] else None)
            for r in rows
        }
        if cmd.columns:
            missing = [c for c in cmd.columns if c not in by_name]
            if missing:
                return PgError.make(
                    f'column "{missing[0]}" of relation "{cmd.table}" does not exist', "42703"
                )
            columns = [by_name[c] for c in cmd.columns]
        else:
            # like Redshift without EXPLICIT_IDS, IDENTITY columns are generated, not loaded
            columns = [by_name[r[1]] for r in rows if cmd.explicit_ids or not r[4]]
        return int(rows[0][0] or 0), columns

    async def _next_query_id(self) -> int:
        rows = await self.session.admin().query("SELECT nextval('pg_catalog.redshift_query_id_seq')")
        return int(rows[0][0] or 0)

    # -- the data -----------------------------------------------------------------------------------

    async def _load(
        self, cmd: CopyCommand, oid: int, columns: list[Any], objects: list[Any], started: float
    ) -> PgError | None:
        aws = self.session.aws
        progress = self._progress(cmd, objects)
        try:
            stream = build_copy_stream(
                cmd, columns, objects, progress.opener(lambda ref: aws.open_object(ref.bucket, ref.key))
            )
        except LoadError as err:  # the format or an option cannot be loaded: nothing was read
            return PgError.make(err.message, err.sqlstate)
        options = stream.pg_copy_options
        if cmd.maxerror > 0 and stream.mode != "columnar":
            options += f", ON_ERROR ignore, REJECT_LIMIT {cmd.maxerror}, LOG_VERBOSITY verbose"
        target = (quote_ident(cmd.schema) + "." if cmd.schema else "") + quote_ident(cmd.table)
        column_list = ", ".join(quote_ident(c) for c in stream.pg_columns)
        copy_sql = f"COPY {target} ({column_list}) FROM STDIN WITH ({options})"
        # Outside a transaction the COPY gets one of its own, so that a MAXERROR overrun found after
        # PostgreSQL's COPY ends (Python-side and PostgreSQL-side bad rows together) still loads nothing.
        own_transaction = self.upstream.txn_status == TransactionStatus.IDLE
        if own_transaction:
            await self.upstream.query("BEGIN")
        await progress.begin()
        try:
            tag, error, notices, stream_error = await self._stream(copy_sql, stream, progress)
        finally:
            await progress.end()
        records = list(stream.errors)
        skipped = 0
        for notice in notices:
            match = _SKIPPED_ROW.search(notice.message)
            if match:
                skipped += 1
                records.append(
                    await asyncio.to_thread(
                        record_from_postgres_error,
                        stream,
                        int(match.group(1)),
                        match.group(2),
                        match.group(3),
                    )
                )
        if error is not None and stream_error is None:
            match = _COPY_CONTEXT.search(error.where.splitlines()[-1] if error.where else "")
            if match:
                records.append(
                    await asyncio.to_thread(
                        record_from_postgres_error,
                        stream,
                        int(match.group(1)),
                        match.group(2),
                        match.group(3),
                        error,
                    )
                )
        if error is None and stream_error is None:
            try:
                stream.check_error_limit(skipped)
            except LoadFailed as err:
                stream_error = err
        failed = error is not None or stream_error is not None
        count = tag.split()[-1] if tag else ""
        self.rows_loaded = int(count) if not failed and count.isdigit() else 0
        if own_transaction:
            await self.upstream.query("ROLLBACK" if failed else "COMMIT")
        await self._write_history(cmd, oid, objects, records, failed, started)
        if not failed:
            await self.upstream.query(
                f"SELECT set_config('redshift.last_copy_count', '{self.rows_loaded}', false), "
                f"set_config('redshift.last_copy_id', '{self.query_id}', false)"
            )
            return None
        if records or stream_error is not None or (error is not None and error.code.startswith("22")):
            if stream_error is not None and not isinstance(stream_error, LoadFailed) and not records:
                return PgError.make(str(stream_error), "XX000")  # S3 failed mid-stream: say so
            return self._load_failed(cmd, records)
        assert error is not None
        return error

    def _progress(self, cmd: CopyCommand, objects: list[Any]) -> LoadProgress:
        """Return the STV_LOAD_STATE row of this COPY (written while it loads)."""
        user = quote_literal(self.session.user)
        return LoadProgress(
            self.session.admin(),
            userid_sql=f"(SELECT oid::int FROM pg_catalog.pg_roles WHERE rolname = {user})",
            session_pid=self.session.backend_pid,
            query_id=self.query_id,
            objects=objects,
            compressed=cmd.compression is not None,
        )

    async def _stream(
        self, copy_sql: str, stream: Any, progress: LoadProgress
    ) -> tuple[str, PgError | None, list[PgError], Exception | None]:
        upstream = self.upstream
        upstream.send(message(Frontend.QUERY, cstring(copy_sql)))
        await upstream.drain()
        notices: list[PgError] = []
        error: PgError | None = None
        tag = ""
        stream_error: Exception | None = None
        kind, body = await upstream.receive()
        while kind == Backend.NOTICE_RESPONSE:
            notices.append(PgError.parse(body))
            kind, body = await upstream.receive()
        early: list[tuple[bytes, bytes]] = []
        if kind == Backend.COPY_IN_RESPONSE:
            stream_error = await self._send_chunks(stream, early, progress)
        elif kind == Backend.ERROR_RESPONSE:
            error = PgError.parse(body)
        while True:
            kind, body = early.pop(0) if early else await upstream.receive()
            if kind == Backend.READY_FOR_QUERY:
                break
            if kind == Backend.ERROR_RESPONSE:
                error = PgError.parse(body)
            elif kind == Backend.NOTICE_RESPONSE:
                notices.append(PgError.parse(body))
            elif kind == Backend.COMMAND_COMPLETE:
                tag = parse_command_tag(body)
        return tag, error, notices, stream_error

    async def _send_chunks(
        self, stream: Any, early: list[tuple[bytes, bytes]], progress: LoadProgress
    ) -> Exception | None:
        """Send the stream as CopyData; stop early when PostgreSQL reports an error mid-stream."""
        upstream = self.upstream
        loop = asyncio.get_running_loop()
        chunks = iter(stream.chunks())
        pull = functools.partial(next, chunks, None)
        while True:
            try:
                chunk = await loop.run_in_executor(None, pull)
            except Exception as err:  # a bad row past MAXERROR, or S3 failing mid-stream
                upstream.send(message(Frontend.COPY_FAIL, cstring(str(err)[:1000] or type(err).__name__)))
                await upstream.drain()
                return err
            if chunk is None:
                break
            upstream.send(message(Frontend.COPY_DATA, chunk))
            progress.sent(chunk)
            await progress.maybe_update()
            if self.session.drops_connections_during_copy:
                self.session.close()
                raise ConnectionResetError("connection dropped by the gateway during COPY (fault injection)")
            if upstream.buffered() > _WRITE_HIGH_WATER:
                await upstream.drain()
            early.extend(upstream.received())
            if any(kind == Backend.ERROR_RESPONSE for kind, _ in early):
                break  # PostgreSQL now ignores further data
        upstream.send(message(Frontend.COPY_DONE))
        await upstream.drain()
        return None

    def _load_failed(self, cmd: CopyCommand, records: list[Any]) -> PgError:
        table = cmd.table
        detail = ""
        if records:
            first = records[0]
            detail = (
                "\n  -----------------------------------------------\n"
                f"  error:  {first.err_reason}\n"
                f"  code:      {first.err_code}\n"
                f"  context:   {(first.raw_field_value or '')[:100]}\n"
                f"  query:     {self.query_id}\n"
                f"  location:  {first.file_url}:{first.line_number}\n"
                "  -----------------------------------------------\n"
            )
        return PgError.make(LOAD_FAILED_MESSAGE.format(table=table), "XX000", detail=detail)

    # -- system tables ------------------------------------------------------------------------------

    async def _write_history(
        self, cmd: CopyCommand, oid: int, objects: list[Any], records: list[Any], failed: bool, started: float
    ) -> None:
        session = self.session
        admin = session.admin()
        user = quote_literal(session.user)
        qid = self.query_id
        pid = session.backend_pid
        statements: list[str] = []
        userid = f"(SELECT oid::int FROM pg_catalog.pg_roles WHERE rolname = {user})"
        for rec in records[:100]:
            values = (
                f"{userid}, 0, {oid}, now(), {pid}, {qid}, {_lit(rec.file_url, 256)}, "
                f"{int(rec.line_number or 0)}, "
                f"{_lit(rec.column_name, 127)}, {_lit(rec.column_type, 10)}, {_lit(rec.column_length, 10)}, "
                f"{int(rec.position or 0)}, {_lit(rec.raw_line, 1024)}, {_lit(rec.raw_field_value, 1024)}, "
                f"{int(rec.err_code)}, {_lit(rec.err_reason, 100)}, 0, 0, NULL"
            )
            statements.append(f"INSERT INTO pg_catalog.stl_load_errors VALUES ({values})")
            detail = (
                f"{userid}, {qid}, 0, {pid}, {quote_literal(session.database)}, {oid}, now(), "
                f"{_lit(rec.file_url, 1280)}, {int(rec.line_number or 0)}, {_lit(rec.column_name, 127)}, "
                f"{_lit(rec.column_type, 128)}, {_lit(rec.column_length, 10)}, {int(rec.position or 0)}, "
                f"{int(rec.err_code)}, {_lit(rec.err_reason, 512)}"
            )
            statements.append(f"INSERT INTO pg_catalog.sys_load_error_detail VALUES ({detail})")
        if not failed:
            for obj in objects:
                statements.append(
                    "INSERT INTO pg_catalog.stl_load_commits VALUES "
                    f"({userid}, {qid}, 0, {_lit(f's3://{obj.bucket}/{obj.key}', 256)}, "
                    f"{_lit(f's3://{obj.bucket}/{obj.key}', 256)}, 0, 0, 0, now(), 1, "
                    f"{_lit(cmd.format, 16)}, 0, 0, NULL)"
                )
        # stl_query keeps the statement with its credential literals masked (what Redshift keeps of them
        # is not documented; nothing secret is stored here either way).
        statements.append(
            "INSERT INTO pg_catalog.stl_query VALUES "
            f"({userid}, {qid}, 'default', 0, {pid}, {_lit(session.database, 32)}, "
            f"{_lit(redact_sql(self.text), 4000)}, to_timestamp({started})::timestamp, localtimestamp, "
            f"{1 if failed else 0}, 0, 0)"
        )
        total_bytes = sum(int(getattr(o, "size", 0) or 0) for o in objects)
        duration_us = int((time.time() - started) * 1_000_000)
        table_name = f"{cmd.schema}.{cmd.table}" if cmd.schema else cmd.table
        statements.append(
            "INSERT INTO pg_catalog.sys_load_history VALUES "
            f"({userid}, {qid}, 0, {pid}, {quote_literal(session.database)}, "
            f"{quote_literal('aborted' if failed else 'completed')}, {_lit(table_name, 136)}, "
            f"to_timestamp({started})::timestamp, localtimestamp, {duration_us}, {_lit(cmd.source, 1280)}, "
            f"{_lit(cmd.format, 16)}, {self.rows_loaded}, {0 if failed else total_bytes}, {len(objects)}, "
            f"{total_bytes}, {len(objects)}, {total_bytes}, {len(records)}, NULL)"
        )
        try:
            await admin.query("; ".join(statements))
        except Exception:
            log.exception("could not record the load in the system tables")


def _lit(value: object, width: int) -> str:
    if value is None:
        return "NULL"
    return quote_literal(str(value)[:width])
