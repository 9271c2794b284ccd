"""TEXT and CSV row by row, for the options PostgreSQL cannot express (MAXERROR, EMPTYASNULL, ...)."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from airflow_redshift_s3.local.copy.formats.base import ErrorLog, RowConverter
from airflow_redshift_s3.local.copy.formats.text import continues, split_text
from airflow_redshift_s3.local.copy.model import SURROGATES, RowError, S3ObjectRef, decode
from airflow_redshift_s3.local.copy.reading import split_lines


class DelimitedConverter(RowConverter):
    """Redshift TEXT and CSV parsed row by row."""

    def rows(self, ref: S3ObjectRef, log: ErrorLog) -> Iterator[tuple[int, str, bytes | None]]:
        """Yield (line number, raw record, PostgreSQL TEXT row or None when rejected)."""
        records = self._csv_records(ref) if self.cmd.format == "csv" else self._text_records(ref)
        for number, raw, fields in records:
            try:
                if isinstance(fields, RowError):
                    raise fields
                if fields is None:  # a blank line under IGNOREBLANKLINES
                    continue
                out = self.finish(
                    self.check_count(fields, ""), may_be_invalid=SURROGATES.search(raw) is not None
                )
            except RowError as err:
                self.reject(log, ref, number, raw, err)
                yield number, raw, None
                continue
            yield number, raw, out

    def _text_records(
        self, ref: S3ObjectRef
    ) -> Iterator[tuple[int, str, list[str | None] | RowError | None]]:
        cmd = self.cmd
        pending: list[bytes] = []
        number = cmd.ignoreheader
        start = 0
        for line in split_lines(self.source.data(ref, fix_utf8=False), ref.url):
            number += 1
            if not pending:
                start = number
            pending.append(line)
            if cmd.escape and continues(line):
                continue
            yield self._text_fields(start, b"".join(pending))
            pending = []
        if pending:
            yield self._text_fields(start, b"".join(pending))

    def _text_fields(self, number: int, data: bytes) -> tuple[int, str, list[str | None] | RowError | None]:
        cmd = self.cmd
        record = decode(data)
        if record.endswith("\n"):
            record = record[:-1]
        if record == "" and cmd.ignoreblanklines:
            return number, record, None
        try:
            split = split_text(record, cmd.delimiter or "|", cmd.escape, cmd.removequotes)
        except RowError as err:
            return number, record, err
        null = "\\N" if cmd.null_as is None else cmd.null_as
        fields: list[str | None] = []
        for raw, value in split:
            is_null = raw == null or (cmd.escape and cmd.null_as is None and raw == "\\\\N")
            fields.append(None if is_null else value)
        return number, record, fields

    def _csv_records(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, list[str | None] | RowError | None]]:
        cmd = self.cmd
        quote = cmd.quote or '"'
        consumed: list[str] = []
        number = cmd.ignoreheader
        eof = False

        def lines() -> Iterator[str]:
            nonlocal number, eof
            for line in split_lines(self.source.data(ref, fix_utf8=False), ref.url):
                number += 1
                text = decode(line)
                consumed.append(text)
                yield text
            eof = True

        reader = csv.reader(
            lines(), delimiter=cmd.delimiter or ",", quotechar=quote, doublequote=True, strict=False
        )
        while True:
            first = number + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raw = "".join(consumed)
                consumed.clear()
                yield first, raw.rstrip("\r\n"), RowError(1216, f"Invalid CSV input: {err}")
                continue
            raw = "".join(consumed)
            consumed.clear()
            if eof and raw.count(quote) % 2 == 1:
                yield first, raw.rstrip("\r\n"), RowError(1216, "Unterminated quoted field at end of file")
                continue
            if not row:
                yield first, raw.rstrip("\r\n"), None if cmd.ignoreblanklines else [""]
                continue
            fields: list[str | None] = [
                None if cmd.null_as and value == cmd.null_as else value for value in row
            ]
            yield first, raw.rstrip("\r\n"), fields
