"""PostgreSQL frontend/backend protocol (v3) messages, as much as the local gateway needs.

Message types are named (:class:`Frontend`, :class:`Backend`): the same byte means different messages in
each direction (``D`` is Describe from a client and DataRow from the server).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

PROTOCOL_V3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
# PostgreSQL's own limit on one message: what the gateway accepts from PostgreSQL.
MAX_MESSAGE = 1 << 30
# What it accepts from a client: a startup packet or a password before login (PostgreSQL's own startup
# limit is 10,000 bytes; passwords and SASL messages are far smaller) ...
MAX_CLIENT_MESSAGE_BEFORE_LOGIN = 8 << 10
# ... and any one message after login (Redshift refuses statements over 16 MB; COPY data comes in chunks).
MAX_CLIENT_MESSAGE = 64 << 20

# Error and notice field codes (https://www.postgresql.org/docs/current/protocol-error-fields.html).
FIELD_SEVERITY = "S"
FIELD_SEVERITY_V = "V"
FIELD_CODE = "C"
FIELD_MESSAGE = "M"
FIELD_DETAIL = "D"
FIELD_WHERE = "W"


class Frontend:
    """Types of the messages a client sends (https://www.postgresql.org/docs/current/protocol-message-formats.html)."""

    BIND = b"B"
    CLOSE = b"C"
    COPY_DATA = b"d"
    COPY_DONE = b"c"
    COPY_FAIL = b"f"
    DESCRIBE = b"D"
    EXECUTE = b"E"
    FLUSH = b"H"
    FUNCTION_CALL = b"F"
    PARSE = b"P"
    PASSWORD = b"p"
    QUERY = b"Q"
    SYNC = b"S"
    TERMINATE = b"X"


class Backend:
    """Types of the messages the server sends."""

    AUTHENTICATION = b"R"
    BACKEND_KEY_DATA = b"K"
    BIND_COMPLETE = b"2"
    CLOSE_COMPLETE = b"3"
    COMMAND_COMPLETE = b"C"
    COPY_BOTH_RESPONSE = b"W"
    COPY_IN_RESPONSE = b"G"
    COPY_OUT_RESPONSE = b"H"
    DATA_ROW = b"D"
    ERROR_RESPONSE = b"E"
    NO_DATA = b"n"
    NOTICE_RESPONSE = b"N"
    PARAMETER_DESCRIPTION = b"t"
    PARAMETER_STATUS = b"S"
    PARSE_COMPLETE = b"1"
    READY_FOR_QUERY = b"Z"
    ROW_DESCRIPTION = b"T"


class TransactionStatus:
    """The status byte of ReadyForQuery."""

    IDLE = b"I"
    IN_TRANSACTION = b"T"
    FAILED = b"E"


# What a Describe or Close names: a prepared statement or a portal.
TARGET_STATEMENT = b"S"
TARGET_PORTAL = b"P"
# The one-byte answers to an SSLRequest or GSSENCRequest.
SSL_ACCEPTED = b"S"
SSL_REFUSED = b"N"
AUTH_OK = 0
AUTH_CLEARTEXT_PASSWORD = 3


class ProtocolError(Exception):
    """The peer sent something that is not valid protocol."""


async def read_startup(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read an untyped startup-phase packet and return (code, body); refuse a bad length before its body."""
    (length,) = struct.unpack("!i", await reader.readexactly(4))
    if length < 8 or length > MAX_CLIENT_MESSAGE_BEFORE_LOGIN:
        raise ProtocolError(
            f"invalid startup packet length {length}: expected 8 to {MAX_CLIENT_MESSAGE_BEFORE_LOGIN} bytes"
        )
    (code,) = struct.unpack("!i", await reader.readexactly(4))
    return code, await reader.readexactly(length - 8)


def parse_startup_params(body: bytes) -> dict[str, str]:
    """Decode the key/value pairs of a StartupMessage body (NUL-terminated UTF-8 pairs, then a NUL)."""
    parts = body.split(b"\x00")
    if not body.endswith(b"\x00\x00") and body != b"\x00":
        raise ProtocolError("invalid startup packet layout: expected name/value pairs ending with a NUL byte")
    params: dict[str, str] = {}
    try:
        for key, value in zip(parts[0::2], parts[1::2], strict=False):
            if not key:
                break
            params[key.decode()] = value.decode()
    except UnicodeDecodeError as err:
        raise ProtocolError("invalid startup packet: parameter names and values must be UTF-8") from err
    return params


def startup_message(params: dict[str, str]) -> bytes:
    """Encode a v3 StartupMessage."""
    body = b"".join(k.encode() + b"\x00" + v.encode() + b"\x00" for k, v in params.items()) + b"\x00"
    return struct.pack("!ii", len(body) + 8, PROTOCOL_V3) + body


async def read_message(
    reader: asyncio.StreamReader, limit: int | Callable[[], tuple[int, str]] = MAX_MESSAGE
) -> tuple[bytes, bytes]:
    """Read one typed message and return (type byte, body); refuse a bad length before reading the body.

    :param limit: the largest message accepted, header included; or a function giving it and when it
        applies (``"before login"``), asked once the header has arrived.
    """
    header = await reader.readexactly(5)
    kind = header[:1]
    (length,) = struct.unpack("!i", header[1:])
    largest, phase = limit() if callable(limit) else (limit, "")
    if length < 4 or length > largest:
        where = f" {phase}" if phase else ""
        raise ProtocolError(
            f"invalid message length {length} for message {kind.decode('latin-1')!r}: the gateway accepts "
            f"4 to {largest} bytes per message{where}"
        )
    return kind, await reader.readexactly(length - 4)


def message(kind: bytes, body: bytes = b"") -> bytes:
    """Encode one typed message."""
    return kind + struct.pack("!i", len(body) + 4) + body


def cstring(value: str) -> bytes:
    """Encode a NUL-terminated string."""
    return value.encode() + b"\x00"


def split_cstring(body: bytes, start: int = 0) -> tuple[str, int]:
    """Decode the NUL-terminated string at ``start``; return it and the offset after it."""
    end = body.find(b"\x00", start)
    if end < 0:
        raise ProtocolError("invalid message: a string is not terminated by a NUL byte")
    try:
        return body[start:end].decode(), end + 1
    except UnicodeDecodeError as err:
        raise ProtocolError("invalid message: a string is not UTF-8") from err


def ready_for_query(status: bytes) -> bytes:
    """Encode ReadyForQuery with a transaction status byte (I, T or E)."""
    return message(Backend.READY_FOR_QUERY, status)


def command_complete(tag: str) -> bytes:
    """Encode CommandComplete."""
    return message(Backend.COMMAND_COMPLETE, cstring(tag))


@dataclass
class PgError:
    """The fields of an ErrorResponse or NoticeResponse."""

    fields: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str:
        """Return the SQLSTATE."""
        return self.fields.get(FIELD_CODE, "XX000")

    @property
    def message(self) -> str:
        """Return the primary message."""
        return self.fields.get(FIELD_MESSAGE, "")

    @property
    def where(self) -> str:
        """Return the context (where) field."""
        return self.fields.get(FIELD_WHERE, "")

    @classmethod
    def parse(cls, body: bytes) -> PgError:
        """Decode an ErrorResponse/NoticeResponse body."""
        fields: dict[str, str] = {}
        pos = 0
        while pos < len(body) and body[pos] != 0:
            code = chr(body[pos])
            value, pos = split_cstring(body, pos + 1)
            fields[code] = value
        return cls(fields)

    @classmethod
    def make(
        cls, message_text: str, code: str = "XX000", severity: str = "ERROR", detail: str | None = None
    ) -> PgError:
        """Build an error with the given message, SQLSTATE and optional detail."""
        fields = {FIELD_SEVERITY: severity, FIELD_SEVERITY_V: severity, FIELD_CODE: code}
        fields[FIELD_MESSAGE] = message_text
        if detail is not None:
            fields[FIELD_DETAIL] = detail
        return cls(fields)

    def encode(self, kind: bytes = Backend.ERROR_RESPONSE) -> bytes:
        """Encode as an ErrorResponse (or a NoticeResponse with ``kind=Backend.NOTICE_RESPONSE``)."""
        body = b"".join(k.encode() + cstring(v.replace("\x00", "")) for k, v in self.fields.items()) + b"\x00"
        return message(kind, body)


def parse_parse(body: bytes) -> tuple[bytes, str, bytes]:
    """Split a Parse body into (statement name, query text, parameter-type bytes)."""
    _, end = split_cstring(body)
    query, pos = split_cstring(body, end)
    return body[: end - 1], query, body[pos:]


def build_parse(name: bytes, query: str, rest: bytes) -> bytes:
    """Encode a Parse message."""
    return message(Frontend.PARSE, name + b"\x00" + cstring(query) + rest)


def parse_bind_names(body: bytes) -> tuple[bytes, bytes, bool]:
    """Return (portal, statement, has_parameters) of a Bind body."""
    _, end = split_cstring(body)
    _, end2 = split_cstring(body, end)
    portal, statement = body[: end - 1], body[end : end2 - 1]
    try:
        (n_formats,) = struct.unpack_from("!h", body, end2)
        (n_params,) = struct.unpack_from("!h", body, end2 + 2 + 2 * n_formats)
    except struct.error as err:
        raise ProtocolError("invalid Bind message: it ends inside its format or parameter counts") from err
    return portal, statement, n_params > 0


def bind_result_formats(body: bytes) -> bytes:
    """Return the result-format section (int16 count + codes) of a Bind body."""
    pos = body.index(b"\x00", body.index(b"\x00") + 1) + 1
    (n_formats,) = struct.unpack("!h", body[pos : pos + 2])
    pos += 2 + 2 * n_formats
    (n_params,) = struct.unpack("!h", body[pos : pos + 2])
    pos += 2
    for _ in range(n_params):
        (size,) = struct.unpack("!i", body[pos : pos + 4])
        pos += 4 + max(size, 0)
    return body[pos:]


def parse_command_tag(body: bytes) -> str:
    """Decode a CommandComplete tag."""
    return body.rstrip(b"\x00").decode()


def parse_data_row(body: bytes) -> list[str | None]:
    """Decode a text-format DataRow."""
    (count,) = struct.unpack("!h", body[:2])
    pos = 2
    values: list[str | None] = []
    for _ in range(count):
        (size,) = struct.unpack("!i", body[pos : pos + 4])
        pos += 4
        if size < 0:
            values.append(None)
        else:
            values.append(body[pos : pos + size].decode())
            pos += size
    return values


class RowField(NamedTuple):
    """One field of a RowDescription: where its name starts, where its fixed part starts, and that part."""

    start: int
    fixed: int
    table: int
    attnum: int
    type_oid: int
    size: int
    typmod: int
    format: int

    @property
    def end(self) -> int:
        """Return the offset after the field (after its 18-byte fixed part)."""
        return self.fixed + ROW_FIELD.size


# a RowDescription field after its name: table OID, attribute number, type OID, size, modifier, format
ROW_FIELD = struct.Struct("!ihihih")


def row_fields(body: bytes) -> Iterator[RowField]:
    """Walk the fields of a RowDescription (PostgreSQL's form: name, then the fixed part)."""
    (count,) = struct.unpack_from("!h", body, 0)
    pos = 2
    for _ in range(count):
        fixed = body.index(b"\x00", pos) + 1
        field_ = RowField(pos, fixed, *ROW_FIELD.unpack_from(body, fixed))
        yield field_
        pos = field_.end


def parse_row_description(body: bytes) -> list[tuple[str, int, int]]:
    """Decode a RowDescription into (column name, type OID, type modifier) per column."""
    return [(split_cstring(body, f.start)[0], f.type_oid, f.typmod) for f in row_fields(body)]
