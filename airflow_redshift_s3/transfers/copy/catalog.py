"""The target table as Redshift's catalog has it: schema, columns and types, primary key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from airflow_redshift_s3.exceptions import ConfigCheckError, ResourceNotFoundError
from airflow_redshift_s3.sql import Statement, TableName
from airflow_redshift_s3.transfers.copy.request import LoadRequest

COLUMNS_SQL = (
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND "
    "table_name = %s "
    "ORDER BY ordinal_position"
)


def resolve_table(
    conn: Any, hook: Any, request: LoadRequest, log: Any
) -> tuple[LoadRequest, list[tuple[str, str]], list[str]]:
    """Qualify the target with its schema, read its columns, and check the names given against them.

    :param conn: an autocommit redshift_connector connection.
    :param hook: the RedshiftSQLHook (for the primary key).
    :return: the request with the target (and a default ledger) qualified and the upsert keys resolved,
        the table's (column, type) in order, and warnings.
    """
    cursor = conn.cursor()
    try:
        target = request.target
        if target.schema is None:
            cursor.execute("SELECT current_schema()")
            target = target.with_schema(str(cursor.fetchone()[0]))
        Statement(COLUMNS_SQL, (target.schema, target.name)).execute(cursor)
        columns = [(str(r[0]), str(r[1])) for r in cursor.fetchall()]
    finally:
        cursor.close()
    if not columns:
        raise ResourceNotFoundError(
            f"Table {target} does not exist (or this user may not see it): expected an existing table to "
            "load into. Fix: create the table first, or correct table and schema."
        )
    ledger = request.ledger
    if ledger is not None and ledger.schema is None and request.ledger_follows_target:
        ledger = ledger.with_schema(str(target.schema))
    names = [c for c, _ in columns]
    require_columns(request.columns or (), names, target, "column_list")
    notes: list[str] = []
    upsert_keys = request.upsert_keys
    if request.mode == "upsert":
        upsert_keys, notes = _upsert_keys(hook, replace(request, target=target), columns)
    if request.partition_column is not None:
        require_columns((request.partition_column,), names, target, "partition_column")
    for note in notes:
        log.warning("%s", note)
    return replace(request, target=target, ledger=ledger, upsert_keys=upsert_keys), columns, notes


def _upsert_keys(
    hook: Any, request: LoadRequest, columns: Sequence[tuple[str, str]]
) -> tuple[tuple[str, ...], list[str]]:
    """Return the upsert keys (given, else the primary key) and warnings; raise when there are none."""
    target = request.target
    primary = tuple(str(k) for k in hook.get_table_primary_key(target.name, target.schema) or [])
    keys = request.upsert_keys or primary
    if not keys:
        raise ConfigCheckError(
            f"mode 'upsert' needs key columns: upsert_keys is not set and table {target} has no primary key. "
            "Fix: pass upsert_keys=['id']."
        )
    file_names = request.columns or file_columns(request, columns)
    require_columns(keys, file_names, target, "upsert_keys")
    order = request.duplicate_order_column
    if order is not None and (order not in file_names or order in keys):
        others = ", ".join(c for c in file_names if c not in keys)
        raise ConfigCheckError(
            f"duplicate_order_column is {order!r}: expected a column the files fill that is not an "
            "upsert key "
            f"(one of {others}). Fix: pass one."
        )
    return keys, upsert_key_notes(target, keys, primary)


def file_columns(request: LoadRequest, table_columns: Sequence[tuple[str, str]]) -> list[str]:
    """Return the columns the files hold, in order: the column list, else the table's (less the partition)."""
    if request.columns:
        return list(request.columns)
    names = [c for c, _ in table_columns]
    if request.mode == "replace_partition":
        return [c for c in names if c != request.partition_column]
    return names


def upsert_key_notes(target: TableName, keys: Sequence[str], primary: Sequence[str]) -> list[str]:
    """Return a warning when ``keys`` are not the table's declared primary key (they may not be unique)."""
    if not primary or set(keys) == set(primary):
        return []
    return [
        f"upsert_keys ({', '.join(keys)}) differ from the primary key of {target} ({', '.join(primary)}): "
        "Redshift does not enforce keys, so check that they identify one row (the load fails if the rows "
        "they match are not unique). Fix: leave upsert_keys unset to use the primary key."
    ]


def require_columns(wanted: Sequence[str], available: Sequence[str], target: TableName, what: str) -> None:
    """Raise ``ConfigCheckError`` when ``wanted`` names a column not in ``available``."""
    missing = [c for c in wanted if c not in available]
    if missing:
        raise ConfigCheckError(
            f"{what} names {', '.join(missing)}, not a column COPY can fill in {target}: expected some of "
            f"{', '.join(available)}. Fix: correct {what}."
        )
