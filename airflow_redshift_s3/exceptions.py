"""Domain exceptions: each message names the resource, what was expected, what was found, and the fix.

Two families, so that Airflow does the right thing with a failed task:

- ``RedshiftS3Error`` (an ``AirflowException``): retrying may help (a busy cluster, a role still settling).
- ``RedshiftS3FailError`` (also an ``AirflowFailException``): a permission, region, format or configuration
  problem that no retry can fix; the task fails at once instead of burning its retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_redshift_s3.checks.result import Category, CheckResult


class RedshiftS3Error(AirflowException):
    """An error of this provider that a retry may cure."""


class RoleApplyTimeoutError(RedshiftS3Error):
    """An IAM role did not reach the expected apply status in time."""


class SimulationUnavailableError(RedshiftS3Error):
    """The caller may not run IAM SimulatePrincipalPolicy (or the principal cannot be simulated)."""


class ConcurrentLoadError(RedshiftS3Error):
    """Another load committed some of these files while this one ran; this try loaded nothing.

    Retryable (not an ``AirflowFailException``): the next try finds the files in the ledger and skips them.
    """


class RedshiftS3FailError(RedshiftS3Error, AirflowFailException):
    """An error that retrying cannot fix: the task fails without retrying.

    :param message: what is wrong and how to fix it.
    :param category: "permission" | "region" | "format" | "config".
    :param fix: the action that fixes it (also part of ``message``: it is moved to a first line of its own;
        ``problem`` is the message without it).
    :param results: the failed checks this error reports, when it comes from the check library.
    """

    category: Category = "config"

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        category: Category | None = None,
        results: Sequence[CheckResult] = (),
    ) -> None:
        problem = _without_fix(message, fix)
        # The fix first, on a line of its own: a task log shows the start of a line, not its end.
        super().__init__(f"Fix: {fix.rstrip('.')}.\n{problem}" if fix and problem != message else message)
        self.fix = fix
        self.problem = problem
        self.results = list(results)
        if category is not None:
            self.category = category


def _without_fix(message: str, fix: str | None) -> str:
    """Return a one-line message without its "Fix: <fix>" sentence (the message itself otherwise)."""
    marker = f"Fix: {fix}" if fix else ""
    at = message.rfind(marker) if marker and "\n" not in message else -1
    if at <= 0:  # no fix, the fix already first, or a message laid out in lines already
        return message
    return (message[:at].rstrip() + " " + message[at + len(marker) :].lstrip(".").strip()).strip()


class PermissionCheckError(RedshiftS3FailError):
    """An IAM role, trust policy or policy does not allow what COPY or the task needs."""

    category: Category = "permission"


class RegionCheckError(RedshiftS3FailError):
    """The bucket is not where Redshift will look for it."""

    category: Category = "region"


class FormatCheckError(RedshiftS3FailError):
    """The files do not match what COPY was told."""

    category: Category = "format"


class CopyLoadError(FormatCheckError):
    """COPY rejected rows of the files; ``errors`` holds the first ones (file, line, column, value, why)."""

    def __init__(self, message: str, *, errors: Sequence[Any] = (), fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.errors = list(errors)


class PartitionMismatchError(FormatCheckError):
    """Rows of the files belong to another partition than the one being replaced."""


class ConfigCheckError(RedshiftS3FailError):
    """A resource is missing or an argument is malformed."""

    category: Category = "config"


class ResourceNotFoundError(ConfigCheckError):
    """A cluster, workgroup, namespace, bucket or role does not exist (or is not visible)."""


class DataSafetyError(RedshiftS3FailError):
    """A load was refused, before or inside its transaction, because it would lose or silently pick data.

    Nothing was committed. Each subclass names one rule of the COPY operator's data-safety guards.
    """

    category: Category = "config"


class PrefixBoundaryError(DataSafetyError):
    """A replace load's prefix does not end at a '/': it would also load the keys of neighbouring folders."""


class EmptyReplaceError(DataSafetyError):
    """A replace load deleted rows and the files held none: refusing to replace rows with nothing."""

    category: Category = "format"


class DuplicateKeyError(DataSafetyError):
    """An upsert's files (or its target table) hold several rows for one key and no rule says which wins."""

    category: Category = "format"


class ChangedFileError(DataSafetyError):
    """A file already in the ledger was rewritten with other content (another ETag) since it was loaded."""


class InvalidKeyError(DataSafetyError):
    """An S3 key the ledger cannot record (a NUL byte, invalid UTF-8)."""


class DataOverdueError(RedshiftS3FailError):
    """The data a sensor waits for was due by its deadline and is not there: waiting longer cannot help."""

    category: Category = "config"


class CommitUnknownError(DataSafetyError):
    """The connection broke during COMMIT of a load that has no ledger to tell whether it committed."""


_BY_CATEGORY: dict[str, type[RedshiftS3FailError]] = {
    "permission": PermissionCheckError,
    "region": RegionCheckError,
    "format": FormatCheckError,
    "config": ConfigCheckError,
}


def error_for_category(category: str) -> type[RedshiftS3FailError]:
    """Return the exception class for a check category."""
    return _BY_CATEGORY.get(category, ConfigCheckError)
