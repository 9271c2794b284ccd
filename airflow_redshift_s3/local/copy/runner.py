"""Execute one Redshift ``COPY ... FROM 's3://...'`` inside a gateway session, the way Redshift would."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.local import pgwire
from airflow_redshift_s3.local.copy.access import CopyAccessError
from airflow_redshift_s3.local.copy.model import LoadError, LoadFailed, TableColumn
from airflow_redshift_s3.local.copy.objects import resolve_objects
from airflow_redshift_s3.local.copy.stream import build_copy_stream, record_from_postgres_error
from airflow_redshift_s3.local.pgwire import PgError
from airflow_redshift_s3.local.sql.copy_command import CopySyntaxError
from airflow_redshift_s3.local.sql.copy_parser import parse_copy
from airflow_redshift_s3.local.sql.tokens import quote_ident, quote_literal

if TYPE_CHECKING:
    from airflow_redshift_s3.local.gateway import Session
    from airflow_redshift_s3.local.sql.copy_command import CopyCommand

log = logging.getLogger(__name__)

LOAD_FAILED = "Load into table '{table}' failed.  Check 'stl_load_errors' system table for details."
_COPY_CONTEXT = re.compile(r'COPY [^,]+, line (\d+)(?:, column ([^:]+?))?(?:: "(.*)")?$', re.S)
_SKIPPED_ROW = re.compile(
    r'skipping row due to data type incompatibility at line (\d+) for column "?([^":]+)"?: "(.*)"', re.S
)
_WRITE_HIGH_WATER = 1 << 20


class CopyRunner:
    """Run one COPY from S3 on a session's upstream connection, inside the client's transaction."""

    def __init__(self, session: Session, sql: str):
        self.session = session
        self.sql = sql
        self.rows_loaded = 0
        self.query_id = 0

    async def run(self) -> PgError | None:
        """Execute the COPY; return the error to send to the client, or None on success."""
        try:
            cmd = parse_copy(self.sql)
        except CopySyntaxError as err:
            return PgError.make(str(err), "42601")
        assert cmd is not None
        started = time.time()
        try:
            objects = await asyncio.to_thread(self._authorize_and_list, cmd)
        except (CopyAccessError, LoadError) as err:  # the message is Redshift's
            return PgError.make(str(err), "XX000")
        table = await self._table(cmd)
        if isinstance(table, PgError):
            return table
        oid, columns = table
        self.query_id = await self._next_query_id()
        return await self._load(cmd, oid, columns, objects, started)

    # -- before the data ----------------------------------------------------------------------------

    def _authorize_and_list(self, cmd: CopyCommand) -> list[Any]:
        aws = self.session.gateway.config.aws
        assert aws is not None, "the gateway has no AWS endpoint"
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
        rows, _, error = await self.session._upstream_query(
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
        rows = await self.session.gateway.admin(self.session.database).query(
            "SELECT nextval('pg_catalog.redshift_query_id_seq')"
        )
        return int(rows[0][0] or 0)

    # -- the data -----------------------------------------------------------------------------------

    async def _load(
        self, cmd: CopyCommand, oid: int, columns: list[Any], objects: list[Any], started: float
    ) -> PgError | None:
        session = self.session
        aws = session.gateway.config.aws
        assert aws is not None
        stream = build_copy_stream(cmd, columns, objects, lambda ref: aws.open_object(ref.bucket, ref.key))
        options = stream.pg_copy_options
        if cmd.maxerror > 0 and stream.mode != "columnar":
            options += f", ON_ERROR ignore, REJECT_LIMIT {cmd.maxerror}, LOG_VERBOSITY verbose"
        target = (quote_ident(cmd.schema) + "." if cmd.schema else "") + quote_ident(cmd.table)
        column_list = ", ".join(quote_ident(c) for c in stream.pg_columns)
        copy_sql = f"COPY {target} ({column_list}) FROM STDIN WITH ({options})"
        # Outside a transaction the COPY gets one of its own, so that a MAXERROR overrun found after
        # PostgreSQL's COPY ends (Python-side and PostgreSQL-side bad rows together) still loads nothing.
        own_transaction = session.txn_status == b"I"
        if own_transaction:
            await session._upstream_query("BEGIN")
        tag, error, notices, stream_error = await self._stream(copy_sql, stream)
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
            await session._upstream_query("ROLLBACK" if failed else "COMMIT")
        await self._write_history(cmd, oid, objects, records, failed, started)
        if not failed:
            await session._upstream_query(
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

    async def _stream(
        self, copy_sql: str, stream: Any
    ) -> tuple[str, PgError | None, list[PgError], Exception | None]:
        session = self.session
        assert session.up_w is not None
        session.up_w.write(pgwire.message(b"Q", pgwire.cstring(copy_sql)))
        await session.up_w.drain()
        notices: list[PgError] = []
        error: PgError | None = None
        tag = ""
        stream_error: Exception | None = None
        kind, body = await session._recv()
        while kind == b"N":
            notices.append(PgError.parse(body))
            kind, body = await session._recv()
        early: list[tuple[bytes, bytes]] = []
        if kind == b"G":
            stream_error = await self._send_chunks(stream, early)
        elif kind == b"E":
            error = PgError.parse(body)
        while True:
            kind, body = early.pop(0) if early else await session._recv()
            if kind == b"Z":
                session.txn_status = body[:1]
                break
            if kind == b"E":
                error = PgError.parse(body)
            elif kind == b"N":
                notices.append(PgError.parse(body))
            elif kind == b"C":
                tag = pgwire.parse_command_tag(body)
        return tag, error, notices, stream_error

    async def _send_chunks(self, stream: Any, early: list[tuple[bytes, bytes]]) -> Exception | None:
        """Send the stream as CopyData; stop early when PostgreSQL reports an error mid-stream."""
        session = self.session
        assert session.up_w is not None and session._capture is not None
        loop = asyncio.get_running_loop()
        chunks = iter(stream.chunks())
        pull = functools.partial(next, chunks, None)
        while True:
            try:
                chunk = await loop.run_in_executor(None, pull)
            except Exception as err:  # a bad row past MAXERROR, or S3 failing mid-stream
                session.up_w.write(
                    pgwire.message(b"f", pgwire.cstring(str(err)[:1000] or type(err).__name__))
                )
                await session.up_w.drain()
                return err
            if chunk is None:
                break
            session.up_w.write(pgwire.message(b"d", chunk))
            if session.gateway.drop_connections_during_copy:
                session.close()
                raise ConnectionResetError("connection dropped by the gateway during COPY (fault injection)")
            if session.up_w.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
                await session.up_w.drain()
            while not session._capture.empty():
                early.append(session._capture.get_nowait())
            if any(kind == b"E" for kind, _ in early):
                break  # PostgreSQL now ignores further data
        session.up_w.write(pgwire.message(b"c"))
        await session.up_w.drain()
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
        return PgError.make(LOAD_FAILED.format(table=table), "XX000", D=detail)

    # -- system tables ------------------------------------------------------------------------------

    async def _write_history(
        self, cmd: CopyCommand, oid: int, objects: list[Any], records: list[Any], failed: bool, started: float
    ) -> None:
        session = self.session
        admin = session.gateway.admin(session.database)
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
