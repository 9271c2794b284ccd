from __future__ import annotations

import json
import logging

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_redshift_s3.checks import (
    CheckResult,
    CheckStatus,
    failures,
    log_results,
    raise_for_failures,
    warnings,
)
from airflow_redshift_s3.exceptions import (
    ConfigCheckError,
    FormatCheckError,
    PermissionCheckError,
    RedshiftS3Error,
    RegionCheckError,
    RoleApplyTimeoutError,
)


def test_constructors_and_json():
    ok = CheckResult.ok("a", "config", "fine", count=2)
    warning = CheckResult.warning("b", "region", "hmm", "do this")
    failure = CheckResult.failure("c", "permission", "no", "grant it", decision="implicitDeny")
    assert (ok.status, warning.status, failure.status) == (
        CheckStatus.OK,
        CheckStatus.WARNING,
        CheckStatus.FAILURE,
    )
    assert failure.failed and not warning.failed
    assert json.loads(json.dumps(failure.to_dict())) == {
        "name": "c",
        "status": "failure",
        "category": "permission",
        "message": "no",
        "fix": "grant it",
        "details": {"decision": "implicitDeny"},
    }
    assert failure.text() == "FAILURE [permission] Fix: grant it\n    no"
    assert ok.text() == "OK [config] fine"
    assert failures([ok, warning, failure]) == [failure]
    assert warnings([ok, warning, failure]) == [warning]


def test_category_is_validated():
    with pytest.raises(ValueError, match="category"):
        CheckResult.ok("a", "network", "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("category", "error"),
    [
        ("permission", PermissionCheckError),
        ("region", RegionCheckError),
        ("format", FormatCheckError),
        ("config", ConfigCheckError),
    ],
)
def test_raise_for_failures_uses_the_first_failures_category(category, error):
    first = CheckResult.failure("x", category, "first problem.", "fix one")
    second = CheckResult.failure("y", "config", "second problem.", "fix two")
    with pytest.raises(error) as raised:
        raise_for_failures([CheckResult.ok("o", "config", "fine"), first, second])
    assert isinstance(raised.value, AirflowFailException)  # no retry can fix a failed check
    assert raised.value.results == [first, second]
    assert raised.value.fix == "fix one"
    assert str(raised.value).splitlines() == [
        "2 checks failed:",
        f"FAILURE [{category}] Fix: fix one",
        "    first problem.",
        "FAILURE [config] Fix: fix two",
        "    second problem.",
    ]


def test_no_failure_raises_nothing():
    raise_for_failures([CheckResult.warning("w", "region", "hmm", "do this")])


def test_retryable_errors_are_not_fail_exceptions():
    assert issubclass(RoleApplyTimeoutError, RedshiftS3Error)
    assert issubclass(RedshiftS3Error, AirflowException)
    assert not issubclass(RoleApplyTimeoutError, AirflowFailException)


def test_log_results_uses_the_level_of_the_status(caplog):
    logger = logging.getLogger("checks-test")
    with caplog.at_level(logging.INFO, logger="checks-test"):
        log_results(
            [
                CheckResult.ok("o", "config", "fine"),
                CheckResult.warning("w", "region", "hmm", "do"),
                CheckResult.failure("f", "format", "bad", "fix"),
            ],
            logger,
        )
    assert [r.levelname for r in caplog.records] == ["INFO", "WARNING", "ERROR"]
