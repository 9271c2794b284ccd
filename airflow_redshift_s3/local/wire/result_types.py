r"""Result columns of the types PostgreSQL stores Redshift's in, shown to the client as Redshift shows them.

The local Redshift keeps SUPER in ``jsonb``, VARBYTE in ``bytea`` and the interval types in ``interval``
(the catalog's domains report their base type on the wire). Redshift has neither ``jsonb`` nor ``bytea``
columns, so a result column of one of those is SUPER or VARBYTE; an ``interval`` column whose type modifier
has only year and month fields is INTERVAL YEAR TO MONTH, one with only day to second fields INTERVAL DAY TO
SECOND. Their type OIDs and values become Redshift's, as redshift_connector's type table reads them
(``utils/oids.py`` and ``type_utils.py`` of the driver):

- SUPER (4000), text: compact JSON, without the blanks PostgreSQL prints after ``:`` and ``,`` (the JSON_PARSE
  and JSON_SERIALIZE pages show ``[10001,10002,"abc"]``).
- VARBYTE (6551), text: hexadecimal without PostgreSQL's ``\x`` ("VARBYTE type": values print as hex).
- INTERVAL YEAR TO MONTH (1188): binary, int32 months; INTERVAL DAY TO SECOND (1190): binary, int64
  microseconds (the driver's ``intervaly2m_recv_integer`` / ``intervald2s_recv_integer``). In text they
  keep PostgreSQL's form.
- NUMERIC (1700) under protocol 2 (BINARY), binary: Redshift's form, not PostgreSQL's base-10000 digits —
  the value scaled by the column's scale as a signed big-endian integer of 8 bytes (precision up to 18) or
  16 bytes (the driver's ``numeric_in_binary``, which takes the scale from the type modifier). PostgreSQL
  gives computed numerics (``sum``, ``avg``, arithmetic) no type modifier where Redshift's result-type rules
  give each a precision and scale; the gateway reports those as NUMERIC(38,18) and rounds their values to
  18 decimals, half away from zero. A value no Redshift NUMERIC holds (over 38 digits, NaN, infinity) is
  the error Redshift gives for an overflowing result instead of the row.

redshift_connector describes a statement once and then binds and executes it by name, so the conversion of a
statement's columns is kept under its name: the Describe the client sent last names the statement a
RowDescription answers; a Bind says which statement's rows come next, and in which formats.
"""

from __future__ import annotations

import re
import struct
from typing import NamedTuple

from airflow_redshift_s3.local.wire.messages import ROW_FIELD, row_fields
from airflow_redshift_s3.local.wire.result_metadata import BINARY

JSONB_OID = 3802
BYTEA_OID = 17
INTERVAL_OID = 1186
SUPER_OID = 4000
VARBYTE_OID = 6551
INTERVAL_Y2M_OID = 1188
INTERVAL_D2S_OID = 1190

# PostgreSQL's interval type modifier: field mask in the upper 16 bits (datetime.h: MONTH 1, YEAR 2, DAY 3,
# HOUR 10, MINUTE 11, SECOND 12).
_YEAR_MONTH_MASK = (1 << 1) | (1 << 2)
_DAY_SECOND_MASK = (1 << 3) | (1 << 10) | (1 << 11) | (1 << 12)
_FULL_RANGE = 0x7FFF
_JSON_BLANKS = re.compile(rb'("(?:[^"\\]|\\.)*")|\s+')
_MICROS_PER_DAY = 86_400_000_000

NUMERIC_OID = 1700
# What a NUMERIC without a type modifier is reported as (see the module's docstring).
UNCONSTRAINED_NUMERIC = (38, 18)
_NUMERIC_NEGATIVE = 0x4000
_NUMERIC_SPECIAL = 0xC000  # NaN, and from PostgreSQL 14 on +/-infinity (0xD000, 0xF000)

SUPER, VARBYTE, Y2M, D2S = "super", "varbyte", "y2m", "d2s"


class NumericColumn(NamedTuple):
    """A NUMERIC result column: its precision and scale as the client was told them."""

    precision: int
    scale: int


Conversions = dict[int, "str | NumericColumn"]  # column index -> kind


class NumericOutOfRange(Exception):
    """A NUMERIC value that no Redshift NUMERIC holds."""


def numeric_typmod(precision: int, scale: int) -> int:
    """Return PostgreSQL's type modifier of NUMERIC(precision, scale)."""
    return ((precision << 16) | scale) + 4


def redshift_numeric(value: bytes, column: NumericColumn) -> bytes:
    """Re-encode PostgreSQL's binary NUMERIC as Redshift's scaled 8- or 16-byte integer."""
    ndigits, weight, sign, _ = struct.unpack_from("!hhHh", value, 0)
    if sign & _NUMERIC_SPECIAL == _NUMERIC_SPECIAL:
        raise NumericOutOfRange(
            "Numeric data overflow (result precision): NaN and infinity are not NUMERIC values"
        )
    digits = 0
    for digit in struct.unpack_from(f"!{ndigits}h", value, 8):
        digits = digits * 10_000 + digit
    exponent = (weight - ndigits + 1) * 4 + column.scale  # value * 10**scale == digits * 10**exponent
    if exponent >= 0:
        scaled = digits * 10**exponent
    else:
        scaled, rest = divmod(digits, 10**-exponent)
        scaled += 2 * rest >= 10**-exponent
    if sign == _NUMERIC_NEGATIVE:
        scaled = -scaled
    size = 8 if column.precision <= 18 else 16
    try:
        return scaled.to_bytes(size, "big", signed=True)
    except OverflowError:
        raise NumericOutOfRange(
            f"Numeric data overflow (result precision): the value does not fit "
            f"NUMERIC({column.precision},{column.scale})"
        ) from None


def _interval_kind(typmod: int) -> str | None:
    if typmod < 0:
        return None
    fields = (typmod >> 16) & 0xFFFF
    if fields == _FULL_RANGE or fields == 0:
        return None
    if fields & ~_YEAR_MONTH_MASK == 0:
        return Y2M
    if fields & ~_DAY_SECOND_MASK == 0:
        return D2S
    return None


class ResultTypes:
    """One session's result-column conversions (see the module's docstring)."""

    def __init__(self) -> None:
        self.protocol = 0  # the client protocol version the session negotiated
        self._described: bytes | None = None  # the statement the next RowDescription describes
        self._by_statement: dict[bytes, Conversions] = {}
        self._current: Conversions = {}
        self._formats: list[int] = []  # result format codes of the current Bind (empty: all text)

    @property
    def active(self) -> bool:
        """Tell whether the rows that come next have a column to convert."""
        return bool(self._current)

    def simple_query(self) -> None:
        """Note a Query message: its RowDescriptions describe its own rows, in text."""
        self._described = None
        self._formats = []

    def describe(self, body: bytes) -> None:
        """Note a Describe message (``S`` + statement name, or ``P`` + portal name)."""
        self._described = body[1:].rstrip(b"\x00") if body[:1] == b"S" else None

    def bind(self, statement: bytes, formats: list[int]) -> None:
        """Note a Bind message: the rows of ``statement`` come next, in ``formats``."""
        self._current = self._by_statement.get(statement, {})
        self._formats = formats

    def portal(self, formats: list[int]) -> None:
        """Note an unnamed portal the gateway binds itself: the RowDescription of its Describe comes next."""
        self._described = None
        self._current = {}
        self._formats = formats

    def row_description(self, body: bytes) -> bytes:
        """Return a RowDescription with Redshift's type OIDs, and note the columns to convert."""
        out = bytearray(body[:2])
        conversions: Conversions = {}
        for index, field in enumerate(row_fields(body)):
            oid, typmod = field.type_oid, field.typmod
            kind: str | NumericColumn | None = None
            if oid == JSONB_OID:
                kind, oid = SUPER, SUPER_OID
            elif oid == BYTEA_OID:
                kind, oid = VARBYTE, VARBYTE_OID
            elif oid == INTERVAL_OID:
                kind = _interval_kind(typmod)
                oid = {Y2M: INTERVAL_Y2M_OID, D2S: INTERVAL_D2S_OID}.get(kind or "", oid)
            elif oid == NUMERIC_OID and self.protocol >= BINARY:
                if typmod < 4:
                    typmod = numeric_typmod(*UNCONSTRAINED_NUMERIC)
                kind = NumericColumn((typmod - 4) >> 16 & 0xFFFF, (typmod - 4) & 0xFFFF)
            if kind is not None:
                conversions[index] = kind
            out += body[field.start : field.fixed]
            out += ROW_FIELD.pack(field.table, field.attnum, oid, field.size, typmod, field.format)
        if self._described is not None:
            self._by_statement[self._described] = conversions
        self._current = conversions
        return bytes(out)

    def no_data(self) -> None:
        """Note a NoData answer to a Describe: the statement returns no rows."""
        if self._described is not None:
            self._by_statement[self._described] = {}
        self._current = {}

    def data_row(self, body: bytes) -> bytes:
        """Return a DataRow with the noted columns' values in Redshift's form."""
        (count,) = struct.unpack_from("!h", body, 0)
        out = bytearray(body[:2])
        pos = 2
        for index in range(count):
            (size,) = struct.unpack_from("!i", body, pos)
            pos += 4
            if size < 0:
                out += body[pos - 4 : pos]
                continue
            value = body[pos : pos + size]
            pos += size
            kind = self._current.get(index)
            if kind is not None:
                value = self._convert(kind, value, self._format(index))
            out += struct.pack("!i", len(value)) + value
        return bytes(out)

    def _format(self, index: int) -> int:
        if not self._formats:
            return 0
        return self._formats[0] if len(self._formats) == 1 else self._formats[index]

    @staticmethod
    def _convert(kind: str | NumericColumn, value: bytes, fmt: int) -> bytes:
        if isinstance(kind, NumericColumn):
            return redshift_numeric(value, kind) if fmt != 0 else value
        if fmt != 0 and kind in (Y2M, D2S) and len(value) == 16:
            micros, days, months = struct.unpack("!qii", value)
            if kind == Y2M:
                return struct.pack("!i", months)
            return struct.pack("!q", days * _MICROS_PER_DAY + micros)
        if fmt != 0:
            return value
        if kind == SUPER:
            return _JSON_BLANKS.sub(lambda m: m.group(1) or b"", value)
        if kind == VARBYTE and value.startswith(b"\\x"):
            return value[2:]
        return value


def bind_formats(section: bytes) -> list[int]:
    """Return the result format codes of a Bind's result-format section (int16 count + codes)."""
    (count,) = struct.unpack_from("!h", section, 0)
    return list(struct.unpack_from(f"!{count}h", section, 2))


__all__ = ["NumericColumn", "NumericOutOfRange", "ResultTypes", "bind_formats", "redshift_numeric"]
