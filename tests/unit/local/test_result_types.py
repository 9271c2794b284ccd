"""Result columns shown as Redshift shows them: the gateway's RowDescription and DataRow conversions."""

from __future__ import annotations

import struct

import pytest

from airflow_redshift_s3.local.wire.result_types import (
    NumericColumn,
    NumericOutOfRange,
    ResultTypes,
    bind_formats,
    redshift_numeric,
)

_Y2M_TYPMOD = (((1 << 1) | (1 << 2)) << 16) | 0xFFFF  # PostgreSQL's INTERVAL YEAR TO MONTH
_D2S_TYPMOD = (((1 << 3) | (1 << 10) | (1 << 11) | (1 << 12)) << 16) | 0xFFFF


def _row_description(*columns: tuple[int, int]) -> bytes:
    body = struct.pack("!h", len(columns))
    for index, (oid, typmod) in enumerate(columns):
        body += f"c{index}".encode() + b"\x00" + struct.pack("!ihihih", 0, 0, oid, -1, typmod, 0)
    return body


def _described(body: bytes, part: int) -> list[int]:
    """Return one part of each field's fixed section (2: type OID, 4: type modifier)."""
    (count,) = struct.unpack_from("!h", body, 0)
    pos, parts = 2, []
    for _ in range(count):
        pos = body.index(b"\x00", pos) + 1
        parts.append(struct.unpack_from("!ihihih", body, pos)[part])
        pos += 18
    return parts


def _oids(body: bytes) -> list[int]:
    return _described(body, 2)


def _data_row(*values: bytes | None) -> bytes:
    body = struct.pack("!h", len(values))
    for value in values:
        body += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    return body


def _values(body: bytes) -> list[bytes | None]:
    (count,) = struct.unpack_from("!h", body, 0)
    pos, values = 2, []
    for _ in range(count):
        (size,) = struct.unpack_from("!i", body, pos)
        pos += 4
        values.append(None if size < 0 else body[pos : pos + size])
        pos += max(size, 0)
    return values


def test_jsonb_bytea_and_qualified_intervals_get_redshift_oids():
    types = ResultTypes()
    types.simple_query()
    description = _row_description(
        (3802, -1), (17, -1), (1186, _Y2M_TYPMOD), (1186, _D2S_TYPMOD), (1186, -1), (23, -1)
    )
    assert _oids(types.row_description(description)) == [4000, 6551, 1188, 1190, 1186, 23]
    assert types.active


def test_text_values_compact_json_and_bare_hex():
    types = ResultTypes()
    types.simple_query()
    types.row_description(_row_description((3802, -1), (17, -1), (25, -1)))
    row = _data_row(b'{"a": [1, "x, y: z"], "b": "\\" ,"}', b"\\x6162", b"a, b")
    assert _values(types.data_row(row)) == [b'{"a":[1,"x, y: z"],"b":"\\" ,"}', b"6162", b"a, b"]
    assert _values(types.data_row(_data_row(None, None, None))) == [None, None, None]


def test_binary_intervals_become_months_and_microseconds():
    types = ResultTypes()
    types.describe(b"Sstmt_1\x00")
    types.row_description(_row_description((1186, _Y2M_TYPMOD), (1186, _D2S_TYPMOD)))
    types.bind(b"stmt_1", [1, 1])
    y2m = struct.pack("!qii", 0, 0, 23)
    d2s = struct.pack("!qii", 3_660_000_000, 1, 0)
    months, micros = _values(types.data_row(_data_row(y2m, d2s)))
    assert struct.unpack("!i", months) == (23,)
    assert struct.unpack("!q", micros) == (86_400_000_000 + 3_660_000_000,)


def test_a_statement_bound_again_by_name_keeps_its_conversions():
    """redshift_connector describes a statement once, then binds it by name without describing it again."""
    types = ResultTypes()
    types.describe(b"Sjson_stmt\x00")
    types.row_description(_row_description((3802, -1)))
    types.describe(b"Sint_stmt\x00")
    types.row_description(_row_description((23, -1)))
    types.bind(b"int_stmt", [])
    assert not types.active
    types.bind(b"json_stmt", [])
    assert _values(types.data_row(_data_row(b"[1, 2]"))) == [b"[1,2]"]
    types.describe(b"Sddl\x00")
    types.no_data()
    types.bind(b"ddl", [])
    assert not types.active


def test_bind_formats_reads_the_result_format_section():
    assert bind_formats(struct.pack("!hhh", 2, 0, 1)) == [0, 1]
    assert bind_formats(struct.pack("!h", 0)) == []


def _pg_numeric(digits: list[int], weight: int, negative: bool = False, special: int | None = None) -> bytes:
    """PostgreSQL's binary NUMERIC (numeric.c, numeric_send): base-10000 digits after a 4-word header."""
    sign = special if special is not None else (0x4000 if negative else 0)
    return struct.pack(f"!hhHh{len(digits)}h", len(digits), weight, sign, 0, *digits)


@pytest.mark.parametrize(
    ("digits", "weight", "negative", "precision", "scale", "expected", "size"),
    [
        ([1234, 5000], 0, False, 12, 2, 123450, 8),  # 1234.50
        ([1234, 5000], 0, True, 12, 2, -123450, 8),
        ([], 0, False, 10, 2, 0, 8),  # zero has no digits
        ([1250], -1, False, 10, 2, 13, 8),  # 0.125 at scale 2: half away from zero
        ([1250], -1, True, 10, 2, -13, 8),
        ([1], 4, False, 19, 0, 10**16, 16),  # 1e16 in a NUMERIC(19,0): 16 bytes
        ([1, 0, 0], 9, False, 38, 0, 10**36, 16),  # a weight beyond the digits: trailing zero groups
    ],
)
def test_binary_numeric_becomes_a_scaled_integer(digits, weight, negative, precision, scale, expected, size):
    encoded = redshift_numeric(_pg_numeric(digits, weight, negative), NumericColumn(precision, scale))
    assert len(encoded) == size
    assert int.from_bytes(encoded, "big", signed=True) == expected


@pytest.mark.parametrize("special", [0xC000, 0xD000, 0xF000])  # NaN, +infinity, -infinity
def test_nan_and_infinity_are_overflows(special):
    with pytest.raises(NumericOutOfRange, match="Numeric data overflow"):
        redshift_numeric(_pg_numeric([], 0, special=special), NumericColumn(38, 18))


def test_a_value_over_128_bits_is_an_overflow():
    with pytest.raises(NumericOutOfRange, match=r"NUMERIC\(38,0\)"):
        redshift_numeric(_pg_numeric([1], 10), NumericColumn(38, 0))  # 1e40


def test_protocol_2_reports_unconstrained_numerics_as_38_18_and_converts_binary_rows_only():
    types = ResultTypes()
    types.protocol = 2
    types.describe(b"Sn\x00")
    body = types.row_description(_row_description((1700, -1), (1700, ((10 << 16) | 2) + 4)))
    assert _described(body, 4) == [((38 << 16) | 18) + 4, ((10 << 16) | 2) + 4]
    types.bind(b"n", [1, 0])
    binary, text = _values(types.data_row(_data_row(_pg_numeric([2, 5000], 0), b"7.25")))
    assert int.from_bytes(binary, "big", signed=True) == 25 * 10**17
    assert text == b"7.25"


def test_protocol_0_leaves_numerics_alone():
    types = ResultTypes()
    types.simple_query()
    body = _row_description((1700, -1))
    assert types.row_description(body) == body
    assert not types.active
