"""Redshift's SUPER and VARBYTE types and their functions, installed at every start (idempotent statements).

- ``super``: a domain over ``jsonb`` ("SUPER type" page of the Redshift Database Developer Guide). The
  gateway rewrites PartiQL navigation (``c.a.b``, ``c[0]``) into ``->`` (``sql/super_navigation.py``), and
  shows a ``jsonb`` result column as Redshift's SUPER (type 4000, compact JSON; ``wire/result_types.py``).
  JSON_PARSE, JSON_SERIALIZE, JSON_SIZE, JSON_TYPEOF and the IS_ARRAY family have the meaning of their pages.
- ``varbyte`` (and ``varbinary``): domains over ``bytea`` ("VARBYTE type"); the length limit in bytes is a
  CHECK constraint added by the gateway to each column (``sql/redshift_types.py``). FROM_HEX, TO_HEX,
  FROM_VARBYTE and TO_VARBYTE have the formats of their pages (hex, binary, utf8, base64).
"""

from __future__ import annotations

from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA

_S = REDSHIFT_FUNCTION_SCHEMA

TYPES_SQL = f"""
DO $$ BEGIN
    IF to_regtype('pg_catalog.super') IS NULL THEN
        CREATE DOMAIN pg_catalog.super AS jsonb;
    END IF;
    IF to_regtype('pg_catalog.varbyte') IS NULL THEN
        CREATE DOMAIN pg_catalog.varbyte AS bytea;
    END IF;
    IF to_regtype('pg_catalog.varbinary') IS NULL THEN
        CREATE DOMAIN pg_catalog.varbinary AS bytea;
    END IF;
END $$;
CREATE OR REPLACE FUNCTION pg_catalog.json_parse(text) RETURNS pg_catalog.super
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT $1::jsonb::pg_catalog.super $$;
CREATE OR REPLACE FUNCTION {_S}.json_serialize(jsonb) RETURNS varchar LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT regexp_replace($1::text, '("(?:[^"\\\\]|\\\\.)*")|\\s+', '\\1', 'g') $$;
CREATE OR REPLACE FUNCTION {_S}.super_index(value jsonb, index integer) RETURNS jsonb
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT CASE WHEN jsonb_typeof(value) = 'array' AND index >= 0 THEN value -> index END $$;
CREATE OR REPLACE FUNCTION pg_catalog.json_size(jsonb) RETURNS integer LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT octet_length({_S}.json_serialize($1)) $$;
CREATE OR REPLACE FUNCTION pg_catalog.json_typeof(jsonb) RETURNS varchar LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT jsonb_typeof($1) $$;
CREATE OR REPLACE FUNCTION pg_catalog.is_array(jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT jsonb_typeof($1) = 'array' $$;
CREATE OR REPLACE FUNCTION pg_catalog.is_object(jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT jsonb_typeof($1) = 'object' $$;
CREATE OR REPLACE FUNCTION pg_catalog.is_scalar(jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT jsonb_typeof($1) NOT IN ('array', 'object') $$;
CREATE OR REPLACE FUNCTION pg_catalog.is_varchar(jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT jsonb_typeof($1) = 'string' $$;
CREATE OR REPLACE FUNCTION pg_catalog.is_boolean(jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT jsonb_typeof($1) = 'boolean' $$;
CREATE OR REPLACE FUNCTION pg_catalog.from_hex(text) RETURNS pg_catalog.varbyte
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT decode(CASE WHEN length($1) % 2 = 1 THEN '0' || $1 ELSE $1 END, 'hex') $$;
CREATE OR REPLACE FUNCTION pg_catalog.to_hex(bytea) RETURNS varchar LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT encode($1, 'hex') $$;
CREATE OR REPLACE FUNCTION {_S}.varbyte_format(format text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF lower(format) IN ('hex', 'binary', 'base64') THEN
        RETURN lower(format);
    ELSIF lower(format) IN ('utf8', 'utf-8', 'utf_8') THEN
        RETURN 'utf8';
    END IF;
    RAISE EXCEPTION 'invalid format "%"', format USING ERRCODE = '22023',
        HINT = 'Use hex, binary, utf8 (or utf-8, utf_8) or base64.';
END $$;
CREATE OR REPLACE FUNCTION pg_catalog.from_varbyte(value bytea, format text) RETURNS varchar
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE {_S}.varbyte_format(format)
        WHEN 'hex' THEN encode(value, 'hex')
        WHEN 'base64' THEN replace(encode(value, 'base64'), E'\\n', '')
        WHEN 'utf8' THEN convert_from(value, 'UTF8')
        ELSE (SELECT coalesce(string_agg(get_byte(value, i)::bit(8)::text, '' ORDER BY i), '')
              FROM generate_series(0, length(value) - 1) AS i)
    END $$;
CREATE OR REPLACE FUNCTION pg_catalog.to_varbyte(string text, format text) RETURNS pg_catalog.varbyte
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE {_S}.varbyte_format(format)
        WHEN 'hex' THEN pg_catalog.from_hex(string)::bytea
        WHEN 'base64' THEN decode(string, 'base64')
        WHEN 'utf8' THEN convert_to(string, 'UTF8')
        ELSE (SELECT coalesce(decode(string_agg(lpad(to_hex(substr(bits, i, 8)::bit(8)::integer), 2, '0'),
                                                '' ORDER BY i), 'hex'), ''::bytea)
              FROM (SELECT lpad(string, ((length(string) + 7) / 8) * 8, '0') AS bits) padded,
                   generate_series(1, length(bits), 8) AS i)
    END $$;
"""
