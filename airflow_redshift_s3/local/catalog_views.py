"""Redshift's catalog as clients read it: recorded keys, ``version()``, and the SVV/PG_TABLE_DEF views.

Created in ``pg_catalog`` of template1 when the stack's database is first made (see :mod:`.catalog`).

- Keys: Redshift records PRIMARY KEY and UNIQUE but does not enforce them ("Table constraints" in the
  Redshift Database Developer Guide). The gateway keeps them in the DDL, and an event trigger then marks
  their indexes non-unique, so the constraints stay in ``pg_constraint`` and ``information_schema`` while
  duplicates load.
- ``version()`` answers in Redshift's form ("VERSION function" page).
- The views have the columns of their pages in the developer guide (SVV_TABLES, SVV_COLUMNS,
  SVV_ALL_TABLES, SVV_ALL_COLUMNS, SVV_TABLE_INFO, PG_TABLE_DEF); what PostgreSQL has no notion of
  (encodings, distribution, sort keys, skew) has the value Redshift gives a table without those attributes.
"""

from __future__ import annotations

from airflow_redshift_s3.local.catalog_functions import FUNCTIONS_SQL
from airflow_redshift_s3.local.catalog_show import SHOW_SQL
from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA

REDSHIFT_BUILD = "1.0.77467"
REDSHIFT_VERSION = (
    "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), "
    f"Redshift {REDSHIFT_BUILD}"
)

KEYS_SQL = """
CREATE FUNCTION pg_catalog.redshift_unenforce_keys() RETURNS event_trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    created record;
BEGIN
    FOR created IN SELECT DISTINCT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'table' LOOP
        UPDATE pg_index SET indisunique = false
        WHERE indrelid = created.objid AND indisunique AND indexrelid IN (
            SELECT conindid FROM pg_constraint WHERE conrelid = created.objid AND contype IN ('p', 'u'));
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION pg_catalog.redshift_unenforce_keys() FROM PUBLIC;
CREATE EVENT TRIGGER redshift_unenforce_keys ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
    EXECUTE FUNCTION pg_catalog.redshift_unenforce_keys();
"""

# PostgreSQL calls its built-in functions by OID, whatever pg_proc says: version() cannot be replaced in
# pg_catalog. The gateway's rewrite sends an unqualified version() to this one instead.
VERSION_SQL = f"""
CREATE SCHEMA {REDSHIFT_FUNCTION_SCHEMA};
GRANT USAGE ON SCHEMA {REDSHIFT_FUNCTION_SCHEMA} TO PUBLIC;
CREATE FUNCTION {REDSHIFT_FUNCTION_SCHEMA}.version() RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT '{REDSHIFT_VERSION}'::text $$;
"""

# The relations a user sees in svv_* views: tables, views, materialized views and partitioned tables
# outside the system schemas.
_USER_RELATIONS = """
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'v', 'm', 'p') AND n.nspname <> 'information_schema'
      AND n.nspname NOT LIKE 'pg\\_%'
"""

_USER_COLUMNS = """
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN information_schema.columns ic
      ON ic.table_schema = n.nspname AND ic.table_name = c.relname AND ic.column_name = a.attname
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'm', 'p')
      AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
"""

VIEWS_SQL = f"""
CREATE VIEW pg_catalog.svv_tables AS
SELECT current_database()::text AS table_catalog, n.nspname::text AS table_schema,
    c.relname::text AS table_name,
    CASE WHEN c.relkind IN ('v', 'm') THEN 'VIEW' ELSE 'BASE TABLE' END::text AS table_type,
    pg_catalog.obj_description(c.oid, 'pg_class')::text AS remarks
{_USER_RELATIONS};

CREATE VIEW pg_catalog.svv_all_tables AS
SELECT current_database()::varchar(128) AS database_name, n.nspname::varchar(128) AS schema_name,
    c.relname::varchar(128) AS table_name,
    CASE WHEN c.relkind IN ('v', 'm') THEN 'VIEW' ELSE 'TABLE' END::varchar(128) AS table_type,
    c.relacl::text::varchar(128) AS table_acl,
    pg_catalog.obj_description(c.oid, 'pg_class')::varchar(256) AS remarks
{_USER_RELATIONS};

CREATE VIEW pg_catalog.svv_columns AS
SELECT ic.table_catalog::text, ic.table_schema::text, ic.table_name::text, ic.column_name::text,
    ic.ordinal_position::int, ic.column_default::text, ic.is_nullable::text, ic.data_type::text,
    ic.character_maximum_length::int, ic.numeric_precision::int, ic.numeric_precision_radix::int,
    ic.numeric_scale::int, ic.datetime_precision::int, ic.interval_type::text, ic.interval_precision::text,
    ic.character_set_catalog::text, ic.character_set_schema::text, ic.character_set_name::text,
    ic.collation_catalog::text, ic.collation_schema::text, ic.collation_name::text, ic.domain_name::text,
    pg_catalog.col_description(c.oid, a.attnum)::text AS remarks
{_USER_COLUMNS};

CREATE VIEW pg_catalog.svv_all_columns AS
SELECT ic.table_catalog::varchar(128) AS database_name, ic.table_schema::varchar(128) AS schema_name,
    ic.table_name::varchar(128) AS table_name, ic.column_name::varchar(128) AS column_name,
    ic.ordinal_position::integer AS ordinal_position, ic.column_default::varchar(4000) AS column_default,
    ic.is_nullable::varchar(3) AS is_nullable, ic.data_type::varchar(128) AS data_type,
    ic.character_maximum_length::integer AS character_maximum_length,
    ic.numeric_precision::integer AS numeric_precision, ic.numeric_scale::integer AS numeric_scale,
    pg_catalog.col_description(c.oid, a.attnum)::varchar(256) AS remarks
{_USER_COLUMNS};

CREATE VIEW pg_catalog.pg_table_def AS
SELECT n.nspname AS schemaname, c.relname AS tablename, a.attname AS "column",
    pg_catalog.format_type(a.atttypid, a.atttypmod)::text AS type, 'none'::character(32) AS encoding,
    false AS distkey, 0::integer AS sortkey, a.attnotnull AS notnull
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    AND pg_catalog.pg_table_is_visible(c.oid);

CREATE FUNCTION pg_catalog.redshift_table_rows(relation oid) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    counted bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', relation::regclass) INTO counted;
    RETURN counted;
END $$;

CREATE VIEW pg_catalog.svv_table_info AS
SELECT t.database, t.schema, t.table_id, t."table", 'N'::text AS encoded, 'EVEN'::text AS diststyle,
    NULL::text AS sortkey1, t.max_varchar, NULL::character(32) AS sortkey1_enc, 0::integer AS sortkey_num,
    t.size, NULL::numeric(10, 4) AS pct_used, 0::bigint AS empty, NULL::numeric(5, 2) AS unsorted,
    0::numeric(5, 2) AS stats_off, t.tbl_rows::numeric(38, 0) AS tbl_rows,
    NULL::numeric(19, 2) AS skew_sortkey1,
    NULL::numeric(19, 2) AS skew_rows, t.tbl_rows::numeric(38, 0) AS estimated_visible_rows,
    NULL::text AS risk_event, NULL::numeric(12, 2) AS vacuum_sort_benefit, NULL::timestamp AS create_time
FROM (
    SELECT current_database()::text AS database, n.nspname::text AS schema, c.oid AS table_id,
        c.relname::text AS "table",
        (SELECT max(a.atttypmod - 4) FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           AND a.atttypid = 'pg_catalog.varchar'::regtype)::integer AS max_varchar,
        ceil(pg_catalog.pg_total_relation_size(c.oid) / 1048576.0)::bigint AS size,
        pg_catalog.redshift_table_rows(c.oid) AS tbl_rows
    {_USER_RELATIONS}
      AND c.relkind IN ('r', 'p') AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
) t
WHERE t.tbl_rows > 0;

GRANT SELECT ON pg_catalog.svv_tables, pg_catalog.svv_all_tables, pg_catalog.svv_columns,
    pg_catalog.svv_all_columns, pg_catalog.pg_table_def, pg_catalog.svv_table_info TO PUBLIC;
"""

CATALOG_VIEWS_SQL = (
    "SET allow_system_table_mods = on;"
    + KEYS_SQL
    + VERSION_SQL
    + SHOW_SQL
    + FUNCTIONS_SQL
    + VIEWS_SQL
    + "RESET allow_system_table_mods;"
)
