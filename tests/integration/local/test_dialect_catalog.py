"""Redshift's catalog through redshift_connector: recorded keys, version(), PG_TABLE_DEF and the SVV views."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration


def _rows(cur, sql, params=None):
    cur.execute(sql, params)
    return [tuple(r) for r in cur.fetchall()]


def _key_columns(cur, schema, table, constraint_type):
    return _rows(
        cur,
        "select kcu.column_name from information_schema.table_constraints tco "
        "join information_schema.key_column_usage kcu on kcu.constraint_name = tco.constraint_name "
        "and kcu.constraint_schema = tco.constraint_schema "
        "where tco.constraint_type = %s and kcu.table_schema = %s and kcu.table_name = %s "
        "order by kcu.ordinal_position",
        (constraint_type, schema, table),
    )


def test_keys_are_recorded_and_duplicates_still_insert(redshift_connection, redshift_schema):
    """Keys are informational: recorded, not enforced.

    Redshift Database Developer Guide, "Table constraints": "Uniqueness, primary key, and foreign key
    constraints are informational only; they are not enforced by Amazon Redshift when you populate a table."
    """
    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.orders (region char(2), id int, code varchar(8) unique, "
        "note varchar(20), primary key (region, id)) diststyle key distkey (id) sortkey (id)"
    )
    cur.execute(f"insert into {redshift_schema}.orders values ('eu', 1, 'a', 'x'), ('eu', 1, 'a', 'y')")
    redshift_connection.commit()
    cur.execute(f"alter table {redshift_schema}.orders add column extra int")
    cur.execute(f"insert into {redshift_schema}.orders (region, id, code) values ('eu', 1, 'a')")
    assert _rows(cur, f"select count(*) from {redshift_schema}.orders") == [(3,)]
    assert _key_columns(cur, redshift_schema, "orders", "PRIMARY KEY") == [("region",), ("id",)]
    assert _key_columns(cur, redshift_schema, "orders", "UNIQUE") == [("code",)]
    redshift_connection.commit()


def test_duplicates_load_through_copy_into_a_keyed_table(
    redshift_connection, redshift_schema, s3_bucket, copy_role_arn, local_redshift
):
    """COPY does not check keys either ("Table constraints", Redshift Database Developer Guide)."""
    local_redshift.aws_client("s3").put_object(Bucket=s3_bucket, Key="k/part.csv", Body=b"1,a\n1,b\n")
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.keyed (id int primary key, v varchar(5))")
    cur.execute(f"copy {redshift_schema}.keyed from 's3://{s3_bucket}/k/' iam_role '{copy_role_arn}' csv")
    assert _rows(cur, f"select id, v from {redshift_schema}.keyed order by v") == [(1, "a"), (1, "b")]
    redshift_connection.commit()


def test_redshift_sql_hook_reads_the_primary_key(local_redshift_env, redshift_connection, redshift_schema):
    """The Amazon provider's RedshiftSQLHook.get_table_primary_key reads information_schema."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.keyed (id int, v varchar(5), constraint pk primary key (id))"
    )
    cur.execute(f"create table {redshift_schema}.unkeyed (id int)")
    redshift_connection.commit()
    hook = RedshiftSQLHook(redshift_conn_id="redshift_default")
    assert hook.get_table_primary_key("keyed", schema=redshift_schema) == ["id"]
    assert hook.get_table_primary_key("unkeyed", schema=redshift_schema) is None


def test_version_is_redshifts(redshift_connection):
    """Redshift SQL reference, "VERSION function": it names PostgreSQL 8.0.2 and the Redshift build."""
    cur = redshift_connection.cursor()
    cur.execute("select version()")
    assert cur.description[0][0] == "version"
    (version,) = cur.fetchone()
    assert re.fullmatch(
        r"PostgreSQL 8\.0\.2 on i686-pc-linux-gnu, compiled by GCC gcc \(GCC\) 3\.4\.2 20041017 "
        r"\(Red Hat 3\.4\.2-6\.fc3\), Redshift 1\.0\.\d+",
        version,
    )


def test_pg_table_def_shows_tables_on_the_search_path(redshift_connection, redshift_schema):
    """PG_TABLE_DEF (Redshift Database Developer Guide): a row per column, for schemas on search_path only."""
    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.items (id bigint not null, name varchar(30), price decimal(8,2))"
    )
    sql = 'select "column", type, "notnull" from pg_table_def where schemaname = %s and tablename = %s'
    sql += " order by 1"
    assert _rows(cur, sql, (redshift_schema, "items")) == []
    cur.execute(f"set search_path to '$user', public, {redshift_schema}")
    assert _rows(cur, sql, (redshift_schema, "items")) == [
        ("id", "bigint", True),
        ("name", "character varying(30)", False),
        ("price", "numeric(8,2)", False),
    ]
    cur.execute("select * from pg_table_def limit 0")
    assert [d[0] for d in cur.description] == [
        "schemaname", "tablename", "column", "type", "encoding", "distkey", "sortkey", "notnull"
    ]  # fmt: skip
    redshift_connection.rollback()


def test_svv_tables_and_columns(redshift_connection, redshift_schema):
    """SVV_TABLES, SVV_ALL_TABLES, SVV_COLUMNS, SVV_ALL_COLUMNS: the columns their guide pages list."""
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.items (id int not null, name varchar(30))")
    cur.execute(f"create view {redshift_schema}.names as select name from {redshift_schema}.items")
    assert _rows(
        cur,
        "select table_catalog, table_name, table_type from svv_tables where table_schema = %s order by 2",
        (redshift_schema,),
    ) == [("dev", "items", "BASE TABLE"), ("dev", "names", "VIEW")]
    assert _rows(
        cur,
        "select database_name, table_name, table_type from svv_all_tables where schema_name = %s order by 2",
        (redshift_schema,),
    ) == [("dev", "items", "TABLE"), ("dev", "names", "VIEW")]
    assert _rows(
        cur,
        "select column_name, ordinal_position, is_nullable, data_type, character_maximum_length "
        "from svv_columns where table_schema = %s and table_name = 'items' order by 2",
        (redshift_schema,),
    ) == [("id", 1, "NO", "integer", None), ("name", 2, "YES", "character varying", 30)]
    cur.execute("select * from svv_all_columns limit 0")
    assert [d[0] for d in cur.description] == [
        "database_name", "schema_name", "table_name", "column_name", "ordinal_position", "column_default",
        "is_nullable", "data_type", "character_maximum_length", "numeric_precision", "numeric_scale",
        "remarks",
    ]  # fmt: skip
    redshift_connection.rollback()


def test_svv_table_info_counts_rows_of_non_empty_tables(redshift_connection, redshift_schema):
    """SVV_TABLE_INFO (Database Developer Guide): no row for an empty table; tbl_rows; max_varchar."""
    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.full_t (id int, a varchar(40), b varchar(300))")
    cur.execute(f"create table {redshift_schema}.empty_t (id int)")
    cur.execute(f"insert into {redshift_schema}.full_t values (1, 'x', 'y'), (2, 'x', 'y'), (3, null, null)")
    assert _rows(
        cur,
        'select "table", tbl_rows, max_varchar, size > 0 from svv_table_info where schema = %s',
        (redshift_schema,),
    ) == [("full_t", 3, 300, True)]
    redshift_connection.rollback()


def test_insert_data_bulk_validates_through_svv_all_tables(redshift_connection, redshift_schema, tmp_path):
    """redshift_connector's Cursor.insert_data_bulk checks the table and columns in SVV_ALL_TABLES/COLUMNS."""
    import redshift_connector

    cur = redshift_connection.cursor()
    cur.execute(f"create table {redshift_schema}.people (id int, name varchar(20))")
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("id,name,ignored\n1,ann,x\n2,bob,y\n3,cy,z\n")
    table = f"{redshift_schema}.people"
    cur.insert_data_bulk(str(csv_file), table, [0, 1], ["id", "name"], ",", batch_size=2)
    assert _rows(cur, f"select id, name from {table} order by id") == [(1, "ann"), (2, "bob"), (3, "cy")]
    with pytest.raises(redshift_connector.InterfaceError, match="Invalid column name"):
        cur.insert_data_bulk(str(csv_file), table, [0], ["nope"], ",")
    with pytest.raises(redshift_connector.InterfaceError, match="Invalid table name"):
        cur.insert_data_bulk(str(csv_file), f"{redshift_schema}.nobody", [0], ["id"], ",")
    redshift_connection.rollback()


@pytest.mark.parametrize(
    ("view", "columns"),
    [
        # SVV_EXTERNAL_SCHEMAS page: esoid oid, eskind smallint, schemaname name, esowner integer,
        # databasename text, esoptions text
        (
            "svv_external_schemas",
            [("esoid", 26), ("eskind", 21), ("schemaname", 19), ("esowner", 23), ("databasename", 25),
             ("esoptions", 25)],
        ),
        # STL_UNDONE page: userid integer, xact_id bigint, xact_id_undone bigint, undo_start_ts timestamp,
        # undo_end_ts timestamp, table_id bigint
        (
            "stl_undone",
            [("userid", 23), ("xact_id", 20), ("xact_id_undone", 20), ("undo_start_ts", 1114),
             ("undo_end_ts", 1114), ("table_id", 20)],
        ),
    ],
)  # fmt: skip
def test_empty_system_views_have_redshifts_columns(redshift_connection, view, columns):
    """SVV_EXTERNAL_SCHEMAS and STL_UNDONE pages: the columns and types (as type OIDs); the local Redshift
    has no external schemas and undoes no transactions, so both are empty, for every user."""
    cur = redshift_connection.cursor()
    cur.execute(f"select * from {view}")
    assert [(d[0], d[1]) for d in cur.description] == columns
    assert cur.fetchall() == ()
    redshift_connection.rollback()


def test_pg_proc_info_shows_procedure_argument_modes(redshift_connection, redshift_schema):
    """PG_PROC_INFO page: PG_PROC's columns with oid as prooid, plus prokind ('p' for a stored procedure,
    'f' for a function), proargmodes ('i', 'o', 'b'; NULL when all are IN) and proallargtypes (NULL when
    all are IN)."""
    s = redshift_schema
    cur = redshift_connection.cursor()
    cur.execute(
        f"create procedure {s}.double_it(a in int, b inout int, c out int) as $$ "
        "begin b := b * 2; c := a + b; end; $$ language plpgsql"
    )
    cur.execute(
        f"create function {s}.plus_one(int) returns int immutable as $$ select $1 + 1 $$ language sql"
    )
    rows = _rows(
        cur,
        "select proname, prokind, proargmodes::text, proallargtypes::text, proargnames::text "
        "from pg_proc_info i join pg_namespace n on n.oid = i.pronamespace "
        "where n.nspname = %s order by proname",
        (s,),
    )
    assert rows == [
        ("double_it", "p", "{i,b,o}", "{23,23,23}", "{a,b,c}"),
        ("plus_one", "f", None, None, None),
    ]
    cur.execute("select prooid from pg_proc_info where proname = 'plus_one'")
    assert cur.description[0][0] == "prooid"
    redshift_connection.rollback()
