"""A Redshift ``COPY ... FROM 's3://...'`` statement as a typed command (parsed by ``copy_parser``).

The grammar is Redshift's (see the AWS COPY reference), not PostgreSQL's: options follow the source without
parentheses or commas, in any order, keywords are case-insensitive and ``AS`` is optional where Redshift
allows it. A COPY that is not from an ``'s3://...'`` string (``COPY t FROM STDIN``, ``COPY (query) TO ...``)
is plain PostgreSQL and is left alone: :func:`parse_copy` returns None for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AwsKeyCredentials",
    "CopyCommand",
    "CopySyntaxError",
    "datetime_format_parts",
]

FORMATS = ("text", "csv", "json", "parquet", "orc", "avro")
COLUMNAR_FORMATS = ("parquet", "orc")
COMPRESSIONS = ("gzip", "bzip2", "zstd", "lzop")
REDACTED = "'***'"
MAXERROR_LIMIT = 100000

_DATETIME_PARTS = ("HH24", "HH12", "YYYY", "MONTH", "MON", "HH", "YY", "MM", "DD", "MI", "SS", "AM", "PM")


class CopySyntaxError(Exception):
    """A Redshift COPY statement that Redshift would reject before reading any data."""

    sqlstate = "42601"


@dataclass(frozen=True)
class AwsKeyCredentials:
    """Key-based authorization of a COPY; the secret parts never appear in ``repr``."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CopyCommand:
    """A parsed Redshift ``COPY ... FROM 's3://...'``; option defaults are Redshift's."""

    table: str
    source: str
    schema: str | None = None
    database: str | None = None
    columns: tuple[str, ...] | None = None
    iam_role: str | None = None
    credentials: AwsKeyCredentials | None = None
    region: str | None = None
    manifest: bool = False
    format: str = "text"
    json_spec: str | None = None
    avro_spec: str | None = None
    delimiter: str | None = "|"
    fixedwidth: tuple[tuple[str, int], ...] | None = None  # (label, width in bytes) per column
    quote: str | None = None
    escape: bool = False
    removequotes: bool = False
    ignoreheader: int = 0
    null_as: str | None = None
    emptyasnull: bool = False
    blanksasnull: bool = False
    trimblanks: bool = False
    fillrecord: bool = False
    ignoreblanklines: bool = False
    truncatecolumns: bool = False
    roundec: bool = False
    explicit_ids: bool = False
    dateformat: str | None = None
    timeformat: str | None = None
    acceptinvchars: str | None = None
    maxerror: int = 0
    compression: str | None = None
    compupdate: str | None = None
    statupdate: str | None = None
    comprows: int | None = None
    encoding: str = "utf8"
    sql: str = field(default="", repr=False, compare=False)
    secret_spans: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    @property
    def bucket(self) -> str:
        """Return the bucket of the source URL."""
        return split_s3_url(self.source)[0]

    @property
    def key_prefix(self) -> str:
        """Return the key (prefix, object or manifest key) of the source URL."""
        return split_s3_url(self.source)[1]

    @property
    def qualified_table(self) -> str:
        """Return ``schema.table`` (or ``table``) for messages."""
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def redacted(self) -> str:
        """Return the original statement with every secret literal replaced by ``'***'``."""
        if not self.sql:
            return ""
        out: list[str] = []
        pos = 0
        for start, end in sorted(self.secret_spans):
            out.append(self.sql[pos:start])
            out.append(REDACTED)
            pos = end
        out.append(self.sql[pos:])
        return "".join(out)


def datetime_format_parts(fmt: str) -> list[str]:
    """Split a Redshift DATEFORMAT/TIMEFORMAT string into dateparts and literal separators.

    :raises ValueError: the string holds letters that are not a COPY datepart, or repeats one.
    """
    parts: list[str] = []
    seen: set[str] = set()
    i = 0
    upper = fmt.upper()
    while i < len(fmt):
        for part in _DATETIME_PARTS:
            if upper.startswith(part, i):
                canonical = {"HH": "HH24", "MONTH": "MON", "PM": "AM"}.get(part, part)
                if canonical in seen:
                    raise ValueError(f"{part} appears more than once")
                seen.add(canonical)
                parts.append(part)
                i += len(part)
                break
        else:
            if fmt[i].isalnum() and upper[i] != "T":
                raise ValueError(
                    f"'{fmt[i:]}' is not a datepart (YYYY, YY, MM, MON, DD, HH24, HH12, MI, SS, AM)"
                )
            parts.append(fmt[i])
            i += 1
    if "YYYY" not in seen and "YY" not in seen and seen & {"MM", "MON", "DD"}:
        raise ValueError("a format with a month or day needs YYYY or YY")
    return parts


# -- tokens ---------------------------------------------------------------------------------------------


def split_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into (bucket, key)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    bucket, _, key = rest.partition("/")
    return bucket, key
