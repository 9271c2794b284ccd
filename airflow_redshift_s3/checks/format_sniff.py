"""The format sniff: read the first bytes of one object and check them against what COPY was told.

One ranged GET of the head of the object (and, for Parquet, of its footer), decompressed when the format
says so, then pure checks returning ``CheckResult`` (category "format"):

- compression: the bytes start with the magic of the declared compression (or of none);
- CSV / text: the number of fields of the first rows against the columns COPY fills, and the first line
  against the header setting (a header that would be loaded as data, or a data row that would be skipped);
- JSON: the first object parses, and with 'auto' its fields match columns;
- Parquet: the magic bytes, and the file's columns against the columns COPY fills (COPY maps them by
  position); ORC and Avro: the magic bytes.
"""

from __future__ import annotations

import bz2
import csv
import io
import json
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from airflow_redshift_s3.checks.result import CheckResult
from airflow_redshift_s3.copy_format import CopyFormat, CsvFormat, JsonFormat, TextFormat

HEAD_BYTES = 64 * 1024
MAX_TEXT = 256 * 1024
MAX_FOOTER = 4 * 1024 * 1024
SAMPLE_ROWS = 20
_MAGIC = {
    "gzip": b"\x1f\x8b",
    "bzip2": b"BZh",
    "zstd": b"\x28\xb5\x2f\xfd",
    "lzop": b"\x89LZO",
}
_FILE_MAGIC = {"parquet": b"PAR1", "orc": b"ORC", "avro": b"Obj\x01"}


def _url(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _get_range(s3_client: Any, bucket: str, key: str, byte_range: str) -> bytes:
    body: bytes = s3_client.get_object(Bucket=bucket, Key=key, Range=f"bytes={byte_range}")["Body"].read()
    return body


def sniff_object(
    s3_client: Any,
    bucket: str,
    key: str,
    size: int,
    data_format: CopyFormat,
    columns: Sequence[str] | None,
    *,
    fill_record: bool = False,
) -> list[CheckResult]:
    """Read the head of ``s3://bucket/key`` and return the format checks' results.

    :param s3_client: a boto3 S3 client.
    :param size: the object's size in bytes.
    :param data_format: what COPY was told about the files.
    :param columns: the columns COPY fills, in file order (None: do not compare columns).
    :param fill_record: COPY has FILLRECORD (rows may have fewer fields than columns).
    """
    url = _url(bucket, key)
    if size <= 0:
        return [CheckResult.warning("format.sample", "format", f"{url} is empty: nothing to check.", "none")]
    if data_format.type in _FILE_MAGIC:
        head = _get_range(s3_client, bucket, key, f"0-{min(size, HEAD_BYTES) - 1}")
        results = [check_magic(head, data_format.type, url)]
        if data_format.type == "parquet" and not results[0].failed and columns is not None:
            results.append(_parquet_columns(s3_client, bucket, key, size, columns, url))
        return results
    raw = _get_range(s3_client, bucket, key, f"0-{min(size, HEAD_BYTES) - 1}")
    complete = size <= HEAD_BYTES
    results = [check_compression(raw, data_format.compression_name, url)]
    if results[0].failed:
        return results
    text, complete, why = decompress_head(raw, data_format.compression_name, complete)
    if text is None:
        results.append(
            CheckResult.warning(
                "format.sample",
                "format",
                f"Could not read the start of {url} ({why}): its format was not checked.",
                "none",
            )
        )
        return results
    if isinstance(data_format, (CsvFormat, TextFormat)):
        results.extend(
            check_delimited(text, data_format, columns, url, complete=complete, fill_record=fill_record)
        )
    elif isinstance(data_format, JsonFormat):
        results.append(check_json(text, data_format, columns, url, complete=complete))
    return results


def check_magic(head: bytes, kind: str, url: str) -> CheckResult:
    """Check that a Parquet/ORC/Avro file starts with its magic bytes."""
    magic = _FILE_MAGIC[kind]
    name = f"format.{kind}.magic"
    if head.startswith(magic):
        return CheckResult.ok(name, "format", f"{url} starts with the {kind.upper()} magic bytes {magic!r}.")
    found = _describe_bytes(head)
    return CheckResult.failure(
        name,
        "format",
        f"{url} is not a {kind.upper()} file: expected it to start with {magic!r}, found {found}.",
        f"check input_format (the file looks like {_guess(head)}) and that the prefix holds only "
        f"{kind.upper()} files",
    )


def check_compression(raw: bytes, compression: str | None, url: str) -> CheckResult:
    """Check the first bytes against the declared compression."""
    name = "format.compression"
    found = next((kind for kind, magic in _MAGIC.items() if raw.startswith(magic)), None)
    if compression is None:
        if found is None:
            return CheckResult.ok(name, "format", f"{url} is not compressed, as declared.")
        return CheckResult.failure(
            name,
            "format",
            f"{url} is {found}-compressed (it starts with {_MAGIC[found]!r}): expected an uncompressed "
            "file, as the input format declares no compression.",
            f"set compression='{found}' in the input format",
            doctor_fix=f"pass --compression {found}",
        )
    if found == compression:
        return CheckResult.ok(name, "format", f"{url} is {compression}-compressed, as declared.")
    return CheckResult.failure(
        name,
        "format",
        f"{url} is not {compression}-compressed: expected it to start with {_MAGIC[compression]!r}, found "
        f"{_describe_bytes(raw)}" + (f" ({found})" if found else "") + ".",
        f"set compression={repr(found) if found else 'None'} in the input format, or check the files",
        doctor_fix=f"pass --compression {found or 'none'}, or check the files",
    )


def decompress_head(raw: bytes, compression: str | None, complete: bool) -> tuple[str | None, bool, str]:
    """Return (text of the head, whether it is the whole file, why not readable) for a head of bytes."""
    try:
        if compression is None:
            data = raw
        elif compression == "gzip":
            decompressor = zlib.decompressobj(wbits=47)
            data = decompressor.decompress(raw, MAX_TEXT)
            complete = complete and decompressor.eof
        elif compression == "bzip2":
            bz = bz2.BZ2Decompressor()
            data = bz.decompress(raw, MAX_TEXT)
            complete = complete and bz.eof
        elif compression == "zstd":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw))
            try:
                data = reader.read(MAX_TEXT)
            except zstandard.ZstdError:
                data = b""
            complete = False
        else:
            return None, False, f"{compression} cannot be read here"
    except (OSError, EOFError, zlib.error, ValueError) as error:
        return None, False, f"{compression} data is corrupt: {error}"
    if len(data) >= MAX_TEXT:
        complete = False
    if not data and not complete:
        return None, False, f"the first {compression} block is larger than the bytes read"
    return data.decode("utf-8", errors="replace"), complete, ""


def _lines(text: str, complete: bool) -> list[str]:
    lines = text.splitlines()
    if not complete and lines and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # cut by the sample, not by the file
    return lines


def check_delimited(
    text: str,
    data_format: CsvFormat | TextFormat,
    columns: Sequence[str] | None,
    url: str,
    *,
    complete: bool,
    fill_record: bool = False,
) -> list[CheckResult]:
    """Check the field count of the first rows and the header setting of a CSV or delimited text sample."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = _lines(text, complete)
    if isinstance(data_format, CsvFormat):
        rows = [
            r
            for r in csv.reader(
                io.StringIO("\n".join(lines)), delimiter=data_format.delimiter, quotechar=data_format.quote
            )
            if r
        ]
    else:
        rows = [line.split(data_format.delimiter) for line in lines if line]
    kind = "CSV" if isinstance(data_format, CsvFormat) else "text"
    if lines and _is_json_object(lines[0]):
        # COPY would split each object at the delimiter: "passing" field counts would mean nothing.
        return [
            CheckResult.failure(
                f"format.{kind.lower()}.json_lines",
                "format",
                f"{url} holds JSON lines (its first line is a JSON object), not {kind}: COPY would split "
                f"each object at {data_format.delimiter!r} and load the pieces as fields.",
                "load it as JSON (input format type json; doctor --format json)",
            )
        ]
    if not rows:
        return [
            CheckResult.warning(
                "format.sample", "format", f"The start of {url} holds no complete row: not checked.", "none"
            )
        ]
    results: list[CheckResult] = []
    header = data_format.header_rows
    if columns:
        results.append(_header_check(rows, header, columns, url, kind))
    data_rows = rows[header : header + SAMPLE_ROWS]
    if columns and data_rows:
        expected = len(columns)
        counts = sorted({len(r) for r in data_rows})
        bad = [c for c in counts if c > expected or (c < expected and not fill_record)]
        name = f"format.{kind.lower()}.columns"
        if bad:
            first = next(i for i, r in enumerate(data_rows) if len(r) in bad)
            line = header + first + 1
            failure = "Extra column(s) found" if bad[0] > expected else "Delimiter not found"
            results.append(
                CheckResult.failure(
                    name,
                    "format",
                    f"Row {line} of {url} has {len(data_rows[first])} fields with delimiter "
                    f"{data_format.delimiter!r}: expected {expected}, one per column COPY fills "
                    f"({', '.join(columns)}). COPY would fail with '{failure}'.",
                    "check the delimiter and quote of the input format, and column_list (list the columns "
                    "the "
                    "files hold, in their order)",
                    found_fields=counts,
                    expected_fields=expected,
                )
            )
        else:
            results.append(
                CheckResult.ok(
                    name,
                    "format",
                    f"The first {len(data_rows)} row(s) of {url} have {expected} fields, one per column.",
                )
            )
    return results


def _is_json_object(line: str) -> bool:
    if not line.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _is_number(value: str) -> bool:
    try:
        float(value.strip())
    except ValueError:
        return False
    return bool(value.strip())


def _header_check(
    rows: list[list[str]], header: int, columns: Sequence[str], url: str, kind: str
) -> CheckResult:
    name = "format.header"
    first = [f.strip().strip('"').lower() for f in rows[0]]
    names = {c.lower() for c in columns}
    matches = [f for f in first if f in names]
    looks_like_header = (
        bool(first)
        and len(matches) >= max(1, (len(first) + 1) // 2)
        and not any(_is_number(f) for f in first)
    )
    if header == 0 and looks_like_header:
        return CheckResult.failure(
            name,
            "format",
            f"The first line of {url} looks like a header ({', '.join(rows[0][:6])}): expected a data row, "
            "because "
            "the input format has header_rows=0. COPY would load it as data or fail on it.",
            "set header_rows=1 in the input format",
            doctor_fix="pass --header-rows 1",
        )
    if header > 0 and not looks_like_header and any(_is_number(f) for f in rows[0]) and len(rows) > 1:
        return CheckResult.warning(
            name,
            "format",
            f"The first line of {url} looks like data ({', '.join(rows[0][:6])}), but header_rows={header} "
            "will "
            "skip it.",
            "set header_rows=0 if the files have no header line",
            doctor_fix="pass --header-rows 0 if the files have no header line",
        )
    state = "a header line" if header else "no header line"
    return CheckResult.ok(name, "format", f"The start of {url} is consistent with {state} ({kind}).")


def check_json(
    text: str, data_format: JsonFormat, columns: Sequence[str] | None, url: str, *, complete: bool
) -> CheckResult:
    """Check that the first JSON object parses and, with 'auto', that its fields match columns."""
    name = "format.json"
    body = text.lstrip("\ufeff \t\r\n")
    if not body:
        return CheckResult.warning(name, "format", f"The start of {url} is blank: not checked.", "none")
    if not body.startswith("{"):
        return CheckResult.failure(
            name,
            "format",
            f"{url} does not start with a JSON object: expected "
            f"'{{', found {body[:40]!r}. COPY JSON reads objects "
            "one after another (a top-level array is not accepted).",
            "write one JSON object per record (newline-delimited JSON), or check input_format",
        )
    try:
        first, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError as error:
        if not complete and "\n" not in body[error.pos :]:  # the error is on the line the sample cut
            return CheckResult.warning(
                name,
                "format",
                f"The first JSON object of {url} is longer than the sample read: not checked.",
                "none",
            )
        return CheckResult.failure(
            name,
            "format",
            f"The first JSON object of {url} does not parse: {error.msg} at line {error.lineno} column "
            f"{error.colno}.",
            "fix the file (each record must be a complete JSON object)",
        )
    if not isinstance(first, dict) or columns is None or data_format.paths not in ("auto", "auto ignorecase"):
        return CheckResult.ok(name, "format", f"The first JSON object of {url} parses.")
    fields = list(first)
    ignorecase = data_format.paths == "auto ignorecase"
    wanted = {c if not ignorecase else c.lower() for c in columns}
    matched = [f for f in fields if (f.lower() if ignorecase else f) in wanted]
    if matched:
        return CheckResult.ok(
            name,
            "format",
            f"The first JSON object of {url} parses and its fields match column(s) {', '.join(matched)}.",
        )
    case_only = not ignorecase and any(f.lower() in wanted for f in fields)
    fix = (
        "use JsonFormat(paths='auto ignorecase'): the fields differ from the columns only in case"
        if case_only
        else "rename the fields or columns, or map them with a JSONPaths file (JsonFormat(paths='s3://...'))"
    )
    return CheckResult.failure(
        name,
        "format",
        f"No field of the first JSON object of {url} matches a column: expected some of "
        f"{', '.join(columns)}, found "
        f"{', '.join(fields[:10]) or 'no field'}. COPY JSON '{data_format.paths}' would load only NULLs.",
        fix,
    )


def _parquet_columns(
    s3_client: Any, bucket: str, key: str, size: int, columns: Sequence[str], url: str
) -> CheckResult:
    name = "format.parquet.columns"
    tail = _get_range(s3_client, bucket, key, f"{max(0, size - 8)}-{size - 1}")
    if len(tail) < 8 or tail[-4:] != b"PAR1":
        return CheckResult.failure(
            name,
            "format",
            f"{url} does not end with the Parquet magic bytes: expected b'PAR1', found {tail[-4:]!r}.",
            "the file is truncated or not Parquet; rewrite it",
        )
    (length,) = struct.unpack("<I", tail[:4])
    if length > MAX_FOOTER or length + 12 > size:
        return CheckResult.warning(
            name, "format", f"The Parquet footer of {url} is {length} bytes: columns not checked.", "none"
        )
    footer = _get_range(s3_client, bucket, key, f"{size - 8 - length}-{size - 9}")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        found = list(pq.read_schema(pa.BufferReader(b"PAR1" + footer + tail)).names)
    except Exception as error:
        return CheckResult.failure(
            name, "format", f"The Parquet footer of {url} cannot be read: {error}.", "rewrite the file"
        )
    return compare_columns(found, columns, url)


def compare_columns(found: Sequence[str], columns: Sequence[str], url: str) -> CheckResult:
    """Compare a columnar file's columns with the columns COPY fills (COPY maps them by position)."""
    name = "format.parquet.columns"
    expected = list(columns)
    facts = {"file_columns": list(found), "copy_columns": expected}
    if len(found) != len(expected):
        return CheckResult.failure(
            name,
            "format",
            f"{url} has {len(found)} columns ({', '.join(found)}): expected {len(expected)} "
            f"({', '.join(expected)}), as COPY of PARQUET fills the columns by position.",
            "make column_list name the file's columns in the file's order, or rewrite the files",
            **facts,
        )
    lowered = [f.lower() for f in found]
    if lowered == [c.lower() for c in expected]:
        return CheckResult.ok(
            name, "format", f"{url} has the columns COPY fills, in order: {', '.join(found)}.", **facts
        )
    if sorted(lowered) == sorted(c.lower() for c in expected):
        return CheckResult.failure(
            name,
            "format",
            f"{url} has the right columns in another order ({', '.join(found)}): expected "
            f"{', '.join(expected)}. COPY of PARQUET maps by position, so values would land in the wrong "
            "columns.",
            f"pass column_list={list(found)!r} (the file's order), or rewrite the files",
            doctor_fix=f"pass --columns {','.join(found)} (the file's order), or rewrite the files",
            **facts,
        )
    return CheckResult.warning(
        name,
        "format",
        f"{url} has columns {', '.join(found)} where COPY fills {', '.join(expected)}: they will be matched "
        "by "
        "position, not by name.",
        "check that each file column goes to the intended table column",
        **facts,
    )


def _describe_bytes(data: bytes) -> str:
    return repr(data[:8]) if data else "an empty file"


def _guess(head: bytes) -> str:
    for kind, magic in _FILE_MAGIC.items():
        if head.startswith(magic):
            return kind.upper()
    for kind, magic in _MAGIC.items():
        if head.startswith(magic):
            return f"{kind}-compressed"
    text = head[:200].lstrip()
    if text.startswith(b"{"):
        return "JSON"
    return "text or CSV" if text else "empty"
