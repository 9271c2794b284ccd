"""PartiQL navigation into SUPER values (``c.a.b``, ``c[0]``, ``t.c.a[1].b``), written with ``->``.

Redshift reads ``x.y`` as navigation when ``x`` is a SUPER column and not a table in the query ("Querying
semi-structured data", "Navigation" in the Redshift Database Developer Guide); its lax mode returns NULL for
a path that does not exist, as ``->`` does (a missing key, an index out of range, a key on an array or a
scalar). sqlglot reads the dotted names as columns with qualifiers, so this module decides by name: a
statement is parsed only when it names a known SUPER column followed by ``.`` or ``[``, and a dotted name is
navigation when its first part (after a table or alias of the query, if any) is such a column.

Known SUPER columns are those of the catalog when a session opens its database, and those the gateway sees
created (CREATE TABLE, ALTER TABLE ADD COLUMN); a name stays known after its table is dropped, which only
costs a parse. An index navigates an array only (``super_index``: jsonb's ``->`` would take element 0 of
a scalar). A navigation cast to another type (``c.a::varchar``) reads the value as text (``#>> '{}'``),
so a string casts without its quotes, as in Redshift; a comparison with a literal compares JSON values.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA
from airflow_redshift_s3.local.sql.tokens import quote_literal

_S = REDSHIFT_FUNCTION_SCHEMA


class SuperColumns:
    """The names of the SUPER columns the gateway knows, and the cheap test of a statement against them."""

    def __init__(self) -> None:
        self._names: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        self.loaded_databases: set[str] = set()

    @property
    def names(self) -> frozenset[str]:
        """Return the known names, in lower case."""
        return self._names

    def add(self, *names: str) -> None:
        """Note SUPER columns by name."""
        new = {n.lower() for n in names} - self._names
        if not new:
            return
        with self._lock:
            self._names = self._names | new
            alternatives = "|".join(re.escape(n) for n in sorted(self._names, key=len, reverse=True))
            self._pattern = re.compile(rf'(?<![\w$])"?(?:{alternatives})"?\s*(?:\[|\.\s*["A-Za-z_])', re.I)

    def mentioned(self, sql: str) -> bool:
        """Tell whether ``sql`` may navigate into a known SUPER column (a few microseconds)."""
        pattern = self._pattern
        return pattern is not None and pattern.search(sql) is not None


SUPER_COLUMNS = SuperColumns()  # one gateway per process (moto's state is process-wide too)


def navigate(sql: str, names: frozenset[str]) -> str:
    """Return ``sql`` with its navigation into the SUPER columns ``names`` written with ``->``.

    ``sql`` is returned as it is when sqlglot cannot read it, for PostgreSQL to report.
    """
    return _navigate(sql, names)


@lru_cache(maxsize=256)
def _navigate(sql: str, names: frozenset[str]) -> str:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    from airflow_redshift_s3.local.sql.dialect import postgres_dialect

    try:
        tree = sqlglot.parse_one(sql, read="redshift")
    except SqlglotError:
        return sql
    tables = {t.alias_or_name.lower() for t in tree.find_all(exp.Table)}
    tables |= {a.name.lower() for a in tree.find_all(exp.TableAlias) if a.name}
    tables |= {c.alias.lower() for c in tree.find_all(exp.CTE) if c.alias}
    outermost = [
        node
        for node in tree.find_all(exp.Column, exp.Dot, exp.Bracket)
        if not (isinstance(node.parent, (exp.Dot, exp.Bracket)) and node.arg_key == "this")
    ]
    changed = False
    for node in outermost:
        text = _rewrite(node, names, tables)
        if text is not None:
            node.replace(exp.Paren(this=exp.Var(this=text)))
            changed = True
    return tree.sql(dialect=postgres_dialect()) if changed else sql


def _rewrite(node: Any, names: frozenset[str], tables: set[str]) -> str | None:
    """Return the ``->`` form of one navigation expression, or None when it is no navigation."""
    from sqlglot import exp

    flat = _flatten(node)
    if flat is None:
        return None
    parts, steps = flat
    lowered = [p.name.lower() for p in parts]
    base_len = 0
    if len(parts) >= 2 and lowered[0] in tables and lowered[1] in names:
        base_len = 2
    elif len(parts) >= 3 and lowered[1] in tables and lowered[2] in names:
        base_len = 3
    elif lowered[0] in names and lowered[0] not in tables:
        base_len = 1
    path: list[str] = [quote_literal(p.name if p.quoted else p.name.lower()) for p in parts[base_len:]]
    path += steps
    if not base_len or not path:
        return None
    text = ".".join(p.sql(dialect="postgres") for p in parts[:base_len])
    for step in path:
        # an index only into an array: jsonb would take element 0 of a scalar, Redshift gives NULL
        text = f"{text} -> {step}" if step.startswith("'") else f"{_S}.super_index({text}, {step})"
    parent = node.parent
    if isinstance(parent, exp.Cast) and parent.to.this != exp.DataType.Type.SUPER:
        text = f"({text}) #>> '{{}}'"  # the scalar as text: a string without its quotes
    if isinstance(parent, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        other = parent.expression if parent.this is node else parent.this
        if isinstance(other, exp.Literal):
            value = f"CAST({quote_literal(other.name)} AS TEXT)" if other.is_string else other.name
            other.replace(exp.Var(this=f"to_jsonb({value})"))
    return text


def _flatten(node: Any) -> tuple[list[Any], list[str]] | None:
    """Return a navigation's column name parts (Identifiers) and its further steps as ``->`` operands."""
    from sqlglot import exp

    steps: list[str] = []
    while not isinstance(node, exp.Column):
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
            key = node.expression
            steps.append(quote_literal(key.name if key.quoted else key.name.lower()))
        elif isinstance(node, exp.Bracket) and len(node.expressions) == 1:
            index = node.expressions[0]
            literal = isinstance(index, exp.Literal) and not index.is_string
            steps.append(index.name if literal else f"({index.sql(dialect='postgres')})::integer")
        else:
            return None
        node = node.this
    return list(node.parts), steps[::-1]


__all__ = ["SUPER_COLUMNS", "SuperColumns", "navigate"]
