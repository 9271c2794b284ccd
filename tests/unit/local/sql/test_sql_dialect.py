from __future__ import annotations

import pytest

from airflow_redshift_s3.local.sql.dialect import needs_translation, translate
from airflow_redshift_s3.local.sql.rewrite import rewrite_for_postgres
from airflow_redshift_s3.local.sql.tokens import render, split_statements


def _rewrite(sql: str) -> str:
    (statement,) = split_statements(sql)
    return render(rewrite_for_postgres(statement))


@pytest.mark.parametrize(
    "sql",
    [
        "select a, b from t where c = $1",
        "insert into t values (1, 'x')",
        "select length(s), coalesce(a, b), topic from t",
        "create table t (len int, top int)",  # names, not calls, and DDL
    ],
)
def test_statements_without_redshift_functions_are_left_alone(sql):
    assert not needs_translation(sql.split()[0].upper(), sql)
    assert _rewrite(sql) == sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select nvl(a, 0) from t", "SELECT COALESCE(a, 0) FROM t"),
        ("select top 3 a from t order by a", "SELECT a FROM t ORDER BY a LIMIT 3"),
        ("select datediff(qtr, a, b)", "SELECT PG_REDSHIFT.DATEDIFF('QUARTER', a, b)"),
        ("select strtol(s, 16) from t", "SELECT PG_REDSHIFT.STRTOL(s, 16) FROM t"),
        (
            "select median(x) over (partition by g) from t",
            "SELECT PG_REDSHIFT.MEDIAN(x) OVER (PARTITION BY g) FROM t",
        ),
        ("select approximate count(distinct x) from t", "SELECT COUNT(DISTINCT x) FROM t"),
        ("select listagg(x) from t", "SELECT STRING_AGG(x, '') FROM t"),
        (
            "select listagg(distinct x, ',') within group (order by x) from t",
            "SELECT STRING_AGG(DISTINCT x, ',' ORDER BY x) FROM t",
        ),
        (
            "select nvl(a, getdate(), sysdate)",
            "SELECT COALESCE(a, pg_catalog.getdate(), pg_catalog.getdate())",
        ),
    ],
)
def test_redshift_functions_are_written_for_postgres(sql, expected):
    assert _rewrite(sql) == expected


def test_text_sqlglot_cannot_read_is_left_for_postgres():
    sql = "select nvl(a, from t"
    assert translate(sql) == sql
