"""The SQL of each load mode, built from checked names and typed options only (pinned by unit tests).

A plan is the ordered list of statements the operator runs inside one transaction, each with a step
name the operator uses to read results (row counts). Every identifier comes through
``airflow_redshift_s3.sql``; the partition value is a bound parameter; COPY's options are rendered by
the format classes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from airflow_redshift_s3.copy_format import CopyFormat
from airflow_redshift_s3.rules import REGION_RE, ROLE_ARN_RE
from airflow_redshift_s3.sql import (
    SqlInputError,
    Statement,
    TableName,
    column_list_sql,
    quote_literal,
    quoted,
)

MODES = ("append", "replace", "replace_partition", "upsert")
UPSERT_STRATEGIES = ("merge", "delete_insert")
# A type name as information_schema spells it ("character varying", "timestamp without time zone").
_TYPE_NAME = re.compile(r"[a-z][a-z0-9 _]{0,63}")
_SOURCE_ALIAS = "s3copy_source"


@dataclass(frozen=True)
class KeyCredentials:
    """Access keys for COPY's ACCESS_KEY_ID/SECRET_ACCESS_KEY (only when explicitly allowed)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CopySource:
    """Where COPY reads and how: the manifest, the authorization, the region and the format.

    :param manifest_url: s3:// URL of the manifest listing exactly the files to load.
    :param iam_role: "default" or a role ARN (ignored when ``credentials`` is given).
    :param data_format: the files' format.
    :param extra_options: clauses from the checked escape hatch (``parse_copy_options``).
    :param region: the bucket's region when it differs from Redshift's (COPY's REGION).
    :param credentials: key-based credentials, only when explicitly allowed.
    """

    manifest_url: str
    iam_role: str
    data_format: CopyFormat
    extra_options: tuple[str, ...] = ()
    region: str | None = None
    credentials: KeyCredentials | None = None


class StepName(str, Enum):
    """What a statement of a plan does; the load reads the results of some of them (counts, checks)."""

    LOCK = "lock"
    STAGE = "stage"
    COPY = "copy"
    COPY_COUNT = "copy_count"
    TAG_FILE = "tag_file"
    CHECK_PARTITION = "check_partition"
    DUPLICATES = "duplicates"
    DEDUP = "dedup"
    TARGET_DUPLICATES = "target_duplicates"
    COUNTS = "counts"
    DELETE = "delete"
    DELETE_MATCHED = "delete_matched"
    INSERT = "insert"
    MERGE = "merge"
    DROP = "drop"
    FILES = "files"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Step:
    """One statement of a plan and what it does."""

    name: StepName
    statement: Statement


def check_role(iam_role: object) -> str:
    """Return ``iam_role`` ("default" or a role ARN) or raise saying what is expected."""
    if isinstance(iam_role, str) and iam_role.strip().lower() == "default":
        return "default"
    if isinstance(iam_role, str) and ROLE_ARN_RE.fullmatch(iam_role):
        return iam_role
    raise SqlInputError(
        f"iam_role_arn is {iam_role!r}: expected 'default' or an IAM role ARN such as "
        "'arn:aws:iam::123456789012:role/RedshiftCopy'. Fix: pass the ARN of the role attached to the "
        "cluster (or namespace) that may read the bucket."
    )


def check_region(region: object) -> str:
    """Return ``region`` or raise saying what is expected."""
    if isinstance(region, str) and REGION_RE.fullmatch(region):
        return region
    raise SqlInputError(f"region is {region!r}: expected an AWS region such as 'eu-west-1'. Fix: pass one.")


def _authorization(source: CopySource) -> tuple[str, tuple[str, ...]]:
    creds = source.credentials
    if creds is None:
        role = check_role(source.iam_role)
        return (
            "IAM_ROLE default" if role == "default" else f"IAM_ROLE {quote_literal(role, 'iam_role_arn')}"
        ), ()
    parts = [
        f"ACCESS_KEY_ID {quote_literal(creds.access_key_id, 'access key id')}",
        f"SECRET_ACCESS_KEY {quote_literal(creds.secret_access_key, 'secret access key')}",
    ]
    secrets = [creds.secret_access_key]
    if creds.session_token:
        parts.append(f"SESSION_TOKEN {quote_literal(creds.session_token, 'session token')}")
        secrets.append(creds.session_token)
    return " ".join(parts), tuple(secrets)


def copy_statement(
    into: str, columns: Sequence[str] | None, source: CopySource, *, staging: bool = False
) -> Statement:
    """Return COPY ``into`` (quoted table) ``(columns)`` FROM the manifest with the source's options.

    :param into: the quoted target (``TableName.sql`` or a quoted temporary table).
    :param columns: checked column names in file order, or None for every column of the table.
    :param source: manifest, authorization, format and options.
    :param staging: a temporary staging table: add COMPUPDATE OFF (not for Parquet/ORC) and STATUPDATE OFF,
        dropping the user's.
    """
    authorization, secrets = _authorization(source)
    parts = [f"COPY {into}"]
    if columns:
        parts.append(column_list_sql(columns))
    parts.append(f"FROM {quote_literal(source.manifest_url, 'manifest URL')}")
    parts.append(authorization)
    if source.region:
        parts.append(f"REGION AS {quote_literal(check_region(source.region), 'region')}")
    parts.append("MANIFEST")
    parts.extend(source.data_format.copy_options())
    extra = list(source.extra_options)
    if staging:
        extra = [o for o in extra if not o.startswith(("COMPUPDATE", "STATUPDATE"))]
        # A columnar COPY accepts STATUPDATE but no COMPUPDATE (it never applies encodings anyway).
        extra += ["STATUPDATE OFF"] if source.data_format.columnar else ["COMPUPDATE OFF", "STATUPDATE OFF"]
    parts.extend(extra)
    return Statement(" ".join(parts), None, secrets)


def cast_sql(type_name: str) -> str:
    """Return ``CAST(%s AS <type_name>)`` for a type name as information_schema spells it (checked)."""
    return _cast(type_name)


def _cast(type_name: str) -> str:
    if not _TYPE_NAME.fullmatch(type_name):
        raise SqlInputError(f"column type {type_name!r} is not a plain type name; cannot bind a value to it")
    return f"CAST(%s AS {type_name})"


def lock_step(target: TableName) -> Step:
    """Return the LOCK that starts every load: loads of one table queue here."""
    return Step(StepName.LOCK, Statement(f"LOCK {target.sql}"))


def _copy_steps(into: str, columns: Sequence[str] | None, source: CopySource, staging: bool) -> list[Step]:
    return [
        Step(StepName.COPY, copy_statement(into, columns, source, staging=staging)),
        Step(StepName.COPY_COUNT, Statement("SELECT pg_last_copy_count(), pg_last_copy_id()")),
    ]


def _stage(name: str, target: TableName, columns: Sequence[str]) -> Step:
    # CTAS of the file columns (not LIKE): no NOT NULL of columns the files do not fill, no defaults, no
    # identity, the exact types.
    return Step(
        StepName.STAGE,
        Statement(
            f"CREATE TEMP TABLE {quoted(name)} AS SELECT {', '.join(map(quoted, columns))} FROM "
            f"{target.sql} WHERE 1 = 0"
        ),
    )


def _drop(name: str) -> Step:
    return Step(StepName.DROP, Statement(f"DROP TABLE {quoted(name)}"))


def plan_append(target: TableName, columns: Sequence[str] | None, source: CopySource) -> list[Step]:
    """Return LOCK; COPY."""
    return [lock_step(target), *_copy_steps(target.sql, columns, source, staging=False)]


def plan_replace(target: TableName, columns: Sequence[str] | None, source: CopySource) -> list[Step]:
    """Return LOCK; DELETE every row (never TRUNCATE, which commits); COPY."""
    return [
        lock_step(target),
        Step(StepName.DELETE, Statement(f"DELETE FROM {target.sql}")),
        *_copy_steps(target.sql, columns, source, staging=False),
    ]


def plan_replace_partition(
    target: TableName,
    file_columns: Sequence[str],
    partition_column: str,
    partition_type: str,
    partition_value: str,
    source: CopySource,
    stage: str,
) -> list[Step]:
    """Return LOCK; COPY into a staging table; (check its partition); DELETE the partition; INSERT; DROP.

    :param file_columns: the columns the files hold, in order (with or without the partition column).
    :param partition_column: the column whose value names the partition.
    :param partition_type: its type (from the catalog), to bind the value with.
    :param partition_value: the partition's value, bound as a parameter.
    :param stage: the staging table's name (temporary).
    """
    cast = _cast(partition_type)
    column = quoted(partition_column)
    steps = [
        lock_step(target),
        _stage(stage, target, file_columns),
        *_copy_steps(quoted(stage), file_columns, source, staging=True),
    ]
    if partition_column in file_columns:
        steps.append(
            Step(
                StepName.CHECK_PARTITION,
                Statement(
                    f"SELECT COUNT(*) FROM {quoted(stage)} WHERE {column} IS NULL OR {column} <> {cast}",
                    (partition_value,),
                ),
            )
        )
        insert_columns = list(file_columns)
        select = ", ".join(map(quoted, file_columns))
        params: tuple[str, ...] = ()
    else:
        insert_columns = [*file_columns, partition_column]
        select = ", ".join([*map(quoted, file_columns), cast])
        params = (partition_value,)
    steps += [
        Step(
            StepName.DELETE,
            Statement(f"DELETE FROM {target.sql} WHERE {column} = {cast}", (partition_value,)),
        ),
        Step(
            StepName.INSERT,
            Statement(
                f"INSERT INTO {target.sql} {column_list_sql(insert_columns)} SELECT {select} FROM "
                f"{quoted(stage)}",
                params or None,
            ),
        ),
        _drop(stage),
    ]
    return steps


FILE_COLUMN = "s3copy_file"
"""The staging column holding the number of the file a row came from (per-file COPY only)."""
FILE_ORDER = "file order"
"""``plan_upsert``'s ``order_by`` for "the row of the last file wins"."""
DUPLICATES_SHOWN = 10


def _copy_files_tagged(into: str, columns: Sequence[str], sources: Sequence[CopySource]) -> list[Step]:
    """Return one COPY (and its count) per file into ``into``, then the UPDATE tagging its rows.

    Redshift keeps no trace of the file a row came from (COPY has no file-name pseudo-column), so the only
    way to know it is to load the files one at a time.
    """
    steps: list[Step] = []
    for number, source in enumerate(sources, start=1):
        steps += [
            *_copy_steps(into, columns, source, staging=True),
            Step(
                StepName.TAG_FILE,
                Statement(
                    f"UPDATE {into} SET {quoted(FILE_COLUMN)} = {number} WHERE {quoted(FILE_COLUMN)} IS NULL"
                ),
            ),
        ]
    return steps


def _stage_tagged(name: str, target: TableName, columns: Sequence[str]) -> Step:
    return Step(
        StepName.STAGE,
        Statement(
            f"CREATE TEMP TABLE {quoted(name)} AS SELECT {', '.join(map(quoted, columns))}, "
            f"CAST(NULL AS INTEGER) AS {quoted(FILE_COLUMN)} FROM {target.sql} WHERE 1 = 0"
        ),
    )


def duplicates_statement(
    table: str, keys: Sequence[str], columns: Sequence[str], order_by: str | None
) -> Statement:
    """Return the SELECT of the first keys of ``table`` that no rule decides: (key columns..., rows).

    Rows equal in every column count once: keeping either is the same.

    :param columns: the columns the files fill (keys included).
    :param order_by: None: the keys held by different rows; a column (or ``FILE_COLUMN``): the keys whose
        greatest value of it is held by different rows (a tie).
    """
    keys_sql = ", ".join(map(quoted, keys))
    distinct = [*columns, FILE_COLUMN] if order_by == FILE_COLUMN else list(columns)
    rows = f'(SELECT DISTINCT {", ".join(map(quoted, distinct))} FROM {table}) AS "s3copy_distinct"'
    if order_by is None:
        source = rows
    else:
        source = (
            f"(SELECT {keys_sql}, RANK() OVER (PARTITION BY {keys_sql} ORDER BY {quoted(order_by)} DESC "
            f'NULLS LAST) AS "s3copy_rank" FROM {rows}) AS "s3copy_ranked" WHERE "s3copy_rank" = 1'
        )
    return Statement(
        f"SELECT {keys_sql}, COUNT(*) FROM {source} GROUP BY {keys_sql} HAVING COUNT(*) > 1 "
        f"ORDER BY {keys_sql} LIMIT {DUPLICATES_SHOWN}"
    )


def plan_file_probe(
    probe: str,
    stage: str,
    target: TableName,
    columns: Sequence[str],
    keys: Sequence[str],
    sources: Sequence[CopySource],
) -> list[Step]:
    """Return the steps that find which files hold the duplicate keys of ``stage`` (an upsert's stage).

    Used on the way to a failure only: the files named by ``sources`` are loaded one at a time into
    ``probe``, then joined with the keys ``stage`` holds more than once. The last step ("files") returns
    (key columns..., file number) rows.
    """
    return [
        _stage_tagged(probe, target, columns),
        *_copy_files_tagged(quoted(probe), columns, sources),
        Step(StepName.FILES, files_of_duplicates(probe, stage, keys)),
    ]


def files_of_duplicates(tagged: str, stage: str, keys: Sequence[str]) -> Statement:
    """Return the SELECT of (key columns..., file number) for the keys ``stage`` holds more than once.

    :param tagged: a table of the files' rows tagged with their file number (``FILE_COLUMN``).
    """
    keys_sql = ", ".join(map(quoted, keys))
    row, dup = '"s3copy_probe"', '"s3copy_dup"'
    on = " AND ".join(f"{row}.{quoted(k)} = {dup}.{quoted(k)}" for k in keys)
    return Statement(
        f"SELECT DISTINCT {', '.join(f'{row}.{quoted(k)}' for k in keys)}, {row}.{quoted(FILE_COLUMN)} "
        f"FROM {quoted(tagged)} AS {row} JOIN (SELECT {keys_sql} FROM {quoted(stage)} GROUP BY "
        f"{keys_sql} HAVING COUNT(*) > 1) AS {dup} ON {on} LIMIT 1000"
    )


def plan_upsert(
    target: TableName,
    columns: Sequence[str],
    keys: Sequence[str],
    source: CopySource,
    stage: str,
    *,
    strategy: str = "merge",
    order_by: str | None = None,
    file_sources: Sequence[CopySource] = (),
) -> list[Step]:
    """Return LOCK; COPY into staging; check duplicate keys; de-duplicate; check the target; MERGE; DROP.

    Only ``columns`` are written: matched rows get those columns updated, new rows get them inserted
    (the other columns keep their value, or get their default).

    :param columns: the columns the files hold, in order.
    :param keys: the columns identifying a row (among ``columns``).
    :param stage: the staging table's name; the de-duplicated copy is ``<stage>_dedup``.
    :param strategy: "merge" (one MERGE) or "delete_insert" (DELETE the matched rows, INSERT all).
    :param order_by: which row wins when the files hold several rows of one key: None, none may (the
        "duplicates" step returns them, and the operator fails); a column name, the greatest value;
        ``FILE_ORDER``, the row of the last file (the files are then copied one at a time, from
        ``file_sources``). A tie is returned by the "duplicates" step too.
    :param file_sources: with ``FILE_ORDER``, one source (manifest) per file, in order.
    """
    if strategy not in UPSERT_STRATEGIES:
        raise SqlInputError(
            f"upsert_strategy is {strategy!r}: expected one of {', '.join(UPSERT_STRATEGIES)}. Fix: pass one."
        )
    dedup = f"{stage}_dedup"
    if order_by == FILE_ORDER:
        if not file_sources:
            raise ValueError("order_by=FILE_ORDER needs one source per file")
        rank_column: str | None = FILE_COLUMN
        loading = _copy_files_tagged(quoted(stage), columns, file_sources)
    else:
        rank_column = order_by
        loading = _copy_steps(quoted(stage), columns, source, staging=True)
    return [
        lock_step(target),
        _stage_tagged(stage, target, columns),
        *loading,
        *_upsert_checks(target, columns, keys, stage, dedup, rank_column),
        *_upsert_write(target, columns, keys, dedup, strategy),
        _drop(dedup),
        _drop(stage),
    ]


def _match(keys: Sequence[str], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{quoted(k)} = {right}.{quoted(k)}" for k in keys)


def _upsert_checks(
    target: TableName,
    columns: Sequence[str],
    keys: Sequence[str],
    stage: str,
    dedup: str,
    rank_column: str | None,
) -> list[Step]:
    """Return the duplicate check, the de-duplication, the target's key check and the counts."""
    all_cols = ", ".join(map(quoted, columns))
    partition = ", ".join(map(quoted, keys))
    src, tgt = quoted(_SOURCE_ALIAS), '"s3copy_target"'
    target_keys = ", ".join(f"{tgt}.{quoted(k)}" for k in keys)
    order = f"{quoted(rank_column)} DESC NULLS LAST" if rank_column else partition
    return [
        Step(StepName.DUPLICATES, duplicates_statement(quoted(stage), keys, columns, rank_column)),
        Step(
            StepName.DEDUP,
            Statement(
                f"CREATE TEMP TABLE {quoted(dedup)} AS SELECT {all_cols} FROM (SELECT {all_cols}, "
                f'ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {order}) AS "s3copy_row" FROM '
                f'{quoted(stage)}) AS "s3copy_ranked" WHERE "s3copy_row" = 1'
            ),
        ),
        Step(
            StepName.TARGET_DUPLICATES,
            Statement(
                f"SELECT {target_keys}, COUNT(*) FROM {target.sql} AS {tgt} JOIN {quoted(dedup)} AS {src} ON "
                f"{_match(keys, tgt, src)} GROUP BY {target_keys} HAVING COUNT(*) > 1 LIMIT "
                f"{DUPLICATES_SHOWN}"
            ),
        ),
        Step(
            StepName.COUNTS,
            Statement(
                f"SELECT (SELECT COUNT(*) FROM {quoted(dedup)}), (SELECT COUNT(*) FROM {quoted(dedup)} AS "
                f"{src} WHERE EXISTS (SELECT 1 FROM {target.sql} WHERE {_match(keys, target.sql, src)}))"
            ),
        ),
    ]


def _upsert_write(
    target: TableName, columns: Sequence[str], keys: Sequence[str], dedup: str, strategy: str
) -> list[Step]:
    """Return the MERGE, or the DELETE of the matched rows and the INSERT, from the de-duplicated rows."""
    src = quoted(_SOURCE_ALIAS)
    if strategy == "merge":
        rest = [c for c in columns if c not in keys]
        updates = ", ".join(f"{quoted(c)} = {src}.{quoted(c)}" for c in (rest or keys))
        values = ", ".join(f"{src}.{quoted(c)}" for c in columns)
        return [
            Step(
                StepName.MERGE,
                Statement(
                    f"MERGE INTO {target.sql} USING {quoted(dedup)} AS {src} ON "
                    f"{_match(keys, target.sql, src)} WHEN MATCHED THEN UPDATE SET {updates} "
                    f"WHEN NOT MATCHED THEN INSERT {column_list_sql(columns)} VALUES ({values})"
                ),
            )
        ]
    return [
        Step(
            StepName.DELETE_MATCHED,
            Statement(
                f"DELETE FROM {target.sql} USING {quoted(dedup)} WHERE "
                f"{_match(keys, target.sql, quoted(dedup))}"
            ),
        ),
        Step(
            StepName.INSERT,
            Statement(
                f"INSERT INTO {target.sql} {column_list_sql(columns)} SELECT "
                f"{', '.join(map(quoted, columns))} FROM {quoted(dedup)}"
            ),
        ),
    ]
