"""TEXT (Redshift's default, pipe-delimited) passed through to PostgreSQL TEXT with byte-level escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator

from airflow_redshift_s3.local.copy.formats.base import Converter, ErrorLog
from airflow_redshift_s3.local.copy.model import RowError, S3ObjectRef, decode, pg_literal
from airflow_redshift_s3.local.copy.reading import Source, split_lines
from airflow_redshift_s3.local.copy.values import ColumnPlan
from airflow_redshift_s3.local.sql.copy_command import CopyCommand

_ESCAPED_TEXT = re.compile(rb"\\(.)|\r", re.S)

_LITERAL_AFTER_BACKSLASH = frozenset(b"bfnrtvx01234567.")


class TextPassThrough(Converter):
    """Redshift TEXT to PostgreSQL TEXT at byte level: backslashes and carriage returns become escapes."""

    def __init__(self, cmd: CopyCommand, plans: list[ColumnPlan], source: Source):
        super().__init__(cmd, plans, source)
        null = "\\N" if cmd.null_as is None else cmd.null_as
        pg_null = null if cmd.escape else null.replace("\\", "\\\\")
        self.pg_options = (
            f"FORMAT text, DELIMITER {pg_literal(cmd.delimiter or '|')}, NULL {pg_literal(pg_null)}"
        )

    def stream_file(self, ref: S3ObjectRef, log: ErrorLog) -> Iterator[tuple[bytes, int]]:
        """Yield (PostgreSQL input, lines in it) for one object."""
        data = self.source.data(ref, fix_utf8=True)
        if not self.cmd.escape:
            last = b""
            for chunk in data:
                # without ESCAPE a backslash is data in Redshift, and only LF ends a row
                out = chunk.replace(b"\\", b"\\\\").replace(b"\r", b"\\r")
                if out:
                    last = out
                    yield out, out.count(b"\n")
            if last and not last.endswith(b"\n"):
                yield b"\n", 1
            return
        yield from self._escaped(data)

    def _escaped(self, data: Iterator[bytes]) -> Iterator[tuple[bytes, int]]:
        r"""Keep ESCAPE's meaning (the next character is literal) where PostgreSQL decodes ``\t`` & co."""
        carry = b""
        last = b""
        for chunk in data:
            chunk = carry + chunk
            trailing = len(chunk) - len(chunk.rstrip(b"\\"))
            carry = b""
            if trailing % 2:
                chunk, carry = chunk[:-1], b"\\"
            out, escaped_newlines = _escape_text_chunk(chunk)
            if out:
                last = out
                yield out, out.count(b"\n") - escaped_newlines
        if carry:
            last = b"\\\\"
            yield last, 0
        if last and not _ends_with_unescaped_newline(last):
            yield b"\n", 1

    def scan_file(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, int]]:
        """Yield (line number, raw record, stream lines) of one object again, to locate a PostgreSQL error."""
        number = self.cmd.ignoreheader
        record: list[bytes] = []
        start = 0
        for line in split_lines(self.source.data(ref, fix_utf8=True), ref.url):
            number += 1
            if not record:
                start = number
            record.append(line)
            if self.cmd.escape and continues(line):
                continue
            yield start, decode(b"".join(record)).rstrip("\n"), 1
            record = []
        if record:
            yield start, decode(b"".join(record)).rstrip("\n"), 1


def _escape_text_chunk(chunk: bytes) -> tuple[bytes, int]:
    escaped_newlines = 0

    def replace(match: re.Match[bytes]) -> bytes:
        nonlocal escaped_newlines
        char = match.group(1)
        if char is None:
            return b"\\r"  # a bare CR is data in Redshift, a line end in PostgreSQL
        if char == b"\n":
            escaped_newlines += 1
            return match.group(0)
        if char[0] in _LITERAL_AFTER_BACKSLASH:
            return char
        return match.group(0)

    return _ESCAPED_TEXT.sub(replace, chunk), escaped_newlines


def _ends_with_unescaped_newline(data: bytes) -> bool:
    if not data.endswith(b"\n"):
        return False
    body = data[:-1]
    return (len(body) - len(body.rstrip(b"\\"))) % 2 == 0


def continues(line: bytes) -> bool:
    """Tell whether a TEXT line ends with an escaped newline (the record goes on)."""
    if not line.endswith(b"\n"):
        return False
    body = line[:-1]
    return (len(body) - len(body.rstrip(b"\\"))) % 2 == 1


def split_text(record: str, delimiter: str, escape: bool, removequotes: bool) -> list[tuple[str, str]]:
    """Split a TEXT row into (raw, value) fields, honouring ESCAPE and REMOVEQUOTES."""
    if not (escape and "\\" in record) and not (removequotes and ('"' in record or "'" in record)):
        return [(field, field) for field in record.split(delimiter)]
    fields: list[tuple[str, str]] = []
    value: list[str] = []
    start = 0
    quote = ""
    i = 0
    while i < len(record):
        char = record[i]
        if escape and char == "\\" and i + 1 < len(record):
            value.append(record[i + 1])
            i += 2
            continue
        if quote:
            if char == quote:
                quote = ""
            else:
                value.append(char)
        elif removequotes and char in "'\"" and i == start:
            quote = char
        elif char == delimiter:
            fields.append((record[start:i], "".join(value)))
            value = []
            start = i + 1
        else:
            value.append(char)
        i += 1
    if quote:
        raise RowError(1216, "Unterminated quoted string (REMOVEQUOTES)")
    fields.append((record[start:], "".join(value)))
    return fields
