"""The Data API's pure parts: placeholders, typed fields and pages (no server needed)."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pytest

from airflow_redshift_s3.local.aws.redshift_data.exceptions import ValidationException
from airflow_redshift_s3.local.aws.redshift_data.parameters import bind, validate
from airflow_redshift_s3.local.aws.redshift_data.results import PAGE_BYTES, ResultSet, field


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select :a, :b, :a", ("select $1, $2, $1", ["1", "2"])),
        ("select x::int, :a::int", ("select x::int, $1::int", ["1"])),
        ("select ':a', \"x:a\", E'\\' :a', $$ :a $$, $t$ :a $t$", None),
        ("select 1 -- :a\n/* :b */ + :b", ("select 1 -- :a\n/* :b */ + $1", ["2"])),
        ("select arr[1:2], :a", ("select arr[1:2], $1", ["1"])),
    ],
)
def test_placeholders_outside_strings_comments_and_casts(sql, expected):
    values = {"a": "1", "b": "2"}
    assert bind(sql, values) == (expected or (sql, []))


def test_validation_names_the_missing_or_malformed_parameter():
    with pytest.raises(ValidationException, match=r"uses :b but Parameters has no value named 'b'"):
        validate(["select :a, :b"], [{"name": "a", "value": "1"}])
    with pytest.raises(ValidationException, match="must match"):
        validate(["select 1"], [{"name": "a-b", "value": "1"}])
    with pytest.raises(ValidationException, match="non-empty string"):
        validate(["select :a"], [{"name": "a", "value": ""}])
    validate(["select ':b'"], [{"name": "a", "value": "1"}])  # a name in a string needs no value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {"isNull": True}),
        (True, {"booleanValue": True}),
        (2**40, {"longValue": 2**40}),
        (0.5, {"doubleValue": 0.5}),
        (decimal.Decimal("12.50"), {"stringValue": "12.50"}),
        (dt.date(2026, 11, 30), {"stringValue": "2026-11-30"}),
        (dt.datetime(2026, 11, 30, 10, 20, 30), {"stringValue": "2026-11-30 10:20:30"}),
        (dt.datetime(2026, 11, 30, 10, 20, 30, 120000), {"stringValue": "2026-11-30 10:20:30.12"}),
        (
            dt.datetime(2026, 11, 30, 10, 20, 30, 500000, tzinfo=dt.timezone.utc),
            {"stringValue": "2026-11-30 10:20:30.5+00"},
        ),
        (dt.time(8, 0, 1), {"stringValue": "08:00:01"}),
        (b"\x01\x02", {"blobValue": b"\x01\x02"}),
        ("text", {"stringValue": "text"}),
    ],
)
def test_fields_carry_the_documented_types(value, expected):
    assert field(value) == expected


def test_pages_stay_under_the_page_size_and_tokens_belong_to_their_statement():
    rows = [(n, "x" * 100) for n in range(2000)]
    result = ResultSet([], rows)
    seen, token, pages = [], None, 0
    while True:
        records, token = result.page("s1", token)
        assert len(json.dumps(records)) <= PAGE_BYTES
        seen += [record[0]["longValue"] for record in records]
        pages += 1
        if token is None:
            break
    assert seen == list(range(2000)) and pages > 2
    _, token = result.page("s1", None)
    with pytest.raises(ValidationException, match="another statement"):
        result.page("s2", token)
    with pytest.raises(ValidationException, match="not a token"):
        result.page("s1", "garbage")
