"""Protocol negotiation and the names and flags protocol 1 adds to each RowDescription field."""

from __future__ import annotations

import struct

import pytest

from airflow_redshift_s3.local.wire.result_metadata import ColumnOrigin, ColumnOrigins, negotiate


@pytest.mark.parametrize(
    ("asked", "answered"),
    [(None, 0), ("0", 0), ("1", 1), ("2", 2), ("3", 2), ("-1", 0), ("two", 0), ("", 0)],
)
def test_the_version_asked_for_is_answered_up_to_2(asked, answered):
    assert negotiate(asked) == answered


def _field(label: bytes, table: int, attnum: int) -> bytes:
    return label + b"\x00" + struct.pack("!ihihih", table, attnum, 23, 4, -1, 0)


def _read_extended(body: bytes) -> list[tuple[bytes, list[bytes], int]]:
    """Read fields as redshift_connector's handle_ROW_DESCRIPTION does from protocol 1 on."""
    (count,) = struct.unpack_from("!h", body, 0)
    pos, fields = 2, []
    for _ in range(count):
        end = body.index(b"\x00", pos)
        label, pos = body[pos:end], end + 1 + 18
        names = []
        for _ in range(4):
            end = body.index(b"\x00", pos)
            names.append(body[pos:end])
            pos = end + 1
        (flags,) = struct.unpack_from("!H", body, pos)
        pos += 2
        fields.append((label, names, flags))
    assert pos == len(body)
    return fields


def test_table_columns_get_names_and_flags_and_computed_ones_none():
    origins = ColumnOrigins()
    origins._tables[("dev", 16384)] = {
        1: ColumnOrigin("sales", "orders", "id", not_null=True, identity=True),
        2: ColumnOrigin("sales", "orders", "note", not_null=False, identity=False),
    }
    body = struct.pack("!h", 4) + _field(b"id", 16384, 1) + _field(b"n", 16384, 2)
    body += _field(b"total", 0, 0) + _field(b"gone", 16385, 1)  # computed; a table not looked up
    assert _read_extended(origins.extend(body, "dev")) == [
        (b"id", [b"sales", b"orders", b"id", b"dev"], 0x1 | 0x10 | 0x1000),
        (b"n", [b"sales", b"orders", b"note", b"dev"], 0x1000),
        (b"total", [b"", b"", b"", b""], 0x1000),
        (b"gone", [b"", b"", b"", b""], 0x1000),
    ]
    assert _read_extended(origins.extend(body, "other_db"))[0][1] == [b"", b"", b"", b""]  # per database
    origins.forget()
    assert _read_extended(origins.extend(body, "dev"))[0][1] == [b"", b"", b"", b""]
