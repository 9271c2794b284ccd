from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_redshift_s3.exceptions import (
    ConfigCheckError,
    FormatCheckError,
    PermissionCheckError,
    RedshiftS3Error,
    RedshiftS3FailError,
    RegionCheckError,
)
from airflow_redshift_s3.transfers.copy import errors as copy_errors
from airflow_redshift_s3.transfers.copy.preflight import redshift_target

ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"
CONTEXT = copy_errors.CopyContext(
    table="sales.orders",
    bucket="data-bucket",
    prefix="in/2026-11-27/",
    manifest_url="s3://data-bucket/_m/d/r/t/x.manifest",
    iam_role=ROLE,
    redshift_target="cluster 'prod'",
    max_errors=0,
    bucket_region="eu-west-1",
    redshift_region="us-east-1",
)


class _DriverError(Exception):
    """Shaped like redshift_connector.ProgrammingError: args[0] is the server's error fields."""


def _error(message: str, detail: str = "", state: str = "XX000") -> Exception:
    return _DriverError({"S": "ERROR", "C": state, "M": message, "D": detail})


def test_a_refused_statement_fails_without_retry_and_names_the_options():
    error = copy_errors.translate(
        _error("COMPUPDATE argument is not supported for PARQUET based COPY", state="42601"), CONTEXT
    )
    assert isinstance(error, ConfigCheckError) and isinstance(error, AirflowFailException)
    assert "SQLSTATE 42601" in str(error) and "COMPUPDATE argument" in str(error)
    assert "input_format and copy_options" in error.fix


def test_missing_privilege_is_a_permission_failure():
    error = copy_errors.translate(_error("permission denied for relation orders", state="42501"), CONTEXT)
    assert isinstance(error, PermissionCheckError)
    assert "GRANT" in error.fix and "sales.orders" in error.fix


def test_other_server_errors_are_left_to_the_retries():
    assert copy_errors.translate(_error("could not connect to S3", state="XX000"), CONTEXT) is None


def test_role_not_authorized():
    error = copy_errors.translate(
        _error(
            "exception name : UnauthorizedException, error type : 135, message: Not authorized to get "
            f"credentials of role {ROLE}, should retry : 0"
        ),
        CONTEXT,
    )
    assert isinstance(error, PermissionCheckError) and isinstance(error, AirflowFailException)
    assert f"attach role {ROLE} to cluster 'prod'" in error.fix
    assert "trust policy" in error.fix


def test_access_denied_names_the_objects_and_the_manifest():
    error = copy_errors.translate(
        _error("S3ServiceException:Access Denied,Status 403,Error AccessDenied"), CONTEXT
    )
    assert isinstance(error, PermissionCheckError)
    assert "s3:GetObject on arn:aws:s3:::data-bucket/in/2026-11-27/*" in error.fix
    assert "arn:aws:s3:::data-bucket/_m/d/r/t/x.manifest" in error.fix
    manifest = copy_errors.translate(
        _error(
            "Problem reading manifest file - S3ServiceException:Access Denied,Status 403,Error AccessDenied"
        ),
        CONTEXT,
    )
    assert isinstance(manifest, PermissionCheckError)


def test_wrong_region():
    error = copy_errors.translate(
        _error(
            "S3ServiceException:The bucket you are attempting to access must be addressed using the "
            "specified endpoint. Please send all future requests to this endpoint.,Status 301,Error "
            "PermanentRedirect"
        ),
        CONTEXT,
    )
    assert isinstance(error, RegionCheckError)
    assert "add REGION 'eu-west-1'" in error.fix and "us-east-1" in error.fix


def test_no_default_role_and_no_bucket():
    error = copy_errors.translate(
        _error(
            "Default IAM role is not set for the cluster. Set a default IAM role or name the role in "
            "IAM_ROLE."
        ),
        CONTEXT,
    )
    assert isinstance(error, PermissionCheckError) and "iam_role_arn" in error.fix
    gone = copy_errors.translate(
        _error("S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket"),
        CONTEXT,
    )
    assert isinstance(gone, ConfigCheckError) and "data-bucket" in gone.fix


def test_other_failures():
    missing = copy_errors.translate(_error("Problem reading manifest file - key does not exist"), CONTEXT)
    assert isinstance(missing, ConfigCheckError)
    serializable = copy_errors.translate(
        _error(
            "1023 Serializable isolation violation on table - 123, transactions forming the cycle are: 1, 2"
        ),
        CONTEXT,
    )
    assert isinstance(serializable, RedshiftS3Error) and not isinstance(serializable, RedshiftS3FailError)
    assert copy_errors.translate(ConnectionResetError("reset"), CONTEXT) is None
    load = _error("Load into table 'orders' failed.  Check 'stl_load_errors' system table for details.")
    assert copy_errors.translate(load, CONTEXT) is None
    assert copy_errors.is_load_failure(load)
    assert copy_errors.server_message(_error("m", "detail")) == "m\ndetail"


def test_load_error_message():
    rows = [
        copy_errors.LoadErrorRow(
            "s3://data-bucket/in/b.csv",
            2,
            "id",
            "int4",
            1207,
            "Invalid digit, Value 'f'",
            0,
            "four",
            "four,x",
            7,
        ),
        copy_errors.LoadErrorRow("s3://data-bucket/in/b.csv", 9, None, None, 1214, "Delimiter not found"),
    ]
    error = copy_errors.load_error(CONTEXT, rows, "sys_load_error_detail", "Load into table 'orders' failed.")
    text = str(error)
    assert text.startswith(
        "COPY into sales.orders failed: Redshift rejected row(s) of the files (sys_load_error"
    )
    assert (
        "1. s3://data-bucket/in/b.csv, line 2, column id (int4): error 1207: Invalid digit, Value 'f'; "
        in text
    )
    assert "raw value 'four'; raw line 'four,x'" in text
    assert "2. s3://data-bucket/in/b.csv, line 9: error 1214: Delimiter not found" in text
    assert "query 7" in text and "table sales.orders is as it was" in text
    assert isinstance(error, AirflowFailException)
    assert json.dumps([e.to_dict() for e in error.errors])
    empty = copy_errors.load_error(CONTEXT, [], "", "Load into table 'orders' failed.\ndetail")
    assert "no load error was found" in str(empty)


def test_read_load_errors_falls_back_and_merges_raw_values():
    class Cursor:
        def __init__(self, answers):
            self.answers = answers

        def execute(self, sql):
            table = "sys_load_error_detail" if "sys_load_error_detail" in sql else "stl_load_errors"
            self.rows = self.answers[table]()

        def fetchall(self):
            return self.rows

        def close(self):
            pass

    def failing():
        raise RuntimeError("relation does not exist")

    detail = [("s3://b/k ", 2, "id ", "int4", 1207, "Invalid digit ", 0, 5)]
    stl = [("s3://b/k", 2, "id", "int4", 1207, "Invalid digit", 0, 5, "four ", "four,x")]

    class Conn:
        def __init__(self, answers):
            self.answers = answers
            self.rollbacks = 0

        def cursor(self):
            return Cursor(self.answers)

        def rollback(self):
            self.rollbacks += 1

    both = Conn({"sys_load_error_detail": lambda: detail, "stl_load_errors": lambda: stl})
    rows, source = copy_errors.read_load_errors(both, 5)
    assert source == "sys_load_error_detail and stl_load_errors"
    assert (rows[0].file, rows[0].column, rows[0].raw_value, rows[0].reason) == (
        "s3://b/k",
        "id",
        "four",
        "Invalid digit",
    )
    serverless = Conn({"sys_load_error_detail": lambda: detail, "stl_load_errors": failing})
    rows, source = copy_errors.read_load_errors(serverless, 5)
    assert source == "sys_load_error_detail" and rows[0].raw_value is None
    old = Conn({"sys_load_error_detail": failing, "stl_load_errors": lambda: stl})
    rows, source = copy_errors.read_load_errors(old, 5)
    assert source == "stl_load_errors" and rows[0].raw_line == "four,x"


@pytest.mark.parametrize(
    ("connection", "expected"),
    [
        ({"host": "prod.abc123.eu-west-1.redshift.amazonaws.com"}, ("prod", None)),
        ({"host": "wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com"}, (None, "wg")),
        ({"host": "10.0.0.1", "extra": {"cluster_identifier": "prod"}}, ("prod", None)),
        ({"host": "h", "extra": {"is_serverless": True, "serverless_work_group": "wg"}}, (None, "wg")),
        ({"host": "127.0.0.1"}, (None, None)),
    ],
)
def test_redshift_target_from_the_connection(monkeypatch, connection, expected):
    monkeypatch.setenv("AIRFLOW_CONN_RS_TEST", json.dumps({"conn_type": "redshift", **connection}))
    assert redshift_target("rs_test", None, None) == expected
    assert redshift_target("rs_test", "given", None) == ("given", None)


def test_a_file_that_cannot_be_decompressed_is_a_format_failure_naming_it():
    error = copy_errors.translate(
        _error("Failed to decompress s3://data-bucket/in/2026-11-27/b.csv.gz as gzip: truncated"), CONTEXT
    )
    assert isinstance(error, FormatCheckError) and isinstance(error, AirflowFailException)
    assert "s3://data-bucket/in/2026-11-27/b.csv.gz" in error.fix and "GZIP" in error.fix


def test_missing_object_hints_and_the_retryable_error():
    assert copy_errors.may_be_missing_object(_error("S3ServiceException:The specified key does not exist."))
    assert copy_errors.may_be_missing_object(_error("S3ServiceException:Status 404,Error NoSuchKey"))
    assert not copy_errors.may_be_missing_object(_error("Invalid digit, Value 'O'"))
    urls = [f"s3://data-bucket/in/{i}.csv" for i in range(7)]
    error = copy_errors.missing_files_error(CONTEXT, urls, _error("NoSuchKey"))
    assert not isinstance(error, AirflowFailException)  # a retry lists again
    assert "7 file(s)" in str(error) and "s3://data-bucket/in/4.csv and 2 more" in str(error)


class _InterfaceError(Exception):
    """Shaped like redshift_connector.InterfaceError: a message, no server fields."""


def test_a_broken_connection_is_a_retryable_error_saying_a_retry_is_safe():
    broken = _InterfaceError("BrokenPipe: server socket closed. Please check that client side networking")
    assert copy_errors.is_connection_lost(broken)
    assert copy_errors.is_connection_lost(ConnectionResetError(104, "Connection reset by peer"))
    assert not copy_errors.is_connection_lost(_error("Invalid digit, Value 'O'"))
    error = copy_errors.connection_lost_error(CONTEXT, broken)
    assert isinstance(error, RedshiftS3Error) and not isinstance(error, AirflowFailException)
    assert "sales.orders" in str(error) and "BrokenPipe" in str(error) and "retry is safe" in str(error)
