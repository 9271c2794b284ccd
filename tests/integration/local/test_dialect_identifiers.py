"""Identifier case folding, driven through redshift_connector.

"Names and identifiers" (Redshift Database Developer Guide,
https://docs.aws.amazon.com/redshift/latest/dg/r_names.html): identifiers are folded to lower case,
delimited (double-quoted) ones included, and results show lower-case column names; with
``enable_case_sensitive_identifier`` true (its configuration reference page,
https://docs.aws.amazon.com/redshift/latest/dg/r_enable_case_sensitive_identifier.html) a quoted identifier
keeps its case.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_quoted_identifiers_fold_to_lower_case(redshift_connection, redshift_schema):
    cur = redshift_connection.cursor()
    cur.execute(f'create table {redshift_schema}."MixedCase" ("Id" int, "Name" varchar(10))')
    cur.execute(f"insert into {redshift_schema}.mixedcase (id, name) values (1, 'one')")
    cur.execute(f'select "ID" as "TheId", "nAmE" from {redshift_schema}."MIXEDCASE"')
    assert [d[0] for d in cur.description] == ["theid", "name"]
    assert [tuple(r) for r in cur.fetchall()] == [(1, "one")]
    cur.execute(
        "select table_name, column_name from information_schema.columns "
        f"where table_schema = '{redshift_schema}' order by ordinal_position"
    )
    assert [tuple(r) for r in cur.fetchall()] == [("mixedcase", "id"), ("mixedcase", "name")]
    redshift_connection.rollback()


def test_case_sensitive_identifiers_when_the_session_turns_them_on(redshift_connection, redshift_schema):
    import redshift_connector

    cur = redshift_connection.cursor()
    cur.execute("set enable_case_sensitive_identifier to true")
    cur.execute(f'create table {redshift_schema}."CaseKept" ("Id" int)')
    cur.execute(f'insert into {redshift_schema}."CaseKept" values (7)')
    cur.execute(f'select "Id" from {redshift_schema}."CaseKept"')
    assert [d[0] for d in cur.description] == ["Id"]
    assert cur.fetchall() == ([7],)
    with pytest.raises(redshift_connector.ProgrammingError, match='column "id" does not exist'):
        cur.execute(f'select "id" from {redshift_schema}."CaseKept"')
    redshift_connection.rollback()
    cur.execute(f'create table {redshift_schema}."CaseKept" ("Id" int)')
    cur.execute("reset enable_case_sensitive_identifier")
    with pytest.raises(redshift_connector.ProgrammingError, match=r'relation ".*casekept" does not exist'):
        cur.execute(f'select * from {redshift_schema}."CaseKept"')
    redshift_connection.rollback()
