"""Redshift functions PostgreSQL lacks, through redshift_connector, with the results Redshift documents.

Each expected value comes from the function's page in the Amazon Redshift SQL reference (named in the
test's docstring), or from its stated rule where the page has no example for the case.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

pytestmark = pytest.mark.integration


def _one(connection, sql, params=None):
    cur = connection.cursor()
    cur.execute(sql, params)
    row = cur.fetchone()
    connection.rollback()
    return tuple(row)


def test_nvl_nvl2_and_decode(redshift_connection):
    """NVL and COALESCE functions; NVL2 function; DECODE function (Redshift SQL reference)."""
    assert _one(
        redshift_connection,
        "select nvl(null, 'first'), nvl(null::int, null, 3), nvl2('x', 'set', 'unset'), "
        "nvl2(null, 'set', 'unset')",
    ) == ("first", 3, "set", "unset")
    assert _one(
        redshift_connection,
        "select decode(2, 1, 'one', 2, 'two', 'other'), decode(9, 1, 'one', 'other'), decode(9, 1, 'one')",
    ) == ("two", "other", None)


def test_len_counts_characters_and_trailing_blanks_of_varchar_only(redshift_connection):
    """LEN function: characters, not bytes (len('français') = 8); trailing blanks count in VARCHAR only."""
    assert _one(
        redshift_connection, "select len('français'), len('cat '::varchar(5)), len('cat '::char(5))"
    ) == (
        8,
        4,
        3,
    )


def test_dateadd_and_convert_timezone(redshift_connection):
    """DATEADD function (dateadd(month, 18, '2008-02-28') = 2009-08-28 00:00:00; month ends) and
    CONVERT_TIMEZONE function (UTC to America/New_York, with and without the source zone)."""
    assert _one(
        redshift_connection,
        "select dateadd(month, 18, '2008-02-28'::date), dateadd(day, -1, '2008-03-01'::date), "
        "dateadd(month, 1, '2008-01-31'::date), dateadd(qtr, %s, '2020-01-15'::date)",
        (2,),
    ) == (
        datetime.datetime(2009, 8, 28),
        datetime.datetime(2008, 2, 29),
        datetime.datetime(2008, 2, 29),
        datetime.datetime(2020, 7, 15),
    )
    assert _one(
        redshift_connection,
        "select convert_timezone('UTC', 'America/New_York', '2008-03-05 12:25:29'::timestamp), "
        "convert_timezone('America/New_York', '2008-07-05 12:25:29'::timestamp)",
    ) == (datetime.datetime(2008, 3, 5, 7, 25, 29), datetime.datetime(2008, 7, 5, 8, 25, 29))


def test_datediff_counts_boundaries_crossed(redshift_connection):
    """DATEDIFF function: "the number of date or time part boundaries crossed"
    (datediff(week, '2009-01-01', '2009-12-31') = 52)."""
    assert _one(
        redshift_connection,
        "select datediff(week, '2009-01-01', '2009-12-31'), "
        "datediff(day, '2020-01-01 23:59'::timestamp, '2020-01-02 00:01'::timestamp), "
        "datediff(month, '2020-01-31'::date, '2020-02-01'::date), "
        "datediff(year, '2019-12-31', '2020-01-01'), "
        "datediff(qtr, '2020-03-31', '2020-04-01'), datediff(hours, '2020-01-01 10:59', '2020-01-01 11:00'), "
        "datediff(day, '2020-01-10'::date, '2020-01-01'::date)",
    ) == (52, 1, 1, 1, 1, 1, -9)


def test_datediff_refuses_an_unknown_date_part(redshift_connection):
    """DATEDIFF takes the date parts of "Date parts for date or timestamp functions"."""
    import redshift_connector

    with pytest.raises(redshift_connector.ProgrammingError, match='date part "fortnight"'):
        redshift_connection.cursor().execute("select datediff(fortnight, '2020-01-01', '2020-02-01')")
    redshift_connection.rollback()


def test_strtol(redshift_connection):
    """STRTOL function: strtol('0xf', 16) = 15, strtol('abcd1234', 16) = 2882343476, base 2 and 10."""
    assert _one(
        redshift_connection,
        "select strtol('0xf', 16), strtol('abcd1234', 16), strtol('110101', 2), strtol('1234567', 10)",
    ) == (15, 2882343476, 53, 1234567)


@pytest.fixture
def sales(redshift_connection, redshift_schema):
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.sales (seller varchar(10), qty int, price decimal(8,2))")
    cur.execute(
        f"insert into {redshift_schema}.sales values ('bo', 3, 10.00), ('al', 1, 20.00), ('cy', 2, 30.00), "
        "('al', 5, 40.00), (null, 4, 50.00)"
    )
    redshift_connection.commit()
    return f"{redshift_schema}.sales"


def test_median_listagg_top_and_approximate_count(redshift_connection, sales):
    """MEDIAN function (the middle value, the mean of the two middle ones for an even count); LISTAGG function
    (nulls ignored, WITHIN GROUP order, DISTINCT, no delimiter by default); TOP in the SELECT list (SELECT
    page); APPROXIMATE COUNT(DISTINCT) (COUNT function: within about 2% of the exact count)."""
    assert _one(
        redshift_connection,
        f"select median(price), median(qty), median(qty::float8) from {sales} where seller is not null",
    ) == (Decimal("25"), Decimal("2.5"), 2.5)
    cur = redshift_connection.cursor()
    cur.execute(f"select seller, median(qty) over (partition by seller) from {sales} where seller = 'al'")
    assert [tuple(r) for r in cur.fetchall()] == [("al", Decimal("3")), ("al", Decimal("3"))]
    assert _one(
        redshift_connection,
        f"select listagg(seller, ', ') within group (order by seller desc), listagg(distinct seller) "
        f"within group (order by seller), listagg(seller) within group (order by seller) from {sales} "
        "where seller <> 'cy'",
    ) == ("bo, al, al", "albo", "alalbo")
    cur.execute(f"select top 2 seller, qty from {sales} order by qty desc")
    assert [tuple(r) for r in cur.fetchall()] == [("al", 5), (None, 4)]
    assert _one(redshift_connection, f"select approximate count(distinct seller) from {sales}") == (3,)


def test_a_string_or_comment_naming_a_function_is_not_rewritten(redshift_connection, sales):
    """Only calls are translated: a string or comment that names one stays as written."""
    assert _one(
        redshift_connection,
        f"select 'nvl(a, b)' as label, count(*) as n from {sales} /* nvl(x) */ where seller = 'al'",
    ) == ("nvl(a, b)", 2)
