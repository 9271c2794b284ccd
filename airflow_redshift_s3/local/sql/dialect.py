"""Redshift functions PostgreSQL lacks, translated by sqlglot (read Redshift, write PostgreSQL).

Only a query that names one of them is translated: a regular expression decides first, so every other
statement pays a few microseconds. sqlglot translates NVL, NVL2, DECODE, LEN, DATEADD, CONVERT_TIMEZONE
and SELECT TOP n as Redshift means them; where it does not, this module's generator says it differently:
DATEDIFF counts date-part boundaries (catalog function ``pg_redshift.datediff``); STRTOL and MEDIAN (an
aggregate returning DECIMAL for integer input, usable with OVER) are catalog functions; LISTAGG ...
WITHIN GROUP is ``string_agg`` with an ORDER BY and no default delimiter; APPROXIMATE COUNT(DISTINCT) is
an exact count (within Redshift's stated error). A statement sqlglot cannot read is left as it is, for
PostgreSQL to report.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA

_NEEDS_TRANSLATION = re.compile(
    r"\b(?:nvl2?|decode|len|dateadd|datediff|date_diff|convert_timezone|strtol|median|listagg)\s*\("
    r"|\btop\s+\(?\d|\bapproximate\s+count\b",
    re.IGNORECASE,
)
# Statements that may hold those calls; DDL keeps the token rewrite's text.
QUERY_HEADS = frozenset({"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "("})


def needs_translation(head: str, sql: str) -> bool:
    """Tell, cheaply, whether a statement starting with ``head`` names a Redshift-only function."""
    return head in QUERY_HEADS and _NEEDS_TRANSLATION.search(sql) is not None


@lru_cache(maxsize=256)  # a DAG sends the same texts run after run
def translate(sql: str) -> str:
    """Return ``sql`` with its Redshift-only functions written for PostgreSQL (``sql`` if sqlglot cannot)."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(sql, read="redshift")
    except SqlglotError:
        return sql
    return tree.sql(dialect=postgres_dialect())


@lru_cache(maxsize=1)
def postgres_dialect() -> Any:
    """Return PostgreSQL's sqlglot dialect with the translations sqlglot gets wrong for Redshift."""
    from sqlglot import exp
    from sqlglot.dialects.postgres import Postgres

    def datediff(gen: Any, node: Any) -> str:
        # TsOrDsDiff(this=end, expression=start); DateDiff likewise
        unit = node.args.get("unit")
        part = unit.name if unit is not None else "DAY"
        return gen.func(
            f"{REDSHIFT_FUNCTION_SCHEMA}.datediff", exp.Literal.string(part), node.expression, node.this
        )

    def strtol(gen: Any, node: Any) -> str:
        return gen.func(f"{REDSHIFT_FUNCTION_SCHEMA}.strtol", node.this, node.expression)

    def median(gen: Any, node: Any) -> str:
        return gen.func(f"{REDSHIFT_FUNCTION_SCHEMA}.median", node.this)

    def approx_distinct(gen: Any, node: Any) -> str:
        return f"COUNT(DISTINCT {gen.sql(node, 'this')})"

    def within_group(gen: Any, node: Any) -> str:
        if isinstance(node.this, exp.GroupConcat):
            return _string_agg(gen, node.this, gen.sql(node, "expression").strip())
        return f"{gen.sql(node, 'this')} WITHIN GROUP ({gen.sql(node, 'expression').strip()})"

    def group_concat(gen: Any, node: Any) -> str:
        return _string_agg(gen, node, "")

    def json_parse(gen: Any, node: Any) -> str:  # the catalog's, returning SUPER (sqlglot casts to json)
        return gen.func("pg_catalog.json_parse", node.this)

    def is_array(gen: Any, node: Any) -> str:
        return gen.func("pg_catalog.is_array", node.this)

    class RedshiftOnPostgres(Postgres):
        class Generator(Postgres.Generator):  # type: ignore[valid-type,misc]  # sqlglot builds it at runtime
            TRANSFORMS = {
                **Postgres.Generator.TRANSFORMS,
                exp.TsOrDsDiff: datediff,
                exp.DateDiff: datediff,
                exp.FromBase: strtol,
                exp.ApproxDistinct: approx_distinct,
                exp.Median: median,
                exp.WithinGroup: within_group,
                exp.GroupConcat: group_concat,
                exp.ParseJSON: json_parse,
                exp.IsArray: is_array,
            }

    return RedshiftOnPostgres()


def _string_agg(gen: Any, node: Any, order: str) -> str:
    """LISTAGG([DISTINCT] expr [, delimiter]) as string_agg; Redshift's delimiter defaults to none."""
    from sqlglot import exp

    value = node.this
    distinct = ""
    separator = node.args.get("separator")
    if isinstance(value, exp.Distinct):
        parts = value.expressions
        value, distinct = parts[0], "DISTINCT "
        if len(parts) > 1:
            separator = parts[1]
    delimiter = gen.sql(separator) if separator is not None else "''"
    tail = f" {order}" if order else ""
    return f"STRING_AGG({distinct}{gen.sql(value)}, {delimiter}{tail})"
