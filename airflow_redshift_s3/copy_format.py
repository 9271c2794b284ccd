"""Typed descriptions of the files COPY reads, instead of free-form option strings.

Each format is a frozen dataclass that checks its fields when it is built and renders its part of the COPY
statement through the quoting helper (``airflow_redshift_s3.sql``). Formats are JSON-able: ``to_dict()``
gives ``{"type": "csv", ...}`` and ``parse_format`` takes that dict back (from a Param or a rendered
template), a format name ("csv"), or a format object.

``parse_copy_options`` is the escape hatch for further COPY options: each one is checked against an
allow-list with the kind of value it takes; an option the typed fields or the operator already control,
or that would change what is loaded without telling (NOLOAD), is refused with the way to get it.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from airflow_redshift_s3.rules import BUCKET_NAME
from airflow_redshift_s3.sql import SqlInputError, quote_literal

COMPRESSIONS = ("gzip", "bzip2", "zstd", "lzop")
MAXERROR_LIMIT = 100_000
JSON_AUTO = ("auto", "auto ignorecase")
_DATEPART = r"YYYY|YY|MONTH|MON|MM|DD|HH24|HH12|HH|MI|SS|AM|PM|US|FF[1-6]?"
_DATETIME_FORMAT = re.compile(rf"(?:{_DATEPART}|[-/.:, T])+", re.IGNORECASE)
_S3_OBJECT_URL = re.compile(rf"s3://{BUCKET_NAME}/[^\s']+", re.IGNORECASE)


class FormatError(SqlInputError):
    """A format or COPY option that is not valid, named with the value found and the fix."""


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise FormatError(f"{name} is {value!r}: expected true or false. Fix: pass a boolean.")


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise FormatError(f"{name} is {value!r}: expected a whole number. Fix: pass a number.")
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        raise FormatError(
            f"{name} is {value!r}: expected a whole number from {low} to {high}. Fix: pass one in that range."
        )
    return value


def _char(value: str, name: str) -> str:
    r"""Return the COPY literal of a one-character option (a tab is written \t, as COPY reads it)."""
    if value == "\t":
        return "'\\t'"
    if len(value) != 1 or not (value.isascii() and value.isprintable()) or value == "\\":
        raise FormatError(
            f"{name} is {value!r}: expected one printable ASCII character other than backslash, or a tab. "
            "Fix: pass a single character such as ',' or '|' (a tab as '\\t')."
        )
    return quote_literal(value, name)


def _datetime_format(value: str | None, name: str, extra: tuple[str, ...] = ()) -> str | None:
    if value is None:
        return None
    if value in ("auto", *extra) or (isinstance(value, str) and _DATETIME_FORMAT.fullmatch(value)):
        return value
    allowed = ", ".join(repr(v) for v in ("auto", *extra))
    raise FormatError(
        f"{name} is {value!r}: expected {allowed} or a pattern of dateparts (YYYY, MM, DD, HH24, MI, SS, "
        "...) "
        "and separators (- / . : , space T). Fix: e.g. 'YYYY-MM-DD' or 'auto'."
    )


def _compression(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in COMPRESSIONS:
        raise FormatError(
            f"compression is {value!r}: expected None or one of {', '.join(COMPRESSIONS)}. "
            "Fix: pass the compression of the files (all files of one load share it)."
        )
    return value.lower()


@dataclass(frozen=True, kw_only=True)
class CopyFormat:
    """The common base: what every format can render and say about itself."""

    type: ClassVar[str] = ""
    columnar: ClassVar[bool] = False  # PARQUET / ORC: no REGION, no MAXERROR, content_length in manifests

    def copy_options(self) -> list[str]:
        """Return the COPY clauses of this format, in a fixed order."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"type": ..., field: value}`` for the fields that differ from their default."""
        out: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                out[f.name] = value
        return out

    @property
    def compression_name(self) -> str | None:
        """Return the compression of the files, if the format has one."""
        return getattr(self, "compression", None)


@dataclass(frozen=True, kw_only=True)
class _RowFormat(CopyFormat):
    """Options shared by the row formats (CSV, delimited text, JSON, Avro)."""

    compression: str | None = None
    date_format: str | None = None
    time_format: str | None = None
    max_errors: int = 0
    truncate_columns: bool = False
    accept_inv_chars: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "compression", _compression(self.compression))
        object.__setattr__(self, "date_format", _datetime_format(self.date_format, "date_format"))
        object.__setattr__(
            self,
            "time_format",
            _datetime_format(self.time_format, "time_format", ("epochsecs", "epochmillisecs")),
        )
        object.__setattr__(self, "max_errors", _int(self.max_errors, "max_errors", 0, MAXERROR_LIMIT))
        object.__setattr__(self, "truncate_columns", _bool(self.truncate_columns, "truncate_columns"))
        if self.accept_inv_chars is not None:
            _char(self.accept_inv_chars, "accept_inv_chars")

    def _tail_options(self) -> list[str]:
        out: list[str] = []
        if self.compression:
            out.append(self.compression.upper())
        if self.date_format:
            out.append(f"DATEFORMAT AS {quote_literal(self.date_format, 'date_format')}")
        if self.time_format:
            out.append(f"TIMEFORMAT AS {quote_literal(self.time_format, 'time_format')}")
        if self.truncate_columns:
            out.append("TRUNCATECOLUMNS")
        if self.accept_inv_chars is not None:
            out.append(f"ACCEPTINVCHARS AS {_char(self.accept_inv_chars, 'accept_inv_chars')}")
        if self.max_errors:
            out.append(f"MAXERROR AS {self.max_errors}")
        return out


@dataclass(frozen=True, kw_only=True)
class _DelimitedFormat(_RowFormat):
    header_rows: int = 0
    null_as: str | None = None
    empty_as_null: bool = False
    blanks_as_null: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "header_rows", _int(self.header_rows, "header_rows", 0, 1000))
        object.__setattr__(self, "empty_as_null", _bool(self.empty_as_null, "empty_as_null"))
        object.__setattr__(self, "blanks_as_null", _bool(self.blanks_as_null, "blanks_as_null"))
        if self.null_as is not None:
            if "\n" in self.null_as or "\r" in self.null_as:
                raise FormatError(f"null_as is {self.null_as!r}: expected no newline. Fix: remove it.")
            quote_literal(self.null_as, "null_as")
            if getattr(self, "delimiter", "") and getattr(self, "delimiter", "") in self.null_as:
                raise FormatError(
                    f"null_as {self.null_as!r} contains the delimiter {getattr(self, 'delimiter', '')!r}: "
                    "COPY refuses that. Fix: pick a null marker without the delimiter."
                )

    def _middle_options(self) -> list[str]:
        out: list[str] = []
        if self.header_rows:
            out.append(f"IGNOREHEADER AS {self.header_rows}")
        if self.null_as is not None:
            out.append(f"NULL AS {quote_literal(self.null_as, 'null_as')}")
        if self.empty_as_null:
            out.append("EMPTYASNULL")
        if self.blanks_as_null:
            out.append("BLANKSASNULL")
        return out


@dataclass(frozen=True, kw_only=True)
class CsvFormat(_DelimitedFormat):
    r"""CSV files (RFC 4180 quoting).

    :param delimiter: the field separator, one character (a tab as "\t").
    :param quote: the quote character.
    :param header_rows: lines to skip at the top of each file (IGNOREHEADER).
    :param null_as: the text that means NULL (NULL AS); by default an empty unquoted field is NULL.
    :param empty_as_null: load empty strings into CHAR/VARCHAR as NULL (EMPTYASNULL).
    :param blanks_as_null: load blank strings into CHAR/VARCHAR as NULL (BLANKSASNULL).
    :param compression: "gzip", "bzip2", "zstd", "lzop" or None.
    :param date_format: DATEFORMAT, e.g. "YYYY-MM-DD" or "auto".
    :param time_format: TIMEFORMAT, e.g. "YYYY-MM-DD HH24:MI:SS", "auto" or "epochsecs".
    :param max_errors: bad rows to skip before the load fails (MAXERROR); 0 fails on the first.
    :param truncate_columns: cut values too long for their VARCHAR column (TRUNCATECOLUMNS).
    :param accept_inv_chars: load invalid UTF-8 with this replacement character (ACCEPTINVCHARS).
    """

    type: ClassVar[str] = "csv"
    delimiter: str = ","
    quote: str = '"'

    def __post_init__(self) -> None:
        super().__post_init__()
        _char(self.delimiter, "delimiter")
        _char(self.quote, "quote")
        if self.delimiter == self.quote:
            raise FormatError(
                f"delimiter and quote are both {self.delimiter!r}: COPY needs two different characters. "
                "Fix: change one of them."
            )

    def copy_options(self) -> list[str]:
        """Return the COPY clauses of this format."""
        out = ["FORMAT AS CSV"]
        if self.delimiter != ",":
            out.append(f"DELIMITER AS {_char(self.delimiter, 'delimiter')}")
        if self.quote != '"':
            out.append(f"QUOTE AS {_char(self.quote, 'quote')}")
        return out + self._middle_options() + self._tail_options()


@dataclass(frozen=True, kw_only=True)
class TextFormat(_DelimitedFormat):
    r"""Delimited text without CSV quoting (COPY's default format); backslash escapes with ``escape``.

    :param delimiter: the field separator, one character (a tab as "\t").
    :param escape: read backslash escapes in the data (ESCAPE).
    :param remove_quotes: strip surrounding quotes from fields (REMOVEQUOTES).
    :param header_rows: lines to skip at the top of each file (IGNOREHEADER).
    :param null_as: the text that means NULL (NULL AS); COPY's default is \N.
    :param empty_as_null: load empty strings into CHAR/VARCHAR as NULL.
    :param blanks_as_null: load blank strings into CHAR/VARCHAR as NULL.
    :param compression: "gzip", "bzip2", "zstd", "lzop" or None.
    :param date_format: DATEFORMAT.
    :param time_format: TIMEFORMAT.
    :param max_errors: MAXERROR.
    :param truncate_columns: TRUNCATECOLUMNS.
    :param accept_inv_chars: ACCEPTINVCHARS replacement character.
    """

    type: ClassVar[str] = "text"
    delimiter: str = "|"
    escape: bool = False
    remove_quotes: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        _char(self.delimiter, "delimiter")
        object.__setattr__(self, "escape", _bool(self.escape, "escape"))
        object.__setattr__(self, "remove_quotes", _bool(self.remove_quotes, "remove_quotes"))

    def copy_options(self) -> list[str]:
        """Return the COPY clauses of this format."""
        out = []
        if self.delimiter != "|":
            out.append(f"DELIMITER AS {_char(self.delimiter, 'delimiter')}")
        if self.escape:
            out.append("ESCAPE")
        if self.remove_quotes:
            out.append("REMOVEQUOTES")
        return out + self._middle_options() + self._tail_options()


def _paths(value: str, kind: str) -> str:
    if isinstance(value, str) and " ".join(value.split()).lower() in JSON_AUTO:
        return " ".join(value.split()).lower()
    if isinstance(value, str) and _S3_OBJECT_URL.fullmatch(value) and not value.endswith("/"):
        quote_literal(value, "paths")
        return value
    raise FormatError(
        f"{kind} paths is {value!r}: expected 'auto', 'auto ignorecase' or the s3:// URL of a JSONPaths "
        "file. Fix: pass one of those."
    )


@dataclass(frozen=True, kw_only=True)
class JsonFormat(_RowFormat):
    """JSON files: one object after another (newline-delimited or not).

    :param paths: "auto" (fields matched to columns by name), "auto ignorecase", or the s3:// URL of a
        JSONPaths file.
    :param compression: "gzip", "bzip2", "zstd", "lzop" or None.
    :param date_format: DATEFORMAT.
    :param time_format: TIMEFORMAT.
    :param max_errors: MAXERROR.
    :param truncate_columns: TRUNCATECOLUMNS.
    :param accept_inv_chars: ACCEPTINVCHARS replacement character.
    """

    type: ClassVar[str] = "json"
    paths: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "paths", _paths(self.paths, "JSON"))

    def copy_options(self) -> list[str]:
        """Return the COPY clauses of this format."""
        return [f"FORMAT AS JSON {quote_literal(self.paths, 'paths')}", *self._tail_options()]


@dataclass(frozen=True, kw_only=True)
class AvroFormat(_RowFormat):
    """Avro files.

    :param paths: "auto", "auto ignorecase", or the s3:// URL of a JSONPaths file.
    :param date_format: DATEFORMAT.
    :param time_format: TIMEFORMAT.
    :param max_errors: MAXERROR.
    :param truncate_columns: TRUNCATECOLUMNS.
    :param accept_inv_chars: ACCEPTINVCHARS replacement character.
    """

    type: ClassVar[str] = "avro"
    paths: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "paths", _paths(self.paths, "Avro"))
        if self.compression is not None:
            raise FormatError(
                f"compression is {self.compression!r} for Avro: Avro files carry their own compression and "
                "COPY accepts no GZIP/BZIP2/ZSTD/LZOP with AVRO. Fix: pass compression=None."
            )

    def copy_options(self) -> list[str]:
        """Return the COPY clauses of this format."""
        return [f"FORMAT AS AVRO {quote_literal(self.paths, 'paths')}", *self._tail_options()]


@dataclass(frozen=True, kw_only=True)
class _ColumnarFormat(CopyFormat):
    columnar: ClassVar[bool] = True
    accept_inv_chars: str | None = None

    def __post_init__(self) -> None:
        if self.accept_inv_chars is not None:
            _char(self.accept_inv_chars, "accept_inv_chars")

    def copy_options(self) -> list[str]:
        """Return the COPY clauses of this format."""
        out = [f"FORMAT AS {self.type.upper()}"]
        if self.accept_inv_chars is not None:
            out.append(f"ACCEPTINVCHARS AS {_char(self.accept_inv_chars, 'accept_inv_chars')}")
        return out


@dataclass(frozen=True, kw_only=True)
class ParquetFormat(_ColumnarFormat):
    """Parquet files; columns are matched by position, and the bucket must be in Redshift's region.

    :param accept_inv_chars: ACCEPTINVCHARS replacement character.
    """

    type: ClassVar[str] = "parquet"


@dataclass(frozen=True, kw_only=True)
class OrcFormat(_ColumnarFormat):
    """ORC files; columns are matched by position, and the bucket must be in Redshift's region.

    :param accept_inv_chars: ACCEPTINVCHARS replacement character.
    """

    type: ClassVar[str] = "orc"


FORMATS: dict[str, type[CopyFormat]] = {
    cls.type: cls for cls in (CsvFormat, TextFormat, JsonFormat, AvroFormat, ParquetFormat, OrcFormat)
}


def parse_format(value: Any) -> CopyFormat:
    """Return the format object that ``value`` describes.

    :param value: a ``CopyFormat``; a dict ``{"type": "csv", ...}`` (from ``to_dict()``, a Param or a
        rendered template); its JSON text (or Python repr, as a template renders a dict); or a bare format
        name such as "parquet".
    """
    if isinstance(value, CopyFormat):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in FORMATS:
            return FORMATS[text.lower()]()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    value = None
    if not isinstance(value, Mapping):
        raise FormatError(
            f"input_format is {value!r}: expected a format object (CsvFormat(...), ParquetFormat(), ...), a "
            f"dict such as {{'type': 'csv', 'header_rows': 1}}, or a format name ({', '.join(FORMATS)}). "
            "Fix: pass one of those."
        )
    fields = dict(value)
    kind = str(fields.pop("type", "")).lower()
    if kind not in FORMATS:
        raise FormatError(
            f"input_format type is {value.get('type')!r}: expected one of {', '.join(FORMATS)}. "
            "Fix: set 'type' in the format dict."
        )
    cls = FORMATS[kind]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise FormatError(
            f"input_format {kind} has unknown field(s) {', '.join(unknown)}: expected some of "
            f"{', '.join(sorted(known))}. Fix: correct the name, or use copy_options for other COPY options."
        )
    return cls(**fields)


# -- the escape hatch ------------------------------------------------------------------------------------

ROW_TYPES = ("csv", "text", "json", "avro")
DELIMITED = ("csv", "text")


@dataclass(frozen=True)
class _Allowed:
    kind: str  # "flag" | "int" | "choice"
    formats: tuple[str, ...]
    choices: tuple[str, ...] = ()
    low: int = 0
    high: int = 0


ALLOWED_COPY_OPTIONS: dict[str, _Allowed] = {
    "ACCEPTANYDATE": _Allowed("flag", (*DELIMITED, "json")),
    "COMPROWS": _Allowed("int", ROW_TYPES, low=1000, high=2_147_483_647),
    "COMPUPDATE": _Allowed("choice", (*ROW_TYPES, "parquet", "orc"), choices=("ON", "OFF", "PRESET")),
    "STATUPDATE": _Allowed("choice", (*ROW_TYPES, "parquet", "orc"), choices=("ON", "OFF")),
    "EXPLICIT_IDS": _Allowed("flag", (*ROW_TYPES, "parquet", "orc")),
    "FILLRECORD": _Allowed("flag", (*DELIMITED, "parquet", "orc")),
    "IGNOREBLANKLINES": _Allowed("flag", DELIMITED),
    "TRIMBLANKS": _Allowed("flag", DELIMITED),
    "ROUNDEC": _Allowed("flag", ROW_TYPES),
    "ENCODING": _Allowed("choice", (*DELIMITED, "json"), choices=("UTF8", "UTF16", "UTF16LE", "UTF16BE")),
    "SERIALIZETOJSON": _Allowed("flag", ("parquet", "orc")),
}
_BY_OPERATOR = {
    "IAM_ROLE": "iam_role_arn",
    "CREDENTIALS": "iam_role_arn (key-based credentials: allow_key_based_credentials=True)",
    "ACCESS_KEY_ID": "iam_role_arn (key-based credentials: allow_key_based_credentials=True)",
    "SECRET_ACCESS_KEY": "iam_role_arn (key-based credentials: allow_key_based_credentials=True)",
    "SESSION_TOKEN": "iam_role_arn (key-based credentials: allow_key_based_credentials=True)",
    "MANIFEST": "nothing: the operator always loads through a manifest it writes",
    "REGION": "the region preflight (on_region_mismatch), which adds REGION when it is needed",
    "FORMAT": "input_format",
    "CSV": "input_format=CsvFormat(...)",
    "JSON": "input_format=JsonFormat(...)",
    "PARQUET": "input_format=ParquetFormat()",
    "ORC": "input_format=OrcFormat()",
    "AVRO": "input_format=AvroFormat(...)",
    "DELIMITER": "the delimiter field of CsvFormat/TextFormat",
    "QUOTE": "the quote field of CsvFormat",
    "IGNOREHEADER": "the header_rows field of the format",
    "NULL": "the null_as field of the format",
    "EMPTYASNULL": "the empty_as_null field of the format",
    "BLANKSASNULL": "the blanks_as_null field of the format",
    "ESCAPE": "TextFormat(escape=True)",
    "REMOVEQUOTES": "TextFormat(remove_quotes=True)",
    "GZIP": "the compression field of the format",
    "BZIP2": "the compression field of the format",
    "ZSTD": "the compression field of the format",
    "LZOP": "the compression field of the format",
    "DATEFORMAT": "the date_format field of the format",
    "TIMEFORMAT": "the time_format field of the format",
    "MAXERROR": "the max_errors field of the format",
    "TRUNCATECOLUMNS": "the truncate_columns field of the format",
    "ACCEPTINVCHARS": "the accept_inv_chars field of the format",
}
_REFUSED = {
    "NOLOAD": "it checks the files without loading them, yet the load would be recorded in the ledger",
    "IGNOREALLERRORS": "it would load a partial file and record it as loaded; use max_errors",
    "ENCRYPTED": "client-side encrypted files are not supported",
    "MASTER_SYMMETRIC_KEY": "client-side encrypted files are not supported",
    "SSH": "only Amazon S3 sources are supported",
    "FIXEDWIDTH": "fixed-width files are not supported",
    "SHAPEFILE": "shapefiles are not supported",
}


def parse_copy_options(options: Mapping[str, Any] | None, fmt: CopyFormat) -> list[str]:
    """Return the COPY clauses of the extra ``options``, each checked against the allow-list.

    :param options: ``{"FILLRECORD": True, "COMPROWS": 100000, "ENCODING": "UTF8", ...}``; a False flag is
        left out.
    :param fmt: the input format (some options apply to some formats only).
    """
    if not options:
        return []
    if not isinstance(options, Mapping):
        raise FormatError(
            f"copy_options is {options!r}: expected a dict of option name to value, e.g. "
            "{'FILLRECORD': True}. Fix: pass a dict."
        )
    clauses: list[str] = []
    for raw_name, value in options.items():
        name = str(raw_name).strip().upper()
        if not re.fullmatch(r"[A-Z_]+", name):
            raise FormatError(
                f"copy_options has the key {raw_name!r}: expected one option name (letters and '_'), not "
                "SQL. "
                f"Fix: use one of {', '.join(ALLOWED_COPY_OPTIONS)}."
            )
        if name in _BY_OPERATOR:
            raise FormatError(
                f"copy_options sets {name}: the operator controls it. Fix: use {_BY_OPERATOR[name]}."
            )
        if name in _REFUSED:
            raise FormatError(f"copy_options sets {name}, which is refused: {_REFUSED[name]}.")
        allowed = ALLOWED_COPY_OPTIONS.get(name)
        if allowed is None:
            raise FormatError(
                f"copy_options sets {name}: expected one of {', '.join(ALLOWED_COPY_OPTIONS)}. Fix: remove "
                "it, "
                "or ask for it to be added to the allow-list."
            )
        if fmt.type not in allowed.formats:
            raise FormatError(
                f"copy_options sets {name}, which COPY does not accept with {fmt.type.upper()} files "
                f"(only with {', '.join(f.upper() for f in allowed.formats)}). Fix: remove it."
            )
        if allowed.kind == "flag":
            if _bool(value, f"copy_options {name}"):
                clauses.append(name)
        elif allowed.kind == "int":
            clauses.append(f"{name} {_int(value, f'copy_options {name}', allowed.low, allowed.high)}")
        else:
            choice = str(value).strip().upper() if not isinstance(value, bool) else ("ON" if value else "OFF")
            if choice not in allowed.choices:
                raise FormatError(
                    f"copy_options {name} is {value!r}: expected one of {', '.join(allowed.choices)}. "
                    "Fix: pass one of those."
                )
            clauses.append(f"{name} {choice}")
    return clauses
