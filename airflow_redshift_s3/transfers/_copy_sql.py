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

from airflow_redshift_s3.copy_format import CopyFormat
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
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
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


@dataclass(frozen=True)
class Step:
    """One statement of a plan and the name the operator knows it by."""

    name: str
    statement: Statement


def check_role(iam_role: object) -> str:
    """Return ``iam_role`` ("default" or a role ARN) or raise saying what is expected."""
    if isinstance(iam_role, str) and iam_role.strip().lower() == "default":
        return "default"
    if isinstance(iam_role, str) and ROLE_ARN.fullmatch(iam_role):
        return iam_role
    raise SqlInputError(
        f"iam_role_arn is {iam_role!r}: expected 'default' or an IAM role ARN such as "
        "'arn:aws:iam::123456789012:role/RedshiftCopy'. Fix: pass the ARN of the role attached to the "
        "cluster (or namespace) that may read the bucket."
    )


def check_region(region: object) -> str:
    """Return ``region`` or raise saying what is expected."""
    if isinstance(region, str) and REGION.fullmatch(region):
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


def _cast(type_name: str) -> str:
    if not _TYPE_NAME.fullmatch(type_name):
        raise SqlInputError(f"column type {type_name!r} is not a plain type name; cannot bind a value to it")
    return f"CAST(%s AS {type_name})"


def _lock(target: TableName) -> Step:
    return Step("lock", Statement(f"LOCK {target.sql}"))


def _copy_steps(into: str, columns: Sequence[str] | None, source: CopySource, staging: bool) -> list[Step]:
    return [
        Step("copy", copy_statement(into, columns, source, staging=staging)),
        Step("copy_count", Statement("SELECT pg_last_copy_count(), pg_last_copy_id()")),
    ]


def _stage(name: str, target: TableName, columns: Sequence[str]) -> Step:
    # CTAS of the file columns (not LIKE): no NOT NULL of columns the files do not fill, no defaults, no
    # identity, the exact types.
    return Step(
        "stage",
        Statement(
            f"CREATE TEMP TABLE {quoted(name)} AS SELECT {', '.join(map(quoted, columns))} FROM "
            f"{target.sql} WHERE 1 = 0"
        ),
    )


def _drop(name: str) -> Step:
    return Step("drop", Statement(f"DROP TABLE {quoted(name)}"))


def plan_append(target: TableName, columns: Sequence[str] | None, source: CopySource) -> list[Step]:
    """Return LOCK; COPY."""
    return [_lock(target), *_copy_steps(target.sql, columns, source, staging=False)]


def plan_replace(target: TableName, columns: Sequence[str] | None, source: CopySource) -> list[Step]:
    """Return LOCK; DELETE every row (never TRUNCATE, which commits); COPY."""
    return [
        _lock(target),
        Step("delete", Statement(f"DELETE FROM {target.sql}")),
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
        _lock(target),
        _stage(stage, target, file_columns),
        *_copy_steps(quoted(stage), file_columns, source, staging=True),
    ]
    if partition_column in file_columns:
        steps.append(
            Step(
                "check_partition",
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
        Step("delete", Statement(f"DELETE FROM {target.sql} WHERE {column} = {cast}", (partition_value,))),
        Step(
            "insert",
            Statement(
                f"INSERT INTO {target.sql} {column_list_sql(insert_columns)} SELECT {select} FROM "
                f"{quoted(stage)}",
                params or None,
            ),
        ),
        _drop(stage),
    ]
    return steps


def plan_upsert(
    target: TableName,
    columns: Sequence[str],
    keys: Sequence[str],
    source: CopySource,
    stage: str,
    *,
    strategy: str = "merge",
) -> list[Step]:
    """Return LOCK; COPY into staging; de-duplicate on the keys; count; MERGE (or DELETE + INSERT); DROP.

    Only ``columns`` are written: matched rows get those columns updated, new rows get them inserted
    (the other columns keep their value, or get their default).

    :param columns: the columns the files hold, in order.
    :param keys: the columns identifying a row (among ``columns``).
    :param stage: the staging table's name; the de-duplicated copy is ``<stage>_dedup``.
    :param strategy: "merge" (one MERGE) or "delete_insert" (DELETE the matched rows, INSERT all).
    """
    dedup = f"{stage}_dedup"
    rest = [c for c in columns if c not in keys]
    order = ", ".join(map(quoted, rest or keys))
    all_cols = ", ".join(map(quoted, columns))
    partition = ", ".join(map(quoted, keys))
    src = quoted(_SOURCE_ALIAS)

    def match(left: str, right: str) -> str:
        return " AND ".join(f"{left}.{quoted(k)} = {right}.{quoted(k)}" for k in keys)

    steps = [
        _lock(target),
        _stage(stage, target, columns),
        *_copy_steps(quoted(stage), columns, source, staging=True),
        Step(
            "dedup",
            Statement(
                f"CREATE TEMP TABLE {quoted(dedup)} AS SELECT {all_cols} FROM (SELECT {all_cols}, "
                "ROW_NUMBER() "
                f'OVER (PARTITION BY {partition} ORDER BY {order}) AS "s3copy_row" FROM {quoted(stage)}) AS '
                f'"s3copy_ranked" WHERE "s3copy_row" = 1'
            ),
        ),
        Step(
            "counts",
            Statement(
                f"SELECT (SELECT COUNT(*) FROM {quoted(dedup)}), (SELECT COUNT(*) FROM {quoted(dedup)} AS "
                f"{src} "
                f"WHERE EXISTS (SELECT 1 FROM {target.sql} WHERE {match(target.sql, src)}))"
            ),
        ),
    ]
    if strategy == "merge":
        updates = ", ".join(f"{quoted(c)} = {src}.{quoted(c)}" for c in (rest or keys))
        values = ", ".join(f"{src}.{quoted(c)}" for c in columns)
        steps.append(
            Step(
                "merge",
                Statement(
                    f"MERGE INTO {target.sql} USING {quoted(dedup)} AS {src} ON {match(target.sql, src)} "
                    f"WHEN MATCHED THEN UPDATE SET {updates} "
                    f"WHEN NOT MATCHED THEN INSERT {column_list_sql(columns)} VALUES ({values})"
                ),
            )
        )
    elif strategy == "delete_insert":
        steps += [
            Step(
                "delete",
                Statement(
                    f"DELETE FROM {target.sql} USING {quoted(dedup)} WHERE {match(target.sql, quoted(dedup))}"
                ),
            ),
            Step(
                "insert",
                Statement(
                    f"INSERT INTO {target.sql} {column_list_sql(columns)} SELECT {all_cols} FROM "
                    f"{quoted(dedup)}"
                ),
            ),
        ]
    else:
        raise SqlInputError(
            f"upsert_strategy is {strategy!r}: expected one of {', '.join(UPSERT_STRATEGIES)}. Fix: pass one."
        )
    return [*steps, _drop(dedup), _drop(stage)]
