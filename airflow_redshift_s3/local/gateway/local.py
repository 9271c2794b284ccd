"""Statements the gateway runs itself instead of forwarding: a COPY from S3, a multi-statement string.

:func:`plan_statements` decides once per SQL text (and parses each COPY from S3 once);
:class:`LocalStatements` runs a plan in the session's capture mode, for a simple Query or for the
Parse/Bind/Describe/Execute/Sync messages of the extended protocol.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_redshift_s3.local.copy.runner import CopyRunner
from airflow_redshift_s3.local.copy.unload_runner import UnloadRunner
from airflow_redshift_s3.local.sql.append_command import (
    IN_TRANSACTION_BLOCK,
    AppendCommand,
    is_append,
    parse_append,
)
from airflow_redshift_s3.local.sql.copy_command import CopyCommand, CopySyntaxError
from airflow_redshift_s3.local.sql.copy_parser import parse_copy
from airflow_redshift_s3.local.sql.errors import RefusedStatement
from airflow_redshift_s3.local.sql.identifiers import IdentifierCase
from airflow_redshift_s3.local.sql.rewrite import rewrite_for_postgres
from airflow_redshift_s3.local.sql.tokens import (
    first_words,
    quote_literal,
    render,
    split_statements,
    tokenize,
)
from airflow_redshift_s3.local.sql.unload_command import UnloadCommand, UnloadSyntaxError, parse_unload
from airflow_redshift_s3.local.wire.messages import (
    TARGET_PORTAL,
    TARGET_STATEMENT,
    Backend,
    Frontend,
    PgError,
    TransactionStatus,
    bind_result_formats,
    command_complete,
    message,
    parse_bind_names,
    parse_parse,
    ready_for_query,
)
from airflow_redshift_s3.local.wire.result_types import bind_formats

if TYPE_CHECKING:
    from airflow_redshift_s3.local.gateway.session import Session
    from airflow_redshift_s3.local.sql.tokens import Token

ParsedCopy = CopyCommand | CopySyntaxError  # a COPY from S3, or the syntax error the client gets for it
ParsedUnload = UnloadCommand | UnloadSyntaxError


class LocalStatementError(Exception):
    """An error the gateway raises itself, already worded for the client."""

    def __init__(self, error: PgError):
        super().__init__(error.message)
        self.error = error


@dataclass
class LocalPlan:
    """A statement the gateway executes itself instead of forwarding it."""

    statements: list[str]  # rewritten PostgreSQL text or, for COPY from S3, the original text
    copies: dict[int, ParsedCopy] = field(default_factory=dict)  # by index in ``statements``
    unloads: dict[int, ParsedUnload] = field(default_factory=dict)  # by index in ``statements``
    appends: dict[int, AppendCommand] = field(default_factory=dict)  # ALTER TABLE APPEND, by index
    error: PgError | None = None  # refused when planned (e.g. UNLOAD): reported at execution
    result_formats: bytes = b"\x00\x00"  # from the client's Bind, for the last statement's rows


def plan_statements(sql: str, case: IdentifierCase | None = None) -> tuple[str, LocalPlan | None]:
    """Return the text to forward, or a plan to execute locally.

    :param case: the session's identifier case setting (followed through the statements' SET/RESET);
        quoted identifiers are folded to lower case unless it is case-sensitive.

    :raises LocalStatementError: a statement the local Redshift refuses (a malformed catalog SHOW,
        a PostgreSQL-only column type).
    :raises SqlLexError: the text does not split into statements.
    """
    statements = split_statements(sql)
    if not statements:
        return sql, None
    texts: list[str] = []
    copies: dict[int, ParsedCopy] = {}
    unloads: dict[int, ParsedUnload] = {}
    appends: dict[int, AppendCommand] = {}
    case = case if case is not None else IdentifierCase()
    for index, tokens in enumerate(statements):
        tokens = case.fold(tokens)
        case.note(tokens)
        words = first_words(tokens, 1)
        if words == ["COPY"]:
            parsed = _copy_from_s3(render(tokens))
            if parsed is not None:
                copies[index] = parsed
                texts.append(render(tokens))
                continue
        if words == ["UNLOAD"]:
            unloads[index] = _parse_unload(tokens, case)
            texts.append(render(tokens))
            continue
        try:
            if words == ["ALTER"] and is_append(tokens):
                appends[index] = parse_append(tokens)
                texts.append(render(tokens))
                continue
            texts.append(render(rewrite_for_postgres(tokens)))
        except RefusedStatement as err:
            raise LocalStatementError(PgError.make(str(err), err.sqlstate)) from err
    if copies or unloads or appends or len(texts) > 1:
        return sql, LocalPlan(texts, copies, unloads, appends)
    return texts[0], None


def _parse_unload(tokens: list[Token], case: IdentifierCase) -> ParsedUnload:
    try:
        command = parse_unload(tokens)
    except UnloadSyntaxError as err:
        return err  # answered when the statement runs, as Redshift does
    # the query is a string literal: its identifiers are folded here, as the statement's were
    return dataclasses.replace(command, query=render(case.fold(tokenize(command.query))))


def _copy_from_s3(sql: str) -> ParsedCopy | None:
    """Parse a COPY from S3; None for any other COPY (PostgreSQL runs it)."""
    if "s3://" not in sql.lower():
        return None
    try:
        return parse_copy(sql)
    except CopySyntaxError as err:
        return err  # a COPY the gateway must answer, with the syntax error


class LocalStatements:
    """The locally planned statements and portals of one session, and their execution."""

    def __init__(self, session: Session):
        self.session = session
        self.statements: dict[bytes, LocalPlan] = {}
        self.portals: dict[bytes, LocalPlan] = {}
        self._batch: list[tuple[bytes, bytes]] | None = None
        self._last_copy_count = 0

    # -- the extended protocol's messages up to Sync ------------------------------------------------

    @property
    def batching(self) -> bool:
        """Tell whether client messages are being collected until Sync."""
        return self._batch is not None

    def start_batch(self, kind: bytes, body: bytes) -> None:
        """Collect this message and the following ones until Sync."""
        self._batch = [(kind, body)]

    def add_to_batch(self, kind: bytes, body: bytes) -> bool:
        """Collect one more message; return True when it is the Sync that ends the batch."""
        assert self._batch is not None
        self._batch.append((kind, body))
        return kind == Frontend.SYNC

    def names_local(self, kind: bytes, body: bytes) -> bool:
        """Tell whether a Describe, Close or Execute names a locally planned statement or portal."""
        if kind in (Frontend.DESCRIBE, Frontend.CLOSE):
            names = self.statements if body[:1] == TARGET_STATEMENT else self.portals
            return body[:1] in (TARGET_STATEMENT, TARGET_PORTAL) and body[1:].rstrip(b"\x00") in names
        if kind == Frontend.EXECUTE:
            return body[: body.index(b"\x00")] in self.portals
        return False

    async def run_batch(self) -> None:
        """Answer the collected messages the way PostgreSQL would, running the plans they execute."""
        batch, self._batch = self._batch or [], None
        session = self.session
        failed = False
        async with session.captured():
            for kind, body in batch:
                if kind == Frontend.SYNC:
                    session.client_w.write(ready_for_query(session.txn_status))
                    break
                if failed or kind == Frontend.FLUSH:
                    continue
                if session.forwarded_since_sync:
                    error: PgError | None = PgError.make(
                        "the local Redshift cannot mix a COPY from S3 with other statements before one Sync",
                        "0A000",
                    )
                else:
                    error = await self._batch_step(kind, body)
                if error is not None:
                    session.client_w.write(error.encode())
                    failed = True
            await session.client_w.drain()

    async def _batch_step(self, kind: bytes, body: bytes) -> PgError | None:
        client = self.session.client_w
        if kind == Frontend.PARSE:
            plan = self.statements[parse_parse(body)[0]]
            if plan.error is not None:
                await self.raise_in_transaction(plan.error)
                return plan.error
            client.write(message(Backend.PARSE_COMPLETE))
        elif kind == Frontend.BIND:
            portal, statement, has_params = parse_bind_names(body)
            bound = self.statements.get(statement)
            if bound is None or has_params:
                return PgError.make(f'prepared statement "{statement.decode()}" does not exist', "26000")
            bound.result_formats = bind_result_formats(body)
            self.portals[portal] = bound
            client.write(message(Backend.BIND_COMPLETE))
        elif kind == Frontend.DESCRIBE:
            is_statement = body[:1] == TARGET_STATEMENT
            described = (self.statements if is_statement else self.portals)[body[1:].rstrip(b"\x00")]
            if is_statement:
                client.write(message(Backend.PARAMETER_DESCRIPTION, struct.pack("!h", 0)))
            self.session.relay(*await self._describe_last(described))  # in the negotiated protocol's form
        elif kind == Frontend.CLOSE:
            names = self.statements if body[:1] == TARGET_STATEMENT else self.portals
            names.pop(body[1:].rstrip(b"\x00"), None)
            client.write(message(Backend.CLOSE_COMPLETE))
        elif kind == Frontend.EXECUTE:
            error, tag = await self._execute_plan(self.portals[body[: body.index(b"\x00")]])
            if error is not None:
                return error
            client.write(command_complete(tag))
        else:
            return PgError.make(f"unexpected message {kind!r} for a local statement", "08P01")
        return None

    # -- execution ----------------------------------------------------------------------------------

    async def run_simple(self, plan: LocalPlan) -> None:
        """Run a plan for a simple Query: each statement's results go to the client, then ReadyForQuery."""
        session = self.session
        assert session.upstream is not None
        async with session.captured():
            for index, statement in enumerate(plan.statements):
                if index in plan.copies:
                    error = await self._run_copy(plan.copies[index], plan.statements[index])
                elif index in plan.unloads:
                    error = await self._run_unload(plan.unloads[index])
                    if error is None:
                        session.client_w.write(command_complete("UNLOAD"))
                elif index in plan.appends:
                    error = await self._run_append(plan.appends[index])
                    if error is None:
                        session.client_w.write(command_complete("ALTER TABLE"))
                else:
                    _, _, error = await session.upstream.query(statement, relay=session.relay)
                if error is not None:
                    if index in plan.copies or index in plan.unloads or index in plan.appends:
                        session.client_w.write(error.encode())
                    break
            session.client_w.write(ready_for_query(session.txn_status))
            await session.client_w.drain()

    async def _execute_plan(self, plan: LocalPlan) -> tuple[PgError | None, str]:
        upstream = self.session.upstream
        assert upstream is not None
        tag = ""
        for index, statement in enumerate(plan.statements):
            if index in plan.copies:
                error = await self._run_copy(plan.copies[index], plan.statements[index])
                tag = f"COPY {self._last_copy_count}"
            elif index in plan.unloads:
                error = await self._run_unload(plan.unloads[index])
                tag = "UNLOAD"
            elif index in plan.appends:
                error = await self._run_append(plan.appends[index])
                tag = "ALTER TABLE"
            elif index == len(plan.statements) - 1:
                # like Redshift, a multi-statement string returns the rows of its last statement
                self.session.result_types.portal(bind_formats(plan.result_formats))
                tag, error = await upstream.rows(statement, plan.result_formats, self.session.relay)
            else:
                _, tag, error = await upstream.query(statement)
            if error is not None:
                return error, tag
        return None, tag

    async def _describe_last(self, plan: LocalPlan) -> tuple[bytes, bytes]:
        """Return the RowDescription (or NoData) of a multi-statement string's last statement."""
        last = len(plan.statements) - 1
        if (
            not plan.statements
            or last in plan.copies
            or last in plan.unloads
            or last in plan.appends
            or self.session.txn_status == TransactionStatus.FAILED
        ):
            return Backend.NO_DATA, b""
        assert self.session.upstream is not None
        return await self.session.upstream.describe(plan.statements[last])

    async def raise_in_transaction(self, error: PgError) -> None:
        """Put an open upstream transaction in the failed state, as the error would in Redshift."""
        upstream = self.session.upstream
        if upstream is not None and upstream.txn_status == TransactionStatus.IN_TRANSACTION:
            text = quote_literal(error.message[:900])
            await upstream.query(
                f"DO $gateway$ BEGIN RAISE EXCEPTION USING MESSAGE = {text}, ERRCODE = 'XX000'; END $gateway$"
            )

    async def _run_copy(self, parsed: ParsedCopy, text: str) -> PgError | None:
        runner = CopyRunner(self.session, parsed, text)
        error = await runner.run()
        self._last_copy_count = runner.rows_loaded
        if error is not None and self.session.txn_status != TransactionStatus.FAILED:
            await self.raise_in_transaction(error)
        return error

    async def _run_append(self, command: AppendCommand) -> PgError | None:
        """Run ALTER TABLE APPEND, which Redshift refuses inside a transaction block (it commits at once)."""
        upstream = self.session.upstream
        assert upstream is not None
        if upstream.txn_status == TransactionStatus.IN_TRANSACTION:
            refused = PgError.make(IN_TRANSACTION_BLOCK, "25001")
            await self.raise_in_transaction(refused)
            return refused
        _, _, error = await upstream.query(command.sql())
        return error

    async def _run_unload(self, parsed: ParsedUnload) -> PgError | None:
        error = await UnloadRunner(self.session, parsed).run()
        if error is not None and self.session.txn_status != TransactionStatus.FAILED:
            await self.raise_in_transaction(error)
        return error


__all__ = ["LocalPlan", "LocalStatementError", "LocalStatements", "plan_statements"]
