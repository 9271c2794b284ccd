"""The load ledger: a table of our own recording each S3 object loaded, written in the load's transaction.

Redshift's system tables keep a few days of history and are not transactional with the data; the ledger
is. Each row is an object and the load that loaded it: bucket, key, ETag, size, target table, partition,
the rows of the load, the Airflow ids and the time. A file is "already loaded" into a table when the
newest ledger row for its key has the same ETag: one lookup on the sort key (target, bucket, key).

**The ledger is the current state; the history is kept apart.** The load transaction INSERTs the new rows;
right after COMMIT, ``compact`` moves the rows they supersede (same target, bucket, key and partition,
loaded earlier) to ``<ledger>_history`` with the time and the id of the load that superseded them, and
deletes history older than the retention (``ledger_history_days``, 90 by default; None keeps it all, 0 keeps
none). So rerunning a day or reprocessing a backfill leaves one ledger row per file, however often it runs.
A compaction that fails (no DELETE privilege, a lock timeout) changes nothing and is retried by the next
load of the same files; the load it follows is committed either way and only warns.

The target is recorded as its schema and name apart (``target_schema``, ``target_name``): the tables
``"p.q"."r"`` and ``p."q.r"`` share the text ``p.q.r`` but never ledger rows. ``target_table`` keeps that
text for people reading the ledger. A ledger created before those two columns existed is upgraded by
``upgrade_statements`` (run by the operator, or by hand: the operator's error prints them).

The load transaction only INSERTs into the ledger; it never reads it. Reads happen on a separate
autocommit connection after the target table is locked. Loads into different tables that share the
ledger therefore never read and write the same table in one transaction, which is what makes Redshift
abort one of two concurrent transactions ("Serializable isolation violation").
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from typing import Any

from airflow_redshift_s3.sql import Statement, TableName, placeholders, quoted

DEFAULT_LEDGER_NAME = "s3_load_ledger"
INSERT_BATCH = 200
SELECT_BATCH = 500

LEDGER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("load_id", "VARCHAR(36) NOT NULL"),
    ("target_table", "VARCHAR(512) NOT NULL"),
    ("target_schema", "VARCHAR(127)"),
    ("target_name", "VARCHAR(127)"),
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
    target_schema: str | None
    target_name: str
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


HISTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    *LEDGER_COLUMNS,
    ("superseded_at", "TIMESTAMP NOT NULL"),
    ("superseded_by", "VARCHAR(36)"),
)
DEFAULT_HISTORY_DAYS = 90


def history_table(ledger: TableName) -> TableName:
    """Return the table holding the ledger's superseded rows: ``<ledger>_history`` in the same schema."""
    return TableName(f"{ledger.name}_history", ledger.schema)


def create_history(ledger: TableName) -> Statement:
    """Return the CREATE TABLE IF NOT EXISTS of the ledger's history (sorted by when rows were superseded)."""
    columns = ", ".join(f"{quoted(name)} {kind}" for name, kind in HISTORY_COLUMNS)
    return Statement(
        f"CREATE TABLE IF NOT EXISTS {history_table(ledger).sql} ({columns}) "
        'DISTSTYLE AUTO SORTKEY ("superseded_at")'
    )


def _superseded_where(ledger: TableName, entries: Sequence[LedgerEntry]) -> list[tuple[str, tuple[Any, ...]]]:
    """Return (WHERE, params) matching the rows ``entries`` supersede, a batch of keys at a time."""
    first = entries[0]
    where, params = _target_where(TableName(first.target_name, first.target_schema))
    if first.partition_value is None:
        where += ' AND "partition_value" IS NULL'
    else:
        where += ' AND "partition_value" = %s'
        params.append(first.partition_value)
    batches = []
    for start in range(0, len(entries), SELECT_BATCH):
        keys = tuple(e.object_key for e in entries[start : start + SELECT_BATCH])
        match = (
            f'{where} AND "bucket" = %s AND "object_key" IN ({placeholders(len(keys))}) AND "loaded_at" < %s'
        )
        batches.append((match, (*params, first.bucket, *keys, first.loaded_at)))
    return batches


def compact(conn: Any, ledger: TableName, entries: Sequence[LedgerEntry], history_days: int | None) -> int:
    """Move the ledger rows ``entries`` (one load) supersede to the history; return how many.

    Superseded: the same target, bucket, key and partition, loaded before (``loaded_at`` earlier), so a
    later load's rows are never touched. A first SELECT finds whether there is any: a load of new files
    costs that read, no DDL and no lock. Otherwise one transaction: LOCK the ledger and its history, copy
    the rows to the history (unless ``history_days`` is 0), delete them, expire history older than
    ``history_days`` (unless None). ``conn`` is an autocommit connection (left in autocommit); the driver's
    error is raised after rolling back.
    """
    if not entries:
        return 0
    batches = _superseded_where(ledger, entries)
    cursor = conn.cursor()
    try:
        if not any(_found(cursor, ledger, match, params) for match, params in batches):
            return 0
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        history = history_table(ledger)
        names = ", ".join(quoted(name) for name, _ in LEDGER_COLUMNS)
        create_history(ledger).execute(cursor)  # autocommit: its own transaction, before the LOCK
        conn.autocommit = False
        Statement(f"LOCK {ledger.sql}, {history.sql}").execute(cursor)
        moved = 0
        for match, params in batches:
            if history_days != 0:
                Statement(
                    f'INSERT INTO {history.sql} ({names}, "superseded_at", "superseded_by") '
                    f"SELECT {names}, %s, %s FROM {ledger.sql} WHERE {match}",
                    (now, entries[0].load_id, *params),
                ).execute(cursor)
            Statement(f"DELETE FROM {ledger.sql} WHERE {match}", params).execute(cursor)
            moved += max(cursor.rowcount, 0)
        if history_days is not None:
            expired = now - dt.timedelta(days=history_days)
            Statement(f'DELETE FROM {history.sql} WHERE "superseded_at" < %s', (expired,)).execute(cursor)
        conn.commit()
        return moved
    except Exception:
        _rollback(conn)
        raise
    finally:
        cursor.close()
        conn.autocommit = True


def _found(cursor: Any, ledger: TableName, match: str, params: tuple[Any, ...]) -> bool:
    Statement(f"SELECT 1 FROM {ledger.sql} WHERE {match} LIMIT 1", params).execute(cursor)
    return bool(cursor.fetchall())


def create_ledger(ledger: TableName) -> Statement:
    """Return the CREATE TABLE IF NOT EXISTS of the ledger."""
    columns = ", ".join(f"{quoted(name)} {kind}" for name, kind in LEDGER_COLUMNS)
    return Statement(
        f"CREATE TABLE IF NOT EXISTS {ledger.sql} ({columns}) "
        'DISTSTYLE AUTO SORTKEY ("target_schema", "target_name", "bucket", "object_key")'
    )


def columns_statement(ledger: TableName) -> Statement:
    """Return the SELECT of the ledger's column names (none when it does not exist)."""
    return Statement(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (ledger.schema, ledger.name),
    )


def upgrade_statements(ledger: TableName) -> list[Statement]:
    """Return the statements that add ``target_schema`` and ``target_name`` to a ledger created without them.

    Old rows hold ``schema.name`` unquoted: those with exactly one '.' are split; the others are ambiguous
    (a name containing a dot) and keep NULL, so no load ever matches them again (their files are loaded
    again once, by an append; see ``count_ambiguous``).
    """
    text = '"target_table"'
    return [
        Statement(f'ALTER TABLE {ledger.sql} ADD COLUMN "target_schema" VARCHAR(127)'),
        Statement(f'ALTER TABLE {ledger.sql} ADD COLUMN "target_name" VARCHAR(127)'),
        Statement(
            f"UPDATE {ledger.sql} SET \"target_schema\" = SPLIT_PART({text}, '.', 1), "
            f'"target_name" = SPLIT_PART({text}, \'.\', 2) WHERE "target_name" IS NULL AND '
            f"CHAR_LENGTH({text}) - CHAR_LENGTH(REPLACE({text}, '.', '')) = 1"
        ),
    ]


def count_ambiguous(ledger: TableName) -> Statement:
    """Return the SELECT of the number of rows without ``target_name`` (old rows of ambiguous names)."""
    return Statement(f'SELECT COUNT(*) FROM {ledger.sql} WHERE "target_name" IS NULL')


def _target_where(target: TableName) -> tuple[str, list[Any]]:
    if target.schema is None:
        return '"target_schema" IS NULL AND "target_name" = %s', [target.name]
    return '"target_schema" = %s AND "target_name" = %s', [target.schema, target.name]


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


def select_loaded(ledger: TableName, target: TableName, bucket: str, keys: Sequence[str]) -> list[Statement]:
    """Return the SELECTs of the ledger rows of ``keys`` in ``bucket`` for ``target`` (key, ETag, time)."""
    where, params = _target_where(target)
    statements = []
    for start in range(0, len(keys), SELECT_BATCH):
        batch = tuple(keys[start : start + SELECT_BATCH])
        statements.append(
            Statement(
                f'SELECT "object_key", "etag", "loaded_at" FROM {ledger.sql} '
                f'WHERE {where} AND "bucket" = %s AND "object_key" IN ({placeholders(len(batch))})',
                (*params, bucket, *batch),
            )
        )
    return statements


def latest_etags(rows: Iterable[Sequence[object]]) -> dict[str, tuple[str | None, dt.datetime | None]]:
    """Return {key: (ETag, loaded_at) of its newest ledger row} from rows of (key, ETag, loaded_at)."""
    newest: dict[str, tuple[dt.datetime, str | None, dt.datetime | None]] = {}
    for key, etag, loaded_at in rows:
        when = loaded_at if isinstance(loaded_at, dt.datetime) else dt.datetime.min
        if str(key) not in newest or when >= newest[str(key)][0]:
            at = loaded_at if isinstance(loaded_at, dt.datetime) else None
            newest[str(key)] = (when, None if etag is None else str(etag), at)
    return {key: (etag, at) for key, (_, etag, at) in newest.items()}


def select_last_load_id(ledger: TableName, target: TableName, partition: tuple[str, str] | None) -> Statement:
    """Return the SELECT of the id of the newest load into ``target`` (and partition (column, value))."""
    where, params = _target_where(target)
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


def _columns(cursor: Any, ledger: TableName) -> set[str]:
    columns_statement(ledger).execute(cursor)
    return {str(r[0]) for r in cursor.fetchall()}


def ensure_ledger(conn: Any, ledger: TableName, log: Any) -> list[str]:
    """Create the ledger when missing, upgrade one without ``target_schema``/``target_name``; return warnings.

    ``conn`` is an autocommit connection. Only "it exists already" (another load created it at the same
    moment) is tolerated: any other failure raises ``ConfigCheckError`` naming the privilege to grant, at
    once, rather than a raw driver error later inside the load.
    """
    from airflow_redshift_s3.exceptions import ConfigCheckError

    cursor = conn.cursor()
    try:
        columns = _columns(cursor, ledger)
        if not columns:
            _create(conn, cursor, ledger)
            columns = _columns(cursor, ledger)  # empty when it exists but this user may not see it
        cursor.execute(
            "SELECT current_user, has_table_privilege(%s, 'INSERT'), has_table_privilege(%s, 'SELECT')",
            (ledger.sql, ledger.sql),
        )
        user, may_insert, may_select = cursor.fetchone()
        user = str(user)
        if not (may_insert and may_select):
            fix = f"GRANT SELECT, INSERT ON {ledger.sql} TO {quoted(user)}, or pass another ledger_table"
            raise ConfigCheckError(
                f"User {user} may not {'INSERT into' if not may_insert else 'SELECT from'} the load ledger "
                f"{ledger}: expected SELECT and INSERT on it, because every load reads and writes it. "
                f"Nothing was loaded. Fix: {fix}.",
                fix=fix,
            )
        return [] if "target_name" in columns else _upgrade(conn, ledger, user, log)
    finally:
        cursor.close()


def _create(conn: Any, cursor: Any, ledger: TableName) -> None:
    """CREATE the ledger; tolerate only its creation by someone else in the meantime."""
    from airflow_redshift_s3.exceptions import ConfigCheckError

    try:
        create_ledger(ledger).execute(cursor)
    except Exception as error:
        _rollback(conn)
        if _columns(cursor, ledger):
            return  # another load created it at the same moment
        cursor.execute("SELECT current_user")
        user = str(cursor.fetchone()[0])
        fix = (
            f"GRANT CREATE ON SCHEMA {quoted(str(ledger.schema))} TO {quoted(user)}; or create the "
            "ledger once "
            f"as a user who may: {create_ledger(ledger)}; and GRANT SELECT, INSERT ON {ledger.sql} TO "
            f"{quoted(user)}; or pass ledger_table='<schema where {user} may create>.s3_load_ledger'"
        )
        raise ConfigCheckError(
            f"Could not create the load ledger {ledger} as user {user}: {str(error)[:300]}. Expected the "
            f"CREATE privilege on schema {ledger.schema}, because the ledger records each loaded file in the "
            f"load's transaction. Nothing was loaded. Fix: {fix}.",
            fix=fix,
        ) from error


def _rollback(conn: Any) -> None:
    with contextlib.suppress(Exception):  # autocommit: nothing to roll back
        conn.rollback()


def _upgrade(conn: Any, ledger: TableName, user: str, log: Any) -> list[str]:
    """Add ``target_schema``/``target_name`` to an old ledger in one locked transaction; return warnings."""
    from airflow_redshift_s3.exceptions import ConfigCheckError

    statements = upgrade_statements(ledger)
    conn.autocommit = False
    cursor = conn.cursor()
    try:
        cursor.execute(f"LOCK {ledger.sql}")  # a concurrent load waits here, then finds the columns
        if "target_name" not in _columns(cursor, ledger):
            for statement in statements:
                statement.execute(cursor)
        count_ambiguous(ledger).execute(cursor)
        (ambiguous,) = cursor.fetchone()
        conn.commit()
    except Exception as error:
        _rollback(conn)
        sql = "; ".join(str(s) for s in statements)
        fix = f"run as the ledger's owner (or a superuser): {sql}; or pass a new ledger_table"
        raise ConfigCheckError(
            f"The load ledger {ledger} predates the target_schema and target_name columns, and "
            "upgrading it as "
            f"user {user} failed: {str(error)[:300]}. Nothing was loaded. Fix: {fix}.",
            fix=fix,
        ) from error
    finally:
        cursor.close()
        conn.autocommit = True
    log.warning("Upgraded the load ledger %s: added target_schema and target_name.", ledger)
    if not ambiguous:
        return []
    return [
        f"{ambiguous} row(s) of the load ledger {ledger} name a table whose name holds a '.' (target_table "
        "cannot tell schema from table), so no load matches them any more: an append may load their files "
        f"once more. Fix: UPDATE {ledger.sql} SET target_schema = '<schema>', target_name = '<table>' WHERE "
        "target_table = '<the row's target_table>' for each of them."
    ]
