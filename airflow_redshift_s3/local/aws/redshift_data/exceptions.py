"""Errors of the local Redshift Data API, each named after a shape of botocore's service model."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class RedshiftDataError(ServiceException):
    """An error of the Redshift Data API (its code names a shape of the botocore model)."""


class ValidationException(RedshiftDataError):
    """The request is invalid."""

    code = "ValidationException"


class ResourceNotFoundException(RedshiftDataError):
    """The statement (or another resource) does not exist."""

    code = "ResourceNotFoundException"

    def __init__(self, message: str, resource_id: str) -> None:
        super().__init__(message)
        self.ResourceId = resource_id


class ActiveStatementsExceededException(RedshiftDataError):
    """Too many statements run at once."""

    code = "ActiveStatementsExceededException"


class DatabaseConnectionException(RedshiftDataError):
    """The Data API could not connect to the database (for the synchronous metadata calls)."""

    code = "DatabaseConnectionException"
