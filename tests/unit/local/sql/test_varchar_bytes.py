"""The byte limit the gateway adds to VARCHAR(n) columns, and Redshift's wording of its violation."""

from __future__ import annotations

from airflow_redshift_s3.local.sql.rewrite import rewrite_for_postgres
from airflow_redshift_s3.local.sql.tokens import render, split_statements
from airflow_redshift_s3.local.sql.varchar_bytes import value_too_long


def rewritten(sql: str) -> str:
    return render(rewrite_for_postgres(split_statements(sql)[0]))


def test_varchar_columns_get_a_byte_check_and_keep_their_type():
    sql = rewritten(
        'create table t (id int, name varchar(5) not null, "Note" character varying (4), c char(2))'
    )
    assert 'name varchar(5) not null CONSTRAINT "rs_varchar_5_name" CHECK (octet_length(name) <= 5)' in sql
    assert 'CONSTRAINT "rs_varchar_4_Note" CHECK (octet_length("Note") <= 4)' in sql
    assert sql.count("CHECK") == 2  # not the CHAR column, nor id


def test_added_column_and_long_names():
    sql = rewritten(f"alter table t add column {'x' * 70} varchar(3)")
    name = f"rs_varchar_3_{'x' * 50}"
    assert sql.endswith(f'CONSTRAINT "{name}" CHECK (octet_length({"x" * 70}) <= 3)')


def test_only_the_byte_constraints_are_reworded():
    assert value_too_long("rs_varchar_5_name") == "value too long for type character varying(5)"
    assert value_too_long("names_check") is None
