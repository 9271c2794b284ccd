r"""Redshift's client protocol versions, and the result metadata the gateway adds from version 1 on.

redshift_connector (``core.py``) sends ``client_protocol_version`` in its startup message — 2, BINARY, by
default — and keeps it only if the server answers with a ``server_protocol_version`` ParameterStatus of that
value; a lower value is taken with a warning, none means 0 (BASE_SERVER). The gateway answers the version
asked for, up to 2: 3 (EXTENDED2, the Redshift JDBC driver's case-sensitivity bit) is not spoken.

From version 1 (EXTENDED_RESULT_METADATA) on, each RowDescription field is followed by the column's schema,
table, column and catalog names (NUL-terminated) and a 16-bit word of flags, as the driver reads them in
``handle_ROW_DESCRIPTION`` and as Redshift's JDBC (``QueryExecutorImpl.receiveFields``) and ODBC
(``getRowDescriptions``) drivers read them too: bit 0 set means NOT NULL (both read it as "no nulls"), bit 4
autoincrement (an IDENTITY column, kept as PostgreSQL's identity), bit 8 read-only, bit 12 searchable. A
column computed by the query has empty names and the flags redshift_connector's metadata API gives its own
results (only searchable). The names of a table's columns are looked up in the catalog over the gateway's
own connection and kept (see :class:`ColumnOrigins`): a table that connection cannot see yet (created in
the client's open transaction, or temporary) gets empty names.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, NamedTuple

from airflow_redshift_s3.local.wire.messages import row_fields

if TYPE_CHECKING:
    from airflow_redshift_s3.local.wire.client import PgSimpleClient

BASE_SERVER = 0
EXTENDED_RESULT_METADATA = 1
BINARY = 2
HIGHEST_PROTOCOL = BINARY

# Command tags after which recorded names may be wrong (ColumnOrigins).
RENAMING_TAGS = (b"ALTER ", b"DROP ")
_NOT_NULL = 0x1
_AUTOINCREMENT = 0x1 << 4
_SEARCHABLE = 0x1 << 12


def negotiate(asked: str | None) -> int:
    """Return the protocol version to answer a startup's ``client_protocol_version`` with (0: none)."""
    try:
        version = int(asked or "0")
    except ValueError:
        return BASE_SERVER
    return max(BASE_SERVER, min(version, HIGHEST_PROTOCOL))


class ColumnOrigin(NamedTuple):
    """Where a result column comes from, as protocol 1 reports it."""

    schema: str
    table: str
    column: str
    not_null: bool
    identity: bool


class ColumnOrigins:
    """The gateway's record of where table columns come from, per database, shared by its sessions.

    A table is looked up the first time a result has one of its columns, and kept until a session's
    ``ALTER ...`` or ``DROP ...`` completes (a rename, a dropped column) and again when that session's
    transaction ends (a lookup in between saw the names before the change was committed); then every table
    is looked up again. A table the lookup does not find is not recorded: it is looked up again next time.
    """

    def __init__(self) -> None:
        self._tables: dict[tuple[str, int], dict[int, ColumnOrigin]] = {}

    def forget(self) -> None:
        """Forget every table (a statement that may rename or drop one completed, or committed)."""
        self._tables.clear()

    async def learn(self, admin: PgSimpleClient, database: str, body: bytes) -> None:
        """Look up the tables a RowDescription's columns come from that are not recorded yet."""
        wanted = {f.table for f in row_fields(body) if f.table and f.attnum > 0}
        missing = sorted(table for table in wanted if (database, table) not in self._tables)
        if not missing:
            return
        oids = ", ".join(str(oid) for oid in missing)  # integers from the wire: no quoting needed
        # catalog tables only: nothing here may wait for a lock the client's own transaction holds (as
        # pg_get_expr would, which opens the relation), since the client waits for this RowDescription
        rows = await admin.query(
            "SELECT a.attrelid, a.attnum, n.nspname, c.relname, a.attname, a.attnotnull, a.attidentity <> '' "
            "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE a.attrelid IN ({oids}) AND a.attnum > 0 AND NOT a.attisdropped"
        )
        for relid, attnum, schema, table, column, not_null, identity in rows:
            columns = self._tables.setdefault((database, int(relid or 0)), {})
            columns[int(attnum or 0)] = ColumnOrigin(
                schema or "", table or "", column or "", not_null == "t", identity == "t"
            )

    def extend(self, body: bytes, database: str) -> bytes:
        """Return a RowDescription with each field followed by its names and flags (protocol 1 and 2)."""
        out = bytearray(body[:2])
        for field in row_fields(body):
            out += body[field.start : field.end]
            table, attnum = field.table, field.attnum
            origin = self._tables.get((database, table), {}).get(attnum) if table and attnum > 0 else None
            if origin is None:
                out += b"\x00\x00\x00\x00" + struct.pack("!H", _SEARCHABLE)
                continue
            flags = (
                _SEARCHABLE
                | (_NOT_NULL if origin.not_null else 0)
                | (_AUTOINCREMENT if origin.identity else 0)
            )
            for name in (origin.schema, origin.table, origin.column, database):
                out += name.encode() + b"\x00"
            out += struct.pack("!H", flags)
        return bytes(out)


__all__ = [
    "BINARY",
    "EXTENDED_RESULT_METADATA",
    "HIGHEST_PROTOCOL",
    "RENAMING_TAGS",
    "ColumnOrigin",
    "ColumnOrigins",
    "negotiate",
]
