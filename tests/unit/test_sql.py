from __future__ import annotations

import datetime as dt
import decimal

import pytest

from airflow_redshift_s3.exceptions import ConfigCheckError
from airflow_redshift_s3.sql import (
    SqlInputError,
    Statement,
    TableName,
    check_identifier,
    column_list_sql,
    parse_table_name,
    placeholders,
    quote_identifier,
    quote_literal,
    sql_literal,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("orders", '"orders"'),
        ("Orders", '"orders"'),
        ("_t1$x", '"_t1$x"'),
        ("a" * 127, '"' + "a" * 127 + '"'),
    ],
)
def test_strict_identifiers_are_lower_cased_and_quoted(name, expected):
    assert quote_identifier(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        None,
        42,
        "a" * 128,
        "1abc",
        "$abc",
        "a b",
        "a-b",
        'x"; DROP TABLE t; --',
        "x;y",
        "t\x00",
        "t\n",
        "t\u0430ble",  # with a Cyrillic a
        "a.b",
    ],
)
def test_strict_identifiers_refuse_anything_else(name):
    with pytest.raises(SqlInputError) as caught:
        check_identifier(name, "table")
    assert "table" in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_sql_input_error_fails_the_task_without_retry():
    from airflow.sdk.exceptions import AirflowFailException

    assert issubclass(SqlInputError, ConfigCheckError)
    assert issubclass(SqlInputError, AirflowFailException)


def test_relaxed_identifiers_keep_case_and_double_quotes():
    assert quote_identifier('My "odd" Table', strict=False) == '"My ""odd"" Table"'
    assert quote_identifier("tablé", strict=False) == '"tablé"'
    assert quote_identifier("a.b", strict=False) == '"a.b"'


@pytest.mark.parametrize(
    "name",
    [
        "t\x00",
        "t\u200b",  # zero-width space
        "t\u202e",  # right-to-left override
        " t",
        "t ",
        "\uff02x",  # full-width quote: changes under NFKC
        "x\uff1b",  # full-width semicolon
        "ﬁle",  # ligature
        "é" * 64,  # 128 bytes
    ],
)
def test_relaxed_identifiers_refuse_control_blank_and_look_alike_characters(name):
    with pytest.raises(SqlInputError):
        check_identifier(name, strict=False)


def test_identifier_length_is_counted_in_bytes():
    assert check_identifier("é" * 63, strict=False) == "é" * 63
    with pytest.raises(SqlInputError, match="128 bytes"):
        check_identifier("é" * 64, strict=False)


@pytest.mark.parametrize(
    ("table", "schema", "expected_sql", "expected_text"),
    [
        ("orders", None, '"orders"', "orders"),
        ("sales.orders", None, '"sales"."orders"', "sales.orders"),
        ("orders", "sales", '"sales"."orders"', "sales.orders"),
        ("Sales.Orders", None, '"sales"."orders"', "sales.orders"),
    ],
)
def test_table_names(table, schema, expected_sql, expected_text):
    name = parse_table_name(table, schema)
    assert name.sql == expected_sql
    assert str(name) == expected_text


@pytest.mark.parametrize(
    ("table", "schema"),
    [("db.sales.orders", None), ("sales.orders", "sales"), ("", None), ("orders;drop", None), (None, None)],
)
def test_table_names_refused(table, schema):
    with pytest.raises(SqlInputError):
        parse_table_name(table, schema)


def test_relaxed_table_name_with_a_dot_needs_the_schema_separately():
    name = parse_table_name("odd.name", "My Schema", strict=False)
    assert name.sql == '"My Schema"."odd.name"'
    assert TableName("t").with_schema("s") == TableName("t", "s")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "'abc'"),
        ("it's", "'it''s'"),
        ("''", "''''''"),
        ("\\N", "'\\N'"),
        ("\\t", "'\\t'"),
        ("\\001", "'\\001'"),
        ("50%", "'50%'"),
        ("", "''"),
    ],
)
def test_literals(value, expected):
    assert quote_literal(value) == expected


@pytest.mark.parametrize("value", ["a\\", "a\\'b", "a\\\\b", "a\\ b", "a\nb", "a\x00b", "a\u200bb", 5, None])
def test_literals_that_could_end_early_or_hide_something_are_refused(value):
    with pytest.raises(SqlInputError):
        quote_literal(value, "null_as")


def test_statement_checks_its_markers_and_masks_secrets():
    statement = Statement("SELECT %s, %s", (1, "x"))
    assert statement.params == (1, "x")
    with pytest.raises(ValueError, match="2 %s markers but 1"):
        Statement("SELECT %s, %s", (1,))
    secret = Statement("COPY t FROM 'x' SECRET_ACCESS_KEY 'abc123'", None, ("abc123",))
    assert "abc123" not in str(secret)
    assert "'***'" in str(secret)
    assert "abc123" not in repr(secret)


def test_statement_execute_binds_parameters_through_the_cursor():
    class Cursor:
        def execute(self, sql, params):
            self.seen = (sql, params)

    cursor = Cursor()
    Statement("SELECT 1").execute(cursor)
    assert cursor.seen == ("SELECT 1", None)
    Statement("SELECT %s", ("x",)).execute(cursor)
    assert cursor.seen == ("SELECT %s", ("x",))


def test_helpers():
    assert placeholders(3) == "%s, %s, %s"
    assert column_list_sql(["a", 'b"c']) == '("a", "b""c")'


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "NULL"),
        (True, "TRUE"),
        (7, "7"),
        (decimal.Decimal("1.50"), "1.50"),
        (dt.date(2026, 12, 1), "'2026-12-01'"),
        (dt.datetime(2026, 12, 1, 5, 6, 7, 8), "'2026-12-01 05:06:07.000008'"),
        ("", "''"),
        ("it's", "'it''s'"),
        ("'; DROP TABLE t; --", "'''; DROP TABLE t; --'"),
        # Redshift reads backslash escapes in a literal, PostgreSQL does not: never inside the quotes
        ("a\\'b", "('a' || CHR(92) || '''b')"),
        ("\\", "CHR(92)"),
        ("x\ny\x00", "('x' || CHR(10) || 'y' || CHR(0))"),
    ],
)
def test_sql_literal_means_the_same_text_to_both_dialects(value, literal):
    assert sql_literal(value) == literal


@pytest.mark.parametrize("value", [float("nan"), float("inf"), b"bytes", object()])
def test_sql_literal_refuses_what_has_no_literal(value):
    with pytest.raises(SqlInputError):
        sql_literal(value)


def test_inline_writes_each_parameter_once_in_order_and_unescapes_percent():
    statement = Statement("SELECT %s, '100%%', %s LIKE 'a%%'", ("%s", "b"))
    assert statement.inline() == "SELECT '%s', '100%', 'b' LIKE 'a%'"
    assert Statement("SELECT '100%'").inline() == "SELECT '100%'"  # no parameters: sent as written
