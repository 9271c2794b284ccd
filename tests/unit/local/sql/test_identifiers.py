"""The session's identifier case setting, followed through SET and RESET."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.local.sql.identifiers import IdentifierCase
from airflow_redshift_s3.local.sql.tokens import render, split_statements


@pytest.mark.parametrize(
    ("statement", "sensitive"),
    [
        ("set enable_case_sensitive_identifier to true", True),
        ("SET SESSION enable_case_sensitive_identifier = 'on'", True),
        ("set enable_case_sensitive_identifier to off", False),
        ("set search_path to public", None),
    ],
)
def test_set_statements(statement, sensitive):
    case = IdentifierCase(sensitive=not sensitive if sensitive is not None else True)
    case.note(split_statements(statement)[0])
    assert case.sensitive is (sensitive if sensitive is not None else True)


def test_reset_and_folding():
    case = IdentifierCase(sensitive=True)
    tokens = split_statements('select "Id" from "T"')[0]
    assert render(case.fold(tokens)) == 'select "Id" from "T"'
    case.note(split_statements("reset all")[0])
    assert render(case.fold(tokens)) == 'select "id" from "t"'
