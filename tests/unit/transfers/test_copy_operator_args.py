"""The operator's shape, and its arguments checked before any network or SQL."""

from __future__ import annotations

import datetime as dt
import inspect
import sys

import pytest

from airflow_redshift_s3.copy_format import CsvFormat, JsonFormat, ParquetFormat
from airflow_redshift_s3.exceptions import ConfigCheckError, RedshiftS3FailError
from airflow_redshift_s3.sql import SqlInputError, TableName
from airflow_redshift_s3.transfers.copy.request import check_partition_value
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator, redshift_table_asset

ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"


def _op(**kwargs):
    args = {
        "task_id": "load",
        "bucket": "data-bucket",
        "prefix": "in/",
        "table": "sales.orders",
        "iam_role_arn": ROLE,
    }
    args.update(kwargs)
    return S3ToRedshiftCopyOperator(**args)


def test_init_only_stores_arguments_under_template_field_names():
    signature = inspect.signature(S3ToRedshiftCopyOperator.__init__)
    params = [p for p in signature.parameters.values() if p.name not in ("self", "kwargs")]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    from airflow_redshift_s3.operators._aws_base import AwsOperatorBase

    inherited = inspect.signature(AwsOperatorBase.__init__).parameters  # aws_conn_id, region_name, verify
    for name in S3ToRedshiftCopyOperator.template_fields:
        assert name in signature.parameters or name in inherited, name
    op = _op(keys=None, table="not a valid; table", bucket="NOT A BUCKET")  # no check in __init__
    assert op.table == "not a valid; table"


def test_valid_request():
    request = _op(
        column_list=["ID", "name"],
        input_format={"type": "csv", "header_rows": "1"},
        copy_options={"FILLRECORD": True},
        manifest_prefix="m",
    ).validate()
    assert request.target == TableName("orders", "sales")
    assert request.columns == ("id", "name")
    assert request.data_format == CsvFormat(header_rows=1)
    assert request.extra_options == ("FILLRECORD",)
    assert request.skip_loaded is True
    assert request.ledger == TableName("s3_load_ledger", "sales")
    assert (request.manifest_bucket, request.manifest_prefix) == ("data-bucket", "m/")
    assert request.checks == {"role", "region", "access", "format"}


def test_defaults_per_mode():
    assert _op(mode="replace").validate().skip_loaded is False
    assert _op(mode="upsert").validate().skip_loaded is False
    assert _op(mode="upsert", skip_loaded_files=True).validate().skip_loaded is True
    assert _op(use_ledger=False).validate().ledger is None
    assert _op(keys=["a.csv", "b/c.csv", "a.csv"], prefix=None).validate().keys == ("a.csv", "b/c.csv")
    assert _op(keys=["d/a.csv", "d/b.csv"], prefix=None).validate().source_prefix == "d/"
    assert _op(iam_role_arn="default").validate().iam_role == "default"
    request = _op(
        mode="replace_partition", partition_column="load_date", partition_value=dt.date(2026, 11, 27)
    )
    assert request.validate().partition_value == "2026-11-27"


HOSTILE = [
    {"table": 'orders"; DROP TABLE users; --'},
    {"table": "orders; DROP TABLE users"},
    {"table": "sales.orders.x"},
    {"schema": "pg_catalog'--", "table": "orders"},
    {"column_list": ["id", "name) FROM x; --"]},
    {"mode": "upsert", "upsert_keys": ["id = 1 OR 1=1"]},
    {"bucket": "s3://data-bucket/in/"},
    {"bucket": "bucket'; --"},
    {"prefix": "s3://other/"},
    {"prefix": "in/\x00"},
    {"prefix": "in/*.csv"},
    {"prefix": None, "keys": ["a.csv", "/etc/passwd"]},
    {"prefix": None, "keys": "a.csv"},
    {"prefix": None, "keys": []},
    {"keys": ["a.csv"]},
    {"prefix": None},
    {
        "mode": "replace_partition",
        "partition_column": "load_date",
        "partition_value": "2026-11-27'; DELETE FROM x; --",
    },
    {"mode": "replace_partition", "partition_column": "load_date", "partition_value": "x\ny"},
    {"mode": "replace_partition", "partition_column": "load_date", "partition_value": ""},
    {"mode": "replace_partition", "partition_column": "load_date", "partition_value": None},
    {"mode": "replace_partition", "partition_column": "load date", "partition_value": "1"},
    {"mode": "replace_partition"},
    {"partition_column": "load_date"},
    {"mode": "truncate"},
    {"upsert_strategy": "yolo"},
    {"iam_role_arn": "arn:aws:iam::123456789012:role/x' CREDENTIALS 'aws_access_key_id=x"},
    {"iam_role_arn": None},
    {"input_format": {"type": "csv", "delimiter": "',"}},
    {"input_format": "xml"},
    {"copy_options": {"IAM_ROLE": "x"}},
    {"copy_options": {"FILLRECORD; DROP TABLE x": True}},
    {"ledger_table": "ledger; drop"},
    {"manifest_prefix": "m'/"},
    {"manifest_bucket": "Bad Bucket"},
    {"preflight_checks": ["role", "everything"]},
    {"on_region_mismatch": "ignore"},
    {"key_pattern": "*.csv\n"},
]


@pytest.mark.parametrize("kwargs", HOSTILE, ids=[str(sorted(h.items()))[:60] for h in HOSTILE])
def test_hostile_or_wrong_arguments_are_refused_without_retry(kwargs):
    with pytest.raises(RedshiftS3FailError) as caught:
        _op(**kwargs).validate()
    assert "Fix" in str(caught.value) or "expected" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27", "2026-11-27"),
        ("2026-11-27T00:00:00+00:00", "2026-11-27T00:00:00+00:00"),
        ("eu-west/1", "eu-west/1"),
        (20261127, "20261127"),
        (dt.datetime(2026, 11, 27, 1, 2), "2026-11-27T01:02:00"),
    ],
)
def test_partition_values(value, expected):
    assert check_partition_value(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        True,
        None,
        "",
        " x",
        "a'b",
        "a;b",
        "x" * 257,
        [1],
        {"a": 1},
        10**300,
        pytest.param(10**5000, id="int-of-5001-digits"),
    ],
)
def test_partition_values_refused(value):
    with pytest.raises(SqlInputError):
        check_partition_value(value)


def test_key_based_credentials_only_when_allowed():
    request = _op(iam_role_arn=None, allow_key_based_credentials=True).validate()
    assert request.iam_role is None
    with pytest.raises(ConfigCheckError, match="allow_key_based_credentials"):
        _op(iam_role_arn=None).validate()


def test_format_objects_pass_through_templating_and_dicts_are_rendered():
    import jinja2

    op = _op(input_format=JsonFormat(paths="auto ignorecase"), copy_options={"COMPROWS": "{{ params.rows }}"})
    context = {"params": {"rows": 100000}}
    op.render_template_fields(context, jinja2.Environment())
    assert op.input_format == JsonFormat(paths="auto ignorecase")
    assert op.copy_options == {"COMPROWS": "100000"}
    assert op.validate().extra_options == ("COMPROWS 100000",)
    op = _op(input_format={"type": "{{ params.kind }}"})
    op.render_template_fields({"params": {"kind": "parquet"}}, jinja2.Environment())
    assert op.validate().data_format == ParquetFormat()


def test_redshift_table_asset():
    asset = redshift_table_asset(host="my-cluster.us-east-1", database="dev", schema="sales", table="orders")
    assert asset.uri == "redshift://my-cluster.us-east-1:5439/dev/sales/orders"


def test_a_load_that_changed_nothing_adds_no_asset_event():
    """Every file already in the ledger: no event, so DAGs scheduled on the alias do not run for nothing."""
    from airflow.sdk import AssetAlias

    from airflow_redshift_s3.transfers.copy.load import LoadSummary

    class NoEvents(dict):
        def __getitem__(self, key):
            raise AssertionError(f"an event was added to {key}")

    op = _op(outlets=[AssetAlias("loaded")])
    unchanged = LoadSummary(table="sales.orders", mode="append", load_id="l", files_found=2, files_skipped=2)
    op._add_asset_events({"outlet_events": NoEvents()}, None, unchanged)  # None: the hook is not even read
    assert unchanged.warnings == []  # nothing was attempted (an attempt would have warned)


def test_a_load_that_changed_the_table_adds_its_asset_and_a_failure_to_add_it_only_warns():
    """The event is added after COMMIT: it never fails a task whose data is loaded."""
    from types import SimpleNamespace

    from airflow.sdk import AssetAlias

    from airflow_redshift_s3.transfers.copy.load import LoadSummary

    hook = SimpleNamespace(
        conn=SimpleNamespace(schema="dev", host="h"),
        get_openlineage_database_info=lambda conn: SimpleNamespace(authority="my-cluster.us-east-1:5439"),
    )
    added: list[tuple[str, dict]] = []

    class Events(dict):
        def __getitem__(self, alias):
            return SimpleNamespace(add=lambda asset, extra: added.append((asset.uri, extra)))

    op = _op(outlets=[AssetAlias("loaded")])
    op._lineage = {"schema": "sales", "table": "orders"}
    changed = LoadSummary(table="sales.orders", mode="append", load_id="l", files_loaded=1, rows_loaded=3)
    op._add_asset_events({"outlet_events": Events()}, hook, changed)
    assert [(uri, extra["rows_loaded"]) for uri, extra in added] == [
        ("redshift://my-cluster.us-east-1:5439/dev/sales/orders", 3)
    ]
    assert changed.warnings == []
    outside_airflow = LoadSummary(table="sales.orders", mode="append", load_id="m", files_loaded=1)
    op._add_asset_events({}, hook, outside_airflow)  # no outlet_events: execute() called by hand
    (warning,) = outside_airflow.warnings
    assert warning.startswith("The load is committed, but its Asset event could not be added")


def test_lineage_names_follow_the_amazon_provider():
    op = _op()
    inputs, output = op.lineage_names("dev", "my-cluster.us-east-1:5439")
    assert inputs == [("s3://data-bucket", "in/")]
    assert output == ("redshift://my-cluster.us-east-1:5439", "dev.sales.orders")
    keys = _op(prefix=None, keys=["a.csv", "b.csv"], table="orders", schema="s")
    assert keys.lineage_names(None, "h:5439") == (
        [("s3://data-bucket", "a.csv"), ("s3://data-bucket", "b.csv")],
        ("redshift://h:5439", "s.orders"),
    )


def test_openlineage_is_optional(monkeypatch):
    # The test extra installs the OpenLineage provider: hide it as a deployment without it would lack it.
    for name in ("airflow.providers.openlineage", "airflow.providers.openlineage.extractors"):
        monkeypatch.setitem(sys.modules, name, None)
    assert _op().get_openlineage_facets_on_complete(None) is None


def test_importing_the_operator_loads_no_heavy_module():
    import subprocess
    import sys

    heavy = ("boto3", "botocore", "redshift_connector", "pyarrow")
    code = (
        "import sys, airflow.sdk\n"
        f"before = {{m for m in {heavy!r} if m in sys.modules}}\n"
        "import airflow_redshift_s3.transfers.s3_to_redshift_copy, airflow_redshift_s3.copy_format\n"
        f"print(sorted({{m for m in {heavy!r} if m in sys.modules}} - before))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_bucket_region_policy_is_a_deprecated_alias_of_on_region_mismatch():
    from airflow.exceptions import AirflowProviderDeprecationWarning

    args = {"task_id": "t", "bucket": "data", "table": "t", "prefix": "in/", "iam_role_arn": "default"}
    with pytest.warns(AirflowProviderDeprecationWarning, match="pass on_region_mismatch"):
        op = S3ToRedshiftCopyOperator(bucket_region_policy="fail", **args)
    assert op.on_region_mismatch == "fail" and op.validate().region_policy == "fail"
    assert S3ToRedshiftCopyOperator(**args).validate().region_policy == "set_region"
