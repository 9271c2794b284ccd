"""The files an UNLOAD writes: names, per-slice parts, text/CSV/Parquet bodies, compression and manifest.

Everything here follows the UNLOAD page of the Redshift Database Developer Guide (and its examples page):
``<prefix><slice:04>_part_<part:02>`` per slice with PARALLEL ON, ``<prefix><part:03>`` with PARALLEL OFF,
``.gz`` / ``.bz2`` / ``.zst`` / ``.parquet`` appended (EXTENSION replaces it), ``<prefix>manifest``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_redshift_s3.local.sql.unload_command import UnloadCommand

Column = tuple[str, int, int]  # name, PostgreSQL type OID, type modifier (RowDescription)
Row = list[str | None]  # text-format values

_BOOL, _INT8, _INT2, _INT4, _TEXT, _FLOAT4, _FLOAT8 = 16, 20, 21, 23, 25, 700, 701
_BPCHAR, _VARCHAR, _DATE, _TIMESTAMP, _TIMESTAMPTZ, _NUMERIC = 1042, 1043, 1082, 1114, 1184, 1700
_CHARACTER_TYPES = (_TEXT, _BPCHAR, _VARCHAR)
_TYPE_NAMES = {
    _BOOL: "boolean",
    _INT8: "bigint",
    _INT2: "smallint",
    _INT4: "integer",
    _TEXT: "character varying",
    _FLOAT4: "real",
    _FLOAT8: "double precision",
    _BPCHAR: "character",
    _VARCHAR: "character varying",
    _DATE: "date",
    _TIMESTAMP: "timestamp without time zone",
    _TIMESTAMPTZ: "timestamp with time zone",
    _NUMERIC: "numeric",
}
_EXTENSIONS = {"gzip": ".gz", "bzip2": ".bz2", "zstd": ".zst"}


@dataclass(frozen=True)
class UnloadFile:
    """One object UNLOAD writes."""

    key: str
    body: bytes
    record_count: int  # rows, plus the header line when HEADER is on (as MANIFEST VERBOSE counts them)


def build_files(cmd: UnloadCommand, columns: list[Column], rows: list[Row], slices: int) -> list[UnloadFile]:
    """Return the data files of an UNLOAD (the manifest apart).

    With PARALLEL ON each slice gets a contiguous share of the rows (so the files, in name order, keep an
    ORDER BY) and writes at least one file, empty or header-only when it has no rows; a slice's rows go
    to further parts when a part would exceed MAXFILESIZE (counted before compression).
    """
    shares = _shares(rows, slices if cmd.parallel else 1)
    files: list[UnloadFile] = []
    for slice_number, share in enumerate(shares):
        for part, chunk in enumerate(_parts(cmd, columns, share)):
            name = f"{slice_number:04d}_part_{part:02d}" if cmd.parallel else f"{part:03d}"
            body = _body(cmd, columns, chunk)
            files.append(
                UnloadFile(cmd.prefix + name + _extension(cmd), _compress(cmd, body), len(chunk) + cmd.header)
            )
    return files


def manifest_file(cmd: UnloadCommand, columns: list[Column], files: list[UnloadFile]) -> UnloadFile:
    """Return ``<prefix>manifest``: the files' URLs; with VERBOSE their sizes, counts and the schema."""
    entries: list[dict[str, Any]] = []
    for file in files:
        entry: dict[str, Any] = {"url": f"s3://{cmd.bucket}/{file.key}"}
        if cmd.verbose:
            entry["meta"] = {"content_length": len(file.body), "record_count": file.record_count}
        elif cmd.format == "parquet":  # COPY from Parquet needs each entry's content_length
            entry["meta"] = {"content_length": len(file.body)}
        entries.append(entry)
    document: dict[str, Any] = {"entries": entries}
    if cmd.verbose:
        document["schema"] = {"elements": [{"name": n, "type": _schema_type(o, m)} for n, o, m in columns]}
        document["meta"] = {
            "content_length": sum(len(f.body) for f in files),
            "record_count": sum(f.record_count for f in files),
        }
        document["author"] = {"name": "Amazon Redshift", "version": "1.0.0"}
    body = json.dumps(document, indent=2).encode()
    return UnloadFile(cmd.prefix + "manifest", body, 0)


def _schema_type(oid: int, typmod: int) -> dict[str, Any]:
    base = _TYPE_NAMES.get(oid, "character varying")
    if oid in (_VARCHAR, _BPCHAR) and typmod > 4:
        return {"base": base, "dimensions": [typmod - 4]}
    if oid == _NUMERIC and typmod > 4:
        return {"base": base, "dimensions": [(typmod - 4) >> 16, (typmod - 4) & 0xFFFF]}
    return {"base": base}


def _shares(rows: list[Row], count: int) -> list[list[Row]]:
    size = -(-len(rows) // count) if rows else 0
    return [rows[i * size : (i + 1) * size] for i in range(count)]


def _parts(cmd: UnloadCommand, columns: list[Column], rows: list[Row]) -> list[list[Row]]:
    parts: list[list[Row]] = [[]]
    size = len(_text_line(cmd, columns, [c[0] for c in columns])) if cmd.header else 0
    for row in rows:
        line = len(_text_line(cmd, columns, row))
        if parts[-1] and size + line > cmd.maxfilesize:
            parts.append([])
            size = 0
        parts[-1].append(row)
        size += line
    return parts


def _extension(cmd: UnloadCommand) -> str:
    if cmd.extension:
        return "." + cmd.extension
    if cmd.format == "parquet":
        return ".parquet"
    return _EXTENSIONS.get(cmd.compression or "", "")


def _compress(cmd: UnloadCommand, body: bytes) -> bytes:
    if cmd.compression == "gzip":
        import gzip

        return gzip.compress(body, mtime=0)
    if cmd.compression == "bzip2":
        import bz2

        return bz2.compress(body)
    if cmd.compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(body)
    return body


def _body(cmd: UnloadCommand, columns: list[Column], rows: list[Row]) -> bytes:
    if cmd.format == "parquet":
        return _parquet(columns, rows)
    lines = [_text_line(cmd, columns, [c[0] for c in columns])] if cmd.header else []
    lines.extend(_text_line(cmd, columns, row) for row in rows)
    return "".join(lines).encode()


def _text_line(cmd: UnloadCommand, columns: list[Column], row: list[str] | Row) -> str:
    delimiter = cmd.delimiter
    fields: list[str] = []
    for (_, oid, _), value in zip(columns, row, strict=True):
        if value is None:
            fields.append(cmd.null_as)
            continue
        if cmd.format == "csv":
            if any(c in value for c in (delimiter, '"', "\n", "\r")):
                value = '"' + value.replace('"', '""') + '"'
        else:
            if cmd.escape and oid in _CHARACTER_TYPES:
                special = {"\\", "\n", "\r", delimiter} | ({'"', "'"} if cmd.addquotes else set())
                value = "".join("\\" + c if c in special else c for c in value)
            if cmd.addquotes:
                value = f'"{value}"'
        fields.append(value)
    return delimiter.join(fields) + "\n"


def _parquet(columns: list[Column], rows: list[Row]) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = []
    for index, (_, oid, typmod) in enumerate(columns):
        values = [row[index] for row in rows]
        arrow_type, convert = _arrow_type(oid, typmod, values)
        arrays.append(pa.array([None if v is None else convert(v) for v in values], type=arrow_type))
    table = pa.Table.from_arrays(arrays, names=[c[0] for c in columns])
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy", version="1.0")
    return sink.getvalue()


def _arrow_type(oid: int, typmod: int, values: list[str | None]) -> tuple[Any, Any]:
    import datetime
    import decimal

    import pyarrow as pa

    if oid == _BOOL:
        return pa.bool_(), lambda v: v == "t"
    if oid in (_INT2, _INT4, _INT8):
        return {_INT2: pa.int16(), _INT4: pa.int32(), _INT8: pa.int64()}[oid], int
    if oid in (_FLOAT4, _FLOAT8):
        return (pa.float32() if oid == _FLOAT4 else pa.float64()), float
    if oid == _NUMERIC:
        if typmod > 4:
            precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
        else:
            scale = max((len(v.partition(".")[2]) for v in values if v is not None), default=0)
            precision, scale = 38, min(scale, 37)
        return pa.decimal128(precision, scale), decimal.Decimal
    if oid == _DATE:
        return pa.date32(), datetime.date.fromisoformat
    if oid in (_TIMESTAMP, _TIMESTAMPTZ):
        # "If a column uses TIMESTAMPTZ data format, only the timestamp values are unloaded"
        return pa.timestamp("us"), _naive_timestamp
    return pa.string(), str


def _naive_timestamp(value: str) -> Any:
    import datetime

    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


__all__ = ["Column", "Row", "UnloadFile", "build_files", "manifest_file"]
