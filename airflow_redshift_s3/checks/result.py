"""The shape every check returns, and how a list of them becomes a log, an XCom or an exception."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_redshift_s3.exceptions import error_for_category

Category = Literal["permission", "region", "format", "config"]
CATEGORIES: tuple[str, ...] = ("permission", "region", "format", "config")


class CheckStatus(str, enum.Enum):
    """Outcome of one check."""

    OK = "ok"
    WARNING = "warning"
    FAILURE = "failure"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check, shared by the operators and the ``doctor`` command.

    :param name: stable identifier of the check, e.g. ``"bucket.region"``.
    :param status: ok, warning or failure.
    :param category: which of the failures COPY meets this check prevents.
    :param message: what was checked, on which resource, what was expected and what was found.
    :param fix: what to do about a warning or failure (None when ok).
    :param details: small JSON-able facts the check found (a region, a count); ``doctor_fix`` is the fix in
        the doctor command's flags when they differ from the Python arguments.
    """

    name: str
    status: CheckStatus
    category: Category
    message: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}, got {self.category!r}")

    @classmethod
    def ok(cls, name: str, category: Category, message: str, **details: Any) -> CheckResult:
        """Return a passing result."""
        return cls(name, CheckStatus.OK, category, message, None, details)

    @classmethod
    def warning(cls, name: str, category: Category, message: str, fix: str, **details: Any) -> CheckResult:
        """Return a warning: COPY may work, but something deserves attention."""
        return cls(name, CheckStatus.WARNING, category, message, fix, details)

    @classmethod
    def failure(cls, name: str, category: Category, message: str, fix: str, **details: Any) -> CheckResult:
        """Return a failure: COPY would fail (or do the wrong thing) as things are."""
        return cls(name, CheckStatus.FAILURE, category, message, fix, details)

    @property
    def failed(self) -> bool:
        """Return whether this is a failure."""
        return self.status is CheckStatus.FAILURE

    def text(self) -> str:
        """Return status, category and message for a log or a terminal; the fix first, on its own line.

        A task log shows the start of a line: a fix at the end of a long message is past the window's edge.
        """
        head = f"{self.status.value.upper()} [{self.category}]"
        if not self.fix:
            return f"{head} {self.message}"
        return f"{head} Fix: {self.fix}\n    {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict."""
        return {
            "name": self.name,
            "status": self.status.value,
            "category": self.category,
            "message": self.message,
            "fix": self.fix,
            "details": dict(self.details),
        }


def failures(results: Iterable[CheckResult]) -> list[CheckResult]:
    """Return the failed results."""
    return [result for result in results if result.failed]


def warnings(results: Iterable[CheckResult]) -> list[CheckResult]:
    """Return the warnings."""
    return [result for result in results if result.status is CheckStatus.WARNING]


def log_results(results: Iterable[CheckResult], logger: logging.Logger | Any) -> None:
    """Log each result at the level its status deserves."""
    for result in results:
        if result.status is CheckStatus.OK:
            logger.info("%s", result.text())
        elif result.status is CheckStatus.WARNING:
            logger.warning("%s", result.text())
        else:
            logger.error("%s", result.text())


def raise_for_failures(results: Sequence[CheckResult]) -> None:
    """Raise the exception of the first failure's category, listing every failure; do nothing if none.

    The exception is an ``AirflowFailException``: a failed check is a permission, region, format or
    configuration problem that retrying the task cannot fix.
    """
    failed = failures(results)
    if not failed:
        return
    lines = [result.text() for result in failed]
    if len(failed) > 1:
        lines.insert(0, f"{len(failed)} checks failed:")
    first = failed[0]
    raise error_for_category(first.category)(
        "\n".join(lines), fix=first.fix, category=first.category, results=failed
    )
