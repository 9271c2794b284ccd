"""Protocol negotiation as Redshift does it, and the binary formats redshift_connector then reads.

Where the behaviour comes from:
- redshift_connector's ``core.py``: the startup message carries ``client_protocol_version`` (2, BINARY, by
  default); the driver keeps it only if the server answers a ``server_protocol_version`` ParameterStatus of
  that value, and falls back to 0 (BASE_SERVER) without one. From 1 on, ``handle_ROW_DESCRIPTION`` reads
  four names and a word of flags after each field; with 2, ``_enable_protocol_based_conversion_funcs`` binds
  NUMERIC, DATE, TIME, TIMETZ and arrays as binary.
- ``utils/type_utils.py``: ``numeric_in_binary`` reads an 8- or 16-byte signed integer scaled by the
  column's scale (``cursor.truncated_row_desc`` takes it from the type modifier).
- Redshift's JDBC (``QueryExecutorImpl.receiveFields``) and ODBC drivers read bit 0 of the flags as "no
  nulls", bit 4 as autoincrement, bit 12 as searchable.
- Redshift Database Developer Guide, "Numeric types": DECIMAL of precision up to 18 is stored in 8 bytes,
  19 to 38 in 16; "Computations with numeric values": a result over 38 digits is an overflow error.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

pytestmark = pytest.mark.integration

_VALUES = (
    "select 1234.50::numeric(12,2), (-0.0001)::numeric(18,4), 99999999999999.9999::numeric(18,4), "
    "123456789012345678.0123456789::numeric(38,10), (-1234567890123456789012345678)::numeric(38,0), "
    "0::numeric(19,3), null::numeric(10,2), '2026-11-23'::date, '1999-12-31'::date, '13:45:30.25'::time, "
    "'13:45:30+02'::timetz, array[1, 2, 3], array['a', null, 'c']::varchar[]"
)
_EXPECTED = [
    Decimal("1234.50"),
    Decimal("-0.0001"),
    Decimal("99999999999999.9999"),
    Decimal("123456789012345678.0123456789"),
    Decimal("-1234567890123456789012345678"),
    Decimal("0.000"),
    None,
    datetime.date(2026, 11, 23),
    datetime.date(1999, 12, 31),
    datetime.time(13, 45, 30, 250000),
    datetime.time(11, 45, 30, tzinfo=datetime.timezone.utc),
    [1, 2, 3],
    ["a", None, "c"],
]


def _connect(local_redshift, **extra):
    import redshift_connector

    return redshift_connector.connect(**local_redshift.connect_kwargs(), **extra)


@pytest.mark.parametrize(("asked", "kept"), [(None, 2), (2, 2), (1, 1), (0, 0)])
def test_the_driver_keeps_the_protocol_it_asks_for(local_redshift, asked, kept):
    """The gateway answers ``server_protocol_version`` with the version asked for (none for 0)."""
    extra = {} if asked is None else {"client_protocol_version": asked}
    conn = _connect(local_redshift, **extra)
    try:
        statuses = dict(conn.parameter_statuses)
        assert conn._client_protocol_version == kept
        assert statuses.get(b"server_protocol_version") == (str(kept).encode() if kept else None)
        assert statuses[b"server_version"] == b"8.0.2"
    finally:
        conn.close()


@pytest.mark.parametrize("protocol", [2, 1, 0])
def test_each_protocol_decodes_the_same_values(local_redshift, protocol):
    """NUMERIC in 8 and 16 bytes (negative, zero, 38 digits, NULL), DATE, TIME, TIMETZ and arrays: the
    binary path of protocol 2 gives the values the text path gives."""
    conn = _connect(local_redshift, client_protocol_version=protocol)
    try:
        cur = conn.cursor()
        cur.execute(_VALUES)
        row = cur.fetchone()
        assert row == _EXPECTED
        assert [str(value) for value in row[:6]] == [str(value) for value in _EXPECTED[:6]]
    finally:
        conn.close()


def test_binary_numeric_from_a_table_and_from_bound_parameters(redshift_connection, redshift_schema):
    """Rows of a table (a prepared statement executed twice) and a bound Decimal come back exact."""
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.prices (id int, amount numeric(10,2), big numeric(30,6))")
    cur.execute(
        f"insert into {redshift_schema}.prices values (%s, %s, %s), (%s, %s, %s)",
        (1, Decimal("-12.34"), Decimal("1234567890123456789012.000001"), 2, Decimal("0.05"), None),
    )
    for _ in range(2):  # the second execution reuses the driver's cached statement and row description
        cur.execute(
            f"select id, amount, big from {redshift_schema}.prices where amount < %s order by id", [1]
        )
        assert list(cur.fetchall()) == [
            [1, Decimal("-12.34"), Decimal("1234567890123456789012.000001")],
            [2, Decimal("0.05"), None],
        ]
    redshift_connection.rollback()


def test_the_driver_rounds_a_binary_numeric_to_28_digits(local_redshift):
    """``numeric_in_binary`` scales with Python's default Decimal context (28 significant digits), so over
    protocol 2 a NUMERIC(38,10) of 29 digits comes back rounded, as it does from Redshift; in text it is
    exact. The local double shows this instead of hiding it behind the text protocol."""
    value = "1234567890123456789.0123456789"
    binary, text = _connect(local_redshift), _connect(local_redshift, client_protocol_version=0)
    try:
        for conn, expected in ((binary, "1234567890123456789.012345679"), (text, value)):
            cur = conn.cursor()
            cur.execute(f"select {value}::numeric(38,10)")
            assert str(cur.fetchone()[0]) == expected
    finally:
        binary.close()
        text.close()


def test_numeric_to_float_reads_the_binary_numeric(local_redshift):
    """``numeric_to_float=True`` switches the driver to ``numeric_to_float_binary`` over the same bytes."""
    conn = _connect(local_redshift, numeric_to_float=True)
    try:
        cur = conn.cursor()
        cur.execute("select 2.25::numeric(5,2), -1.5::numeric(30,1)")
        assert cur.fetchone() == [2.25, -1.5]
    finally:
        conn.close()


def test_computed_numerics_are_numeric_38_18(redshift_connection):
    """PostgreSQL gives sum/avg/division no type modifier; the gateway reports NUMERIC(38,18), so the
    driver decodes the value at that scale (rounded half away from zero past 18 decimals)."""
    cur = redshift_connection.cursor()
    cur.execute(
        "select sum(x), avg(x), 1::numeric / 3, -2::numeric / 3 "
        "from (select 0.125::numeric(6,3) as x union all select 2) t"
    )
    row = cur.fetchone()
    thirds = [Decimal("0.333333333333333333"), Decimal("-0.666666666666666667")]
    assert row == [Decimal("2.125"), Decimal("1.0625"), *thirds]
    assert str(row[0]) == "2.125000000000000000"
    modifiers = [field["type_modifier"] for field in cur.ps["row_desc"]]
    assert modifiers == [((38 << 16) | 18) + 4] * 4
    redshift_connection.rollback()


@pytest.mark.parametrize(
    "expression",
    ["'NaN'::numeric", "'Infinity'::numeric", "1e21::numeric", "1e39::numeric(40,0)"],
)
def test_a_numeric_no_redshift_numeric_holds_is_an_overflow_error(local_redshift, expression):
    """Redshift has no NaN or infinite NUMERIC and none over 38 digits: the row becomes its overflow error,
    and the connection goes on."""
    import redshift_connector

    conn = _connect(local_redshift)
    try:
        cur = conn.cursor()
        with pytest.raises(redshift_connector.ProgrammingError, match="Numeric data overflow") as caught:
            cur.execute(f"select 1 as id, {expression} as v union all select 2, 1")
        assert "22003" in str(caught.value)
        conn.rollback()
        cur.execute("select 7.5::numeric(3,1)")
        assert cur.fetchone() == [Decimal("7.5")]
    finally:
        conn.close()


def test_row_descriptions_carry_names_and_flags(redshift_connection, redshift_schema):
    """Protocol 1 and 2: schema, table, column and catalog names of table columns (the column's own name
    under an alias), NOT NULL and IDENTITY as flags; a computed column has empty names."""
    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.people (id bigint identity(1,1), name varchar(20) not null, "
        "note varchar(10))"
    )
    redshift_connection.commit()  # the gateway looks names up over its own connection
    cur.execute(f"select id, name as who, note, id + 1 as next from {redshift_schema}.people")
    fields = cur.ps["row_desc"]
    described = [
        (f["label"], f["schema_name"], f["table_name"], f["column_name"], f["catalog_name"]) for f in fields
    ]
    assert described == [
        (b"id", redshift_schema.encode(), b"people", b"id", b"dev"),
        (b"who", redshift_schema.encode(), b"people", b"name", b"dev"),
        (b"note", redshift_schema.encode(), b"people", b"note", b"dev"),
        (b"next", b"", b"", b"", b""),
    ]
    flags = [(f["nullable"], f["autoincrement"], f["read_only"], f["searchable"]) for f in fields]
    assert flags == [(1, 1, 0, 1), (1, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 1)]
    assert [d[0] for d in cur.description] == ["id", "who", "note", "next"]
    redshift_connection.rollback()


def test_a_renamed_column_is_described_by_its_new_name(redshift_connection, redshift_schema):
    """The gateway keeps the names it looked up until an ALTER completes and again until the transaction
    that ran it ends (a lookup in between, on the gateway's own connection, still sees the old name)."""
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.r (old_name int)")
    redshift_connection.commit()
    cur.execute(f"select * from {redshift_schema}.r")
    assert cur.ps["row_desc"][0]["column_name"] == b"old_name"
    cur.execute(f"alter table {redshift_schema}.r rename column old_name to new_name")
    cur.execute(f"select new_name as n from {redshift_schema}.r")  # not committed: the lookup sees the old
    redshift_connection.commit()
    cur.execute(f"select new_name as m from {redshift_schema}.r")
    assert cur.ps["row_desc"][0]["column_name"] == b"new_name"
    redshift_connection.rollback()


def test_a_multi_statement_string_returns_its_last_rows_in_binary(redshift_connection):
    """The gateway runs a multi-statement string itself; its last statement's NUMERIC still comes back in
    Redshift's binary form, and its description in protocol 2's."""
    cur = redshift_connection.cursor()
    cur.execute("select 1; select 2.50::numeric(5,2) as v, 'x'::varchar as s")
    assert list(cur.fetchall()) == [[Decimal("2.50"), "x"]]
    assert [f["label"] for f in cur.ps["row_desc"]] == [b"v", b"s"]
    redshift_connection.rollback()


def test_the_amazon_hook_reads_numerics_over_the_binary_protocol(local_redshift_env):
    """RedshiftSQLHook connects with redshift_connector's defaults, so protocol 2."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    hook = RedshiftSQLHook(redshift_conn_id="redshift_default")
    assert list(hook.get_records("select 10.10::numeric(4,2), sum(1.5::numeric(3,1))")) == [
        [Decimal("10.10"), Decimal("1.5")]
    ]
