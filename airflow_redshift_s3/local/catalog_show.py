"""The functions that answer Redshift's catalog SHOW commands (the gateway rewrites each into a SELECT).

Result columns are those of the SHOW DATABASES, SHOW SCHEMAS, SHOW TABLES, SHOW COLUMNS,
SHOW CONSTRAINTS, SHOW PROCEDURES, SHOW FUNCTIONS and SHOW PARAMETERS pages of the Redshift SQL
reference, in their order, which redshift_connector's metadata API reads by name. Only the connected
database is described: PostgreSQL cannot read another one's catalog.
"""

from __future__ import annotations

from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA

# The gateway reports SHOW discovery version 4: these commands, one schema or table at a time (version 5
# adds SHOW ... FROM DATABASE, which the local Redshift does not answer).
_S = REDSHIFT_FUNCTION_SCHEMA

# Schemas SHOW SCHEMAS lists: Redshift lists pg_catalog and information_schema, not the internal ones.
_LISTED_SCHEMA = f"""(n.nspname IN ('pg_catalog', 'information_schema') OR (n.nspname NOT LIKE 'pg\\_%'))
    AND n.nspname <> '{_S}'"""


def _routines(command: str, name_column: str, kind: str) -> str:
    """SHOW PROCEDURES / SHOW FUNCTIONS: one row per routine of the schema (their pages' columns).

    ``argument_list`` lists the input arguments' types; a procedure's ``return_type`` lists its OUT and
    INOUT arguments' types (SHOW PROCEDURES page's example), a function's is its result type.
    """
    arguments = "pg_catalog.format_type(t.oid, NULL)"
    returns = (
        f"(SELECT string_agg({arguments}, ', ' ORDER BY a.n) FROM unnest(p.proallargtypes, p.proargmodes) "
        "WITH ORDINALITY AS a(oid, mode, n) JOIN pg_catalog.pg_type t ON t.oid = a.oid "
        "WHERE a.mode IN ('o', 'b'))"
        if kind == "p"
        else "pg_catalog.format_type(p.prorettype, NULL)"
    )
    return f"""CREATE FUNCTION {_S}.show_{command}(database text, schema text, pattern text)
RETURNS TABLE (database_name varchar(128), schema_name varchar(128), {name_column} varchar(128),
    number_of_arguments integer, argument_list varchar(65535), return_type varchar(65535),
    remarks varchar(256))
LANGUAGE sql STABLE AS $$
    SELECT current_database()::varchar(128), n.nspname::varchar(128), p.proname::varchar(128),
        p.pronargs::integer,
        COALESCE((SELECT string_agg({arguments}, ', ' ORDER BY a.n)
            FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(oid, n)
            JOIN pg_catalog.pg_type t ON t.oid = a.oid), '')::varchar(65535),
        COALESCE({returns}, '')::varchar(65535),
        pg_catalog.obj_description(p.oid, 'pg_proc')::varchar(256)
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE database = current_database() AND n.nspname = schema AND p.prokind = '{kind}'
      AND (pattern IS NULL OR p.proname LIKE pattern)
    ORDER BY 3, 5
$$;"""


def _parameters(kind: str, name_column: str) -> str:
    """SHOW PARAMETERS OF PROCEDURE / FUNCTION: one row per parameter of the routine the types pick.

    Columns of the SHOW PARAMETERS page; ``parameter_type`` is IN, OUT, INOUT, TABLE or RETURN (the
    values redshift_connector's metadataAPIHelper maps), a function's result a RETURN row at position 0
    (a set-returning function's columns are its TABLE rows).
    The types are resolved as type names (``varchar`` is ``character varying``; an unknown one is an
    error naming it) and compared with the routine's input arguments, as SHOW PROCEDURES lists them.
    PostgreSQL keeps no length, precision or scale for a routine's parameters: those columns are NULL.
    """
    command = "procedure" if kind == "p" else "function"
    result_row = (
        ""
        if kind == "p"
        else """
        UNION ALL SELECT NULL, 0, 'RETURN', p.prorettype FROM routine p WHERE NOT p.proretset"""
    )
    return f"""CREATE FUNCTION {_S}.show_{command}_parameters(
    database text, schema text, routine text, argtypes text[], pattern text)
RETURNS TABLE (database_name varchar(128), schema_name varchar(128), {name_column} varchar(128),
    parameter_name varchar(128), ordinal_position integer, parameter_type varchar(128),
    data_type varchar(128), character_maximum_length integer, numeric_precision integer,
    numeric_scale integer, remarks varchar(256))
LANGUAGE sql STABLE AS $$
    WITH routine AS (
        SELECT p.* FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE database = current_database() AND n.nspname = schema AND p.proname = routine
          AND p.prokind = '{kind}'
          AND ARRAY(SELECT unnest(p.proargtypes))
              = ARRAY(SELECT t::regtype::oid FROM unnest(argtypes) WITH ORDINALITY AS a(t, n) ORDER BY n)
    ), parameters(name, position, mode, type) AS (
        SELECT NULLIF(p.proargnames[a.n], ''), a.n::integer,
            CASE COALESCE(p.proargmodes[a.n], 'i') WHEN 'o' THEN 'OUT' WHEN 'b' THEN 'INOUT'
                WHEN 't' THEN 'TABLE' ELSE 'IN' END,
            a.oid
        FROM routine p, unnest(COALESCE(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY
            AS a(oid, n){result_row}
    )
    SELECT current_database()::varchar(128), schema::varchar(128), routine::varchar(128),
        name::varchar(128), position, mode::varchar(128),
        pg_catalog.format_type(type, NULL)::varchar(128), NULL::integer, NULL::integer, NULL::integer,
        NULL::varchar(256)
    FROM parameters
    WHERE pattern IS NULL OR name LIKE pattern
    ORDER BY position
$$;"""


SHOW_SQL = f"""
CREATE FUNCTION {_S}.show_databases(pattern text)
RETURNS TABLE (database_name varchar(128), database_owner integer, database_type varchar(32),
    database_acl varchar(128), parameters varchar(128), database_isolation_level varchar(32))
LANGUAGE sql STABLE AS $$
    SELECT d.datname::varchar(128), d.datdba::integer, 'local'::varchar(32), d.datacl::text::varchar(128),
        NULL::varchar(128), 'Serializable'::varchar(32)
    FROM pg_catalog.pg_database d
    WHERE NOT d.datistemplate AND d.datname <> 'postgres' AND (pattern IS NULL OR d.datname LIKE pattern)
    ORDER BY 1
$$;

CREATE FUNCTION {_S}.show_schemas(database text, pattern text)
RETURNS TABLE (database_name varchar(128), schema_name varchar(128), schema_owner integer,
    schema_type varchar(32), schema_acl varchar(128), source_database varchar(128),
    schema_option varchar(128))
LANGUAGE sql STABLE AS $$
    SELECT current_database()::varchar(128), n.nspname::varchar(128), n.nspowner::integer,
        'local'::varchar(32),
        n.nspacl::text::varchar(128), NULL::varchar(128), NULL::varchar(128)
    FROM pg_catalog.pg_namespace n
    WHERE database = current_database() AND {_LISTED_SCHEMA}
      AND (pattern IS NULL OR n.nspname LIKE pattern)
    ORDER BY 2
$$;

CREATE FUNCTION {_S}.show_tables(database text, schema text, pattern text)
RETURNS TABLE (database_name varchar(128), schema_name varchar(128), table_name varchar(128),
    table_type varchar(128), table_acl varchar(128), remarks varchar(128), owner varchar(128),
    last_altered_time timestamp, last_modified_time timestamp, dist_style varchar(128),
    table_subtype varchar(128))
LANGUAGE sql STABLE AS $$
    SELECT current_database()::varchar(128), n.nspname::varchar(128), c.relname::varchar(128),
        CASE WHEN c.relkind IN ('v', 'm') THEN 'VIEW' ELSE 'TABLE' END::varchar(128),
        c.relacl::text::varchar(128), pg_catalog.obj_description(c.oid, 'pg_class')::varchar(128),
        pg_catalog.pg_get_userbyid(c.relowner)::varchar(128), NULL::timestamp, NULL::timestamp,
        CASE WHEN c.relkind IN ('r', 'p') THEN 'EVEN' END::varchar(128), NULL::varchar(128)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE database = current_database() AND n.nspname = schema AND c.relkind IN ('r', 'v', 'm', 'p')
      AND (pattern IS NULL OR c.relname LIKE pattern)
    ORDER BY 3
$$;

CREATE FUNCTION {_S}.show_columns(database text, schema text, tab text, pattern text)
RETURNS TABLE (database_name varchar(128), schema_name varchar(128), table_name varchar(128),
    column_name varchar(128), ordinal_position integer, column_default varchar(4000), is_nullable varchar(3),
    data_type varchar(128), character_maximum_length integer, numeric_precision integer,
    numeric_scale integer, remarks varchar(256), sort_key_type varchar(128), sort_key integer,
    dist_key integer, encoding varchar(128), "collation" varchar(128))
LANGUAGE sql STABLE AS $$
    SELECT current_database()::varchar(128), ic.table_schema::varchar(128), ic.table_name::varchar(128),
        ic.column_name::varchar(128), ic.ordinal_position::integer, ic.column_default::varchar(4000),
        ic.is_nullable::varchar(3), ic.data_type::varchar(128), ic.character_maximum_length::integer,
        ic.numeric_precision::integer, ic.numeric_scale::integer,
        pg_catalog.col_description(format('%I.%I', ic.table_schema, ic.table_name)::regclass,
            ic.ordinal_position::integer)::varchar(256),
        NULL::varchar(128), 0, 0, 'none'::varchar(128), NULL::varchar(128)
    FROM information_schema.columns ic
    WHERE database = current_database() AND ic.table_schema = schema AND ic.table_name = tab
      AND (pattern IS NULL OR ic.column_name LIKE pattern)
    ORDER BY 5
$$;

{_routines("procedures", "procedure_name", "p")}

{_routines("functions", "function_name", "f")}

{_parameters("p", "procedure_name")}

{_parameters("f", "function_name")}

CREATE FUNCTION {_S}.show_primary_keys(database text, schema text, tab text)
RETURNS TABLE (database_name varchar(128), schema_name varchar(128), table_name varchar(128),
    column_name varchar(128), key_seq integer, pk_name varchar(128))
LANGUAGE sql STABLE AS $$
    SELECT current_database()::varchar(128), n.nspname::varchar(128), c.relname::varchar(128),
        a.attname::varchar(128), k.seq::integer, con.conname::varchar(128)
    FROM pg_catalog.pg_constraint con
    JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, seq)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
    WHERE database = current_database() AND con.contype = 'p' AND n.nspname = schema AND c.relname = tab
    ORDER BY 5
$$;
"""
