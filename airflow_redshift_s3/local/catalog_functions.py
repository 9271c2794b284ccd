"""Redshift functions that neither PostgreSQL nor sqlglot's translation provide, created with the catalog.

The gateway's SQL layer (``sql/dialect.py``) sends DATEDIFF, MEDIAN and STRTOL here.

- ``datediff(part, start, end)``: "the number of date or time part boundaries crossed" between two dates
  or timestamps (DATEDIFF function, Redshift SQL reference), with the date-part names and abbreviations of
  its "Date parts for date or timestamp functions" page.
- ``median(x)``: the middle value, or the mean of the two middle ones (MEDIAN function), DECIMAL for integer
  and decimal input, DOUBLE PRECISION for floating point; an aggregate, so MEDIAN ... OVER works too.
- ``strtol(text, base)``: a number written in ``base`` (2 to 36) as a BIGINT (STRTOL function); a hexadecimal
  number may start with ``0x``.
"""

from __future__ import annotations

from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA

_S = REDSHIFT_FUNCTION_SCHEMA

FUNCTIONS_SQL = f"""
CREATE FUNCTION {_S}.datediff(part text, a timestamp, b timestamp) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    p text := lower(part);
BEGIN
    IF a IS NULL OR b IS NULL THEN
        RETURN NULL;
    ELSIF p IN ('millennium', 'millennia', 'mil', 'mils') THEN
        RETURN floor(extract(year FROM b) / 1000) - floor(extract(year FROM a) / 1000);
    ELSIF p IN ('century', 'centuries', 'c', 'cent', 'cents') THEN
        RETURN floor(extract(year FROM b) / 100) - floor(extract(year FROM a) / 100);
    ELSIF p IN ('decade', 'decades', 'dec', 'decs') THEN
        RETURN floor(extract(year FROM b) / 10) - floor(extract(year FROM a) / 10);
    ELSIF p IN ('year', 'years', 'y', 'yr', 'yrs') THEN
        RETURN extract(year FROM b) - extract(year FROM a);
    ELSIF p IN ('quarter', 'quarters', 'qtr', 'qtrs') THEN
        RETURN (extract(year FROM b) * 4 + extract(quarter FROM b))
            - (extract(year FROM a) * 4 + extract(quarter FROM a));
    ELSIF p IN ('month', 'months', 'mon', 'mons') THEN
        RETURN (extract(year FROM b) * 12 + extract(month FROM b))
            - (extract(year FROM a) * 12 + extract(month FROM a));
    ELSIF p IN ('week', 'weeks', 'w') THEN
        RETURN (date_trunc('week', b)::date - date_trunc('week', a)::date) / 7;
    ELSIF p IN ('day', 'days', 'd') THEN
        RETURN b::date - a::date;
    ELSIF p IN ('hour', 'hours', 'h', 'hr', 'hrs') THEN
        RETURN (extract(epoch FROM date_trunc('hour', b)) - extract(epoch FROM date_trunc('hour', a))) / 3600;
    ELSIF p IN ('minute', 'minutes', 'm', 'min', 'mins') THEN
        RETURN (extract(epoch FROM date_trunc('minute', b))
            - extract(epoch FROM date_trunc('minute', a))) / 60;
    ELSIF p IN ('second', 'seconds', 's', 'sec', 'secs') THEN
        RETURN extract(epoch FROM date_trunc('second', b)) - extract(epoch FROM date_trunc('second', a));
    ELSIF p IN ('millisecond', 'milliseconds', 'ms', 'msec', 'msecs', 'msecond', 'mseconds', 'millisec',
                'millisecs', 'millisecon') THEN
        RETURN (extract(epoch FROM date_trunc('milliseconds', b))
            - extract(epoch FROM date_trunc('milliseconds', a))) * 1000;
    ELSIF p IN ('microsecond', 'microseconds', 'microsec', 'microsecs', 'microsecond', 'usecond',
                'useconds', 'us', 'usec', 'usecs') THEN
        RETURN (extract(epoch FROM b) - extract(epoch FROM a)) * 1000000;
    END IF;
    RAISE EXCEPTION 'DATEDIFF does not know the date part "%"', p
        USING ERRCODE = '22023', HINT = 'Use a date part of the "Date parts for date or timestamp '
            'functions" page of the Redshift SQL reference, such as day, week, month, quarter, year, hour, '
            'minute or second.';
END $$;

CREATE FUNCTION {_S}.datediff(part text, a timestamptz, b timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT {_S}.datediff(part, a::timestamp, b::timestamp) $$;

CREATE FUNCTION {_S}.strtol(num text, base integer) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    digits text := lower(btrim(num));
    negative boolean := false;
    result numeric := 0;
    digit integer;
    ch text;
BEGIN
    IF num IS NULL OR base IS NULL THEN
        RETURN NULL;
    END IF;
    IF base < 2 OR base > 36 THEN
        RAISE EXCEPTION 'STRTOL base must be between 2 and 36, not %', base USING ERRCODE = '22023';
    END IF;
    IF left(digits, 1) IN ('-', '+') THEN
        negative := left(digits, 1) = '-';
        digits := substr(digits, 2);
    END IF;
    IF base = 16 AND left(digits, 2) = '0x' THEN
        digits := substr(digits, 3);
    END IF;
    IF digits = '' THEN
        RAISE EXCEPTION 'STRTOL cannot read "%" in base %', num, base USING ERRCODE = '22P02';
    END IF;
    FOREACH ch IN ARRAY regexp_split_to_array(digits, '') LOOP
        digit := strpos('0123456789abcdefghijklmnopqrstuvwxyz', ch) - 1;
        IF digit < 0 OR digit >= base THEN
            RAISE EXCEPTION 'STRTOL cannot read "%" in base %', num, base USING ERRCODE = '22P02';
        END IF;
        result := result * base + digit;
    END LOOP;
    RETURN (CASE WHEN negative THEN -result ELSE result END)::bigint;
END $$;
"""

_MEDIAN_FINAL = """
CREATE FUNCTION {s}.median_final(v {t}[]) RETURNS {t} LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n = 0 THEN NULL WHEN n % 2 = 1 THEN s[(n + 1) / 2] ELSE {mean} END
    FROM (SELECT array_agg(x ORDER BY x) AS s, count(*)::int AS n
          FROM unnest(v) AS x WHERE x IS NOT NULL) sorted
$$;
"""
_MEDIAN_AGGREGATE = """
CREATE FUNCTION {s}.median_add(state {t}[], v {arg}) RETURNS {t}[] LANGUAGE sql IMMUTABLE
    AS $$ SELECT array_append(state, v::{t}) $$;
CREATE AGGREGATE {s}.median({arg}) (SFUNC = {s}.median_add, STYPE = {t}[], FINALFUNC = {s}.median_final,
    INITCOND = '{{}}');
"""

FUNCTIONS_SQL += _MEDIAN_FINAL.format(s=_S, t="numeric", mean="trim_scale((s[n / 2] + s[n / 2 + 1]) / 2)")
FUNCTIONS_SQL += _MEDIAN_FINAL.format(s=_S, t="double precision", mean="(s[n / 2] + s[n / 2 + 1]) / 2")
_MEDIAN_TYPES = [
    ("smallint", "numeric"),
    ("integer", "numeric"),
    ("bigint", "numeric"),
    ("numeric", "numeric"),
]
for _arg, _state in [*_MEDIAN_TYPES, ("double precision", "double precision")]:
    FUNCTIONS_SQL += _MEDIAN_AGGREGATE.format(s=_S, arg=_arg, t=_state)
