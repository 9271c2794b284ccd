"""What an AWS error is, read once: its code, its message, and the families the checks act on."""

from __future__ import annotations

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchEntity"})
ACCESS_DENIED_CODES = frozenset({"403", "AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def _error(error: BaseException) -> dict[str, object]:
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}) or {}


def error_code(error: BaseException) -> str:
    """Return the AWS error code of a botocore ``ClientError`` ("" for any other exception)."""
    return str(_error(error).get("Code", ""))


def error_message(error: BaseException) -> str:
    """Return the AWS error message of a ``ClientError``, else the exception's text."""
    return str(_error(error).get("Message", "")) or str(error)


def is_not_found(error: BaseException) -> bool:
    """Return whether AWS answered that the object, bucket or IAM entity does not exist."""
    return error_code(error) in NOT_FOUND_CODES


def is_access_denied(error: BaseException) -> bool:
    """Return whether AWS refused the call to this identity."""
    return error_code(error) in ACCESS_DENIED_CODES
