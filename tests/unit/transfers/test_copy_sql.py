"""The SQL of each load mode, pinned."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_redshift_s3 import ledger
from airflow_redshift_s3.copy_format import CsvFormat, ParquetFormat
from airflow_redshift_s3.sql import SqlInputError, TableName
from airflow_redshift_s3.transfers.copy import plan as copy_sql

ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"
MANIFEST = "s3://data-bucket/_airflow_copy_manifests/d/r/t/load.manifest"
TARGET = TableName("orders", "sales")
SOURCE = copy_sql.CopySource(manifest_url=MANIFEST, iam_role=ROLE, data_format=CsvFormat(header_rows=1))
COPY_ORDERS = (
    f"""COPY "sales"."orders" FROM '{MANIFEST}' IAM_ROLE '{ROLE}' MANIFEST FORMAT AS CSV IGNOREHEADER AS 1"""
)
COUNT = "SELECT pg_last_copy_count(), pg_last_copy_id()"


def _sql(steps):
    return [(step.name, step.statement.sql, step.statement.params) for step in steps]


def test_append():
    assert _sql(copy_sql.plan_append(TARGET, None, SOURCE)) == [
        ("lock", 'LOCK "sales"."orders"', None),
        ("copy", COPY_ORDERS, None),
        ("copy_count", COUNT, None),
    ]


def test_append_with_column_list_region_and_options():
    source = copy_sql.CopySource(
        manifest_url=MANIFEST,
        iam_role="default",
        data_format=CsvFormat(compression="gzip"),
        extra_options=("FILLRECORD", "STATUPDATE ON"),
        region="eu-west-1",
    )
    steps = copy_sql.plan_append(TARGET, ["id", "name"], source)
    assert steps[1].statement.sql == (
        f"""COPY "sales"."orders" ("id", "name") FROM '{MANIFEST}' IAM_ROLE default REGION AS 'eu-west-1' """
        "MANIFEST FORMAT AS CSV GZIP FILLRECORD STATUPDATE ON"
    )


def test_replace_deletes_in_the_transaction_and_never_truncates():
    steps = copy_sql.plan_replace(TARGET, None, SOURCE)
    assert _sql(steps) == [
        ("lock", 'LOCK "sales"."orders"', None),
        ("delete", 'DELETE FROM "sales"."orders"', None),
        ("copy", COPY_ORDERS, None),
        ("copy_count", COUNT, None),
    ]
    assert not any("TRUNCATE" in step.statement.sql.upper() for step in steps)


def test_replace_partition_with_the_partition_column_absent_from_the_files():
    steps = copy_sql.plan_replace_partition(
        TARGET, ["id", "amount"], "load_date", "date", "2026-11-27", SOURCE, "s3copy_stage_1"
    )
    assert _sql(steps) == [
        ("lock", 'LOCK "sales"."orders"', None),
        (
            "stage",
            'CREATE TEMP TABLE "s3copy_stage_1" AS SELECT "id", "amount" FROM "sales"."orders" WHERE 1 = 0',
            None,
        ),
        (
            "copy",
            f"""COPY "s3copy_stage_1" ("id", "amount") FROM '{MANIFEST}' IAM_ROLE '{ROLE}' MANIFEST """
            "FORMAT AS CSV IGNOREHEADER AS 1 COMPUPDATE OFF STATUPDATE OFF",
            None,
        ),
        ("copy_count", COUNT, None),
        ("delete", 'DELETE FROM "sales"."orders" WHERE "load_date" = CAST(%s AS date)', ("2026-11-27",)),
        (
            "insert",
            'INSERT INTO "sales"."orders" ("id", "amount", "load_date") SELECT "id", "amount", CAST(%s AS '
            "date) "
            'FROM "s3copy_stage_1"',
            ("2026-11-27",),
        ),
        ("drop", 'DROP TABLE "s3copy_stage_1"', None),
    ]


def test_replace_partition_with_the_partition_column_in_the_files_checks_every_row():
    steps = copy_sql.plan_replace_partition(
        TARGET, ["id", "load_date"], "load_date", "character varying", "eu", SOURCE, "s3copy_stage_1"
    )
    by_name = {step.name: (step.statement.sql, step.statement.params) for step in steps}
    assert by_name["check_partition"] == (
        'SELECT COUNT(*) FROM "s3copy_stage_1" WHERE "load_date" IS NULL OR "load_date" <> '
        "CAST(%s AS character varying)",
        ("eu",),
    )
    assert by_name["insert"] == (
        'INSERT INTO "sales"."orders" ("id", "load_date") SELECT "id", "load_date" FROM "s3copy_stage_1"',
        None,
    )
    assert [s.name for s in steps].index("check_partition") < [s.name for s in steps].index("delete")


def test_upsert_merge():
    steps = copy_sql.plan_upsert(TARGET, ["id", "name", "amount"], ["id"], SOURCE, "s3copy_stage_1")
    assert _sql(steps) == [
        ("lock", 'LOCK "sales"."orders"', None),
        (
            "stage",
            'CREATE TEMP TABLE "s3copy_stage_1" AS SELECT "id", "name", "amount", CAST(NULL AS INTEGER) AS '
            '"s3copy_file" FROM "sales"."orders" WHERE 1 = 0',
            None,
        ),
        (
            "copy",
            f"""COPY "s3copy_stage_1" ("id", "name", "amount") FROM '{MANIFEST}' IAM_ROLE '{ROLE}' """
            "MANIFEST FORMAT AS CSV IGNOREHEADER AS 1 COMPUPDATE OFF STATUPDATE OFF",
            None,
        ),
        ("copy_count", COUNT, None),
        (
            "duplicates",
            'SELECT "id", COUNT(*) FROM (SELECT DISTINCT "id", "name", "amount" FROM "s3copy_stage_1") AS '
            '"s3copy_distinct" GROUP BY "id" HAVING COUNT(*) > 1 ORDER BY "id" LIMIT 10',
            None,
        ),
        (
            "dedup",
            'CREATE TEMP TABLE "s3copy_stage_1_dedup" AS SELECT "id", "name", "amount" FROM (SELECT "id", '
            '"name", "amount", ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "id") AS "s3copy_row" FROM '
            '"s3copy_stage_1") AS "s3copy_ranked" WHERE "s3copy_row" = 1',
            None,
        ),
        (
            "target_duplicates",
            'SELECT "s3copy_target"."id", COUNT(*) FROM "sales"."orders" AS "s3copy_target" JOIN '
            '"s3copy_stage_1_dedup" AS "s3copy_source" ON "s3copy_target"."id" = "s3copy_source"."id" '
            'GROUP BY "s3copy_target"."id" HAVING COUNT(*) > 1 LIMIT 10',
            None,
        ),
        (
            "counts",
            'SELECT (SELECT COUNT(*) FROM "s3copy_stage_1_dedup"), (SELECT COUNT(*) FROM '
            '"s3copy_stage_1_dedup" AS '
            '"s3copy_source" WHERE EXISTS (SELECT 1 FROM "sales"."orders" WHERE "sales"."orders"."id" = '
            '"s3copy_source"."id"))',
            None,
        ),
        (
            "merge",
            'MERGE INTO "sales"."orders" USING "s3copy_stage_1_dedup" AS "s3copy_source" ON '
            '"sales"."orders"."id" = '
            '"s3copy_source"."id" WHEN MATCHED THEN UPDATE SET "name" = "s3copy_source"."name", "amount" = '
            '"s3copy_source"."amount" WHEN NOT MATCHED THEN INSERT ("id", "name", "amount") VALUES '
            '("s3copy_source"."id", "s3copy_source"."name", "s3copy_source"."amount")',
            None,
        ),
        ("drop", 'DROP TABLE "s3copy_stage_1_dedup"', None),
        ("drop", 'DROP TABLE "s3copy_stage_1"', None),
    ]


def test_upsert_keep_greatest_ranks_on_the_order_column_and_reports_ties():
    steps = copy_sql.plan_upsert(TARGET, ["id", "name", "v"], ["id"], SOURCE, "stg", order_by="v")
    by_name = {step.name: step.statement.sql for step in steps}
    assert 'ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "v" DESC NULLS LAST)' in by_name["dedup"]
    assert by_name["duplicates"] == (
        'SELECT "id", COUNT(*) FROM (SELECT "id", RANK() OVER (PARTITION BY "id" ORDER BY "v" DESC NULLS '
        'LAST) AS "s3copy_rank" FROM (SELECT DISTINCT "id", "name", "v" FROM "stg") AS "s3copy_distinct") AS '
        '"s3copy_ranked" WHERE "s3copy_rank" = 1 GROUP BY "id" HAVING COUNT(*) > 1 ORDER BY "id" LIMIT 10'
    )


def test_upsert_keep_last_file_copies_each_file_and_tags_its_rows():
    first = copy_sql.CopySource("s3://b/m-1.manifest", ROLE, CsvFormat())
    second = copy_sql.CopySource("s3://b/m-2.manifest", ROLE, CsvFormat())
    steps = copy_sql.plan_upsert(
        TARGET,
        ["id", "name"],
        ["id"],
        SOURCE,
        "stg",
        order_by=copy_sql.FILE_ORDER,
        file_sources=[first, second],
    )
    names = [s.name for s in steps]
    assert names[:9] == [
        "lock", "stage", "copy", "copy_count", "tag_file", "copy", "copy_count", "tag_file", "duplicates"
    ]  # fmt: skip
    copies = [s.statement.sql for s in steps if s.name == "copy"]
    assert ["s3://b/m-1.manifest" in copies[0], "s3://b/m-2.manifest" in copies[1]] == [True, True]
    tags = [s.statement.sql for s in steps if s.name == "tag_file"]
    assert tags == [
        'UPDATE "stg" SET "s3copy_file" = 1 WHERE "s3copy_file" IS NULL',
        'UPDATE "stg" SET "s3copy_file" = 2 WHERE "s3copy_file" IS NULL',
    ]
    dedup = next(s.statement.sql for s in steps if s.name == "dedup")
    assert 'ORDER BY "s3copy_file" DESC NULLS LAST' in dedup
    with pytest.raises(ValueError, match="one source per file"):
        copy_sql.plan_upsert(TARGET, ["id"], ["id"], SOURCE, "stg", order_by=copy_sql.FILE_ORDER)


def test_upsert_delete_insert_with_a_composite_key_honours_the_column_list():
    steps = copy_sql.plan_upsert(TARGET, ["a", "b", "v"], ["a", "b"], SOURCE, "stg", strategy="delete_insert")
    by_name = {step.name: step.statement.sql for step in steps}
    assert "merge" not in by_name
    assert by_name["delete_matched"] == (
        'DELETE FROM "sales"."orders" USING "stg_dedup" WHERE "sales"."orders"."a" = "stg_dedup"."a" AND '
        '"sales"."orders"."b" = "stg_dedup"."b"'
    )
    assert (
        by_name["insert"]
        == 'INSERT INTO "sales"."orders" ("a", "b", "v") SELECT "a", "b", "v" FROM "stg_dedup"'
    )
    # no rule: only rows equal in every column can share a key here (the "duplicates" step), so any wins
    assert 'PARTITION BY "a", "b" ORDER BY "a", "b"' in by_name["dedup"]


def test_upsert_when_every_column_is_a_key():
    steps = copy_sql.plan_upsert(TARGET, ["id"], ["id"], SOURCE, "stg")
    merge = next(s.statement.sql for s in steps if s.name == "merge")
    assert 'UPDATE SET "id" = "s3copy_source"."id"' in merge
    with pytest.raises(SqlInputError, match="upsert_strategy"):
        copy_sql.plan_upsert(TARGET, ["id"], ["id"], SOURCE, "stg", strategy="replace")


def test_staging_copy_replaces_the_users_compupdate_and_statupdate():
    source = copy_sql.CopySource(MANIFEST, ROLE, CsvFormat(), extra_options=("COMPUPDATE ON", "FILLRECORD"))
    sql = copy_sql.copy_statement('"stg"', ["a"], source, staging=True).sql
    assert sql.endswith("MANIFEST FORMAT AS CSV FILLRECORD COMPUPDATE OFF STATUPDATE OFF")


def test_staging_copy_of_parquet_has_no_compupdate():
    # "COPY from columnar data formats": STATUPDATE is accepted, COMPUPDATE is not.
    source = copy_sql.CopySource(
        MANIFEST, ROLE, ParquetFormat(), extra_options=("COMPUPDATE ON", "FILLRECORD")
    )
    sql = copy_sql.copy_statement('"stg"', ["a"], source, staging=True).sql
    assert sql.endswith("MANIFEST FORMAT AS PARQUET FILLRECORD STATUPDATE OFF")
    assert "COMPUPDATE" not in sql


def test_key_based_credentials_are_masked_in_str_and_repr():
    source = copy_sql.CopySource(
        MANIFEST,
        "default",
        CsvFormat(),
        credentials=copy_sql.KeyCredentials("AKIAEXAMPLE", "test-secret/value", "test-session-token"),
    )
    statement = copy_sql.copy_statement(TARGET.sql, None, source)
    assert "SECRET_ACCESS_KEY 'test-secret/value'" in statement.sql
    assert "IAM_ROLE" not in statement.sql
    for shown in (str(statement), repr(statement), repr(source)):
        assert "test-secret" not in shown
        assert "test-session-token" not in shown


@pytest.mark.parametrize(
    "role", ["arn:aws:iam::123:role/x", "role/x", "arn:aws:iam::123456789012:role/x' --", "", None]
)
def test_role_is_checked(role):
    source = copy_sql.CopySource(MANIFEST, role, CsvFormat())
    with pytest.raises(SqlInputError, match="iam_role_arn"):
        copy_sql.copy_statement(TARGET.sql, None, source)


def test_region_and_partition_type_are_checked():
    source = copy_sql.CopySource(MANIFEST, ROLE, CsvFormat(), region="eu-west-1'; --")
    with pytest.raises(SqlInputError, match="region"):
        copy_sql.copy_statement(TARGET.sql, None, source)
    with pytest.raises(SqlInputError, match="type"):
        copy_sql.plan_replace_partition(TARGET, ["a"], "d", "date); DROP TABLE x; --", "1", SOURCE, "stg")
    assert copy_sql.check_role(" Default ") == "default"


def test_ledger_entry_fields_are_the_ledger_columns_in_order():
    import dataclasses

    names = tuple(f.name for f in dataclasses.fields(ledger.LedgerEntry))
    assert names == tuple(name for name, _ in ledger.LEDGER_COLUMNS)


def test_ledger_statements():
    table = TableName("s3_load_ledger", "sales")
    create = ledger.create_ledger(table).sql
    assert create.startswith(
        'CREATE TABLE IF NOT EXISTS "sales"."s3_load_ledger" ("load_id" VARCHAR(36) NOT NULL, '
    )
    assert create.endswith('DISTSTYLE AUTO SORTKEY ("target_schema", "target_name", "bucket", "object_key")')
    when = dt.datetime(2026, 11, 27, 1, 2, 3)
    entries = [
        ledger.LedgerEntry(
            "id1",
            "sales.orders",
            "sales",
            "orders",
            "b",
            f"k{i}",
            "e",
            10,
            "append",
            None,
            None,
            5,
            2,
            "d",
            "r",
            "t",
            -1,
            1,
            when,
        )
        for i in range(ledger.INSERT_BATCH + 1)
    ]
    inserts = ledger.insert_entries(table, entries)
    assert len(inserts) == 2
    assert inserts[1].sql == (
        'INSERT INTO "sales"."s3_load_ledger" ("load_id", "target_table", "target_schema", "target_name", '
        '"bucket", "object_key", "etag", "size_bytes", "load_mode", "partition_column", "partition_value", '
        '"load_rows", "load_files", "dag_id", "run_id", "task_id", "map_index", "try_number", "loaded_at") '
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    assert inserts[1].params == (
        "id1", "sales.orders", "sales", "orders", "b", "k200", "e", 10, "append", None, None, 5, 2, "d", "r",
        "t", -1, 1, when,
    )  # fmt: skip
    # The schema and the name are matched apart: "p.q"."r" and p."q.r" share the text p.q.r, not the rows.
    (select,) = ledger.select_loaded(table, TableName("orders", "sales"), "b", ["k1", "k'2"])
    assert select.sql == (
        'SELECT "object_key", "etag", "loaded_at" FROM "sales"."s3_load_ledger" WHERE "target_schema" = %s '
        'AND "target_name" = %s AND "bucket" = %s AND "object_key" IN (%s, %s)'
    )
    assert select.params == ("sales", "orders", "b", "k1", "k'2")
    last = ledger.select_last_load_id(table, TableName("orders", "sales"), ("load_date", "2026-11-27"))
    assert last.sql == (
        'SELECT "load_id" FROM "sales"."s3_load_ledger" WHERE "target_schema" = %s AND "target_name" = %s '
        'AND "partition_column" = %s AND "partition_value" = %s ORDER BY "loaded_at" DESC LIMIT 1'
    )
    assert last.params == ("sales", "orders", "load_date", "2026-11-27")


def test_latest_etag_wins():
    old, new = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)
    rows = [("a", "e1", old), ("a", "e2", new), ("b", "x", old)]
    assert ledger.latest_etags(rows) == {"a": ("e2", new), "b": ("x", old)}
    assert ledger.latest_etags(list(reversed(rows))) == {"a": ("e2", new), "b": ("x", old)}
