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


# -- SUPER ----------------------------------------------------------------------------------------------

_DOC = '{"a": {"b": [10, {"c": "x"}]}, "n": 5, "s": "abc", "eventType": "UPDATED"}'


@pytest.fixture
def super_table(redshift_connection, redshift_schema):
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.events (id int, doc super)")
    cur.execute(f"insert into {redshift_schema}.events values (1, json_parse(%s))", (_DOC,))
    cur.execute(f"insert into {redshift_schema}.events values (2, json_parse('[1, 2]'))")
    return f"{redshift_schema}.events"


def test_json_parse_gives_super_printed_as_redshift_prints_it(redshift_connection):
    """JSON_PARSE function page: SELECT JSON_PARSE('[10001,10002,"abc"]') prints [10001,10002,"abc"], and
    JSON_TYPEOF of it is array; JSON_SIZE page: JSON_SIZE(JSON_PARSE('[10001,10002,"⬤"]')) is 19 (bytes);
    JSON_SERIALIZE gives the same text as VARCHAR. redshift_connector reads SUPER (type 4000) as text."""
    cur = redshift_connection.cursor()
    cur.execute(
        "select json_parse('[10001,10002,\"abc\"]'), json_typeof(json_parse('[10001,10002,\"abc\"]')), "
        'json_size(json_parse(\'[10001,10002,"⬤"]\')), json_serialize(json_parse(\'{"k": [1, "a b"]}\')), '
        "is_array(json_parse('[1]')), is_object(json_parse('[1]')), is_object(json_parse('{}'))"
    )
    assert cur.fetchone() == ['[10001,10002,"abc"]', "array", 19, '{"k":[1,"a b"]}', True, False, True]
    assert cur.description[0][1] == 4000
    redshift_connection.rollback()


def test_partiql_navigation_into_a_super_column(redshift_connection, super_table):
    """ "Querying semi-structured data" page: dot notation navigates objects, brackets (from 0) arrays, and
    both mix (c.a[1].b). A SUPER value prints as JSON, a string with its quotes. A cached statement run
    again (the driver binds it by name) still reads as SUPER."""
    cur = redshift_connection.cursor()
    query = f"select doc.a.b, doc.a.b[0], doc.a.b[1].c, doc[1] from {super_table} order by id"
    for _ in range(2):
        cur.execute(query)
        assert [list(r) for r in cur.fetchall()] == [
            ['[10,{"c":"x"}]', "10", '"x"', None],
            [None, None, None, "2"],
        ]
    assert [d[1] for d in cur.description] == [4000] * 4
    redshift_connection.rollback()


def test_a_mixed_case_attribute_needs_case_sensitive_identifiers(redshift_connection, super_table):
    """ "Querying semi-structured data" navigates all_data.data.pnr.events[0]."eventType"; identifiers,
    quoted ones too, fold to lower case unless enable_case_sensitive_identifier is on
    ("enable_case_sensitive_identifier" page), so the mixed-case attribute is found only then."""
    cur = redshift_connection.cursor()
    query = f'select doc."eventType" from {super_table} where id = 1'
    cur.execute(query)
    assert cur.fetchone() == [None]
    cur.execute("set enable_case_sensitive_identifier to true")
    cur.execute(query.replace("where", "as e where"))  # another text: the driver prepares it anew
    assert cur.fetchone() == ['"UPDATED"']
    redshift_connection.rollback()


def test_navigation_is_lax_a_missing_path_is_null(redshift_connection, super_table):
    """navigate_super_null_on_error (on by default, lax mode): navigating to a member an object does not
    have, an element past an array's end, or into a scalar gives NULL, not an error."""
    cur = redshift_connection.cursor()
    cur.execute(
        f"select doc.missing, doc.a.b[5], doc.s.x, doc.n[0], doc.a.b[1].c.d from {super_table} where id = 1"
    )
    assert cur.fetchone() == [None, None, None, None, None]
    redshift_connection.rollback()


def test_navigation_with_a_table_alias_in_where_and_casts(redshift_connection, super_table):
    """ "Querying semi-structured data": navigation goes anywhere a column reference goes (WHERE, after a
    table alias: e.doc.n), a comparison with a literal compares values (WHERE ... = 'UPDATED'),
    and a cast to VARCHAR or INT reads the scalar (a string without its quotes)."""
    cur = redshift_connection.cursor()
    cur.execute(
        f"select e.id, e.doc.s::varchar, e.doc.n::int + 1 from {super_table} e "
        "where e.doc.s = 'abc' and e.doc.n = 5"
    )
    assert cur.fetchall() == ([1, "abc", 6],)
    redshift_connection.rollback()


def test_a_table_column_reference_is_not_navigation(redshift_connection, redshift_schema, super_table):
    """A dotted name whose first part is a table of the query is table.column, as before (the SUPER column
    itself, whole)."""
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.doc (a int)")
    cur.execute(f"insert into {redshift_schema}.doc values (7)")
    cur.execute(f"select doc.a from {redshift_schema}.doc")
    assert cur.fetchall() == ([7],)
    cur.execute(f"select events.doc from {super_table} where id = 2")
    assert cur.fetchall() == (["[1,2]"],)
    redshift_connection.rollback()


# -- VARBYTE --------------------------------------------------------------------------------------------


def test_varbyte_columns_and_functions(redshift_connection, redshift_schema):
    """VARBYTE type page: VARBYTE, VARBINARY and BINARY VARYING columns; 'abc'::varbyte is 616263 (UTF-8).
    TO_HEX: TO_HEX('abc'::VARBYTE) is 616263, TO_HEX(2147676847) is 8002f2af. FROM_VARBYTE: ('ab', 'hex')
    is 6162, (FROM_HEX('4d'), 'binary') is 01001101. TO_VARBYTE: ('6162', 'hex') is 6162, ('01001101',
    'binary') is 4d, ('a', 'utf8') is 61, ('4', 'hex') is 04. A VARBYTE result has type 6551, sent as hex
    text: redshift_connector returns that text under its default protocol 2 (``text_recv`` in
    ``_enable_protocol_based_conversion_funcs``) and decodes it under protocol 0 (``varbytehex_recv``)."""
    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.blobs (a varbyte(3), b varbinary(4), c binary varying, d varbyte)"
    )
    cur.execute(
        f"insert into {redshift_schema}.blobs values ('abc'::varbyte, from_hex('6162'), "
        "to_varbyte('01001101', 'binary'), to_varbyte('4', 'hex'))"
    )
    cur.execute(f"select to_hex(a), to_hex(b), to_hex(c), to_hex(d), a from {redshift_schema}.blobs")
    assert cur.fetchone() == ["616263", "6162", "4d", "04", "616263"]
    assert cur.description[4][1] == 6551
    cur.execute(
        "select to_hex(2147676847), from_varbyte('ab', 'hex'), from_varbyte(from_hex('4d'), 'binary'), "
        "to_hex(to_varbyte('6162', 'hex')), to_hex(to_varbyte('a', 'utf8'))"
    )
    assert cur.fetchone() == ["8002f2af", "6162", "01001101", "6162", "61"]
    cur.execute(
        "select column_name, data_type from information_schema.columns where table_schema = %s "
        "order by ordinal_position",
        (redshift_schema,),
    )
    assert [r[0] for r in cur.fetchall()] == ["a", "b", "c", "d"]
    redshift_connection.rollback()


def test_varbyte_length_is_in_bytes(redshift_connection, redshift_schema):
    """VARBYTE type page: VARBYTE(n) holds at most n bytes. The page gives no error text; the double says
    "value too long for type varbyte(n)" with SQLSTATE 22001, as for VARCHAR."""
    import redshift_connector

    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.blobs (a varbyte(3))")
    cur.execute(f"insert into {redshift_schema}.blobs values (from_hex('616263'))")
    with pytest.raises(redshift_connector.ProgrammingError) as raised:
        cur.execute(f"insert into {redshift_schema}.blobs values (from_hex('61626364'))")
    assert raised.value.args[0]["M"] == "value too long for type varbyte(3)"
    assert raised.value.args[0]["C"] == "22001"
    redshift_connection.rollback()
    cur.execute(f"create table {redshift_schema}.later (id int)")
    cur.execute(f"alter table {redshift_schema}.later add column b varbyte(2)")
    with pytest.raises(redshift_connector.ProgrammingError, match=r"varbyte\(2\)"):
        cur.execute(f"insert into {redshift_schema}.later values (1, 'abc'::varbyte)")
    redshift_connection.rollback()


# -- intervals ------------------------------------------------------------------------------------------


def test_interval_year_to_month_and_day_to_second_columns(redshift_connection, redshift_schema):
    """ "Interval data types and literals": INTERVAL YEAR TO MONTH and INTERVAL DAY TO SECOND columns;
    '23' MONTH is 1 year 11 months, '1-2' YEAR TO MONTH 1 year 2 months, '-2' DAY -2 days; a qualifier drops
    the smaller units ('1 day 1 hour 1 minute 1.123 seconds' MINUTE is 1 day 01:01:00). redshift_connector
    reads types 1188 and 1190 as IntervalYearToMonth (months) and IntervalDayToSecond (microseconds)."""
    from redshift_connector.interval import IntervalDayToSecond, IntervalYearToMonth

    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.spans (id int, ym interval year to month, "
        "ds interval day to second, dm interval day to minute)"
    )
    cur.execute(
        f"insert into {redshift_schema}.spans values "
        "(1, interval '23' month, interval '-2' day, interval '1 day 1 hour 1 minute 1.123 seconds' minute), "
        "(2, interval '1-2' year to month, interval '13 day 1 hour 1 minute 1.123 seconds' second, null)"
    )
    cur.execute(f"select ym, ds, dm from {redshift_schema}.spans order by id")
    rows = cur.fetchall()
    assert [d[1] for d in cur.description] == [1188, 1190, 1190]
    assert [type(v) for v in rows[0]] == [IntervalYearToMonth, IntervalDayToSecond, IntervalDayToSecond]
    assert [rows[0][0].months, rows[1][0].months] == [23, 14]
    assert rows[0][1].microseconds == -2 * 86_400_000_000
    assert rows[0][2].microseconds == (86_400 + 3_660) * 1_000_000
    assert rows[1][1].microseconds == (13 * 86_400 + 3_661) * 1_000_000 + 123_000
    assert rows[1][2] is None
    redshift_connection.rollback()


def test_a_bare_interval_column_is_refused(redshift_connection, redshift_schema):
    """ "Interval literals" page: "You can't use the INTERVAL data type for columns"; the interval data types
    page gives column types only with a qualifier. A bare interval column gets the unsupported-type error."""
    import redshift_connector

    cur = redshift_connection.cursor()
    with pytest.raises(redshift_connector.ProgrammingError) as raised:
        cur.execute(f"create table {redshift_schema}.spans (id int, d interval)")
    assert raised.value.args[0]["M"] == 'Column "spans.d" has unsupported type "interval".'
    redshift_connection.rollback()
    cur.execute("select interval '7 days' + date '2008-12-31'")
    assert str(cur.fetchone()[0]) == "2009-01-07 00:00:00"
    redshift_connection.rollback()


def test_copy_json_into_super_columns(
    redshift_connection, redshift_schema, local_redshift, s3_bucket, copy_role_arn
):
    """ "Using COPY to load data into SUPER columns": FORMAT JSON 'noshred' stores each whole document in the
    table's single SUPER column; with 'auto' an attribute loads into a SUPER column as a SUPER value (an
    object, an array, or a scalar: a string stays a JSON string)."""
    import redshift_connector

    body = b'{"id": 1, "tags": ["a", "b"], "name": "x"}\n{"id": 2, "tags": {"k": 1}, "name": "y"}\n'
    local_redshift.aws_client("s3").put_object(Bucket=s3_bucket, Key="j/part.json", Body=body)
    source = f"'s3://{s3_bucket}/j/' iam_role '{copy_role_arn}'"
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.whole (doc super)")
    cur.execute(f"copy {redshift_schema}.whole from {source} format json 'noshred'")
    cur.execute(f"select doc.id, doc.tags[1], doc from {redshift_schema}.whole order by doc.id::int")
    assert [list(r) for r in cur.fetchall()] == [
        ["1", '"b"', '{"id":1,"name":"x","tags":["a","b"]}'],
        ["2", None, '{"id":2,"name":"y","tags":{"k":1}}'],
    ]
    cur.execute(f"create table {redshift_schema}.shredded (id int, tags super, name super)")
    cur.execute(f"copy {redshift_schema}.shredded from {source} format json 'auto'")
    cur.execute(f"select id, tags, name, tags[0]::varchar from {redshift_schema}.shredded order by id")
    assert [list(r) for r in cur.fetchall()] == [[1, '["a","b"]', '"x"', "a"], [2, '{"k":1}', '"y"', None]]
    with pytest.raises(redshift_connector.ProgrammingError, match="one SUPER column"):
        cur.execute(f"copy {redshift_schema}.shredded from {source} format json 'noshred'")
    redshift_connection.rollback()
