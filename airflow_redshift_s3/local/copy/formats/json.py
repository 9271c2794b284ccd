"""JSON ('auto', 'auto ignorecase', a JSONPaths file or 'noshred') converted row by row to PostgreSQL TEXT.

A SUPER column gets each attribute as JSON (a string with its quotes); with 'noshred' the table's one
SUPER column gets each whole document ("Using COPY to load data into SUPER columns", Redshift Database
Developer Guide).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from decimal import Decimal

from airflow_redshift_s3.local.copy.formats.base import ErrorLog, RowConverter
from airflow_redshift_s3.local.copy.limits import MAX_CHUNK, MAX_JSON_OBJECT, MAX_SMALL_FILE
from airflow_redshift_s3.local.copy.model import LoadError, ObjectOpener, RowError, S3ObjectRef
from airflow_redshift_s3.local.copy.reading import Source
from airflow_redshift_s3.local.copy.values import ColumnPlan
from airflow_redshift_s3.local.sql.copy_command import CopyCommand

_JSON_WS = re.compile(r"[ \t\n\r]*")

_JSON_RESYNC = re.compile(r"\n(?=[ \t\r]*[\[{])")


class JsonConverter(RowConverter):
    """Redshift JSON ('auto', 'auto ignorecase' or a JSONPaths file) parsed object by object."""

    def __init__(
        self, cmd: CopyCommand, plans: list[ColumnPlan], source: Source, paths: list[list[str | int]] | None
    ):
        super().__init__(cmd, plans, source)
        self.paths = paths
        self.ignorecase = cmd.json_spec == "auto ignorecase"
        self.noshred = cmd.json_spec == "noshred"
        self.super_columns = [p.column.base_type == "super" for p in plans]
        if self.noshred and self.super_columns != [True]:
            names = ", ".join(f"{p.column.name} ({p.column.type})" for p in plans)
            raise LoadError(
                f"JSON 'noshred' loads each document into one SUPER column, but the COPY loads {names}: "
                "name one SUPER column in the COPY's column list, or use 'auto' or a JSONPaths file"
            )
        self.decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)

    def rows(self, ref: S3ObjectRef, log: ErrorLog) -> Iterator[tuple[int, str, bytes | None]]:
        """Yield (line number, raw record, PostgreSQL TEXT row or None when rejected)."""
        for number, raw, value in self._objects(ref):
            try:
                if isinstance(value, RowError):
                    raise value
                out = self.finish(self._fields(value))
            except RowError as err:
                self.reject(log, ref, number, raw, err)
                yield number, raw, None
                continue
            yield number, raw, out

    def _objects(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, object]]:
        """Yield (last line of the object, its text, the value or a RowError) for each top-level value."""
        decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        chunks = self.source.data(ref, fix_utf8=False)
        buf = ""
        pos = 0
        line = self.cmd.ignoreheader + 1  # the line number at ``pos``
        eof = False

        def fill() -> bool:
            nonlocal buf, pos, eof
            if eof:
                return False
            buf = buf[pos:]
            pos = 0
            chunk = next(chunks, None)
            if chunk is None:
                eof = True
                buf += decoder.decode(b"", final=True)
                return True
            buf += decoder.decode(chunk)
            return True

        while True:
            blank = _JSON_WS.match(buf, pos)
            skip_to = blank.end() if blank else pos
            line += buf.count("\n", pos, skip_to)
            pos = skip_to
            if pos >= len(buf):
                if eof:
                    return
                fill()
                continue
            try:
                value, end = self.decoder.raw_decode(buf, pos)
            except ValueError as err:
                # JSONDecodeError, or NaN/Infinity and over-long integers, which Redshift rejects too
                error_pos = err.pos if isinstance(err, json.JSONDecodeError) else pos
                message = err.msg if isinstance(err, json.JSONDecodeError) else str(err)
                maybe_incomplete = error_pos >= len(buf) - 16 or message.startswith("Unterminated string")
                if not eof and maybe_incomplete and len(buf) - pos <= MAX_JSON_OBJECT:
                    fill()
                    continue
                error_at = max(error_pos, pos)
                line_end = buf.find("\n", error_at)
                raw = buf[pos : line_end if line_end >= 0 else len(buf)]
                line += buf.count("\n", pos, error_at)
                pos = error_at
                yield line, raw, RowError(1216, f"Invalid JSON object: {message}", position=len(raw))
                # skip to the next line that starts a JSON object or array
                while (resync := _JSON_RESYNC.search(buf, pos)) is None and not eof:
                    newline = buf.rfind("\n", pos)
                    if newline > pos:
                        line += buf.count("\n", pos, newline)
                        pos = newline
                    fill()
                target = resync.end() if resync else len(buf)
                line += buf.count("\n", pos, target)
                pos = target
                continue
            if end >= len(buf) and not eof and not isinstance(value, (dict, list)):
                fill()  # a number may go on in the next chunk
                continue
            last_line = line + buf.count("\n", pos, end)
            yield last_line, buf[pos:end], value
            line = last_line
            pos = end
            if pos > MAX_CHUNK:
                buf = buf[pos:]
                pos = 0

    def _fields(self, value: object) -> list[str | None]:
        if self.noshred:
            return [json_dump(value)]
        if self.paths is None:
            if not isinstance(value, dict):
                kind = "an array" if isinstance(value, list) else "a scalar"
                raise RowError(1216, f"Invalid JSONPath format: expected a JSON object, found {kind}")
            if self.ignorecase:
                value = {str(k).lower(): v for k, v in value.items()}
                found = [value.get(p.column.name.lower()) for p in self.plans]
            else:
                found = [value.get(p.column.name) for p in self.plans]
        else:
            found = [_json_path_value(value, path) for path in self.paths]
        return [
            (None if item is None else json_dump(item)) if is_super else _json_text(item)
            for item, is_super in zip(found, self.super_columns, strict=True)
        ]


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return json_dump(value)


def json_dump(value: object) -> str:
    """Serialise a nested value compactly, keeping numbers as they were written."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + json_dump(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_dump(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    return _json_text(value) or "null"


def _json_path_value(value: object, path: list[str | int]) -> object:
    current = value
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                raise RowError(1216, "Invalid JSONPath format: Not an array or index out of range.")
            current = current[step]
        elif isinstance(current, dict) and step in current:
            current = current[step]
        else:
            return None
    return current


def json_paths(
    cmd: CopyCommand, column_count: int, open_object: ObjectOpener
) -> list[list[str | int]] | None:
    """Read the JSONPaths file of ``cmd`` (None for 'auto'); check it has one path per column."""
    spec = cmd.json_spec or "auto"
    if not spec.lower().startswith("s3://"):
        return None
    bucket, _, key = spec[5:].partition("/")
    ref = S3ObjectRef(bucket, key)
    data = b""
    for chunk in Source(cmd, open_object).raw(ref, None):
        data += chunk
        if len(data) > MAX_SMALL_FILE:
            raise LoadError(f"Invalid JSONPath format: {spec} is larger than {MAX_SMALL_FILE} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError as err:
        raise LoadError(f"Invalid JSONPath format: {spec} is not a single JSON object: {err}") from None
    if not isinstance(document, dict):
        raise LoadError(f"Invalid JSONPath format: {spec} must hold one JSON object")
    if "jsonpaths" not in document:
        return None  # Redshift falls back to 'auto' when the key is not "jsonpaths"
    expressions = document["jsonpaths"]
    if not isinstance(expressions, list) or not all(isinstance(e, str) and e for e in expressions):
        raise LoadError("Invalid JSONPath format: jsonpaths must be an array of non-empty strings")
    if len(expressions) != column_count:
        raise LoadError(
            "Number of jsonpaths and the number of columns should match. "
            f"JSONPath size: {len(expressions)}, Number of columns in table or column list: {column_count}"
        )
    paths: list[list[str | int]] = []
    notations: set[str] = set()
    for expression in expressions:
        path, notation = _parse_json_path(expression)
        notations |= notation
        paths.append(path)
    if len(notations) > 1:
        raise LoadError("Invalid JSONPath format: bracket notation and dot notation cannot be mixed")
    return paths


def _parse_json_path(expression: str) -> tuple[list[str | int], set[str]]:
    text = expression.strip()
    steps: list[str | int] = []
    notation: set[str] = set()
    if not text.startswith("$"):
        raise LoadError(f"Invalid JSONPath format: {expression} must start with $")
    i = 1
    while i < len(text):
        if text[i] == "." and i + 1 < len(text):
            end = i + 1
            while end < len(text) and text[end] not in ".[":
                end += 1
            name = text[i + 1 : end]
            if not name or any(c in name for c in "'\"*]") or name.isspace():
                raise LoadError(f"Invalid JSONPath format: {expression}")
            steps.append(name)
            notation.add("dot")
            i = end
        elif text.startswith(("['", '["'), i):
            quote = text[i + 1]
            end = text.find(quote + "]", i + 2)
            if end < 0 or end == i + 2:
                raise LoadError(f"Invalid JSONPath format: {expression}")
            steps.append(text[i + 2 : end])
            notation.add("bracket")
            i = end + 2
        elif text[i] == "[":
            end = text.find("]", i)
            index = text[i + 1 : end] if end > 0 else ""
            if not index.isdigit():
                raise LoadError(
                    f"Invalid JSONPath format: {expression} (only names and array indexes are supported)"
                )
            steps.append(int(index))
            i = end + 1
        else:
            raise LoadError(f"Invalid JSONPath format: {expression}")
    if not steps:
        raise LoadError(f"Invalid JSONPath format: {expression} does not name an element")
    return steps, notation
