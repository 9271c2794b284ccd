"""The Data API's catalog calls (ListDatabases, ListSchemas, ListTables, DescribeTable), answered by SQL.

Each runs one catalog query through the gateway as the caller's database user, so it lists what that user
may see. Like the gateway's SHOW commands it describes the connected database only: PostgreSQL cannot read
another database's catalog.
"""

from __future__ import annotations

from typing import Any

from airflow_redshift_s3.local.aws.redshift_data.execution import Target
from airflow_redshift_s3.local.aws.redshift_data.results import column_metadata

# Schemas Redshift lists: pg_catalog and information_schema, not PostgreSQL's internal pg_* ones.
_LISTED_SCHEMA = "(n.nspname IN ('pg_catalog', 'information_schema') OR n.nspname NOT LIKE 'pg\\_%')"


def _rows(target: Target, sql: str, values: list[str]) -> list[tuple[Any, ...]]:
    connection = target.connect()
    try:
        connection.autocommit = True
        cursor = connection.cursor()
        cursor.paramstyle = "numeric"
        cursor.execute(sql, values) if values else cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def list_databases(target: Target) -> list[str]:
    """Return the cluster's databases (PostgreSQL's ``postgres`` and templates are not Redshift's)."""
    sql = (
        "SELECT datname FROM pg_catalog.pg_database WHERE NOT datistemplate AND datname <> 'postgres' "
        "ORDER BY 1"
    )
    return [row[0] for row in _rows(target, sql, [])]


def list_schemas(target: Target, pattern: str | None) -> list[str]:
    """Return the schemas whose name is LIKE ``pattern`` (all without one)."""
    sql = (
        f"SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE {_LISTED_SCHEMA} AND n.nspname LIKE $1 "
        "ORDER BY 1"
    )
    return [row[0] for row in _rows(target, sql, [pattern or "%"])]


def list_tables(
    target: Target, schema_pattern: str | None, table_pattern: str | None
) -> list[dict[str, str]]:
    """Return the tables and views LIKE the patterns, as TableMember entries."""
    sql = f"""
        SELECT n.nspname, c.relname, CASE WHEN c.relkind IN ('v', 'm') THEN 'VIEW' ELSE 'TABLE' END
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {_LISTED_SCHEMA}
          AND n.nspname LIKE $1 AND c.relname LIKE $2
        ORDER BY 1, 2"""
    rows = _rows(target, sql, [schema_pattern or "%", table_pattern or "%"])
    return [{"schema": schema, "name": name, "type": kind} for schema, name, kind in rows]


def describe_table(target: Target, schema: str | None, table: str) -> tuple[str, list[dict[str, Any]]]:
    """Return the table's name as DescribeTable reports it, and the ColumnMetadata of its columns."""
    relation = "pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2))"
    values = [schema, table] if schema else [table]
    if not schema:
        relation = "pg_catalog.to_regclass(pg_catalog.quote_ident($1))"
    sql = f"""
        SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid),
            n.nspname, c.relname
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = {relation} AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum"""
    rows = _rows(target, sql, values)
    columns = column_metadata(
        [{"type_oid": oid, "type_modifier": modifier} for _, oid, modifier, *_ in rows],
        [row[0] for row in rows],
    )
    for column, (_, _, _, not_null, default, schema_name, table_name) in zip(columns, rows, strict=False):
        column.update(nullable=0 if not_null else 1, schemaName=schema_name, tableName=table_name)
        if default is not None:
            column["columnDefault"] = default
    table_name = f"{rows[0][5]}.{rows[0][6]}" if rows else table
    return table_name, columns
