"""Per-column rules of a row-by-row COPY: NULLs, CHAR widths, date and time formats, bad values."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from airflow_redshift_s3.local.copy.model import NUMBER_LABELS, FieldError, TableColumn
from airflow_redshift_s3.local.sql.copy_command import CopyCommand, datetime_format_parts

_VARCHAR_TYPES = frozenset({"character varying", "varchar", "text", "citext"})

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


def bad_value_reason(column: TableColumn | None, value: str) -> tuple[int, str]:
    """Return Redshift's (error code, reason) for a value its column rejects."""
    kind = column.short_type if column else ""
    if kind in NUMBER_LABELS:
        position = bad_position(value)
        shown = value[position : position + 1]
        return 1207, f"Invalid digit, Value '{shown}', Pos {position}, Type: {NUMBER_LABELS[kind]}"
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


def bad_position(value: str) -> int:
    """Return the 1-based position of the first bad character of a value."""
    for position, char in enumerate(value):
        if not (char.isdigit() or (position == 0 and char in "+-") or char in ". "):
            return position
    return 0


# -- per-column rules -----------------------------------------------------------------------------------


@dataclass
class ColumnPlan:
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
    def make(cls, column: TableColumn, cmd: CopyCommand) -> ColumnPlan:
        """Build the plan of ``column`` under the options of ``cmd``."""
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
        """Apply Redshift's empty, blank, datetime and length rules; raise FieldError for a bad value."""
        if self.trimblanks and self.is_varchar:
            text = text.rstrip()
        if text == "":
            return None if (self.emptyasnull or not self.is_char) else ""
        if (not self.is_char or self.blanksasnull) and text.isspace():
            return None
        if self.convert is not None:
            text = self.convert(text)
        if self.length is not None and (len(text) > self.length or not text.isascii()):
            text = self._fit(text, self.length)
        return text

    def _fit(self, text: str, length: int) -> str:
        """Apply the DDL length, which Redshift counts in bytes of UTF-8 (CHAR and VARCHAR pages)."""
        encoded = text.encode("utf-8")
        if len(encoded) <= length:
            return text
        if self.truncate:  # at a character boundary
            return encoded[:length].decode("utf-8", errors="ignore")
        if encoded[length:].strip(b" "):
            raise FieldError(1204, "String length exceeds DDL length", length)
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
                raise FieldError(code, f"{label} [{fmt}]") from None
            return moment.isoformat(sep=" ") + suffix

        return from_epoch

    pattern = _datetime_regex(fmt, kind)

    def parse(text: str) -> str:
        match = pattern.fullmatch(text.strip())
        if match is None:
            raise FieldError(code, f"{label} [{fmt}]")
        try:
            moment = _moment(match.groupdict())
        except (ValueError, KeyError):
            raise FieldError(code, f"{label} [{fmt}]") from None
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
