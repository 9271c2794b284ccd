"""Column types: what Redshift refuses in CREATE TABLE is refused locally too, with Redshift's message."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("type_name", ["bytea", "json", "uuid", "serial", "money", "inet", "xml"])
def test_postgresql_only_types_are_refused(redshift_connection, redshift_schema, type_name):
    """The "Data types" page of the Redshift Database Developer Guide lists none of these types; Redshift
    answers such a column with: Column "<table>.<column>" has unsupported type "<type>"."""
    import redshift_connector

    cur = redshift_connection.cursor()
    with pytest.raises(redshift_connector.ProgrammingError) as raised:
        cur.execute(f"create table {redshift_schema}.things (id int, payload {type_name.upper()})")
    assert raised.value.args[0]["M"] == f'Column "things.payload" has unsupported type "{type_name}".'
    assert raised.value.args[0]["C"] == "0A000"
    redshift_connection.rollback()
    cur.execute(
        "select count(*) from information_schema.tables where table_schema = %s and table_name = 'things'",
        (redshift_schema,),
    )
    assert cur.fetchone()[0] == 0
    redshift_connection.rollback()


def test_alter_table_add_column_refuses_them_too(redshift_connection, redshift_schema):
    """ALTER TABLE ... ADD COLUMN takes the same column types as CREATE TABLE (ALTER TABLE page)."""
    import redshift_connector

    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.things (id int)")
    redshift_connection.commit()
    with pytest.raises(
        redshift_connector.ProgrammingError, match=r'"things\.doc" has unsupported type "json"'
    ):
        cur.execute(f"alter table {redshift_schema}.things add column doc json")
    redshift_connection.rollback()
    cur.execute(f"alter table {redshift_schema}.things add column doc varchar(100)")
    redshift_connection.commit()


def test_redshift_types_and_a_column_named_like_a_type_are_accepted(redshift_connection, redshift_schema):
    """Types of the "Data types" page are created; a word that names a refused type is a fine column name."""
    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.fine (uuid varchar(36), json varchar(max), n decimal(10,2), "
        "t timestamptz, b boolean, d date, f float8, c char(3))"
    )
    cur.execute(
        "select column_name from information_schema.columns where table_schema = %s "
        "order by ordinal_position",
        (redshift_schema,),
    )
    assert [r[0] for r in cur.fetchall()] == ["uuid", "json", "n", "t", "b", "d", "f", "c"]
    redshift_connection.rollback()
