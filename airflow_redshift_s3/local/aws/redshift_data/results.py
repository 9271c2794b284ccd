"""Typed records, column metadata and pages of the local Redshift Data API's results.

The Data API reference documents the ``Field`` union (``isNull``, ``booleanValue``, ``longValue``,
``doubleValue``, ``stringValue``, ``blobValue``) and the ``ColumnMetadata`` members; the mapping of
Redshift types to fields follows the Data API guide's type table (integers as ``longValue``, ``REAL`` and
``DOUBLE PRECISION`` as ``doubleValue``, ``BOOLEAN`` as ``booleanValue``, ``DECIMAL``, dates, times and
character types as ``stringValue`` in Redshift's text form). How AWS cuts pages is not documented (it
pages "by size"): the local double cuts a page once its records reach ``PAGE_BYTES`` of JSON.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from airflow_redshift_s3.local.aws.redshift_data.exceptions import ValidationException

# Bytes of JSON records in one GetStatementResult page (an assumption: AWS does not document its size).
PAGE_BYTES = 64 * 1024

# PostgreSQL type OIDs the gateway reports, with the type names Redshift's Data API uses for them.
_TYPE_NAMES = {
    16: "bool",
    17: "varbyte",
    18: "char",
    19: "name",
    20: "int8",
    21: "int2",
    23: "int4",
    25: "text",
    26: "oid",
    700: "float4",
    701: "float8",
    705: "unknown",
    1042: "bpchar",
    1043: "varchar",
    1082: "date",
    1083: "time",
    1114: "timestamp",
    1184: "timestamptz",
    1266: "timetz",
    1700: "numeric",
    4000: "super",  # the gateway's own OIDs for SUPER and VARBYTE result columns (wire/result_types.py)
    6551: "varbyte",
}
_SIGNED = frozenset({20, 21, 23, 700, 701, 1700})
_CHARACTER = frozenset({18, 19, 25, 1042, 1043})
_INTEGER_PRECISION = {20: 19, 21: 5, 23: 10, 700: 8, 701: 17}


def _redshift_text(value: dt.date | dt.time) -> str:
    """Return a date or time as Redshift prints it: no trailing fraction zeros, ``+00`` offsets."""
    text = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    text = re.sub(r"(\.\d*?)0+(?=$|[+-])", r"\1", text)
    text = re.sub(r"\.(?=$|[+-])", "", text)
    return re.sub(r"([+-]\d\d):00$", r"\1", text)


def field(value: Any) -> dict[str, Any]:
    """Return the Data API ``Field`` of one value as redshift_connector read it."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"blobValue": bytes(value)}
    if isinstance(value, (dt.date, dt.time)):
        return {"stringValue": _redshift_text(value)}
    if isinstance(value, decimal.Decimal):
        return {"stringValue": str(value)}
    return {"stringValue": str(value)}


def json_default(value: Any) -> str:
    """Encode what JSON has no type for: a ``blobValue`` as base64, as the JSON protocol does."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    return str(value)


def _text(value: Any) -> str:
    """Return one value as a CSV field (NULL as an empty field)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.time)):
        return _redshift_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _name(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def column_metadata(row_description: list[dict[str, Any]], labels: list[str]) -> list[dict[str, Any]]:
    """Return ColumnMetadata for each column of redshift_connector's row description.

    Under protocol 1 the description carries the column's schema and table and a NOT NULL flag (the
    driver's ``nullable`` key is that flag; ColumnMetadata's ``nullable`` is JDBC's: 0 no nulls, 1 nullable).
    """
    columns = []
    for column, label in zip(row_description, labels, strict=False):
        oid = int(column.get("type_oid", 0))
        modifier = int(column.get("type_modifier", -1))
        precision = _INTEGER_PRECISION.get(oid, 0)
        scale = 0
        length = 0
        if oid == 1700 and modifier >= 4:
            precision, scale = ((modifier - 4) >> 16) & 0xFFFF, (modifier - 4) & 0xFFFF
        elif oid in (1042, 1043) and modifier >= 4:
            precision = length = modifier - 4
        columns.append(
            {
                "name": label,
                "label": label,
                "typeName": _TYPE_NAMES.get(oid, "unknown"),
                "isSigned": oid in _SIGNED,
                "isCaseSensitive": oid in _CHARACTER,
                "isCurrency": False,
                "nullable": 0 if column.get("nullable") else 1,
                "precision": precision,
                "scale": scale,
                "length": length,
                "schemaName": _name(column.get("schema_name")),
                "tableName": _name(column.get("table_name")),
            }
        )
    return columns


@dataclass
class ResultSet:
    """The rows of one SQL text, kept for GetStatementResult."""

    columns: list[dict[str, Any]]
    rows: list[tuple[Any, ...]]
    result_format: str = "JSON"

    def __post_init__(self) -> None:
        # the size of the values' text: an estimate of the returned bytes made without encoding them all
        self.size = sum(len(str(value)) for row in self.rows for value in row if value is not None)

    def page(self, statement_id: str, token: str | None) -> tuple[list[list[dict[str, Any]]], str | None]:
        """Return one page of typed records from ``token`` on, and the token of the next page.

        Records are typed page by page: a large result costs its memory once, not twice.
        """
        start = _offset(statement_id, token)
        records: list[list[dict[str, Any]]] = []
        end, used = start, 0
        while end < len(self.rows):
            record = [field(value) for value in self.rows[end]]
            # the record's JSON with the ", " that joins it to the next in the page's list
            size = len(json.dumps(record, default=json_default)) + 2
            if records and used + size > PAGE_BYTES:
                break
            records.append(record)
            used += size
            end += 1
        return records, (_token(statement_id, end) if end < len(self.rows) else None)

    def csv_page(self, statement_id: str, token: str | None) -> tuple[str, str | None]:
        """Return one page of rows as CSV text (GetStatementResultV2), and the token of the next page."""
        start = _offset(statement_id, token)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        end = start
        while end < len(self.rows) and (end == start or buffer.tell() <= PAGE_BYTES):
            writer.writerow([_text(value) for value in self.rows[end]])
            end += 1
        return buffer.getvalue(), (_token(statement_id, end) if end < len(self.rows) else None)


def _token(statement_id: str, offset: int) -> str:
    raw = json.dumps({"id": statement_id, "offset": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _offset(statement_id: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(data["offset"])
        same = data["id"] == statement_id
    except (ValueError, KeyError, TypeError) as err:
        raise ValidationException(
            f"NextToken {token[:40]!r} is not a token of this API: pass the NextToken of the previous page."
        ) from err
    if not same or offset < 0:
        raise ValidationException(
            f"NextToken belongs to another statement than {statement_id}: pass the NextToken of the previous "
            "page of the same statement."
        )
    return offset


def paginate(
    items: list[Any], token: str | None, max_results: int | None, scope: str
) -> tuple[list[Any], str | None]:
    """Return one page of a listing (ListStatements, ListTables, ...) and the token of the next one."""
    start = _offset(scope, token)
    size = max_results or len(items) or 1
    end = start + size
    return items[start:end], (_token(scope, end) if end < len(items) else None)
