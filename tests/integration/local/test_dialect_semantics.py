"""Semantics that differ between Redshift and PostgreSQL: byte lengths in COPY, SHOW search_path."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def utf8_file(local_redshift, s3_bucket):
    # "ééééé" is 5 characters and 10 bytes of UTF-8; "abcde" is 5 of each
    body = "1,abcde\n2,ééééé\n3,éé\n".encode()
    local_redshift.aws_client("s3").put_object(Bucket=s3_bucket, Key="u/part.csv", Body=body)
    return f"s3://{s3_bucket}/u/"


def test_copy_counts_varchar_length_in_bytes(redshift_connection, redshift_schema, copy_role_arn, utf8_file):
    """CHAR and VARCHAR types (Redshift Database Developer Guide): lengths are in bytes, so a multibyte
    value longer in bytes than the column is a load error 1204 "String length exceeds DDL length"
    (Load error reference); MAXERROR lets the other rows load."""
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.names (id int, name varchar(5))")
    cur.execute(f"copy {redshift_schema}.names from '{utf8_file}' iam_role '{copy_role_arn}' csv maxerror 5")
    cur.execute(f"select id, name from {redshift_schema}.names order by id")
    assert [tuple(r) for r in cur.fetchall()] == [(1, "abcde"), (3, "éé")]
    cur.execute(
        "select line_number, trim(colname), err_code, trim(col_length) from stl_load_errors "
        "where query = pg_last_copy_id()"
    )
    assert [tuple(r) for r in cur.fetchall()] == [(2, "name", 1204, "5")]
    redshift_connection.rollback()


def test_truncatecolumns_cuts_at_a_character_boundary(
    redshift_connection, redshift_schema, copy_role_arn, utf8_file
):
    """COPY's TRUNCATECOLUMNS truncates to the column's byte length (Data conversion parameters page);
    a two-byte character is never split."""
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.names (id int, name varchar(5))")
    cur.execute(
        f"copy {redshift_schema}.names from '{utf8_file}' iam_role '{copy_role_arn}' csv truncatecolumns"
    )
    cur.execute(f"select id, name, octet_length(name) from {redshift_schema}.names order by id")
    assert [tuple(r) for r in cur.fetchall()] == [(1, "abcde", 5), (2, "éé", 4), (3, "éé", 4)]
    redshift_connection.rollback()


def test_show_search_path_prints_as_redshift(redshift_connection, redshift_schema):
    """search_path page of the Redshift Database Developer Guide: SHOW search_path prints "$user, public"."""
    cur = redshift_connection.cursor()
    cur.execute("show search_path")
    assert [d[0] for d in cur.description] == ["search_path"]
    assert cur.fetchall() == (["$user, public"],)
    cur.execute(f"set search_path to '$user', public, {redshift_schema}")
    cur.execute("show search_path")
    assert cur.fetchall() == ([f"$user, public, {redshift_schema}"],)
    redshift_connection.rollback()


def test_insert_and_update_count_varchar_length_in_bytes(redshift_connection, redshift_schema):
    """CHAR and VARCHAR types (Redshift Database Developer Guide): VARCHAR lengths are in bytes, so
    'ééééé' (5 characters, 10 bytes) does not fit VARCHAR(5); INSERT and UPDATE fail with Redshift's
    "value too long for type character varying(5)" (SQLSTATE 22001); a column added later counts bytes too."""
    import redshift_connector

    cur = redshift_connection.cursor()
    table = f"{redshift_schema}.names"
    cur.execute(f'create table {table} (id int, name varchar(5), "Note" character varying (4) not null)')
    cur.execute(f"insert into {table} values (1, 'abcde', 'éé'), (2, 'éé', 'x')")
    redshift_connection.commit()
    statements = [
        f"insert into {table} values (3, 'ééééé', 'x')",
        f"update {table} set name = 'ééé' where id = 2",
    ]
    for statement in statements:
        with pytest.raises(redshift_connector.ProgrammingError) as raised:
            cur.execute(statement)
        assert raised.value.args[0]["M"] == "value too long for type character varying(5)"
        assert raised.value.args[0]["C"] == "22001"
        redshift_connection.rollback()
    with pytest.raises(redshift_connector.ProgrammingError, match=r"character varying\(4\)"):
        cur.execute(f"insert into {table} values (4, 'a', 'ééé')")
    redshift_connection.rollback()
    cur.execute(f"alter table {table} add column city varchar(3)")
    with pytest.raises(redshift_connector.ProgrammingError, match=r"character varying\(3\)"):
        cur.execute(f"update {table} set city = 'Köln' where id = 1")
    redshift_connection.rollback()


def test_byte_limited_columns_keep_their_type_in_the_catalog(redshift_connection, redshift_schema):
    """pg_table_def and information_schema still show character varying(5) (PG_TABLE_DEF page: "type")."""
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.names (id int, name varchar(5))")
    cur.execute(f"set search_path to {redshift_schema}")
    cur.execute("select \"column\", type from pg_table_def where tablename = 'names' order by 1")
    assert [tuple(r) for r in cur.fetchall()] == [("id", "integer"), ("name", "character varying(5)")]
    cur.execute(
        "select data_type, character_maximum_length from information_schema.columns "
        f"where table_schema = '{redshift_schema}' and column_name = 'name'"
    )
    assert [tuple(r) for r in cur.fetchall()] == [("character varying", 5)]
    redshift_connection.rollback()
