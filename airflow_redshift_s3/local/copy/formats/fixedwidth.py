"""FIXEDWIDTH text row by row: each column a fixed number of bytes, in the order of the spec.

Per the COPY data format parameters page of the Redshift Database Developer Guide: the labels of the spec
have no relation to the column names, the pairs follow the table's (or column list's) columns in order,
and widths count bytes, as CHAR and VARCHAR lengths do. Padding blanks around a field are not data.
"""

from __future__ import annotations

from collections.abc import Iterator

from airflow_redshift_s3.local.copy.formats.base import ErrorLog, RowConverter
from airflow_redshift_s3.local.copy.model import SURROGATES, RowError, S3ObjectRef, decode
from airflow_redshift_s3.local.copy.reading import split_lines


class FixedWidthConverter(RowConverter):
    """Redshift fixed-width text parsed row by row."""

    def rows(self, ref: S3ObjectRef, log: ErrorLog) -> Iterator[tuple[int, str, bytes | None]]:
        """Yield (line number, raw record, PostgreSQL TEXT row or None when rejected)."""
        cmd = self.cmd
        number = cmd.ignoreheader
        for line in split_lines(self.source.data(ref, fix_utf8=False), ref.url):
            number += 1
            data = line[:-1] if line.endswith(b"\n") else line
            raw = decode(data)
            if raw == "" and cmd.ignoreblanklines:
                continue
            try:
                out = self.finish(self._fields(data), may_be_invalid=SURROGATES.search(raw) is not None)
            except RowError as err:
                self.reject(log, ref, number, raw, err)
                yield number, raw, None
                continue
            yield number, raw, out

    def _fields(self, data: bytes) -> list[str | None]:
        assert self.cmd.fixedwidth is not None
        null = "\\N" if self.cmd.null_as is None else self.cmd.null_as
        fields: list[str | None] = []
        pos = 0
        for index, (_, width) in enumerate(self.cmd.fixedwidth):
            if pos >= len(data) and width:
                if not self.cmd.fillrecord:
                    raise RowError(1214, "Delimiter not found", index, "", pos)
                fields.append(None)
                continue
            text = decode(data[pos : pos + width])
            pos += width
            value = text.strip(" ")
            fields.append(None if value == null else value)
        if pos < len(data) and data[pos:].strip(b" \r"):
            raise RowError(1202, "Extra column(s) found", None, decode(data[pos:]), pos)
        return fields
