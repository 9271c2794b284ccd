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

import codecs
import contextlib
import csv
import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow_redshift_s3.local.copy_command import COLUMNAR_FORMATS, CopyCommand, datetime_format_parts

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "EMPTY_PREFIX_MESSAGE",
    "LOAD_FAILED_MESSAGE",
    "MANIFEST_ERROR_PREFIX",
    "CopyStream",
    "LoadError",
    "LoadErrorRecord",
    "LoadFailed",
    "RowLocation",
    "S3ObjectRef",
    "TableColumn",
    "build_copy_stream",
    "map_postgres_error",
    "record_from_postgres_error",
    "resolve_objects",
    "s3_error_message",
]

EMPTY_PREFIX_MESSAGE = "The specified S3 prefix '{prefix}' does not exist"
MANIFEST_ERROR_PREFIX = "Problem reading manifest file - "
LOAD_FAILED_MESSAGE = "Load into table '{table}' failed.  Check 'stl_load_errors' system table for details."
MIN_CHUNK = 64 * 1024
MAX_CHUNK = 1024 * 1024
READ_SIZE = 1024 * 1024
MAX_ERROR_RECORDS = 100
MAX_RAW_LINE = 1024
MAX_REASON = 100
MAX_JSON_OBJECT = 4 * 1024 * 1024
MAX_LINE = 4 * 1024 * 1024  # Redshift's maximum row size
MAX_SMALL_FILE = 16 * 1024 * 1024
ARROW_BATCH_ROWS = 8192

# PostgreSQL TEXT, which every row-by-row and columnar path emits: tab-separated, \N for NULL
PG_TEXT_OPTIONS = "FORMAT text, DELIMITER E'\\t', NULL E'\\\\N'"
_PG_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_PG_TEXT_FORBIDDEN_DELIMITERS = "\\.abcdefghijklmnopqrstuvwxyz0123456789\r\n"
_SURROGATES = re.compile("[\ud800-\udfff]")
_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_RESYNC = re.compile(r"\n(?=[ \t\r]*[\[{])")
_ESCAPED_TEXT = re.compile(rb"\\(.)|\r", re.S)
_LITERAL_AFTER_BACKSLASH = frozenset(b"bfnrtvx01234567.")

_CHAR_TYPES = frozenset(
    {"character varying", "varchar", "character", "char", "bpchar", "text", "name", "citext"}
)
_VARCHAR_TYPES = frozenset({"character varying", "varchar", "text", "citext"})
_SHORT_TYPES = {
    "smallint": "int2",
    "integer": "int4",
    "int": "int4",
    "bigint": "int8",
    "numeric": "numeric",
    "decimal": "numeric",
    "real": "float4",
    "double precision": "float8",
    "float": "float8",
    "boolean": "bool",
    "character varying": "varchar",
    "character": "char",
    "bpchar": "char",
    "date": "date",
    "timestamp without time zone": "timestamp",
    "timestamp": "timestamp",
    "timestamp with time zone": "timestamptz",
    "timestamptz": "timestamptz",
    "time without time zone": "time",
    "time with time zone": "timetz",
}
_NUMBER_LABELS = {"int2": "Short", "int4": "Integer", "int8": "Long", "numeric": "Decimal"}
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


# -- public types ---------------------------------------------------------------------------------------


class LoadError(Exception):
    """A COPY that fails as a whole; the message reads like Redshift's."""

    def __init__(self, message: str, *, sqlstate: str = "XX000"):
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


class LoadFailed(LoadError):
    """More bad rows than MAXERROR allows; ``records`` holds them for STL_LOAD_ERRORS."""

    def __init__(self, table: str, records: list[LoadErrorRecord], error_count: int):
        super().__init__(LOAD_FAILED_MESSAGE.format(table=table))
        self.table = table
        self.records = records
        self.error_count = error_count


@dataclass(frozen=True)
class TableColumn:
    """A target column as PostgreSQL describes it (``format_type`` text and character length)."""

    name: str
    type: str
    char_length: int | None = None

    @property
    def base_type(self) -> str:
        """Return the type name without modifiers: ``character varying`` for ``character varying(10)``."""
        return " ".join(re.sub(r"\(.*?\)", " ", self.type.lower()).split())

    @property
    def is_char(self) -> bool:
        """Tell whether Redshift treats the column as CHAR/VARCHAR (EMPTYASNULL, BLANKSASNULL apply)."""
        return self.base_type in _CHAR_TYPES

    @property
    def short_type(self) -> str:
        """Return the short type name STL_LOAD_ERRORS shows (``int4``, ``varchar``, ...)."""
        base = self.base_type
        return _SHORT_TYPES.get(base, base.replace(" ", "")[:10])


@dataclass(frozen=True)
class S3ObjectRef:
    """One S3 object to load."""

    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None

    @property
    def url(self) -> str:
        """Return ``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class LoadErrorRecord:
    """One bad row, shaped like a row of STL_LOAD_ERRORS."""

    file_url: str
    line_number: int
    column_name: str
    column_type: str
    column_length: str
    position: int
    raw_line: str
    raw_field_value: str
    err_code: int
    err_reason: str


@dataclass(frozen=True)
class RowLocation:
    """Where a row of the PostgreSQL input stream came from."""

    file_url: str
    line_number: int
    raw_line: str


ObjectOpener = Callable[[S3ObjectRef], BinaryIO]


# -- resolving the objects -----------------------------------------------------------------------------


def resolve_objects(s3_client: Any, cmd: CopyCommand) -> list[S3ObjectRef]:
    """Return the objects a COPY loads: every key under the prefix, or the manifest's entries.

    :param s3_client: a boto3 S3 client.
    :param cmd: the parsed COPY.
    :raises LoadError: nothing matches the prefix, or the manifest is unreadable or lacks a mandatory file.
    """
    if cmd.manifest:
        return _manifest_objects(s3_client, cmd)
    return _prefix_objects(s3_client, cmd.bucket, cmd.key_prefix)


def s3_error_message(err: Exception) -> str:
    """Render a botocore ClientError the way Redshift reports S3 failures."""
    response = getattr(err, "response", None) or {}
    error = response.get("Error", {})
    code = str(error.get("Code", "")) or type(err).__name__
    message = error.get("Message") or ""
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in ("404", "NoSuchKey", "NotFound"):
        code, message = "NoSuchKey", message or "The specified key does not exist."
    elif code == "403":
        code, message = "AccessDenied", message or "Access Denied"
    return f"S3ServiceException:{message or str(err)},Status {status},Error {code}"


def _prefix_objects(s3_client: Any, bucket: str, prefix: str) -> list[S3ObjectRef]:
    refs: list[S3ObjectRef] = []
    try:
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                size = int(item.get("Size", 0))
                if key.endswith("/") and size == 0:
                    continue  # a "folder" placeholder, not data
                refs.append(S3ObjectRef(bucket, key, size, _etag(item.get("ETag"))))
    except Exception as err:
        if not hasattr(err, "response"):
            raise
        raise LoadError(s3_error_message(err)) from None
    if not refs:
        raise LoadError(EMPTY_PREFIX_MESSAGE.format(prefix=prefix))
    return refs


def _manifest_objects(s3_client: Any, cmd: CopyCommand) -> list[S3ObjectRef]:
    manifest = _read_manifest(s3_client, cmd)
    entries = manifest.get("entries") if isinstance(manifest, dict) else None
    if not isinstance(entries, list):
        raise LoadError(f'{MANIFEST_ERROR_PREFIX}{cmd.source} is not a JSON object with an "entries" array')
    columnar = cmd.format in COLUMNAR_FORMATS
    refs: list[S3ObjectRef] = []
    for number, entry in enumerate(entries, start=1):
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.strip().lower().startswith("s3://"):
            raise LoadError(f'{MANIFEST_ERROR_PREFIX}entry {number} has no "url" of the form s3://bucket/key')
        bucket, _, key = url.strip()[5:].partition("/")
        if not bucket or not key or key.endswith("/"):
            raise LoadError(
                f"{MANIFEST_ERROR_PREFIX}COPY with MANIFEST parameter requires full path of an S3 object: "
                f"{url}"
            )
        mandatory = entry.get("mandatory", False)
        if not isinstance(mandatory, bool):
            raise LoadError(f'{MANIFEST_ERROR_PREFIX}"mandatory" of {url} must be true or false')
        meta = entry.get("meta")
        content_length = meta.get("content_length") if isinstance(meta, dict) else None
        if columnar and (not isinstance(content_length, int) or isinstance(content_length, bool)):
            raise LoadError(
                f'{MANIFEST_ERROR_PREFIX}entry {url} needs "meta": {{"content_length": <bytes>}} '
                f"for a {cmd.format.upper()} COPY"
            )
        try:
            head = s3_client.head_object(Bucket=bucket, Key=key)
        except Exception as err:
            if not hasattr(err, "response"):
                raise
            if _is_not_found(err):
                if mandatory:
                    raise LoadError(
                        f"{MANIFEST_ERROR_PREFIX}{url} is mandatory in the manifest but does not exist"
                    ) from None
                continue
            raise LoadError(s3_error_message(err)) from None
        size = int(head.get("ContentLength", 0))
        if columnar and content_length != size:
            raise LoadError(
                f"{MANIFEST_ERROR_PREFIX}meta.content_length {content_length} of {url} does not match "
                f"the object's size {size}"
            )
        refs.append(S3ObjectRef(bucket, key, size, _etag(head.get("ETag"))))
    return refs


def _read_manifest(s3_client: Any, cmd: CopyCommand) -> object:
    try:
        body = s3_client.get_object(Bucket=cmd.bucket, Key=cmd.key_prefix)["Body"]
        try:
            data = _read_small(body, cmd.source)
        finally:
            body.close()
    except LoadError as err:
        raise LoadError(MANIFEST_ERROR_PREFIX + err.message) from None
    except Exception as err:
        if not hasattr(err, "response"):
            raise
        raise LoadError(MANIFEST_ERROR_PREFIX + s3_error_message(err)) from None
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as err:
        raise LoadError(f"{MANIFEST_ERROR_PREFIX}{cmd.source} is not valid JSON: {err}") from None


def _is_not_found(err: Exception) -> bool:
    response = getattr(err, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket") or status == 404


def _etag(value: object) -> str | None:
    return str(value).strip('"') if value else None


def _read_small(body: BinaryIO, url: str) -> bytes:
    parts: list[bytes] = []
    total = 0
    while chunk := body.read(READ_SIZE):
        total += len(chunk)
        if total > MAX_SMALL_FILE:
            raise LoadError(f"{url} is larger than {MAX_SMALL_FILE} bytes")
        parts.append(chunk)
    return b"".join(parts)


# -- building the stream --------------------------------------------------------------------------------


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
    targets = _target_columns(cmd, columns)
    if cmd.format == "avro":
        raise LoadError("AVRO format is not supported by the local Redshift stack; use CSV, JSON or PARQUET")
    if cmd.compression == "lzop":
        raise LoadError(
            "LZOP compression is not supported by the local Redshift stack; use GZIP, BZIP2 or ZSTD"
        )
    plans = [_ColumnPlan.make(column, cmd) for column in targets]
    source = _Source(cmd, open_object)
    converter: _Converter
    if cmd.format in COLUMNAR_FORMATS:
        converter = _ColumnarConverter(cmd, plans, source)
    elif cmd.format == "json":
        converter = _JsonConverter(cmd, plans, source, _json_paths(cmd, len(plans), open_object))
    elif _pass_through_text(cmd, plans):
        converter = _TextPassThrough(cmd, plans, source)
    elif _pass_through_csv(cmd):
        converter = _CsvPassThrough(cmd, plans, source)
    else:
        converter = _DelimitedConverter(cmd, plans, source)
    return CopyStream(cmd, targets, list(objects), converter)


class CopyStream:
    """The PostgreSQL side of one COPY: its options, its columns and its data.

    ``pg_copy_options`` is the text inside ``WITH (...)`` of ``COPY <table> (<pg_columns>) FROM STDIN``;
    ``chunks()`` yields the data; ``errors`` holds the first bad rows found in Python (``error_count``
    counts them all) whether or not the load goes on.
    """

    def __init__(
        self, cmd: CopyCommand, columns: list[TableColumn], objects: list[S3ObjectRef], converter: _Converter
    ):
        self.cmd = cmd
        self.columns = columns
        self.objects = objects
        self.pg_columns = [c.name for c in columns]
        self.pg_copy_options = converter.pg_options
        self._converter = converter
        self._log = _ErrorLog(cmd.table, cmd.maxerror)
        self._spans: list[_Span] = []
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
            span = _Span(ref, first_line=line + 1)
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
                        return RowLocation(span.ref.url, line_number, _visible(raw)[:MAX_RAW_LINE])
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
        code, reason = _bad_value_reason(target, value or "")
    else:
        code, reason = map_postgres_error(str(error.code), str(error.message), target, value)
    position = _bad_position(value or "") if code == 1207 else 0
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
        return _bad_value_reason(column, value)
    if sqlstate == "22003":
        kind = column.short_type if column else ""
        if kind in ("int2", "int4", "int8"):
            return 1222, f"Overflow, Value '{value}' out of range for type {_NUMBER_LABELS[kind]}"
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


def _bad_value_reason(column: TableColumn | None, value: str) -> tuple[int, str]:
    kind = column.short_type if column else ""
    if kind in _NUMBER_LABELS:
        position = _bad_position(value)
        shown = value[position : position + 1]
        return 1207, f"Invalid digit, Value '{shown}', Pos {position}, Type: {_NUMBER_LABELS[kind]}"
    if kind in ("float4", "float8"):
        return 1208, f"Invalid float value '{value}'"
    if kind == "bool":
        return 1210, f"Invalid boolean value '{value}'"
    if kind == "date":
        return 1205, f"Invalid Date Format - value '{value}'"
    if kind in ("timestamp", "timestamptz", "time", "timetz"):
        return 1206, f"Invalid timestamp format or value '{value}'"
    if column is not None and column.is_char:
        return 1204, "String length exceeds DDL length"
    return 1200, f"Unknown parse error, Value '{value}'"


def _bad_position(value: str) -> int:
    for position, char in enumerate(value):
        if not (char.isdigit() or (position == 0 and char in "+-") or char in ". "):
            return position
    return 0


# -- per-column rules -----------------------------------------------------------------------------------


class _FieldError(Exception):
    def __init__(self, code: int, reason: str, position: int = 0):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.position = position


class _RowError(Exception):
    def __init__(self, code: int, reason: str, column: int | None = None, value: str = "", position: int = 0):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.column = column
        self.value = value
        self.position = position


@dataclass
class _ColumnPlan:
    """What Redshift does to a value before it reaches the column."""

    column: TableColumn
    is_char: bool
    is_varchar: bool
    length: int | None
    convert: Callable[[str], str] | None
    emptyasnull: bool
    blanksasnull: bool
    trimblanks: bool
    truncate: bool

    @classmethod
    def make(cls, column: TableColumn, cmd: CopyCommand) -> _ColumnPlan:
        base = column.base_type
        convert = None
        if base == "date":
            convert = _datetime_converter(cmd.dateformat, "date")
        elif base in ("timestamp without time zone", "timestamp"):
            convert = _datetime_converter(cmd.timeformat, "timestamp")
        elif base in ("timestamp with time zone", "timestamptz"):
            convert = _datetime_converter(cmd.timeformat, "timestamptz")
        is_char = column.is_char
        return cls(
            column=column,
            is_char=is_char,
            is_varchar=base in _VARCHAR_TYPES,
            length=column.char_length if is_char else None,
            convert=convert,
            emptyasnull=cmd.emptyasnull or cmd.null_as == "",
            blanksasnull=cmd.blanksasnull,
            trimblanks=cmd.trimblanks,
            truncate=cmd.truncatecolumns,
        )

    def value(self, text: str) -> str | None:
        """Apply Redshift's empty, blank, datetime and length rules; raise _FieldError for a bad value."""
        if self.trimblanks and self.is_varchar:
            text = text.rstrip()
        if text == "":
            return None if (self.emptyasnull or not self.is_char) else ""
        if (not self.is_char or self.blanksasnull) and text.isspace():
            return None
        if self.convert is not None:
            text = self.convert(text)
        if self.length is not None and len(text) > self.length:
            if self.truncate:
                text = text[: self.length]
            elif text[self.length :].strip(" "):
                raise _FieldError(1204, "String length exceeds DDL length", self.length)
        return text


def _datetime_converter(fmt: str | None, kind: str) -> Callable[[str], str] | None:
    """Return a parser of ``fmt`` values rendering ISO text, or None to let PostgreSQL parse."""
    if fmt is None or fmt == "auto":
        return None
    code, label = (
        (1205, "Invalid Date Format") if kind == "date" else (1206, "Invalid timestamp format or value")
    )
    suffix = "+00" if kind == "timestamptz" else ""
    if fmt in ("epochsecs", "epochmillisecs"):
        scale = 1 if fmt == "epochsecs" else 1000

        def from_epoch(text: str) -> str:
            try:
                moment = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=float(Decimal(text.strip()) / scale))
            except (ArithmeticError, ValueError, OverflowError):
                raise _FieldError(code, f"{label} [{fmt}]") from None
            return moment.isoformat(sep=" ") + suffix

        return from_epoch

    pattern = _datetime_regex(fmt, kind)

    def parse(text: str) -> str:
        match = pattern.fullmatch(text.strip())
        if match is None:
            raise _FieldError(code, f"{label} [{fmt}]")
        try:
            moment = _moment(match.groupdict())
        except (ValueError, KeyError):
            raise _FieldError(code, f"{label} [{fmt}]") from None
        if kind == "date":
            return moment.date().isoformat()
        return moment.isoformat(sep=" ") + (match.group("tz") or suffix if kind == "timestamptz" else "")

    return parse


def _datetime_regex(fmt: str, kind: str) -> re.Pattern[str]:
    groups = {
        "YYYY": r"(?P<Y>\d{4})",
        "YY": r"(?P<y>\d{2})",
        "MM": r"(?P<m>\d{1,2})",
        "MON": r"(?P<b>[A-Za-z]{3,9})",
        "MONTH": r"(?P<b>[A-Za-z]{3,9})",
        "DD": r"(?P<d>\d{1,2})",
        "HH": r"(?P<H>\d{1,2})",
        "HH24": r"(?P<H>\d{1,2})",
        "HH12": r"(?P<I>\d{1,2})",
        "MI": r"(?P<M>\d{1,2})",
        "SS": r"(?P<S>\d{1,2})(?:\.(?P<f>\d{1,6}))?",
        "AM": r"(?P<p>[AaPp]\.?[Mm]\.?)",
        "PM": r"(?P<p>[AaPp]\.?[Mm]\.?)",
    }
    body = []
    for part in datetime_format_parts(fmt):
        if part.upper() in groups and len(part) > 1:
            body.append(groups[part.upper()])
        elif part.isspace():
            body.append(r"\s+")
        else:
            body.append(re.escape(part))
    tail = ""
    if kind == "date":
        tail = r"(?:[\sT].*)?"  # Redshift ignores a time after the date
    elif kind == "timestamptz":
        tail = r"\s*(?P<tz>Z|[+-]\d{1,2}(?::?\d{2})?)?"
    return re.compile("".join(body) + tail, re.S)


def _moment(parts: dict[str, str | None]) -> dt.datetime:
    if parts.get("Y"):
        year = int(parts["Y"] or 0)
    else:
        short = int(parts.get("y") or 0)
        year = 2000 + short if short < 70 else 1900 + short
    month = _MONTHS[(parts["b"] or "").lower()] if parts.get("b") else int(parts.get("m") or 1)
    day = int(parts.get("d") or 1)
    hour = int(parts.get("H") or parts.get("I") or 0)
    meridiem = (parts.get("p") or "").lower().replace(".", "")
    if parts.get("I") or meridiem:
        if not 1 <= hour <= 12:
            raise ValueError("hour out of range for a 12-hour clock")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    micro = int(((parts.get("f") or "") + "000000")[:6])
    return dt.datetime(year, month, day, hour, int(parts.get("M") or 0), int(parts.get("S") or 0), micro)


# -- reading objects -------------------------------------------------------------------------------------


class _Source:
    """Open, decompress, repair and de-header the bytes of an object."""

    def __init__(self, cmd: CopyCommand, open_object: ObjectOpener):
        self.cmd = cmd
        self.open_object = open_object

    def raw(self, ref: S3ObjectRef, compression: str | None) -> Iterator[bytes]:
        try:
            body = self.open_object(ref)
        except LoadError:
            raise
        except Exception as err:
            raise LoadError(_read_failure(ref, err)) from None
        try:
            reader = _decompressing_reader(body, compression)
            while True:
                try:
                    chunk = reader.read(READ_SIZE)
                except LoadError:
                    raise
                except Exception as err:
                    if hasattr(err, "response") or compression is None:
                        raise LoadError(_read_failure(ref, err)) from None
                    raise LoadError(
                        f"Failed to decompress {ref.url} as {compression.upper()}: {err}. "
                        f"Check that the file is {compression.upper()}-compressed."
                    ) from None
                if not chunk:
                    return
                yield chunk
        finally:
            with contextlib.suppress(Exception):
                body.close()

    def data(self, ref: S3ObjectRef, *, fix_utf8: bool) -> Iterator[bytes]:
        chunks: Iterable[bytes] = self.raw(ref, self.cmd.compression)
        if fix_utf8 and self.cmd.acceptinvchars:
            chunks = _replace_invalid_utf8(chunks, self.cmd.acceptinvchars)
        if self.cmd.ignoreheader:
            chunks = _skip_lines(chunks, self.cmd.ignoreheader)
        return iter(chunks)


def _read_failure(ref: S3ObjectRef, err: Exception) -> str:
    if hasattr(err, "response"):
        return s3_error_message(err)
    return f"S3ServiceException:{type(err).__name__}: {err} while reading {ref.url}"


def _decompressing_reader(body: BinaryIO, compression: str | None) -> Any:
    if compression is None:
        return body
    if compression == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=body, mode="rb")
    if compression == "bzip2":
        import bz2

        return bz2.BZ2File(body, mode="rb")
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(body, read_size=READ_SIZE, read_across_frames=True)
    raise LoadError(f"{compression.upper()} compression is not supported by the local Redshift stack")


def _replace_invalid_utf8(chunks: Iterable[bytes], replacement: str) -> Iterator[bytes]:
    """Replace each byte of invalid UTF-8 with ``replacement`` (ACCEPTINVCHARS), keeping byte lengths."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    table = _replacement_table(replacement)
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            yield text.translate(table).encode("utf-8")
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.translate(table).encode("utf-8")


def _replacement_table(replacement: str) -> dict[int, str]:
    return {code: replacement for code in range(0xD800, 0xE000)}


def _skip_lines(chunks: Iterable[bytes], count: int) -> Iterator[bytes]:
    iterator = iter(chunks)
    remaining = count
    for chunk in iterator:
        while remaining and chunk:
            end = chunk.find(b"\n")
            chunk = b"" if end < 0 else chunk[end + 1 :]
            remaining -= 0 if end < 0 else 1
        if not remaining:
            if chunk:
                yield chunk
            yield from iterator
            return


def _split_lines(chunks: Iterable[bytes], url: str = "") -> Iterator[bytes]:
    """Yield the lines of a byte stream, each with its LF (the last one may lack it)."""
    pending: list[bytes] = []
    pending_size = 0
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start : end + 1]
            if pending:
                pending.append(piece)
                piece = b"".join(pending)
                pending.clear()
                pending_size = 0
            yield piece
            start = end + 1
        if start < len(chunk):
            pending.append(chunk[start:])
            pending_size += len(chunk) - start
            if pending_size > MAX_LINE:
                raise LoadError(
                    f"Line too long: {url or 'an object'} has a line longer than {MAX_LINE} bytes"
                )
    if pending:
        yield b"".join(pending)


# -- converters ------------------------------------------------------------------------------------------


@dataclass
class _Span:
    ref: S3ObjectRef
    first_line: int
    lines: int = 0


class _ErrorLog:
    """Count bad rows, keep the first ones, and fail the load past MAXERROR."""

    def __init__(self, table: str, maxerror: int | None):
        self.table = table
        self.maxerror = maxerror
        self.records: list[LoadErrorRecord] = []
        self.count = 0

    def add(self, record: LoadErrorRecord) -> None:
        self.count += 1
        if len(self.records) < MAX_ERROR_RECORDS:
            self.records.append(record)
        if self.maxerror is not None and self.count > self.maxerror:
            raise LoadFailed(self.table, list(self.records), self.count)


class _Converter:
    """One way of turning objects into PostgreSQL COPY input."""

    kind = "pass-through"
    pg_options = PG_TEXT_OPTIONS
    first_line = 1

    def __init__(self, cmd: CopyCommand, plans: list[_ColumnPlan], source: _Source):
        self.cmd = cmd
        self.plans = plans
        self.source = source

    def stream_file(self, ref: S3ObjectRef, log: _ErrorLog) -> Iterator[tuple[bytes, int]]:
        """Yield (data, number of PostgreSQL input lines in it) for one object."""
        raise NotImplementedError

    def scan_file(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, int]]:
        """Yield (line number in the object, raw text, PostgreSQL input lines) per row, for locate()."""
        raise NotImplementedError


def _pass_through_text(cmd: CopyCommand, plans: list[_ColumnPlan]) -> bool:
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


class _TextPassThrough(_Converter):
    """Redshift TEXT to PostgreSQL TEXT at byte level: backslashes and carriage returns become escapes."""

    def __init__(self, cmd: CopyCommand, plans: list[_ColumnPlan], source: _Source):
        super().__init__(cmd, plans, source)
        null = "\\N" if cmd.null_as is None else cmd.null_as
        pg_null = null if cmd.escape else null.replace("\\", "\\\\")
        self.pg_options = (
            f"FORMAT text, DELIMITER {_pg_literal(cmd.delimiter or '|')}, NULL {_pg_literal(pg_null)}"
        )

    def stream_file(self, ref: S3ObjectRef, log: _ErrorLog) -> Iterator[tuple[bytes, int]]:
        data = self.source.data(ref, fix_utf8=True)
        if not self.cmd.escape:
            last = b""
            for chunk in data:
                # without ESCAPE a backslash is data in Redshift, and only LF ends a row
                out = chunk.replace(b"\\", b"\\\\").replace(b"\r", b"\\r")
                if out:
                    last = out
                    yield out, out.count(b"\n")
            if last and not last.endswith(b"\n"):
                yield b"\n", 1
            return
        yield from self._escaped(data)

    def _escaped(self, data: Iterator[bytes]) -> Iterator[tuple[bytes, int]]:
        r"""Keep ESCAPE's meaning (the next character is literal) where PostgreSQL decodes ``\t`` & co."""
        carry = b""
        last = b""
        for chunk in data:
            chunk = carry + chunk
            trailing = len(chunk) - len(chunk.rstrip(b"\\"))
            carry = b""
            if trailing % 2:
                chunk, carry = chunk[:-1], b"\\"
            out, escaped_newlines = _escape_text_chunk(chunk)
            if out:
                last = out
                yield out, out.count(b"\n") - escaped_newlines
        if carry:
            last = b"\\\\"
            yield last, 0
        if last and not _ends_with_unescaped_newline(last):
            yield b"\n", 1

    def scan_file(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, int]]:
        number = self.cmd.ignoreheader
        record: list[bytes] = []
        start = 0
        for line in _split_lines(self.source.data(ref, fix_utf8=True), ref.url):
            number += 1
            if not record:
                start = number
            record.append(line)
            if self.cmd.escape and _continues(line):
                continue
            yield start, _decode(b"".join(record)).rstrip("\n"), 1
            record = []
        if record:
            yield start, _decode(b"".join(record)).rstrip("\n"), 1


def _escape_text_chunk(chunk: bytes) -> tuple[bytes, int]:
    escaped_newlines = 0

    def replace(match: re.Match[bytes]) -> bytes:
        nonlocal escaped_newlines
        char = match.group(1)
        if char is None:
            return b"\\r"  # a bare CR is data in Redshift, a line end in PostgreSQL
        if char == b"\n":
            escaped_newlines += 1
            return match.group(0)
        if char[0] in _LITERAL_AFTER_BACKSLASH:
            return char
        return match.group(0)

    return _ESCAPED_TEXT.sub(replace, chunk), escaped_newlines


def _ends_with_unescaped_newline(data: bytes) -> bool:
    if not data.endswith(b"\n"):
        return False
    body = data[:-1]
    return (len(body) - len(body.rstrip(b"\\"))) % 2 == 0


def _continues(line: bytes) -> bool:
    if not line.endswith(b"\n"):
        return False
    body = line[:-1]
    return (len(body) - len(body.rstrip(b"\\"))) % 2 == 1


class _CsvPassThrough(_Converter):
    """Redshift CSV to PostgreSQL CSV as is; a dummy header line fixes PostgreSQL's line-ending detection."""

    first_line = 2  # line 1 is the dummy header

    def __init__(self, cmd: CopyCommand, plans: list[_ColumnPlan], source: _Source):
        super().__init__(cmd, plans, source)
        empty_is_null = cmd.emptyasnull or cmd.null_as == ""
        not_null = [p.column.name for p in plans if p.is_char and not empty_is_null]
        force_null = [p.column.name for p in plans if not p.is_char or empty_is_null]
        delimiter = _pg_literal(cmd.delimiter or ",")
        quote = _pg_literal(cmd.quote or '"')
        options = ["FORMAT csv", "HEADER true", f"DELIMITER {delimiter}", f"QUOTE {quote}", "NULL E''"]
        if not_null:
            options.append(f"FORCE_NOT_NULL ({', '.join(_quote_ident(n) for n in not_null)})")
        if force_null:
            options.append(f"FORCE_NULL ({', '.join(_quote_ident(n) for n in force_null)})")
        self.pg_options = ", ".join(options)
        self._header_sent = False

    def stream_file(self, ref: S3ObjectRef, log: _ErrorLog) -> Iterator[tuple[bytes, int]]:
        eol = b""
        pending: list[bytes] = []
        last = b""
        for chunk in self.source.data(ref, fix_utf8=True):
            if not eol:
                pending.append(chunk)
                end = chunk.find(b"\n")
                if end < 0 and sum(len(p) for p in pending) <= MAX_LINE:
                    continue
                joined = b"".join(pending)
                pending = []
                chunk = joined
                end = joined.find(b"\n")
                eol = b"\r\n" if end > 0 and joined[end - 1 : end] == b"\r" else b"\n"
                if not self._header_sent:
                    self._header_sent = True
                    yield eol, 0
            if chunk:
                last = chunk
                yield chunk, chunk.count(b"\n")
        if pending and any(pending):
            if not self._header_sent:
                self._header_sent = True
                yield b"\n", 0
            yield b"".join(pending) + b"\n", 1
        elif last and not last.endswith(b"\n"):
            yield eol, 1

    def scan_file(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, int]]:
        quote = (self.cmd.quote or '"').encode()
        number = self.cmd.ignoreheader
        record: list[bytes] = []
        start = 0
        in_quote = False
        for line in _split_lines(self.source.data(ref, fix_utf8=True), ref.url):
            number += 1
            if not record:
                start = number
            record.append(line)
            in_quote ^= line.count(quote) % 2 == 1  # PostgreSQL's line reader works the same way
            if not in_quote:
                yield start, _decode(b"".join(record)).rstrip("\r\n"), len(record)
                record = []
        if record:
            yield start, _decode(b"".join(record)).rstrip("\r\n"), len(record)


class _RowConverter(_Converter):
    """A converter that parses rows in Python and emits PostgreSQL TEXT, one line per row."""

    kind = "row-by-row"

    def rows(self, ref: S3ObjectRef, log: _ErrorLog) -> Iterator[tuple[int, str, bytes | None]]:
        """Yield (line number, raw text, PostgreSQL line or None when rejected) per source row."""
        raise NotImplementedError

    def stream_file(self, ref: S3ObjectRef, log: _ErrorLog) -> Iterator[tuple[bytes, int]]:
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
        for number, raw, out in self.rows(ref, _ErrorLog(self.cmd.table, None)):
            yield number, raw, 0 if out is None else 1

    def finish(self, fields: list[str | None], *, may_be_invalid: bool = True) -> bytes:
        """Apply each column's rules to the fields and render the PostgreSQL TEXT line."""
        values: list[str] = []
        for index, (plan, text) in enumerate(zip(self.plans, fields, strict=True)):
            if text is None:
                values.append("\\N")
                continue
            if may_be_invalid and _SURROGATES.search(text):
                if self.cmd.acceptinvchars is None:
                    raise _RowError(
                        1220, "String contains invalid or unsupported UTF8 codepoints", index, _visible(text)
                    )
                text = _SURROGATES.sub(self.cmd.acceptinvchars, text)
            try:
                value = plan.value(text)
            except _FieldError as err:
                raise _RowError(err.code, err.reason, index, text, err.position) from None
            values.append("\\N" if value is None else value.translate(_PG_TEXT_ESCAPES))
        return ("\t".join(values) + "\n").encode("utf-8")

    def reject(self, log: _ErrorLog, ref: S3ObjectRef, number: int, raw: str, err: _RowError) -> None:
        plan = self.plans[err.column] if err.column is not None and err.column < len(self.plans) else None
        log.add(
            LoadErrorRecord(
                file_url=ref.url,
                line_number=number,
                column_name=plan.column.name if plan else "",
                column_type=plan.column.short_type if plan else "",
                column_length=str(plan.column.char_length or 0) if plan else "",
                position=err.position if plan else len(raw),
                raw_line=_visible(raw)[:MAX_RAW_LINE],
                raw_field_value=_visible(err.value)[:MAX_RAW_LINE],
                err_code=err.code,
                err_reason=err.reason[:MAX_REASON],
            )
        )

    def check_count(self, fields: list[Any], fill: object) -> list[Any]:
        expected = len(self.plans)
        if len(fields) > expected:
            raise _RowError(1202, "Extra column(s) found")
        if len(fields) < expected:
            if not self.cmd.fillrecord:
                raise _RowError(1214, "Delimiter not found")
            fields = fields + [fill] * (expected - len(fields))
        return fields


class _DelimitedConverter(_RowConverter):
    """Redshift TEXT and CSV parsed row by row."""

    def rows(self, ref: S3ObjectRef, log: _ErrorLog) -> Iterator[tuple[int, str, bytes | None]]:
        records = self._csv_records(ref) if self.cmd.format == "csv" else self._text_records(ref)
        for number, raw, fields in records:
            try:
                if isinstance(fields, _RowError):
                    raise fields
                if fields is None:  # a blank line under IGNOREBLANKLINES
                    continue
                out = self.finish(
                    self.check_count(fields, ""), may_be_invalid=_SURROGATES.search(raw) is not None
                )
            except _RowError as err:
                self.reject(log, ref, number, raw, err)
                yield number, raw, None
                continue
            yield number, raw, out

    def _text_records(
        self, ref: S3ObjectRef
    ) -> Iterator[tuple[int, str, list[str | None] | _RowError | None]]:
        cmd = self.cmd
        pending: list[bytes] = []
        number = cmd.ignoreheader
        start = 0
        for line in _split_lines(self.source.data(ref, fix_utf8=False), ref.url):
            number += 1
            if not pending:
                start = number
            pending.append(line)
            if cmd.escape and _continues(line):
                continue
            yield self._text_fields(start, b"".join(pending))
            pending = []
        if pending:
            yield self._text_fields(start, b"".join(pending))

    def _text_fields(self, number: int, data: bytes) -> tuple[int, str, list[str | None] | _RowError | None]:
        cmd = self.cmd
        record = _decode(data)
        if record.endswith("\n"):
            record = record[:-1]
        if record == "" and cmd.ignoreblanklines:
            return number, record, None
        try:
            split = _split_text(record, cmd.delimiter or "|", cmd.escape, cmd.removequotes)
        except _RowError as err:
            return number, record, err
        null = "\\N" if cmd.null_as is None else cmd.null_as
        fields: list[str | None] = []
        for raw, value in split:
            is_null = raw == null or (cmd.escape and cmd.null_as is None and raw == "\\\\N")
            fields.append(None if is_null else value)
        return number, record, fields

    def _csv_records(
        self, ref: S3ObjectRef
    ) -> Iterator[tuple[int, str, list[str | None] | _RowError | None]]:
        cmd = self.cmd
        quote = cmd.quote or '"'
        consumed: list[str] = []
        number = cmd.ignoreheader
        eof = False

        def lines() -> Iterator[str]:
            nonlocal number, eof
            for line in _split_lines(self.source.data(ref, fix_utf8=False), ref.url):
                number += 1
                text = _decode(line)
                consumed.append(text)
                yield text
            eof = True

        reader = csv.reader(
            lines(), delimiter=cmd.delimiter or ",", quotechar=quote, doublequote=True, strict=False
        )
        while True:
            first = number + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raw = "".join(consumed)
                consumed.clear()
                yield first, raw.rstrip("\r\n"), _RowError(1216, f"Invalid CSV input: {err}")
                continue
            raw = "".join(consumed)
            consumed.clear()
            if eof and raw.count(quote) % 2 == 1:
                yield first, raw.rstrip("\r\n"), _RowError(1216, "Unterminated quoted field at end of file")
                continue
            if not row:
                yield first, raw.rstrip("\r\n"), None if cmd.ignoreblanklines else [""]
                continue
            fields: list[str | None] = [
                None if cmd.null_as and value == cmd.null_as else value for value in row
            ]
            yield first, raw.rstrip("\r\n"), fields


def _split_text(record: str, delimiter: str, escape: bool, removequotes: bool) -> list[tuple[str, str]]:
    """Split a TEXT row into (raw, value) fields, honouring ESCAPE and REMOVEQUOTES."""
    if not (escape and "\\" in record) and not (removequotes and ('"' in record or "'" in record)):
        return [(field, field) for field in record.split(delimiter)]
    fields: list[tuple[str, str]] = []
    value: list[str] = []
    start = 0
    quote = ""
    i = 0
    while i < len(record):
        char = record[i]
        if escape and char == "\\" and i + 1 < len(record):
            value.append(record[i + 1])
            i += 2
            continue
        if quote:
            if char == quote:
                quote = ""
            else:
                value.append(char)
        elif removequotes and char in "'\"" and i == start:
            quote = char
        elif char == delimiter:
            fields.append((record[start:i], "".join(value)))
            value = []
            start = i + 1
        else:
            value.append(char)
        i += 1
    if quote:
        raise _RowError(1216, "Unterminated quoted string (REMOVEQUOTES)")
    fields.append((record[start:], "".join(value)))
    return fields


class _JsonConverter(_RowConverter):
    """Redshift JSON ('auto', 'auto ignorecase' or a JSONPaths file) parsed object by object."""

    def __init__(
        self, cmd: CopyCommand, plans: list[_ColumnPlan], source: _Source, paths: list[list[str | int]] | None
    ):
        super().__init__(cmd, plans, source)
        self.paths = paths
        self.ignorecase = cmd.json_spec == "auto ignorecase"
        self.decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)

    def rows(self, ref: S3ObjectRef, log: _ErrorLog) -> Iterator[tuple[int, str, bytes | None]]:
        for number, raw, value in self._objects(ref):
            try:
                if isinstance(value, _RowError):
                    raise value
                out = self.finish(self._fields(value))
            except _RowError as err:
                self.reject(log, ref, number, raw, err)
                yield number, raw, None
                continue
            yield number, raw, out

    def _objects(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, object]]:
        """Yield (last line of the object, its text, the value or a _RowError) for each top-level value."""
        decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        chunks = self.source.data(ref, fix_utf8=False)
        buf = ""
        pos = 0
        line = self.cmd.ignoreheader + 1  # the line number at ``pos``
        eof = False

        def fill() -> bool:
            nonlocal buf, pos, eof
            if eof:
                return False
            buf = buf[pos:]
            pos = 0
            chunk = next(chunks, None)
            if chunk is None:
                eof = True
                buf += decoder.decode(b"", final=True)
                return True
            buf += decoder.decode(chunk)
            return True

        while True:
            blank = _JSON_WS.match(buf, pos)
            skip_to = blank.end() if blank else pos
            line += buf.count("\n", pos, skip_to)
            pos = skip_to
            if pos >= len(buf):
                if eof:
                    return
                fill()
                continue
            try:
                value, end = self.decoder.raw_decode(buf, pos)
            except ValueError as err:
                # JSONDecodeError, or NaN/Infinity and over-long integers, which Redshift rejects too
                error_pos = err.pos if isinstance(err, json.JSONDecodeError) else pos
                message = err.msg if isinstance(err, json.JSONDecodeError) else str(err)
                maybe_incomplete = error_pos >= len(buf) - 16 or message.startswith("Unterminated string")
                if not eof and maybe_incomplete and len(buf) - pos <= MAX_JSON_OBJECT:
                    fill()
                    continue
                error_at = max(error_pos, pos)
                line_end = buf.find("\n", error_at)
                raw = buf[pos : line_end if line_end >= 0 else len(buf)]
                line += buf.count("\n", pos, error_at)
                pos = error_at
                yield line, raw, _RowError(1216, f"Invalid JSON object: {message}", position=len(raw))
                # skip to the next line that starts a JSON object or array
                while (resync := _JSON_RESYNC.search(buf, pos)) is None and not eof:
                    newline = buf.rfind("\n", pos)
                    if newline > pos:
                        line += buf.count("\n", pos, newline)
                        pos = newline
                    fill()
                target = resync.end() if resync else len(buf)
                line += buf.count("\n", pos, target)
                pos = target
                continue
            if end >= len(buf) and not eof and not isinstance(value, (dict, list)):
                fill()  # a number may go on in the next chunk
                continue
            last_line = line + buf.count("\n", pos, end)
            yield last_line, buf[pos:end], value
            line = last_line
            pos = end
            if pos > MAX_CHUNK:
                buf = buf[pos:]
                pos = 0

    def _fields(self, value: object) -> list[str | None]:
        if self.paths is None:
            if not isinstance(value, dict):
                kind = "an array" if isinstance(value, list) else "a scalar"
                raise _RowError(1216, f"Invalid JSONPath format: expected a JSON object, found {kind}")
            if self.ignorecase:
                value = {str(k).lower(): v for k, v in value.items()}
                found = [value.get(p.column.name.lower()) for p in self.plans]
            else:
                found = [value.get(p.column.name) for p in self.plans]
        else:
            found = [_json_path_value(value, path) for path in self.paths]
        return [_json_text(item) for item in found]


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return _json_dump(value)


def _json_dump(value: object) -> str:
    """Serialise a nested value compactly, keeping numbers as they were written."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + _json_dump(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_dump(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    return _json_text(value) or "null"


def _json_path_value(value: object, path: list[str | int]) -> object:
    current = value
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                raise _RowError(1216, "Invalid JSONPath format: Not an array or index out of range.")
            current = current[step]
        elif isinstance(current, dict) and step in current:
            current = current[step]
        else:
            return None
    return current


def _json_paths(
    cmd: CopyCommand, column_count: int, open_object: ObjectOpener
) -> list[list[str | int]] | None:
    spec = cmd.json_spec or "auto"
    if not spec.lower().startswith("s3://"):
        return None
    bucket, _, key = spec[5:].partition("/")
    ref = S3ObjectRef(bucket, key)
    data = b""
    for chunk in _Source(cmd, open_object).raw(ref, None):
        data += chunk
        if len(data) > MAX_SMALL_FILE:
            raise LoadError(f"Invalid JSONPath format: {spec} is larger than {MAX_SMALL_FILE} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError as err:
        raise LoadError(f"Invalid JSONPath format: {spec} is not a single JSON object: {err}") from None
    if not isinstance(document, dict):
        raise LoadError(f"Invalid JSONPath format: {spec} must hold one JSON object")
    if "jsonpaths" not in document:
        return None  # Redshift falls back to 'auto' when the key is not "jsonpaths"
    expressions = document["jsonpaths"]
    if not isinstance(expressions, list) or not all(isinstance(e, str) and e for e in expressions):
        raise LoadError("Invalid JSONPath format: jsonpaths must be an array of non-empty strings")
    if len(expressions) != column_count:
        raise LoadError(
            "Number of jsonpaths and the number of columns should match. "
            f"JSONPath size: {len(expressions)}, Number of columns in table or column list: {column_count}"
        )
    paths: list[list[str | int]] = []
    notations: set[str] = set()
    for expression in expressions:
        path, notation = _parse_json_path(expression)
        notations |= notation
        paths.append(path)
    if len(notations) > 1:
        raise LoadError("Invalid JSONPath format: bracket notation and dot notation cannot be mixed")
    return paths


def _parse_json_path(expression: str) -> tuple[list[str | int], set[str]]:
    text = expression.strip()
    steps: list[str | int] = []
    notation: set[str] = set()
    if not text.startswith("$"):
        raise LoadError(f"Invalid JSONPath format: {expression} must start with $")
    i = 1
    while i < len(text):
        if text[i] == "." and i + 1 < len(text):
            end = i + 1
            while end < len(text) and text[end] not in ".[":
                end += 1
            name = text[i + 1 : end]
            if not name or any(c in name for c in "'\"*]") or name.isspace():
                raise LoadError(f"Invalid JSONPath format: {expression}")
            steps.append(name)
            notation.add("dot")
            i = end
        elif text.startswith(("['", '["'), i):
            quote = text[i + 1]
            end = text.find(quote + "]", i + 2)
            if end < 0 or end == i + 2:
                raise LoadError(f"Invalid JSONPath format: {expression}")
            steps.append(text[i + 2 : end])
            notation.add("bracket")
            i = end + 2
        elif text[i] == "[":
            end = text.find("]", i)
            index = text[i + 1 : end] if end > 0 else ""
            if not index.isdigit():
                raise LoadError(
                    f"Invalid JSONPath format: {expression} (only names and array indexes are supported)"
                )
            steps.append(int(index))
            i = end + 1
        else:
            raise LoadError(f"Invalid JSONPath format: {expression}")
    if not steps:
        raise LoadError(f"Invalid JSONPath format: {expression} does not name an element")
    return steps, notation


class _ColumnarConverter(_Converter):
    """PARQUET and ORC through pyarrow: columns by position, emitted as PostgreSQL TEXT batch by batch."""

    kind = "columnar"

    def stream_file(self, ref: S3ObjectRef, log: _ErrorLog) -> Iterator[tuple[bytes, int]]:
        with self._spooled(ref) as path:
            for batch in self._batches(path, ref):
                if batch.num_rows:
                    yield self._text(batch, ref), batch.num_rows

    def scan_file(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, int]]:
        number = 0
        with self._spooled(ref) as path:
            for batch in self._batches(path, ref):
                text = self._text(batch, ref).decode("utf-8", "replace")
                for row in text.split("\n")[:-1]:
                    number += 1
                    yield number, row, 1

    def _text(self, batch: pa.RecordBatch, ref: S3ObjectRef) -> bytes:
        try:
            return _arrow_to_pg_text(batch, len(self.plans))
        except Exception as err:
            raise LoadError(f"Cannot convert {ref.url} from {self.cmd.format.upper()}: {err}") from None

    @contextlib.contextmanager
    def _spooled(self, ref: S3ObjectRef) -> Iterator[str]:
        # pyarrow needs random access: copy the object to a temporary file, read it, delete it
        compression = "gzip" if ref.key.endswith(".gz") else "bzip2" if ref.key.endswith(".bz2") else None
        handle, path = tempfile.mkstemp(prefix="local-redshift-copy-", suffix=f".{self.cmd.format}")
        try:
            with os.fdopen(handle, "wb") as spool:
                for chunk in self.source.raw(ref, compression):
                    spool.write(chunk)
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _batches(self, path: str, ref: S3ObjectRef) -> Iterator[pa.RecordBatch]:
        fmt = self.cmd.format.upper()
        try:
            if self.cmd.format == "parquet":
                import pyarrow.parquet as pq

                reader = pq.ParquetFile(path)
                try:
                    self._check_width(len(reader.schema_arrow), ref)
                    yield from reader.iter_batches(batch_size=ARROW_BATCH_ROWS)
                finally:
                    reader.close()
            else:
                import pyarrow.orc as orc

                orc_file = orc.ORCFile(path)
                self._check_width(len(orc_file.schema), ref)
                for stripe in range(orc_file.nstripes):
                    stripe_batch = orc_file.read_stripe(stripe)
                    for offset in range(0, stripe_batch.num_rows, ARROW_BATCH_ROWS):
                        yield stripe_batch.slice(offset, ARROW_BATCH_ROWS)
        except LoadError:
            raise
        except Exception as err:
            raise LoadError(f"Cannot read {ref.url} as {fmt}: {err}") from None

    def _check_width(self, width: int, ref: S3ObjectRef) -> None:
        expected = len(self.plans)
        if width == expected or (width < expected and self.cmd.fillrecord):
            return
        fmt = self.cmd.format.upper()
        raise LoadError(
            f"{fmt} file {ref.url} has {width} columns but table '{self.cmd.table}' (or the column list) has "
            f"{expected}: COPY from {fmt} maps columns by position, so the counts must match"
        )


def _arrow_to_pg_text(batch: pa.RecordBatch, width: int) -> bytes:
    """Render a record batch as PostgreSQL TEXT lines, padding missing trailing columns with NULL."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [_arrow_column_text(batch.column(i)) for i in range(batch.num_columns)]
    columns += [pa.array(["\\N"] * batch.num_rows, pa.string())] * (width - batch.num_columns)
    rows = pc.binary_join_element_wise(*columns, "\t") if len(columns) > 1 else columns[0]
    rows = pc.binary_join_element_wise(rows, "", "\n")
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()), rows), "")
    return joined[0].as_buffer().to_pybytes()


def _arrow_column_text(array: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = array.cast(pa.string())
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        text = pa.array([None if v is None else "\\x" + v.hex() for v in array.to_pylist()], pa.string())
    elif pa.types.is_nested(kind):
        text = pa.array(
            [None if v is None else _json_dump(_plain_json(v)) for v in array.to_pylist()], pa.string()
        )
    else:
        try:
            text = pc.cast(array, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            text = pa.array([None if v is None else str(v) for v in array.to_pylist()], pa.string())
    for char, escaped in (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = pc.replace_substring(text, char, escaped)
    return pc.fill_null(text, "\\N")


def _plain_json(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(isinstance(item, tuple) and len(item) == 2 for item in value) and value:
            return {str(k): _plain_json(v) for k, v in value}  # an Arrow map
        return [_plain_json(v) for v in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (str, int, bool, Decimal)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


# -- helpers ---------------------------------------------------------------------------------------------


def _target_columns(cmd: CopyCommand, columns: list[TableColumn]) -> list[TableColumn]:
    if not columns:
        raise LoadError(f"table '{cmd.table}' has no columns to load", sqlstate="42P10")
    if cmd.columns is None:
        return list(columns)
    by_name = {c.name: c for c in columns}
    for name in cmd.columns:
        if name not in by_name:
            raise LoadError(f'column "{name}" of relation "{cmd.table}" does not exist', sqlstate="42703")
    return [by_name[name] for name in cmd.columns]


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _visible(text: str) -> str:
    return _SURROGATES.sub("\ufffd", text)


def _pg_literal(value: str) -> str:
    """Render ``value`` as an escape string literal (``E'...'``), whatever standard_conforming_strings is."""
    out = []
    for char in value:
        if char in "\\'":
            out.append("\\" + char)
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "E'" + "".join(out) + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
