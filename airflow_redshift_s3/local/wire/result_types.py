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

redshift_connector describes a statement once and then binds and executes it by name, so the conversion of a
statement's columns is kept under its name: the Describe the client sent last names the statement a
RowDescription answers; a Bind says which statement's rows come next, and in which formats.
"""

from __future__ import annotations

import re
import struct

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

SUPER, VARBYTE, Y2M, D2S = "super", "varbyte", "y2m", "d2s"
Conversions = dict[int, str]  # column index -> kind


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

    def row_description(self, body: bytes) -> bytes:
        """Return a RowDescription with Redshift's type OIDs, and note the columns to convert."""
        (count,) = struct.unpack_from("!h", body, 0)
        out = bytearray(body[:2])
        pos = 2
        conversions: Conversions = {}
        for index in range(count):
            end = body.index(b"\x00", pos) + 1
            table, attnum, oid, size, typmod, fmt = struct.unpack_from("!ihihih", body, end)
            kind = None
            if oid == JSONB_OID:
                kind, oid = SUPER, SUPER_OID
            elif oid == BYTEA_OID:
                kind, oid = VARBYTE, VARBYTE_OID
            elif oid == INTERVAL_OID:
                kind = _interval_kind(typmod)
                oid = {Y2M: INTERVAL_Y2M_OID, D2S: INTERVAL_D2S_OID}.get(kind or "", oid)
            if kind is not None:
                conversions[index] = kind
            out += body[pos:end] + struct.pack("!ihihih", table, attnum, oid, size, typmod, fmt)
            pos = end + 18
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
    def _convert(kind: str, value: bytes, fmt: int) -> bytes:
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


__all__ = ["ResultTypes", "bind_formats"]
