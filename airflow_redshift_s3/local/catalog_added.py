"""Catalog objects added after the first release, installed at every start (idempotent statements).

A kept data directory gets them too.

- ``pg_redshift.append_rows(target, source, option)``: ALTER TABLE APPEND's column rules and move, as the
  "ALTER TABLE APPEND" page of the Redshift Database Developer Guide states them: like-named columns must
  have the same type, size and NOT NULL; a column only the source has needs IGNOREEXTRA (its values are
  dropped), one only the target has needs FILLTARGET (it gets its default, or NULL); extra columns on both
  sides fail whatever the option; both tables must be permanent tables. The rows are moved (inserted into
  the target, deleted from the source) in the caller's statement, so all or nothing.
- ``pg_redshift.merge_columns_match(target, source)``: MERGE ... REMOVE DUPLICATES needs tables with the same
  number of columns (MERGE page); true, or an error naming both counts.
"""

from __future__ import annotations

from airflow_redshift_s3.local.copy.progress import TABLE_SQL as LOAD_STATE_SQL
from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA

_S = REDSHIFT_FUNCTION_SCHEMA

# Redshift's message for columns that do not line up; DETAIL and HINT name the columns and the fix.
APPEND_MISMATCH = "Target table and source table attributes don't match."

APPEND_SQL = f"""
CREATE OR REPLACE FUNCTION {_S}.append_rows(target regclass, source regclass, option text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    relation regclass;
    differing text;
    only_source text;
    only_target text;
    shared text;
    moved bigint;
BEGIN
    FOREACH relation IN ARRAY ARRAY[target, source] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relation AND relkind IN ('r', 'p')
                       AND relpersistence = 'p') THEN
            RAISE EXCEPTION 'ALTER TABLE APPEND needs permanent tables: "%" is not one', relation
                USING ERRCODE = '0A000',
                HINT = 'Append from and to tables made by CREATE TABLE, not temporary tables or views.';
        END IF;
    END LOOP;
    WITH t AS (SELECT attname, atttypid, atttypmod, attnotnull FROM pg_attribute
               WHERE attrelid = target AND attnum > 0 AND NOT attisdropped),
         s AS (SELECT attname, atttypid, atttypmod, attnotnull FROM pg_attribute
               WHERE attrelid = source AND attnum > 0 AND NOT attisdropped)
    SELECT
        (SELECT string_agg(format('%I (%s%s in the target, %s%s in the source)', t.attname,
                    format_type(t.atttypid, t.atttypmod), CASE WHEN t.attnotnull THEN ' NOT NULL' END,
                    format_type(s.atttypid, s.atttypmod), CASE WHEN s.attnotnull THEN ' NOT NULL' END),
                    ', ')
         FROM t JOIN s USING (attname)
         WHERE (t.atttypid, t.atttypmod, t.attnotnull)
            IS DISTINCT FROM (s.atttypid, s.atttypmod, s.attnotnull)),
        (SELECT string_agg(quote_ident(attname), ', ') FROM s WHERE attname NOT IN (SELECT attname FROM t)),
        (SELECT string_agg(quote_ident(attname), ', ') FROM t WHERE attname NOT IN (SELECT attname FROM s)),
        (SELECT string_agg(quote_ident(attname), ', ') FROM t WHERE attname IN (SELECT attname FROM s))
    INTO differing, only_source, only_target, shared;
    IF differing IS NOT NULL THEN
        RAISE EXCEPTION '{APPEND_MISMATCH.replace("'", "''")}' USING ERRCODE = 'XX000',
            DETAIL = 'Like-named columns differ: ' || differing || '.',
            HINT = 'Give the columns of the same name the same type, size and NOT NULL.';
    END IF;
    IF only_source IS NOT NULL AND (option <> 'IGNOREEXTRA' OR only_target IS NOT NULL) THEN
        RAISE EXCEPTION '{APPEND_MISMATCH.replace("'", "''")}' USING ERRCODE = 'XX000',
            DETAIL = format('Only the source "%s" has the columns %s.', source, only_source),
            HINT = CASE WHEN only_target IS NULL THEN 'Add IGNOREEXTRA to drop their values.'
                   ELSE 'Both tables have columns the other lacks: no option appends them.' END;
    END IF;
    IF only_target IS NOT NULL AND (option <> 'FILLTARGET' OR only_source IS NOT NULL) THEN
        RAISE EXCEPTION '{APPEND_MISMATCH.replace("'", "''")}' USING ERRCODE = 'XX000',
            DETAIL = format('Only the target "%s" has the columns %s.', target, only_target),
            HINT = 'Add FILLTARGET to fill them with their defaults (or NULL).';
    END IF;
    IF shared IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s', target, shared, shared, source);
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXECUTE format('DELETE FROM %s', source);
    RETURN moved;
END $$;
"""


# MERGE ... REMOVE DUPLICATES (``sql/merge.py``): the MERGE page asks for the same number of columns.
MERGE_SQL = f"""
CREATE OR REPLACE FUNCTION {_S}.merge_columns_match(target regclass, source regclass) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    target_columns integer := (SELECT count(*) FROM pg_attribute
                               WHERE attrelid = target AND attnum > 0 AND NOT attisdropped);
    source_columns integer := (SELECT count(*) FROM pg_attribute
                               WHERE attrelid = source AND attnum > 0 AND NOT attisdropped);
BEGIN
    IF target_columns <> source_columns THEN
        RAISE EXCEPTION 'MERGE with REMOVE DUPLICATES needs tables with the same number of columns'
            USING ERRCODE = '42601',
            DETAIL = format('The target "%s" has %s, the source "%s" has %s.',
                            target, target_columns, source, source_columns),
            HINT = 'Give both tables the same columns in the same order, or write WHEN MATCHED and '
                   'WHEN NOT MATCHED clauses.';
    END IF;
    RETURN true;
END $$;
"""


# System views of the Redshift Database Developer Guide, with the columns and types of their pages:
# SVV_EXTERNAL_SCHEMAS (empty: the local Redshift has no external schemas), STL_UNDONE (empty: it undoes no
# transactions), PG_PROC_INFO (PG_PROC's columns with oid named prooid, and prokind, proargmodes,
# proallargtypes, which PostgreSQL's pg_proc has under those names).
SYSTEM_VIEWS_SQL = """
CREATE OR REPLACE VIEW pg_catalog.svv_external_schemas AS
SELECT NULL::oid AS esoid, NULL::smallint AS eskind, NULL::name AS schemaname, NULL::integer AS esowner,
    NULL::text AS databasename, NULL::text AS esoptions
WHERE false;
CREATE OR REPLACE VIEW pg_catalog.stl_undone AS
SELECT NULL::integer AS userid, NULL::bigint AS xact_id, NULL::bigint AS xact_id_undone,
    NULL::timestamp AS undo_start_ts, NULL::timestamp AS undo_end_ts, NULL::bigint AS table_id
WHERE false;
CREATE OR REPLACE VIEW pg_catalog.pg_proc_info AS
SELECT oid AS prooid, proname, pronamespace, proowner, prolang, procost, prorows, provariadic, prosupport,
    prokind, prosecdef, proleakproof, proisstrict, proretset, provolatile, proparallel, pronargs,
    pronargdefaults, prorettype, proargtypes, proallargtypes, proargmodes, proargnames, proargdefaults,
    protrftypes, prosrc, probin, prosqlbody, proconfig, proacl
FROM pg_catalog.pg_proc;
GRANT SELECT ON pg_catalog.svv_external_schemas, pg_catalog.stl_undone, pg_catalog.pg_proc_info TO PUBLIC;
"""

# STL_QUERY with the columns of its page; the gateway records each COPY from S3 there (no other statement),
# with its credential literals masked. Every user sees every row (Redshift shows a user only their own).
# SYS_QUERY_HISTORY (what Serverless has instead of STL views) is a view of it with a subset of its columns.
QUERY_HISTORY_SQL = """
CREATE TABLE IF NOT EXISTS pg_catalog.stl_query (
    userid integer, query integer, label character(320), xid bigint, pid integer, database character(32),
    querytext character(4000), starttime timestamp, endtime timestamp, aborted integer,
    insert_pristine integer, concurrency_scaling_status integer
);
GRANT SELECT ON pg_catalog.stl_query TO PUBLIC;
CREATE OR REPLACE VIEW pg_catalog.sys_query_history AS
SELECT userid AS user_id, query::bigint AS query_id, xid AS transaction_id, pid AS session_id,
    database AS database_name, 'COPY'::character(32) AS query_type,
    (CASE WHEN aborted = 1 THEN 'failed' ELSE 'success' END)::character(10) AS status,
    starttime AS start_time, endtime AS end_time,
    (EXTRACT(EPOCH FROM endtime - starttime) * 1000000)::bigint AS elapsed_time, querytext AS query_text
FROM pg_catalog.stl_query;
GRANT SELECT ON pg_catalog.sys_query_history TO PUBLIC;
"""

ADDED_SQL = APPEND_SQL + MERGE_SQL + SYSTEM_VIEWS_SQL + QUERY_HISTORY_SQL + LOAD_STATE_SQL
