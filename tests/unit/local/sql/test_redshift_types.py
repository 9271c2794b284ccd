"""The SQL layer's handling of SUPER, VARBYTE and the interval types (no database: the rewritten text)."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.local.sql.errors import UnsupportedColumnType
from airflow_redshift_s3.local.sql.redshift_types import varbyte_too_long
from airflow_redshift_s3.local.sql.rewrite import rewrite_for_postgres
from airflow_redshift_s3.local.sql.super_navigation import SUPER_COLUMNS, SuperColumns, navigate
from airflow_redshift_s3.local.sql.tokens import render, split_statements

NAMES = frozenset({"doc"})


def _rewrite(sql: str) -> str:
    (statement,) = split_statements(sql)
    return render(rewrite_for_postgres(statement))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select doc.a.b from t", "SELECT (doc -> 'a' -> 'b') FROM t"),
        ("select doc[0] from t", "SELECT (pg_redshift.super_index(doc, 0)) FROM t"),
        ("select doc.a[1].b from t", "SELECT (pg_redshift.super_index(doc -> 'a', 1) -> 'b') FROM t"),
        ("select t.doc.a from s.t", "SELECT (t.doc -> 'a') FROM s.t"),
        ("select x.doc.A from s.t x", "SELECT (x.doc -> 'a') FROM s.t AS x"),
        ('select doc."eventType" from t', "SELECT (doc -> 'eventType') FROM t"),
        ("select doc.s::varchar from t", "SELECT CAST(((doc -> 's') #>> '{}') AS VARCHAR) FROM t"),
        (
            "select id from t where doc.s = 'x' and doc.n > 2",
            "SELECT id FROM t WHERE (doc -> 's') = to_jsonb(CAST('x' AS TEXT))"
            " AND (doc -> 'n') > to_jsonb(2)",
        ),
    ],
)
def test_navigation_becomes_jsonb_operators(sql, expected):
    """A dotted name or a subscript on a SUPER column becomes ->; an index goes through super_index."""
    assert navigate(sql, NAMES) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "select doc.a from doc",  # doc is the table here: table.column
        "select t.doc from t",  # the whole SUPER column
        "select other.a from t",  # not a SUPER column
        "select doc from t",
    ],
)
def test_table_references_and_other_columns_are_left_alone(sql):
    assert navigate(sql, NAMES) == sql


def test_only_statements_naming_a_known_super_column_are_parsed():
    """The cheap test: a known name followed by '.' or '['; nothing known, nothing matches."""
    columns = SuperColumns()
    assert not columns.mentioned("select doc.a from t")
    columns.add("Doc")
    assert columns.names == frozenset({"doc"})
    assert columns.mentioned("select doc.a from t")
    assert columns.mentioned("select t.doc[0] from t")
    assert columns.mentioned('select "doc" . a from t')
    assert not columns.mentioned("select doc from t")
    assert not columns.mentioned("select mydoc.a from t")


def test_a_name_that_only_looks_like_navigation_still_gets_its_functions_translated():
    """A schema named like a SUPER column (doc.items is schema.table): no navigation, NVL still translated."""
    SUPER_COLUMNS.add("doc")
    assert _rewrite("select nvl(a, 0) from doc.items") == "SELECT COALESCE(a, 0) FROM doc.items"


def test_create_table_notes_super_columns_and_keeps_the_type():
    sql = "create table t (id int, payload_zz super not null)"
    assert _rewrite(sql) == sql
    assert "payload_zz" in SUPER_COLUMNS.names
    assert _rewrite("select payload_zz.a from t") == "SELECT (payload_zz -> 'a') FROM t"


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("b varbyte(10)", 'b pg_catalog.varbyte  CONSTRAINT "rs_varbyte_10_b" CHECK (octet_length(b) <= 10)'),
        (
            "b varbinary",
            'b pg_catalog.varbyte  CONSTRAINT "rs_varbyte_64000_b" CHECK (octet_length(b) <= 64000)',
        ),
        (
            "b binary varying(5) not null",
            'b pg_catalog.varbyte not null CONSTRAINT "rs_varbyte_5_b" CHECK (octet_length(b) <= 5)',
        ),
    ],
)
def test_varbyte_spellings_become_the_domain_with_a_byte_limit(column, expected):
    assert _rewrite(f"create table t ({column})") == f"create table t ({expected})"


def test_varbyte_in_alter_table_add_column():
    assert _rewrite("alter table t add column b varbyte(4)") == (
        "alter table t add column b pg_catalog.varbyte "
        ' CONSTRAINT "rs_varbyte_4_b" CHECK (octet_length(b) <= 4)'
    )


def test_varbyte_limit_violation_message():
    assert varbyte_too_long("rs_varbyte_4_b") == "value too long for type varbyte(4)"
    assert varbyte_too_long("rs_varchar_4_b") is None


@pytest.mark.parametrize(
    "sql",
    [
        "create table t (a interval year to month, b interval day to second(3), c interval hour)",
        "alter table t add column d interval minute to second",
    ],
)
def test_qualified_intervals_are_accepted(sql):
    assert _rewrite(sql) == sql


@pytest.mark.parametrize(
    "sql", ["create table spans (id int, d interval)", "alter table spans add column d interval"]
)
def test_a_bare_interval_column_is_refused(sql):
    with pytest.raises(UnsupportedColumnType, match=r'^Column "spans\.d" has unsupported type "interval"\.$'):
        _rewrite(sql)


def test_bytea_is_still_refused():
    with pytest.raises(UnsupportedColumnType, match='"bytea"'):
        _rewrite("create table t (b bytea)")
