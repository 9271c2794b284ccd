"""CSV passed through to PostgreSQL CSV, with per-file header skipping."""

from __future__ import annotations

from collections.abc import Iterator

from airflow_redshift_s3.local.copy import limits
from airflow_redshift_s3.local.copy.formats.base import Converter, ErrorLog
from airflow_redshift_s3.local.copy.model import S3ObjectRef, decode, pg_literal, quote_ident
from airflow_redshift_s3.local.copy.reading import Source, split_lines
from airflow_redshift_s3.local.copy.values import ColumnPlan
from airflow_redshift_s3.local.sql.copy_command import CopyCommand


class CsvPassThrough(Converter):
    """Redshift CSV to PostgreSQL CSV as is; a dummy header line fixes PostgreSQL's line-ending detection."""

    first_line = 2  # line 1 is the dummy header

    def __init__(self, cmd: CopyCommand, plans: list[ColumnPlan], source: Source):
        super().__init__(cmd, plans, source)
        empty_is_null = cmd.emptyasnull or cmd.null_as == ""
        not_null = [p.column.name for p in plans if p.is_char and not empty_is_null]
        force_null = [p.column.name for p in plans if not p.is_char or empty_is_null]
        delimiter = pg_literal(cmd.delimiter or ",")
        quote = pg_literal(cmd.quote or '"')
        options = ["FORMAT csv", "HEADER true", f"DELIMITER {delimiter}", f"QUOTE {quote}", "NULL E''"]
        if not_null:
            options.append(f"FORCE_NOT_NULL ({', '.join(quote_ident(n) for n in not_null)})")
        if force_null:
            options.append(f"FORCE_NULL ({', '.join(quote_ident(n) for n in force_null)})")
        self.pg_options = ", ".join(options)
        self._header_sent = False

    def stream_file(self, ref: S3ObjectRef, log: ErrorLog) -> Iterator[tuple[bytes, int]]:
        """Yield (PostgreSQL input, lines in it) for one object."""
        eol = b""
        pending: list[bytes] = []
        last = b""
        for chunk in self.source.data(ref, fix_utf8=True):
            if not eol:
                pending.append(chunk)
                end = chunk.find(b"\n")
                if end < 0 and sum(len(p) for p in pending) <= limits.MAX_LINE:
                    continue
                joined = b"".join(pending)
                pending = []
                chunk = joined
                end = joined.find(b"\n")
                eol = b"\r\n" if end > 0 and joined[end - 1 : end] == b"\r" else b"\n"
                if not self._header_sent:
                    self._header_sent = True
                    yield eol, 0
            if chunk:
                last = chunk
                yield chunk, chunk.count(b"\n")
        if pending and any(pending):
            if not self._header_sent:
                self._header_sent = True
                yield b"\n", 0
            yield b"".join(pending) + b"\n", 1
        elif last and not last.endswith(b"\n"):
            yield eol, 1

    def scan_file(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, int]]:
        """Yield (line number, raw record, stream lines) of one object again, to locate a PostgreSQL error."""
        quote = (self.cmd.quote or '"').encode()
        number = self.cmd.ignoreheader
        record: list[bytes] = []
        start = 0
        in_quote = False
        for line in split_lines(self.source.data(ref, fix_utf8=True), ref.url):
            number += 1
            if not record:
                start = number
            record.append(line)
            in_quote ^= line.count(quote) % 2 == 1  # PostgreSQL's line reader works the same way
            if not in_quote:
                yield start, decode(b"".join(record)).rstrip("\r\n"), len(record)
                record = []
        if record:
            yield start, decode(b"".join(record)).rstrip("\r\n"), len(record)
