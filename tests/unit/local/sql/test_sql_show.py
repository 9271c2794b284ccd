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


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SHOW PARAMETERS OF PROCEDURE $1.$2.$3($4, $5);",
            "SELECT * FROM pg_redshift.show_procedure_parameters($1::text, $2::text, $3::text, "
            "ARRAY[$4::text, $5::text]::text[], NULL::text)",
        ),
        (
            "show parameters of function S.f(character varying(10), \"char\") like 'a%'",
            "SELECT * FROM pg_redshift.show_function_parameters(current_database()::text, 's', 'f', "
            "ARRAY['character varying ( 10 )', '\"char\"']::text[], 'a%')",
        ),
        (
            "show parameters of procedure dev.s.p()",
            "SELECT * FROM pg_redshift.show_procedure_parameters('dev', 's', 'p', ARRAY[]::text[], "
            "NULL::text)",
        ),
    ],
)
def test_show_parameters_passes_the_types_that_pick_the_routine(sql, expected):
    assert _rewrite(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "show parameters of s.p(int)",  # FUNCTION or PROCEDURE missing
        "show parameters of procedure p(int)",  # no schema
        "show parameters of procedure a.b.c.d(int)",  # four parts
        "show parameters of procedure s.p",  # no argument list
        "show parameters of procedure s.p(int,)",
        "show parameters of procedure s.p(, int)",
        "show parameters of procedure s.p(int",
        "show parameters of procedure s.p(int) like",
        "show parameters of procedure s.p(int) limit 5",
        "show parameters of procedure s.p('int')",  # a string is not a type
    ],
)
def test_a_malformed_show_parameters_names_its_form(sql):
    with pytest.raises(ShowSyntaxError, match=r"SHOW PARAMETERS has the form: SHOW PARAMETERS OF \{FUNCTION"):
        _rewrite(sql)


def test_other_show_commands_and_version_calls():
    assert _rewrite("show datestyle") == "show datestyle"
    assert "AS search_path" in _rewrite("SHOW search_path")
    assert _rewrite("select version(), pg_catalog.version()") == (
        "select pg_redshift.version(), pg_catalog.version()"
    )
