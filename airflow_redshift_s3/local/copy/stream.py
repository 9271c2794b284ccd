"""Turn the S3 objects of a Redshift COPY into the input of a PostgreSQL ``COPY ... FROM STDIN``.

Three ways through, chosen once per COPY by :func:`build_copy_stream`:

* pass-through (TEXT and CSV whose options PostgreSQL can express): the bytes go to PostgreSQL as they
  are, after per-file header skipping, decompression and, for TEXT, byte-level escaping; no Python parsing
  per row. PostgreSQL reports the bad rows.
* row by row (TEXT/CSV options PostgreSQL cannot express, MAXERROR > 0, JSON): Python parses each row,
  applies Redshift's rules (EMPTYASNULL, DATEFORMAT, TRUNCATECOLUMNS, ...), records the bad rows like
  STL_LOAD_ERRORS and re-emits PostgreSQL TEXT (one row per line, so line numbers stay exact).
* columnar (PARQUET, ORC): pyarrow reads the object spooled to a temporary file; columns are matched by
  position, as Redshift does, and converted to PostgreSQL TEXT batch by batch.

Memory stays flat: objects are read in chunks of at most 1 MiB and nothing is kept per row. Line numbers
that PostgreSQL reports are mapped back to (file, line) by :meth:`CopyStream.locate`, which re-reads the
one object concerned.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow_redshift_s3.local.copy.formats.base import Converter, ErrorLog, Span
from airflow_redshift_s3.local.copy.formats.columnar import ColumnarConverter
from airflow_redshift_s3.local.copy.formats.csv import CsvPassThrough
from airflow_redshift_s3.local.copy.formats.delimited import DelimitedConverter
from airflow_redshift_s3.local.copy.formats.fixedwidth import FixedWidthConverter
from airflow_redshift_s3.local.copy.formats.json import JsonConverter, json_paths
from airflow_redshift_s3.local.copy.formats.text import TextPassThrough
from airflow_redshift_s3.local.copy.limits import MAX_CHUNK, MAX_RAW_LINE, MAX_REASON, MIN_CHUNK
from airflow_redshift_s3.local.copy.model import (
    NUMBER_LABELS,
    LoadError,
    LoadErrorRecord,
    LoadFailed,
    ObjectOpener,
    RowLocation,
    S3ObjectRef,
    TableColumn,
    target_columns,
    visible,
)
from airflow_redshift_s3.local.copy.reading import Source
from airflow_redshift_s3.local.copy.values import ColumnPlan, bad_position, bad_value_reason
from airflow_redshift_s3.local.sql.copy_command import COLUMNAR_FORMATS, CopyCommand

_PG_TEXT_FORBIDDEN_DELIMITERS = "\\.abcdefghijklmnopqrstuvwxyz0123456789\r\n"


def build_copy_stream(
    cmd: CopyCommand, columns: list[TableColumn], objects: list[S3ObjectRef], open_object: ObjectOpener
) -> CopyStream:
    """Prepare the PostgreSQL COPY input for ``cmd``; no data object is read until ``chunks()``.

    :param cmd: the parsed COPY.
    :param columns: the target columns in load order (the column list's, or the table's).
    :param objects: the objects from :func:`resolve_objects`.
    :param open_object: returns a streaming body (read in chunks) for an object.
    :raises LoadError: the format or an option cannot be loaded, or the JSONPaths file is unusable.
    """
    targets = target_columns(cmd, columns)
    if cmd.format == "avro":
        raise LoadError("AVRO format is not supported by the local Redshift stack; use CSV, JSON or PARQUET")
    if cmd.compression == "lzop":
        raise LoadError(
            "LZOP compression is not supported by the local Redshift stack; use GZIP, BZIP2 or ZSTD"
        )
    plans = [ColumnPlan.make(column, cmd) for column in targets]
    source = Source(cmd, open_object)
    converter: Converter
    if cmd.format in COLUMNAR_FORMATS:
        converter = ColumnarConverter(cmd, plans, source)
    elif cmd.fixedwidth is not None:
        if len(cmd.fixedwidth) != len(plans):
            raise LoadError(
                f"FIXEDWIDTH spec has {len(cmd.fixedwidth)} columns but {len(plans)} are loaded: give one "
                "label:width pair per column of the table (or of the column list), in order",
                sqlstate="42601",
            )
        converter = FixedWidthConverter(cmd, plans, source)
    elif cmd.format == "json":
        converter = JsonConverter(cmd, plans, source, json_paths(cmd, len(plans), open_object))
    elif _pass_through_text(cmd, plans):
        converter = TextPassThrough(cmd, plans, source)
    elif _pass_through_csv(cmd):
        converter = CsvPassThrough(cmd, plans, source)
    else:
        converter = DelimitedConverter(cmd, plans, source)
    return CopyStream(cmd, targets, list(objects), converter)


class CopyStream:
    """The PostgreSQL side of one COPY: its options, its columns and its data.

    ``pg_copy_options`` is the text inside ``WITH (...)`` of ``COPY <table> (<pg_columns>) FROM STDIN``;
    ``chunks()`` yields the data; ``errors`` holds the first bad rows found in Python (``error_count``
    counts them all) whether or not the load goes on.
    """

    def __init__(
        self, cmd: CopyCommand, columns: list[TableColumn], objects: list[S3ObjectRef], converter: Converter
    ):
        self.cmd = cmd
        self.columns = columns
        self.objects = objects
        self.pg_columns = [c.name for c in columns]
        self.pg_copy_options = converter.pg_options
        self._converter = converter
        self._log = ErrorLog(cmd.table, cmd.maxerror)
        self._spans: list[Span] = []
        self._started = False

    @property
    def errors(self) -> list[LoadErrorRecord]:
        """Return the bad rows recorded so far (at most the first 100)."""
        return self._log.records

    @property
    def error_count(self) -> int:
        """Return how many bad rows were found in Python so far."""
        return self._log.count

    @property
    def mode(self) -> str:
        """Return which way the data goes: ``pass-through``, ``row-by-row`` or ``columnar``."""
        return self._converter.kind

    def chunks(self) -> Iterator[bytes]:
        """Yield the PostgreSQL COPY input in pieces of 64 KiB to 1 MiB (the last one may be smaller).

        :raises LoadFailed: more bad rows than MAXERROR.
        :raises LoadError: an object cannot be read or decompressed.
        """
        if self._started:
            raise RuntimeError("CopyStream.chunks() can be consumed only once")
        self._started = True
        out = bytearray()
        line = self._converter.first_line - 1
        for ref in self.objects:
            span = Span(ref, first_line=line + 1)
            self._spans.append(span)
            for piece, lines in self._converter.stream_file(ref, self._log):
                span.lines += lines
                line += lines
                out += piece
                while len(out) >= MIN_CHUNK:
                    size = min(len(out), MAX_CHUNK)
                    yield bytes(out[:size])
                    del out[:size]
        if out:
            yield bytes(out)

    def locate(self, stream_line: int) -> RowLocation | None:
        """Map a line number PostgreSQL reported for this stream to the object, line and text it came from.

        Re-reads the one object concerned; call it only for errors.
        """
        for span in self._spans:
            if span.first_line <= stream_line < span.first_line + span.lines:
                wanted = stream_line - span.first_line + 1
                seen = 0
                for line_number, raw, lines in self._converter.scan_file(span.ref):
                    seen += lines
                    if lines and seen >= wanted:
                        return RowLocation(span.ref.url, line_number, visible(raw)[:MAX_RAW_LINE])
                return RowLocation(span.ref.url, 0, "")
        return None

    def column(self, name: str | None) -> TableColumn | None:
        """Return the target column called ``name``, if any."""
        for column in self.columns:
            if column.name == name:
                return column
        return None

    def check_error_limit(self, postgres_skipped: int = 0) -> None:
        """Raise LoadFailed when the rows skipped here and by PostgreSQL together exceed MAXERROR."""
        if self._log.count + postgres_skipped > self.cmd.maxerror:
            raise LoadFailed(self.cmd.table, list(self._log.records), self._log.count + postgres_skipped)


# -- PostgreSQL errors ---------------------------------------------------------------------------------


def record_from_postgres_error(
    stream: CopyStream, line: int, column: str | None, value: str | None, error: Any = None
) -> LoadErrorRecord:
    """Build the STL_LOAD_ERRORS row for a row PostgreSQL rejected (or skipped with ON_ERROR ignore).

    :param stream: the stream the COPY read.
    :param line: the line number of PostgreSQL's context (``COPY t, line N, ...``).
    :param column: the column of the context, if any.
    :param value: the value (or raw line) of the context, if any.
    :param error: the ErrorResponse (with ``code`` and ``message``), or None for a skipped-row notice.
    """
    location = stream.locate(line) if line else None
    target = stream.column(column)
    if error is None:
        code, reason = bad_value_reason(target, value or "")
    else:
        code, reason = map_postgres_error(str(error.code), str(error.message), target, value)
    position = bad_position(value or "") if code == 1207 else 0
    return LoadErrorRecord(
        file_url=location.file_url if location else "",
        line_number=location.line_number if location else line,
        column_name=column or "",
        column_type=target.short_type if target else "",
        column_length=str(target.char_length or 0) if target else "",
        position=position,
        raw_line=location.raw_line if location else "",
        raw_field_value=(value or "")[:MAX_RAW_LINE] if column else "",
        err_code=code,
        err_reason=reason[:MAX_REASON],
    )


def map_postgres_error(
    sqlstate: str, message: str, column: TableColumn | None, value: str | None
) -> tuple[int, str]:
    """Map a PostgreSQL COPY error to Redshift's load error code and reason."""
    value = value or ""
    if sqlstate in ("22P02", "22P03"):
        return bad_value_reason(column, value)
    if sqlstate == "22003":
        kind = column.short_type if column else ""
        if kind in ("int2", "int4", "int8"):
            return 1222, f"Overflow, Value '{value}' out of range for type {NUMBER_LABELS[kind]}"
        return 1204, f"Numeric data overflow, Value '{value}'"
    if sqlstate in ("22007", "22008", "22009"):
        if column is not None and column.short_type == "date":
            return 1205, f"Invalid Date Format - {message}"
        return 1206, f"Invalid timestamp format or value - {message}"
    if sqlstate == "22001":
        return 1204, "String length exceeds DDL length"
    if sqlstate in ("22021", "22P05"):
        return 1220, "String contains invalid or unsupported UTF8 codepoints"
    if sqlstate == "23502":
        return 1213, "Missing data for not-null field"
    if sqlstate == "22P04":
        if message.startswith("extra data after last expected column"):
            return 1202, "Extra column(s) found"
        if message.startswith("missing data for column"):
            return 1214, "Delimiter not found"
        return 1216, f"Invalid input line: {message}"
    return 1200, f"Unknown parse error: {message}"


def _pass_through_text(cmd: CopyCommand, plans: list[ColumnPlan]) -> bool:
    if cmd.format != "text" or _needs_row_work(cmd) or cmd.removequotes:
        return False
    delimiter = cmd.delimiter or "|"
    null = "\\N" if cmd.null_as is None else cmd.null_as
    pg_null = null if cmd.escape else null.replace("\\", "\\\\")
    if delimiter in _PG_TEXT_FORBIDDEN_DELIMITERS or delimiter in pg_null:
        return False
    # PostgreSQL TEXT has one NULL string; Redshift also loads empty non-CHAR fields as NULL
    return null == "" or (all(p.is_char for p in plans) and not cmd.emptyasnull)


def _pass_through_csv(cmd: CopyCommand) -> bool:
    return cmd.format == "csv" and not _needs_row_work(cmd) and cmd.null_as in (None, "")


def _needs_row_work(cmd: CopyCommand) -> bool:
    return bool(
        cmd.blanksasnull
        or cmd.truncatecolumns
        or cmd.trimblanks
        or cmd.fillrecord
        or cmd.ignoreblanklines
        or cmd.maxerror > 0
        or cmd.dateformat not in (None, "auto")
        or cmd.timeformat not in (None, "auto")
    )
