"""Read an object's bytes: decompression, invalid UTF-8 replacement, header skipping, line splitting."""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from airflow_redshift_s3.local.copy import limits
from airflow_redshift_s3.local.copy.limits import READ_SIZE
from airflow_redshift_s3.local.copy.model import LoadError, ObjectOpener, S3ObjectRef
from airflow_redshift_s3.local.copy.objects import s3_error_message
from airflow_redshift_s3.local.sql.copy_command import CopyCommand

# -- reading objects -------------------------------------------------------------------------------------


class Source:
    """Open, decompress, repair and de-header the bytes of an object."""

    def __init__(self, cmd: CopyCommand, open_object: ObjectOpener):
        self.cmd = cmd
        self.open_object = open_object

    def raw(self, ref: S3ObjectRef, compression: str | None) -> Iterator[bytes]:
        """Yield the object's decompressed bytes in chunks."""
        try:
            body = self.open_object(ref)
        except LoadError:
            raise
        except Exception as err:
            raise LoadError(_read_failure(ref, err)) from None
        try:
            reader = _decompressing_reader(body, compression)
            while True:
                try:
                    chunk = reader.read(READ_SIZE)
                except LoadError:
                    raise
                except Exception as err:
                    if hasattr(err, "response") or compression is None:
                        raise LoadError(_read_failure(ref, err)) from None
                    raise LoadError(
                        f"Failed to decompress {ref.url} as {compression.upper()}: {err}. "
                        f"Check that the file is {compression.upper()}-compressed."
                    ) from None
                if not chunk:
                    return
                yield chunk
        finally:
            with contextlib.suppress(Exception):
                body.close()

    def data(self, ref: S3ObjectRef, *, fix_utf8: bool) -> Iterator[bytes]:
        """Yield the object's bytes, with ACCEPTINVCHARS applied when ``fix_utf8``."""
        chunks: Iterable[bytes] = self.raw(ref, self.cmd.compression)
        if fix_utf8 and self.cmd.acceptinvchars:
            chunks = _replace_invalid_utf8(chunks, self.cmd.acceptinvchars)
        if self.cmd.ignoreheader:
            chunks = _skip_lines(chunks, self.cmd.ignoreheader)
        return iter(chunks)


def _read_failure(ref: S3ObjectRef, err: Exception) -> str:
    if hasattr(err, "response"):
        return s3_error_message(err)
    return f"S3ServiceException:{type(err).__name__}: {err} while reading {ref.url}"


def _decompressing_reader(body: BinaryIO, compression: str | None) -> Any:
    if compression is None:
        return body
    if compression == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=body, mode="rb")
    if compression == "bzip2":
        import bz2

        return bz2.BZ2File(body, mode="rb")
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(body, read_size=READ_SIZE, read_across_frames=True)
    raise LoadError(f"{compression.upper()} compression is not supported by the local Redshift stack")


def _replace_invalid_utf8(chunks: Iterable[bytes], replacement: str) -> Iterator[bytes]:
    """Replace each byte of invalid UTF-8 with ``replacement`` (ACCEPTINVCHARS), keeping byte lengths."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    table = _replacement_table(replacement)
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            yield text.translate(table).encode("utf-8")
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.translate(table).encode("utf-8")


def _replacement_table(replacement: str) -> dict[int, str]:
    return {code: replacement for code in range(0xD800, 0xE000)}


def _skip_lines(chunks: Iterable[bytes], count: int) -> Iterator[bytes]:
    iterator = iter(chunks)
    remaining = count
    for chunk in iterator:
        while remaining and chunk:
            end = chunk.find(b"\n")
            chunk = b"" if end < 0 else chunk[end + 1 :]
            remaining -= 0 if end < 0 else 1
        if not remaining:
            if chunk:
                yield chunk
            yield from iterator
            return


def split_lines(chunks: Iterable[bytes], url: str = "") -> Iterator[bytes]:
    """Yield the lines of a byte stream, each with its LF (the last one may lack it)."""
    pending: list[bytes] = []
    pending_size = 0
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start : end + 1]
            if pending:
                pending.append(piece)
                piece = b"".join(pending)
                pending.clear()
                pending_size = 0
            yield piece
            start = end + 1
        if start < len(chunk):
            pending.append(chunk[start:])
            pending_size += len(chunk) - start
            if pending_size > limits.MAX_LINE:
                raise LoadError(
                    f"Line too long: {url or 'an object'} has a line longer than {limits.MAX_LINE} bytes"
                )
    if pending:
        yield b"".join(pending)
