"""The load ledger: a table of our own recording each S3 object loaded, written in the load's transaction.

Redshift's system tables keep a few days of history and are not transactional with the data; the ledger
is. One row per object and load: bucket, key, ETag, size, target table, the rows of the load, the Airflow
ids and the time. A file is "already loaded" into a table when the newest ledger row for its key has the
same ETag.

The load transaction only INSERTs into the ledger; it never reads it. Reads happen on a separate
autocommit connection after the target table is locked. Loads into different tables that share the
ledger therefore never read and write the same table in one transaction, which is what makes Redshift
abort one of two concurrent transactions ("Serializable isolation violation").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass

from airflow_redshift_s3.sql import Statement, TableName, placeholders, quoted

DEFAULT_LEDGER_NAME = "s3_load_ledger"
INSERT_BATCH = 200
SELECT_BATCH = 500

LEDGER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("load_id", "VARCHAR(36) NOT NULL"),
    ("target_table", "VARCHAR(512) NOT NULL"),
    ("bucket", "VARCHAR(63) NOT NULL"),
    ("object_key", "VARCHAR(1024) NOT NULL"),
    ("etag", "VARCHAR(128)"),
    ("size_bytes", "BIGINT"),
    ("load_mode", "VARCHAR(32)"),
    ("partition_column", "VARCHAR(127)"),
    ("partition_value", "VARCHAR(1024)"),
    ("load_rows", "BIGINT"),
    ("load_files", "INTEGER"),
    ("dag_id", "VARCHAR(250)"),
    ("run_id", "VARCHAR(250)"),
    ("task_id", "VARCHAR(250)"),
    ("map_index", "INTEGER"),
    ("try_number", "INTEGER"),
    ("loaded_at", "TIMESTAMP NOT NULL"),
)


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row: an object loaded into a table by one load.

    ``load_rows`` and ``load_files`` describe the whole load (one COPY reads every file of a load, and
    Redshift reports its row count for the COPY, not per file).
    """

    load_id: str
    target_table: str
    bucket: str
    object_key: str
    etag: str | None
    size_bytes: int | None
    load_mode: str
    partition_column: str | None
    partition_value: str | None
    load_rows: int
    load_files: int
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    map_index: int | None
    try_number: int | None
    loaded_at: dt.datetime


def create_ledger(ledger: TableName) -> Statement:
    """Return the CREATE TABLE IF NOT EXISTS of the ledger."""
    columns = ", ".join(f"{quoted(name)} {kind}" for name, kind in LEDGER_COLUMNS)
    return Statement(
        f"CREATE TABLE IF NOT EXISTS {ledger.sql} ({columns}) "
        'DISTSTYLE AUTO SORTKEY ("target_table", "bucket", "object_key")'
    )


def insert_entries(ledger: TableName, entries: Sequence[LedgerEntry]) -> list[Statement]:
    """Return the INSERTs of ``entries``, a few hundred rows per statement, every value bound."""
    names = ", ".join(quoted(name) for name, _ in LEDGER_COLUMNS)
    row = f"({placeholders(len(LEDGER_COLUMNS))})"
    statements = []
    for start in range(0, len(entries), INSERT_BATCH):
        batch = entries[start : start + INSERT_BATCH]
        params = tuple(value for entry in batch for value in astuple(entry))
        statements.append(
            Statement(f"INSERT INTO {ledger.sql} ({names}) VALUES {', '.join([row] * len(batch))}", params)
        )
    return statements


def select_loaded(ledger: TableName, target: str, bucket: str, keys: Sequence[str]) -> list[Statement]:
    """Return the SELECTs of the ledger rows of ``keys`` in ``bucket`` for ``target`` (key, ETag, time)."""
    statements = []
    for start in range(0, len(keys), SELECT_BATCH):
        batch = tuple(keys[start : start + SELECT_BATCH])
        statements.append(
            Statement(
                f'SELECT "object_key", "etag", "loaded_at" FROM {ledger.sql} '
                'WHERE "target_table" = %s AND "bucket" = %s AND "object_key" IN '
                f"({placeholders(len(batch))})",
                (target, bucket, *batch),
            )
        )
    return statements


def latest_etags(rows: Iterable[Sequence[object]]) -> dict[str, str | None]:
    """Return {key: ETag of its newest ledger row} from rows of (key, ETag, loaded_at)."""
    newest: dict[str, tuple[dt.datetime, str | None]] = {}
    for key, etag, loaded_at in rows:
        when = loaded_at if isinstance(loaded_at, dt.datetime) else dt.datetime.min
        if str(key) not in newest or when >= newest[str(key)][0]:
            newest[str(key)] = (when, None if etag is None else str(etag))
    return {key: etag for key, (_, etag) in newest.items()}


def select_last_load_id(ledger: TableName, target: str, partition: tuple[str, str] | None) -> Statement:
    """Return the SELECT of the id of the newest load into ``target`` (and partition (column, value))."""
    where, params = '"target_table" = %s', [target]
    if partition is not None:
        where += ' AND "partition_column" = %s AND "partition_value" = %s'
        params.extend(partition)
    return Statement(
        f'SELECT "load_id" FROM {ledger.sql} WHERE {where} ORDER BY "loaded_at" DESC LIMIT 1', tuple(params)
    )


def select_load(ledger: TableName, load_id: str) -> Statement:
    """Return the SELECT of the (bucket, key, ETag) of one load."""
    return Statement(
        f'SELECT "bucket", "object_key", "etag" FROM {ledger.sql} WHERE "load_id" = %s', (load_id,)
    )
