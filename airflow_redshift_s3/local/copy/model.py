"""The values a COPY from S3 works with: target columns, object references, load errors and messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from airflow_redshift_s3.local.sql.copy_command import CopyCommand

EMPTY_PREFIX_MESSAGE = "The specified S3 prefix '{prefix}' does not exist"
MANIFEST_ERROR_PREFIX = "Problem reading manifest file - "
LOAD_FAILED_MESSAGE = "Load into table '{table}' failed.  Check 'stl_load_errors' system table for details."


# PostgreSQL TEXT, which every row-by-row and columnar path emits: tab-separated, \N for NULL
PG_TEXT_OPTIONS = "FORMAT text, DELIMITER E'\\t', NULL E'\\\\N'"
SURROGATES = re.compile("[\ud800-\udfff]")

_CHAR_TYPES = frozenset(
    {"character varying", "varchar", "character", "char", "bpchar", "text", "name", "citext"}
)
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
NUMBER_LABELS = {"int2": "Short", "int4": "Integer", "int8": "Long", "numeric": "Decimal"}


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


class FieldError(Exception):
    """A field that does not fit its column (code and reason as STL_LOAD_ERRORS gives them)."""

    def __init__(self, code: int, reason: str, position: int = 0):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.position = position


class RowError(Exception):
    """A row that cannot be loaded, with the column and value at fault."""

    def __init__(self, code: int, reason: str, column: int | None = None, value: str = "", position: int = 0):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.column = column
        self.value = value
        self.position = position


def target_columns(cmd: CopyCommand, columns: list[TableColumn]) -> list[TableColumn]:
    """Return the columns the COPY loads, in load order."""
    if not columns:
        raise LoadError(f"table '{cmd.table}' has no columns to load", sqlstate="42P10")
    if cmd.columns is None:
        return list(columns)
    by_name = {c.name: c for c in columns}
    for name in cmd.columns:
        if name not in by_name:
            raise LoadError(f'column "{name}" of relation "{cmd.table}" does not exist', sqlstate="42703")
    return [by_name[name] for name in cmd.columns]


def decode(data: bytes) -> str:
    """Decode UTF-8, keeping invalid bytes as surrogates (reported, not lost)."""
    return data.decode("utf-8", "surrogateescape")


def visible(text: str) -> str:
    """Replace the surrogates of invalid bytes for display."""
    return SURROGATES.sub("\ufffd", text)


def pg_literal(value: str) -> str:
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


def quote_ident(name: str) -> str:
    """Quote an identifier for PostgreSQL."""
    return '"' + name.replace('"', '""') + '"'
