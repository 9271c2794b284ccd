"""Redshift statements PostgreSQL does not have: ALTER TABLE APPEND, MERGE ... REMOVE DUPLICATES."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def autocommit(redshift_connection):
    redshift_connection.autocommit = True
    return redshift_connection.cursor()


def _rows(cur, sql):
    cur.execute(sql)
    return [tuple(r) for r in cur.fetchall()]


def test_append_moves_rows_by_column_name(autocommit, redshift_schema):
    """ALTER TABLE APPEND page (Redshift Database Developer Guide): rows move to the matching columns of
    the target, column order does not matter, and the source is empty afterwards."""
    s = redshift_schema
    autocommit.execute(f"create table {s}.sales (id int not null, region varchar(10), amount decimal(8,2))")
    autocommit.execute(f"create table {s}.staging (amount decimal(8,2), id int not null, region varchar(10))")
    autocommit.execute(f"insert into {s}.sales values (1, 'eu', 1.50)")
    autocommit.execute(f"insert into {s}.staging values (2.25, 2, 'us'), (3.00, 3, null)")
    autocommit.execute(f"alter table {s}.sales append from {s}.staging")
    assert _rows(autocommit, f"select id, region, amount from {s}.sales order by id") == [
        (1, "eu", pytest.approx(1.5)),
        (2, "us", pytest.approx(2.25)),
        (3, None, pytest.approx(3.0)),
    ]
    assert _rows(autocommit, f"select count(*) from {s}.staging") == [(0,)]


def test_append_extra_columns_need_ignoreextra_or_filltarget(autocommit, redshift_schema):
    """ALTER TABLE APPEND page: a column only the source has needs IGNOREEXTRA (its data is discarded), one
    only the target has needs FILLTARGET (filled with its DEFAULT, or NULL); otherwise the command fails
    and nothing moves."""
    import redshift_connector

    s = redshift_schema
    autocommit.execute(f"create table {s}.target (id int, note varchar(5) default 'new', day date)")
    autocommit.execute(f"create table {s}.wide (id int, note varchar(5), day date, extra int)")
    autocommit.execute(f"create table {s}.narrow (id int)")
    autocommit.execute(f"insert into {s}.wide values (1, 'a', '2026-11-23', 9)")
    autocommit.execute(f"insert into {s}.narrow values (2)")
    for statement, hint in [
        (f"alter table {s}.target append from {s}.wide", "IGNOREEXTRA"),
        (f"alter table {s}.target append from {s}.narrow", "FILLTARGET"),
        (f"alter table {s}.target append from {s}.wide filltarget", "IGNOREEXTRA"),
        (f"alter table {s}.target append from {s}.narrow ignoreextra", "FILLTARGET"),
    ]:
        with pytest.raises(redshift_connector.ProgrammingError) as raised:
            autocommit.execute(statement)
        error = raised.value.args[0]
        assert error["M"] == "Target table and source table attributes don't match."
        assert hint in error["H"]
    assert _rows(autocommit, f"select count(*) from {s}.target") == [(0,)]
    autocommit.execute(f"alter table {s}.target append from {s}.wide ignoreextra")
    autocommit.execute(f"alter table {s}.target append from {s}.narrow filltarget")
    assert _rows(autocommit, f"select id, note, day::text from {s}.target order by id") == [
        (1, "a", "2026-11-23"),
        (2, "new", None),
    ]
    assert _rows(
        autocommit, f"select (select count(*) from {s}.wide) + (select count(*) from {s}.narrow)"
    ) == [(0,)]


def test_append_refuses_columns_of_different_attributes(autocommit, redshift_schema):
    """ALTER TABLE APPEND page: columns with the same names must have identical attributes (type, size,
    NOT NULL); the error names the column."""
    import redshift_connector

    s = redshift_schema
    autocommit.execute(f"create table {s}.a (id int, name varchar(10))")
    autocommit.execute(f"create table {s}.b (id int, name varchar(20))")
    with pytest.raises(redshift_connector.ProgrammingError) as raised:
        autocommit.execute(f"alter table {s}.a append from {s}.b")
    assert raised.value.args[0]["M"] == "Target table and source table attributes don't match."
    assert "name (character varying(10) in the target" in raised.value.args[0]["D"]


def test_append_cannot_run_inside_a_transaction_block(redshift_connection, redshift_schema):
    """ALTER TABLE APPEND page: it commits at once and cannot run inside a transaction block (BEGIN ...
    END); redshift_connector opens one before each statement unless autocommit is on."""
    import redshift_connector

    s = redshift_schema
    cur = redshift_connection.cursor()
    cur.execute(f"create table {s}.a (id int)")
    cur.execute(f"create table {s}.b (id int)")
    cur.execute(f"insert into {s}.b values (1)")
    redshift_connection.commit()
    with pytest.raises(redshift_connector.ProgrammingError) as raised:
        cur.execute(f"alter table {s}.a append from {s}.b")
    assert raised.value.args[0]["M"] == "ALTER TABLE APPEND cannot run inside a transaction block"
    assert raised.value.args[0]["C"] == "25001"
    redshift_connection.rollback()
    assert _rows(cur, f"select (select count(*) from {s}.a), (select count(*) from {s}.b)") == [(0, 1)]
    redshift_connection.rollback()


def test_append_refuses_a_temporary_source_and_bad_syntax(autocommit, redshift_schema):
    """ALTER TABLE APPEND page: the target is a permanent table, the source a permanent table too (or a
    streaming materialized view, which the local Redshift does not have); the syntax allows one option."""
    import redshift_connector

    s = redshift_schema
    autocommit.execute(f"create table {s}.a (id int)")
    autocommit.execute("create temp table scratch (id int)")
    with pytest.raises(redshift_connector.ProgrammingError) as raised:
        autocommit.execute(f"alter table {s}.a append from scratch")
    assert raised.value.args[0]["C"] == "0A000"
    with pytest.raises(redshift_connector.ProgrammingError) as raised:
        autocommit.execute(f"alter table {s}.a append from {s}.a ignoreextra filltarget")
    assert raised.value.args[0]["M"] == 'syntax error at or near "filltarget"'
    with pytest.raises(redshift_connector.ProgrammingError) as raised:
        autocommit.execute(f"alter table {s}.a append from {s}.missing")
    assert raised.value.args[0]["M"] == f'relation "{s}.missing" does not exist'


def test_merge_remove_duplicates_updates_matches_and_inserts_the_rest(redshift_connection, redshift_schema):
    """MERGE page (simplified mode, REMOVE DUPLICATES): target rows matching a source row take its values,
    several target rows matching one source row become one, source rows without a match are inserted,
    other target rows stay unchanged (duplicates among them too)."""
    s = redshift_schema
    cur = redshift_connection.cursor()
    cur.execute(f"create table {s}.sales (id int, amount int)")
    cur.execute(f"create table {s}.updates (id int, amount int)")
    cur.execute(f"insert into {s}.sales values (1, 10), (2, 20), (2, 21), (3, 30), (3, 30)")
    cur.execute(f"insert into {s}.updates values (2, 200), (4, 400)")
    redshift_connection.commit()
    cur.execute(f"merge into {s}.sales using {s}.updates u on sales.id = u.id remove duplicates")
    assert _rows(cur, f"select id, amount from {s}.sales order by id, amount") == [
        (1, 10),
        (2, 200),
        (3, 30),
        (3, 30),
        (4, 400),
    ]
    redshift_connection.rollback()  # it ran in the client's transaction
    assert _rows(cur, f"select count(*) from {s}.sales") == [(5,)]
    redshift_connection.rollback()


def test_merge_remove_duplicates_needs_the_same_columns(redshift_connection, redshift_schema):
    """MERGE page: simplified mode needs the same number of columns in both tables; the error names both."""
    import redshift_connector

    s = redshift_schema
    cur = redshift_connection.cursor()
    cur.execute(f"create table {s}.sales (id int, amount int)")
    cur.execute(f"create table {s}.keys (id int)")
    with pytest.raises(redshift_connector.ProgrammingError) as raised:
        cur.execute(f"merge into {s}.sales using {s}.keys as k on sales.id = k.id remove duplicates")
    assert "same number of columns" in raised.value.args[0]["M"]
    assert "has 2" in raised.value.args[0]["D"] and "has 1" in raised.value.args[0]["D"]
    redshift_connection.rollback()


def test_regular_merge_runs(redshift_connection, redshift_schema):
    """MERGE page: WHEN MATCHED THEN UPDATE / DELETE and WHEN NOT MATCHED THEN INSERT; the local Redshift
    passes this form to PostgreSQL, whose MERGE has the same meaning for it."""
    s = redshift_schema
    cur = redshift_connection.cursor()
    cur.execute(f"create table {s}.sales (id int, amount int)")
    cur.execute(f"create table {s}.updates (id int, amount int)")
    cur.execute(f"insert into {s}.sales values (1, 10), (2, 20)")
    cur.execute(f"insert into {s}.updates values (2, 200), (3, 300)")
    cur.execute(
        f"merge into {s}.sales using {s}.updates u on sales.id = u.id "
        "when matched then update set amount = u.amount "
        "when not matched then insert values (u.id, u.amount)"
    )
    assert _rows(cur, f"select id, amount from {s}.sales order by id") == [(1, 10), (2, 200), (3, 300)]
    redshift_connection.rollback()
