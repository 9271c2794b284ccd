"""What every converter shares: the error log and the per-file interface, and the row-by-row base."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airflow_redshift_s3.local.copy.limits import MAX_ERROR_RECORDS, MAX_RAW_LINE, MAX_REASON, MIN_CHUNK
from airflow_redshift_s3.local.copy.model import (
    PG_TEXT_OPTIONS,
    SURROGATES,
    FieldError,
    LoadErrorRecord,
    LoadFailed,
    RowError,
    S3ObjectRef,
    visible,
)
from airflow_redshift_s3.local.copy.reading import Source
from airflow_redshift_s3.local.copy.values import ColumnPlan
from airflow_redshift_s3.local.sql.copy_command import CopyCommand

_PG_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


# -- converters ------------------------------------------------------------------------------------------


@dataclass
class Span:
    """Where one object's lines sit in the stream PostgreSQL sees."""

    ref: S3ObjectRef
    first_line: int
    lines: int = 0


class ErrorLog:
    """Count bad rows, keep the first ones, and fail the load past MAXERROR."""

    def __init__(self, table: str, maxerror: int | None):
        self.table = table
        self.maxerror = maxerror
        self.records: list[LoadErrorRecord] = []
        self.count = 0

    def add(self, record: LoadErrorRecord) -> None:
        """Record a bad row; raise LoadFailed once MAXERROR is exceeded."""
        self.count += 1
        if len(self.records) < MAX_ERROR_RECORDS:
            self.records.append(record)
        if self.maxerror is not None and self.count > self.maxerror:
            raise LoadFailed(self.table, list(self.records), self.count)


class Converter:
    """One way of turning objects into PostgreSQL COPY input."""

    kind = "pass-through"
    pg_options = PG_TEXT_OPTIONS
    first_line = 1

    def __init__(self, cmd: CopyCommand, plans: list[ColumnPlan], source: Source):
        self.cmd = cmd
        self.plans = plans
        self.source = source

    def stream_file(self, ref: S3ObjectRef, log: ErrorLog) -> Iterator[tuple[bytes, int]]:
        """Yield (data, number of PostgreSQL input lines in it) for one object."""
        raise NotImplementedError

    def scan_file(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, int]]:
        """Yield (line number in the object, raw text, PostgreSQL input lines) per row, for locate()."""
        raise NotImplementedError


class RowConverter(Converter):
    """A converter that parses rows in Python and emits PostgreSQL TEXT, one line per row."""

    kind = "row-by-row"

    def rows(self, ref: S3ObjectRef, log: ErrorLog) -> Iterator[tuple[int, str, bytes | None]]:
        """Yield (line number, raw text, PostgreSQL line or None when rejected) per source row."""
        raise NotImplementedError

    def stream_file(self, ref: S3ObjectRef, log: ErrorLog) -> Iterator[tuple[bytes, int]]:
        """Yield (PostgreSQL input, lines in it) for one object."""
        batch: list[bytes] = []
        size = 0
        for _, _, out in self.rows(ref, log):
            if out is not None:
                batch.append(out)
                size += len(out)
                if size >= MIN_CHUNK:
                    yield b"".join(batch), len(batch)
                    batch = []
                    size = 0
        if batch:
            yield b"".join(batch), len(batch)

    def scan_file(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, int]]:
        """Yield (line number, raw record, stream lines) of one object again, to locate a PostgreSQL error."""
        for number, raw, out in self.rows(ref, ErrorLog(self.cmd.table, None)):
            yield number, raw, 0 if out is None else 1

    def finish(self, fields: list[str | None], *, may_be_invalid: bool = True) -> bytes:
        """Apply each column's rules to the fields and render the PostgreSQL TEXT line."""
        values: list[str] = []
        for index, (plan, text) in enumerate(zip(self.plans, fields, strict=True)):
            if text is None:
                values.append("\\N")
                continue
            if may_be_invalid and SURROGATES.search(text):
                if self.cmd.acceptinvchars is None:
                    raise RowError(
                        1220, "String contains invalid or unsupported UTF8 codepoints", index, visible(text)
                    )
                text = SURROGATES.sub(self.cmd.acceptinvchars, text)
            try:
                value = plan.value(text)
            except FieldError as err:
                raise RowError(err.code, err.reason, index, text, err.position) from None
            values.append("\\N" if value is None else value.translate(_PG_TEXT_ESCAPES))
        return ("\t".join(values) + "\n").encode("utf-8")

    def reject(self, log: ErrorLog, ref: S3ObjectRef, number: int, raw: str, err: RowError) -> None:
        """Record a bad row the way STL_LOAD_ERRORS shows it."""
        plan = self.plans[err.column] if err.column is not None and err.column < len(self.plans) else None
        log.add(
            LoadErrorRecord(
                file_url=ref.url,
                line_number=number,
                column_name=plan.column.name if plan else "",
                column_type=plan.column.short_type if plan else "",
                column_length=str(plan.column.char_length or 0) if plan else "",
                position=err.position if plan else len(raw),
                raw_line=visible(raw)[:MAX_RAW_LINE],
                raw_field_value=visible(err.value)[:MAX_RAW_LINE],
                err_code=err.code,
                err_reason=err.reason[:MAX_REASON],
            )
        )

    def check_count(self, fields: list[Any], fill: object) -> list[Any]:
        """Check a row's field count against the columns; FILLRECORD pads a short row with ``fill``."""
        expected = len(self.plans)
        if len(fields) > expected:
            raise RowError(1202, "Extra column(s) found")
        if len(fields) < expected:
            if not self.cmd.fillrecord:
                raise RowError(1214, "Delimiter not found")
            fields = fields + [fill] * (expected - len(fields))
        return fields
