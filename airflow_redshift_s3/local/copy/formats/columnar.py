"""PARQUET and ORC read with pyarrow from a spooled copy and converted to PostgreSQL TEXT by batch."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

from airflow_redshift_s3.local.copy.formats.base import Converter, ErrorLog
from airflow_redshift_s3.local.copy.formats.json import json_dump
from airflow_redshift_s3.local.copy.limits import ARROW_BATCH_ROWS
from airflow_redshift_s3.local.copy.model import LoadError, S3ObjectRef

if TYPE_CHECKING:
    import pyarrow as pa


class ColumnarConverter(Converter):
    """PARQUET and ORC through pyarrow: columns by position, emitted as PostgreSQL TEXT batch by batch."""

    kind = "columnar"

    def stream_file(self, ref: S3ObjectRef, log: ErrorLog) -> Iterator[tuple[bytes, int]]:
        """Yield (PostgreSQL input, lines in it) for one object."""
        with self._spooled(ref) as path:
            for batch in self._batches(path, ref):
                if batch.num_rows:
                    yield self._text(batch, ref), batch.num_rows

    def scan_file(self, ref: S3ObjectRef) -> Iterator[tuple[int, str, int]]:
        """Yield (line number, raw record, stream lines) of one object again, to locate a PostgreSQL error."""
        number = 0
        with self._spooled(ref) as path:
            for batch in self._batches(path, ref):
                text = self._text(batch, ref).decode("utf-8", "replace")
                for row in text.split("\n")[:-1]:
                    number += 1
                    yield number, row, 1

    def _text(self, batch: pa.RecordBatch, ref: S3ObjectRef) -> bytes:
        try:
            return _arrow_to_pg_text(batch, len(self.plans))
        except Exception as err:
            raise LoadError(f"Cannot convert {ref.url} from {self.cmd.format.upper()}: {err}") from None

    @contextlib.contextmanager
    def _spooled(self, ref: S3ObjectRef) -> Iterator[str]:
        # pyarrow needs random access: copy the object to a temporary file, read it, delete it
        compression = "gzip" if ref.key.endswith(".gz") else "bzip2" if ref.key.endswith(".bz2") else None
        handle, path = tempfile.mkstemp(prefix="local-redshift-copy-", suffix=f".{self.cmd.format}")
        try:
            with os.fdopen(handle, "wb") as spool:
                for chunk in self.source.raw(ref, compression):
                    spool.write(chunk)
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _batches(self, path: str, ref: S3ObjectRef) -> Iterator[pa.RecordBatch]:
        fmt = self.cmd.format.upper()
        try:
            if self.cmd.format == "parquet":
                import pyarrow.parquet as pq

                reader = pq.ParquetFile(path)
                try:
                    self._check_width(len(reader.schema_arrow), ref)
                    yield from reader.iter_batches(batch_size=ARROW_BATCH_ROWS)
                finally:
                    reader.close()
            else:
                import pyarrow.orc as orc

                orc_file = orc.ORCFile(path)
                self._check_width(len(orc_file.schema), ref)
                for stripe in range(orc_file.nstripes):
                    stripe_batch = orc_file.read_stripe(stripe)
                    for offset in range(0, stripe_batch.num_rows, ARROW_BATCH_ROWS):
                        yield stripe_batch.slice(offset, ARROW_BATCH_ROWS)
        except LoadError:
            raise
        except Exception as err:
            raise LoadError(f"Cannot read {ref.url} as {fmt}: {err}") from None

    def _check_width(self, width: int, ref: S3ObjectRef) -> None:
        expected = len(self.plans)
        if width == expected or (width < expected and self.cmd.fillrecord):
            return
        fmt = self.cmd.format.upper()
        raise LoadError(
            f"{fmt} file {ref.url} has {width} columns but table '{self.cmd.table}' (or the column list) has "
            f"{expected}: COPY from {fmt} maps columns by position, so the counts must match"
        )


def _arrow_to_pg_text(batch: pa.RecordBatch, width: int) -> bytes:
    """Render a record batch as PostgreSQL TEXT lines, padding missing trailing columns with NULL."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [_arrow_column_text(batch.column(i)) for i in range(batch.num_columns)]
    columns += [pa.array(["\\N"] * batch.num_rows, pa.string())] * (width - batch.num_columns)
    rows = pc.binary_join_element_wise(*columns, "\t") if len(columns) > 1 else columns[0]
    rows = pc.binary_join_element_wise(rows, "", "\n")
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()), rows), "")
    return joined[0].as_buffer().to_pybytes()


def _arrow_column_text(array: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = array.cast(pa.string())
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        text = pa.array([None if v is None else "\\x" + v.hex() for v in array.to_pylist()], pa.string())
    elif pa.types.is_nested(kind):
        text = pa.array(
            [None if v is None else json_dump(_plain_json(v)) for v in array.to_pylist()], pa.string()
        )
    else:
        try:
            text = pc.cast(array, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            text = pa.array([None if v is None else str(v) for v in array.to_pylist()], pa.string())
    for char, escaped in (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = pc.replace_substring(text, char, escaped)
    return pc.fill_null(text, "\\N")


def _plain_json(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(isinstance(item, tuple) and len(item) == 2 for item in value) and value:
            return {str(k): _plain_json(v) for k, v in value}  # an Arrow map
        return [_plain_json(v) for v in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (str, int, bool, Decimal)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


# -- helpers ---------------------------------------------------------------------------------------------
