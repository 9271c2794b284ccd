"""Errors of the local Redshift Serverless API, each named after a shape of botocore's service model."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class RedshiftServerlessError(ServiceException):
    """An error of the Redshift Serverless API (its code names a shape of the botocore model)."""


class ValidationException(RedshiftServerlessError):
    """The request is invalid."""

    code = "ValidationException"


class ConflictException(RedshiftServerlessError):
    """The resource exists already or is busy."""

    code = "ConflictException"


class ResourceNotFoundException(RedshiftServerlessError):
    """The namespace or workgroup does not exist."""

    code = "ResourceNotFoundException"

    def __init__(self, message: str, resource_name: str | None = None) -> None:
        super().__init__(message)
        if resource_name:
            self.resourceName = resource_name
