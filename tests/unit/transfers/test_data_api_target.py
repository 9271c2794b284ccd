"""The Data API target's checks and the typing of GetStatementResult fields (no call: pure functions)."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from airflow_redshift_s3.exceptions import ConfigCheckError
from airflow_redshift_s3.transfers.copy.data_api import DataApiTarget, _value


def test_a_cluster_target_needs_a_login_and_a_workgroup_does_not():
    with pytest.raises(ConfigCheckError, match=r"without a login: expected 'db_user'.*or 'secret_arn'"):
        DataApiTarget.from_kwargs({"database": "dev", "cluster_identifier": "c"})
    target = DataApiTarget.from_kwargs({"database": "dev", "workgroup_name": "wg"})
    assert target.hook_kwargs() == {"database": "dev", "workgroup_name": "wg"}
    assert str(target) == "workgroup 'wg', database 'dev'"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cluster_identifier": "c", "db_user": "u"}, "has no 'database'"),
        ({"database": "dev", "cluster_identifier": "c", "workgroup_name": "w", "db_user": "u"}, "names both"),
        ({"database": "dev"}, "names neither"),
        ({"database": "dev", "Database": "dev"}, "unknown key.*Database"),
        ("dev", "expected a dict"),
        ({"database": "dev", "workgroup_name": 7}, r"\['workgroup_name'\] is 7: expected a string"),
        ({"database": "dev", "workgroup_name": "w", "poll_interval": "1"}, "expected a number"),
    ],
)
def test_a_bad_target_is_refused_with_its_fix(kwargs, message):
    with pytest.raises(ConfigCheckError, match=message) as caught:
        DataApiTarget.from_kwargs(kwargs)
    assert "Fix:" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "type_name", "value"),
    [
        ({"isNull": True}, "int4", None),
        ({"longValue": 3}, "int8", 3),
        ({"booleanValue": False}, "bool", False),
        ({"stringValue": "1.50"}, "numeric", decimal.Decimal("1.50")),
        ({"stringValue": "2026-12-01"}, "date", dt.date(2026, 12, 1)),
        ({"stringValue": "2026-12-01 05:06:07.5"}, "timestamp", dt.datetime(2026, 12, 1, 5, 6, 7, 500000)),
        ({"stringValue": "not a date"}, "date", "not a date"),
        ({"stringValue": "x"}, "varchar", "x"),
    ],
)
def test_fields_are_typed_as_redshift_connector_types_them(field, type_name, value):
    assert _value(field, type_name) == value
