"""Redshift's load system tables and functions, created in PostgreSQL's pg_catalog.

They live in pg_catalog, like Redshift's, so they are visible whatever the search_path. The gateway
writes to them through its own autocommit connection, so load errors survive the rollback of the load.
"""

from __future__ import annotations

from airflow_redshift_s3.local.catalog_added import ADDED_SQL
from airflow_redshift_s3.local.catalog_types import TYPES_SQL

SYSTEM_TABLES_SQL = """
SET allow_system_table_mods = on;
CREATE TABLE pg_catalog.stl_load_errors (
    userid integer, slice integer, tbl integer, starttime timestamp, session integer, query integer,
    filename character(256), line_number bigint, colname character(127), type character(10),
    col_length character(10), position integer, raw_line character(1024), raw_field_value character(1024),
    err_code integer, err_reason character(100), is_partial integer, start_offset bigint, copy_job_id bigint
);
CREATE TABLE pg_catalog.sys_load_error_detail (
    user_id integer, query_id bigint, transaction_id bigint, session_id integer, database_name character(128),
    table_id integer, start_time timestamp, file_name character(1280), line_number bigint,
    column_name character(127), column_type character(128), column_length character(10), position integer,
    error_code integer, error_message character(512)
);
CREATE TABLE pg_catalog.stl_load_commits (
    userid integer, query integer, slice integer, name character(256), filename character(256),
    byte_offset integer, lines_scanned integer, errors integer, curtime timestamp, status integer,
    file_format character(16), is_partial integer, start_offset bigint, copy_job_id bigint
);
CREATE TABLE pg_catalog.sys_load_history (
    user_id integer, query_id bigint, transaction_id bigint, session_id integer, database_name character(128),
    status character(64), table_name character(136), start_time timestamp, end_time timestamp,
    duration bigint, data_source character(1280), file_format character(16), loaded_rows bigint,
    loaded_bytes bigint, source_file_count integer, source_file_bytes bigint, file_count_scanned integer,
    file_bytes_scanned bigint, error_count bigint, copy_job_id bigint
);
CREATE TABLE pg_catalog.stv_slices (node integer, slice integer, localslice integer, type character(1));
CREATE SEQUENCE pg_catalog.redshift_query_id_seq START 100000;
GRANT SELECT ON pg_catalog.stl_load_errors, pg_catalog.sys_load_error_detail, pg_catalog.stl_load_commits,
    pg_catalog.sys_load_history, pg_catalog.stv_slices TO PUBLIC;
CREATE FUNCTION pg_catalog.pg_last_copy_count() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT coalesce(nullif(current_setting('redshift.last_copy_count', true), ''), '0')::bigint $$;
CREATE FUNCTION pg_catalog.pg_last_copy_id() RETURNS integer LANGUAGE sql STABLE
    AS $$ SELECT coalesce(nullif(current_setting('redshift.last_copy_id', true), ''), '-1')::integer $$;
CREATE FUNCTION pg_catalog.getdate() RETURNS timestamp LANGUAGE sql STABLE
    AS $$ SELECT date_trunc('second', localtimestamp) $$;
RESET allow_system_table_mods;
"""


def slices_sql(count: int) -> str:
    """Return the statements that make ``stv_slices`` report ``count`` slices on one node."""
    rows = ", ".join(f"(0, {i}, {i}, 'D')" for i in range(count))
    return f"DELETE FROM pg_catalog.stv_slices; INSERT INTO pg_catalog.stv_slices VALUES {rows};"


# What every database gives its users, as Redshift does: tables in ``public`` for everyone, and no
# extensions (Redshift has none; PostgreSQL's trusted ones need only CREATE on the database); and the
# functions added since the first release, so that a kept data directory gets them too. Idempotent.
DATABASE_PRIVILEGES_SQL = """
GRANT CREATE ON SCHEMA public TO PUBLIC;
SET allow_system_table_mods = on;
CREATE OR REPLACE FUNCTION pg_catalog.redshift_refuse_extensions() RETURNS event_trigger LANGUAGE plpgsql
    AS $$ BEGIN
        IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
            RAISE EXCEPTION 'permission denied to create extension'
                USING ERRCODE = '42501', HINT = 'Redshift has no extensions.';
        END IF;
    END $$;
CREATE OR REPLACE FUNCTION pg_catalog.pg_last_unload_count() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT coalesce(nullif(current_setting('redshift.last_unload_count', true), ''), '0')::bigint $$;
{added}
RESET allow_system_table_mods;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'redshift_no_extensions') THEN
        CREATE EVENT TRIGGER redshift_no_extensions ON ddl_command_start WHEN TAG IN ('CREATE EXTENSION')
            EXECUTE FUNCTION pg_catalog.redshift_refuse_extensions();
    END IF;
END $$;
""".replace("{added}", ADDED_SQL + TYPES_SQL)


def login_roles_sql(master_user: str) -> str:
    """Return the statements that keep every login role an ordinary PostgreSQL user (idempotent).

    The master user, like Redshift's, reads and writes every table and creates users and databases, but
    is no PostgreSQL superuser: that would let it run programs and read files on the server. Roles of
    temporary-credentials logins (``IAM:...``) are ordinary users, as Redshift's auto-created ones.
    """
    master = master_user.replace('"', '""')
    literal = master_user.replace("'", "''")
    return f"""
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{literal}') THEN
        ALTER ROLE "{master}" NOSUPERUSER CREATEDB CREATEROLE;
        GRANT pg_read_all_data, pg_write_all_data, pg_signal_backend, pg_monitor TO "{master}";
    END IF;
END $$;
DO $$ DECLARE role_name name; BEGIN
    FOR role_name IN SELECT rolname FROM pg_catalog.pg_roles WHERE rolname ~ '^IAM[AR]?:' AND rolsuper LOOP
        EXECUTE format('ALTER ROLE %I NOSUPERUSER', role_name);
    END LOOP;
END $$;
"""
