from __future__ import annotations

import pytest

from airflow_redshift_s3.local.sql.rewrite import rewrite_for_postgres
from airflow_redshift_s3.local.sql.show import ShowSyntaxError
from airflow_redshift_s3.local.sql.tokens import render, split_statements


def _rewrite(sql: str) -> str:
    (statement,) = split_statements(sql)
    return render(rewrite_for_postgres(statement))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SHOW DATABASES", "SELECT * FROM pg_redshift.show_databases(NULL::text)"),
        ("show schemas from database Dev like 'p%'", "SELECT * FROM pg_redshift.show_schemas('dev', 'p%')"),
        (
            'SHOW TABLES FROM SCHEMA dev."My Schema" LIMIT 5',
            "SELECT * FROM pg_redshift.show_tables('dev', 'My Schema', NULL::text) LIMIT 5",
        ),
        (
            "SHOW COLUMNS FROM TABLE $1.$2.$3 LIKE $4;",
            "SELECT * FROM pg_redshift.show_columns($1::text, $2::text, $3::text, $4::text)",
        ),
        (
            "SHOW CONSTRAINTS PRIMARY KEYS FROM TABLE dev.s.t",
            "SELECT * FROM pg_redshift.show_primary_keys('dev', 's', 't')",
        ),
    ],
)
def test_catalog_show_commands_become_selects(sql, expected):
    assert _rewrite(sql) == expected


@pytest.mark.parametrize(
    ("sql", "form"),
    [
        ("SHOW TABLES FROM dev.public", "SHOW TABLES FROM SCHEMA database_name.schema_name"),
        ("SHOW COLUMNS FROM TABLE dev.t", "SHOW COLUMNS FROM TABLE database_name.schema_name.table_name"),
        ("SHOW SCHEMAS FROM DATABASE dev WHERE x", "SHOW SCHEMAS FROM DATABASE database_name"),
    ],
)
def test_a_malformed_show_names_its_form(sql, form):
    with pytest.raises(ShowSyntaxError, match=f"has the form: {form}"):
        _rewrite(sql)


def test_other_show_commands_and_version_calls():
    assert _rewrite("show datestyle") == "show datestyle"
    assert "AS search_path" in _rewrite("SHOW search_path")
    assert _rewrite("select version(), pg_catalog.version()") == (
        "select pg_redshift.version(), pg_catalog.version()"
    )
