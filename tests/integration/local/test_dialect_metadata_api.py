"""redshift_connector's metadata API against the local Redshift: SHOW discovery and the SHOW commands."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def catalog_objects(redshift_connection, redshift_schema):
    cur = redshift_connection.cursor()
    cur.execute(
        f"create table {redshift_schema}.orders (region char(2) not null, id bigint not null, "
        "amount decimal(12,2) default 0, note varchar(40), primary key (region, id))"
    )
    cur.execute(f"create view {redshift_schema}.notes as select note from {redshift_schema}.orders")
    redshift_connection.commit()
    return redshift_schema


def test_the_driver_finds_show_discovery(redshift_connection):
    """The metadata API needs SHOW discovery version 4 or more (redshift_connector, Cursor)."""
    assert redshift_connection.cursor().get_show_discovery_version() >= 4


def test_show_commands_answer_with_redshifts_columns(redshift_connection, catalog_objects):
    """Columns and order as the SHOW TABLES / SHOW COLUMNS / SHOW CONSTRAINTS pages of the SQL reference."""
    cur = redshift_connection.cursor()
    cur.execute(f"show tables from schema dev.{catalog_objects}")
    assert [d[0] for d in cur.description] == [
        "database_name", "schema_name", "table_name", "table_type", "table_acl", "remarks", "owner",
        "last_altered_time", "last_modified_time", "dist_style", "table_subtype",
    ]  # fmt: skip
    assert [tuple(r[:4]) for r in cur.fetchall()] == [
        ("dev", catalog_objects, "notes", "VIEW"),
        ("dev", catalog_objects, "orders", "TABLE"),
    ]
    cur.execute(f"show columns from table dev.{catalog_objects}.orders like '%o%'")
    assert [d[0] for d in cur.description][:12] == [
        "database_name", "schema_name", "table_name", "column_name", "ordinal_position", "column_default",
        "is_nullable", "data_type", "character_maximum_length", "numeric_precision", "numeric_scale",
        "remarks",
    ]  # fmt: skip
    assert [(r[3], r[4], r[6], r[7]) for r in cur.fetchall()] == [
        ("region", 1, "NO", "character"),
        ("amount", 3, "YES", "numeric"),
        ("note", 4, "YES", "character varying"),
    ]
    cur.execute(f"show constraints primary keys from table dev.{catalog_objects}.orders")
    assert [(r[3], r[4]) for r in cur.fetchall()] == [("region", 1), ("id", 2)]
    cur.execute("show schemas from database dev like %s", (catalog_objects,))
    assert [r[1] for r in cur.fetchall()] == [catalog_objects]
    redshift_connection.rollback()


def test_a_show_command_without_its_keywords_names_the_form(redshift_connection):
    """SHOW TABLES takes FROM SCHEMA database.schema ("SHOW TABLES", Redshift SQL reference)."""
    import redshift_connector

    with pytest.raises(redshift_connector.ProgrammingError, match=r"FROM SCHEMA database_name\.schema_name"):
        redshift_connection.cursor().execute("show tables from dev.public")
    redshift_connection.rollback()


def test_get_tables_get_columns_get_primary_keys(redshift_connection, catalog_objects):
    """The driver's get_tables / get_columns / get_primary_keys, which issue SHOW SCHEMAS, TABLES, COLUMNS
    and CONSTRAINTS PRIMARY KEYS (redshift_connector, metadataServerProxy)."""
    cur = redshift_connection.cursor()
    tables = cur.get_tables(schema_pattern=catalog_objects)
    assert [(t[0], t[1], t[2], t[3]) for t in tables] == [
        ("dev", catalog_objects, "notes", "VIEW"),
        ("dev", catalog_objects, "orders", "TABLE"),
    ]
    assert [t[2] for t in cur.get_tables(schema_pattern=catalog_objects, types=["TABLE"])] == ["orders"]
    columns = cur.get_columns(schema_pattern=catalog_objects, tablename_pattern="orders")
    # COLUMN_NAME, TYPE_NAME, COLUMN_SIZE, DECIMAL_DIGITS, IS_NULLABLE as JDBC's getColumns
    assert [(c[3], c[5], c[6], c[8], c[17]) for c in columns] == [
        ("region", "char", 2, 0, "NO"),
        ("id", "int8", 19, 0, "NO"),
        ("amount", "numeric", 12, 2, "YES"),
        ("note", "varchar", 40, 0, "YES"),
    ]
    keys = cur.get_primary_keys(schema=catalog_objects, table="orders")
    assert [(k[3], k[4]) for k in keys] == [("region", 1), ("id", 2)]
    assert cur.get_primary_keys(schema=catalog_objects, table="notes") == ()
    redshift_connection.rollback()


@pytest.fixture
def routines(redshift_connection, redshift_schema):
    """A procedure with IN, INOUT and OUT arguments and a function, in the test's schema (not committed)."""
    cur = redshift_connection.cursor()
    cur.execute(
        f"create procedure {redshift_schema}.load_day(day date, inout n int, out msg varchar) as $$ "
        "begin n := 1; msg := 'x'; end; $$ language plpgsql"
    )
    cur.execute(
        f"create function {redshift_schema}.plus_one(int) returns int stable "
        "as $$ select $1 + 1 $$ language sql"
    )
    return redshift_schema


def test_show_procedures_and_functions_and_the_drivers_get_procedures_get_functions(
    redshift_connection, redshift_schema, routines
):
    """SHOW PROCEDURES / SHOW FUNCTIONS pages (Redshift SQL reference): columns database_name, schema_name,
    procedure_name (function_name), number_of_arguments, argument_list, return_type, remarks; a procedure's
    return_type lists its OUT and INOUT arguments' types (the page's example). redshift_connector's
    get_procedures / get_functions issue them (metadataAPIHelper) and build SPECIFIC_NAME from the name and
    argument_list."""
    cur = redshift_connection.cursor()
    redshift_connection.commit()
    cur.execute(f"show procedures from schema dev.{redshift_schema}")
    assert [d[0] for d in cur.description] == [
        "database_name", "schema_name", "procedure_name", "number_of_arguments", "argument_list",
        "return_type", "remarks",
    ]  # fmt: skip
    assert [tuple(r[:6]) for r in cur.fetchall()] == [
        ("dev", redshift_schema, "load_day", 2, "date, integer", "integer, character varying")
    ]
    cur.execute(f"show functions from schema dev.{redshift_schema} like 'plus%'")
    assert [d[0] for d in cur.description][2] == "function_name"
    assert [tuple(r[:6]) for r in cur.fetchall()] == [
        ("dev", redshift_schema, "plus_one", 1, "integer", "integer")
    ]
    cur.execute(f"show functions from schema dev.{redshift_schema} like 'nothing%'")
    assert cur.fetchall() == ()
    procedures = cur.get_procedures(schema_pattern=redshift_schema)
    assert [(p[0], p[1], p[2], p[8]) for p in procedures] == [
        ("dev", redshift_schema, "load_day", "load_day(date, integer)")
    ]
    functions = cur.get_functions(schema_pattern=redshift_schema)
    assert [(f[2], f[5]) for f in functions] == [("plus_one", "plus_one(integer)")]
    redshift_connection.rollback()


def test_show_parameters_and_the_drivers_get_procedure_columns_get_function_columns(
    redshift_connection, redshift_schema, routines
):
    """SHOW PARAMETERS page (Redshift SQL reference): SHOW PARAMETERS OF {FUNCTION | PROCEDURE}
    [database.]schema.name(argtype, ...) [LIKE 'pattern'], columns database_name, schema_name,
    procedure_name (function_name), parameter_name, ordinal_position, parameter_type, data_type,
    character_maximum_length, numeric_precision, numeric_scale, remarks. The argument types pick one
    overload. parameter_type values are those redshift_connector's metadataAPIHelper maps (IN, INOUT, OUT,
    TABLE, RETURN); get_procedure_columns / get_function_columns send the types of SHOW PROCEDURES /
    SHOW FUNCTIONS' argument_list as bind parameters (metadataServerProxy)."""
    cur = redshift_connection.cursor()
    cur.execute(
        f"create function {redshift_schema}.plus_one(decimal(10,2)) returns decimal(10,2) stable "
        "as $$ select $1 + 1 $$ language sql"
    )
    redshift_connection.commit()
    cur.execute(f"show parameters of procedure dev.{redshift_schema}.load_day(date, integer)")
    assert [d[0] for d in cur.description] == [
        "database_name", "schema_name", "procedure_name", "parameter_name", "ordinal_position",
        "parameter_type", "data_type", "character_maximum_length", "numeric_precision", "numeric_scale",
        "remarks",
    ]  # fmt: skip
    assert [tuple(r[2:7]) for r in cur.fetchall()] == [
        ("load_day", "day", 1, "IN", "date"),
        ("load_day", "n", 2, "INOUT", "integer"),
        ("load_day", "msg", 3, "OUT", "character varying"),
    ]
    cur.execute(f"show parameters of procedure {redshift_schema}.load_day(DATE, INT) like 'm%'")
    assert [r[3] for r in cur.fetchall()] == ["msg"]
    # the types pick the overload, written as Redshift's aliases or in full
    cur.execute(f"show parameters of function {redshift_schema}.plus_one(DECIMAL)")
    assert [tuple(r[3:7]) for r in cur.fetchall()] == [
        (None, 0, "RETURN", "numeric"),
        (None, 1, "IN", "numeric"),
    ]
    cur.execute(f"show parameters of function {redshift_schema}.plus_one(integer)")
    assert [tuple(r[3:7]) for r in cur.fetchall()] == [
        (None, 0, "RETURN", "integer"),
        (None, 1, "IN", "integer"),
    ]
    cur.execute(f"show parameters of function {redshift_schema}.plus_one(date)")
    assert cur.fetchall() == ()
    with pytest.raises(Exception, match='type "intger" does not exist'):
        cur.execute(f"show parameters of function {redshift_schema}.plus_one(intger)")
    redshift_connection.rollback()
    with pytest.raises(Exception, match=r"SHOW PARAMETERS has the form: SHOW PARAMETERS OF \{FUNCTION"):
        cur.execute(f"show parameters of {redshift_schema}.plus_one(int)")
    redshift_connection.rollback()

    from redshift_connector.metadataAPIHelper import FunctionColumnType, ProcedureColumnType

    columns = cur.get_procedure_columns(schema_pattern=redshift_schema)
    # PROCEDURE_NAME, COLUMN_NAME, COLUMN_TYPE (the driver's enum, from parameter_type), TYPE_NAME
    # (the driver's names for SHOW PARAMETERS' data_type: metadataAPIHelper's type map), ORDINAL_POSITION,
    # SPECIFIC_NAME
    assert [(c[2], c[3], c[4], c[6], c[17], c[19]) for c in columns] == [
        ("load_day", "day", ProcedureColumnType.IN, "date", 1, "load_day(date, integer)"),
        ("load_day", "n", ProcedureColumnType.IN_OUT, "int4", 2, "load_day(date, integer)"),
        ("load_day", "msg", ProcedureColumnType.OUT, "varchar", 3, "load_day(date, integer)"),
    ]
    functions = cur.get_function_columns(schema_pattern=redshift_schema)
    assert sorted((f[2], f[4], f[6], f[16]) for f in functions) == [
        ("plus_one", FunctionColumnType.IN, "int4", "plus_one(integer)"),
        ("plus_one", FunctionColumnType.IN, "numeric", "plus_one(numeric)"),
        ("plus_one", FunctionColumnType.RETURN, "int4", "plus_one(integer)"),
        ("plus_one", FunctionColumnType.RETURN, "numeric", "plus_one(numeric)"),
    ]
