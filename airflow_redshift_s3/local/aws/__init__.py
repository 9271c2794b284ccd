"""The AWS half of the local Redshift: moto's server (``server``) and its extensions, laid out as moto's.

``iam``, ``redshift`` and ``redshift_data`` (the Data API, running its SQL through the gateway) extend
moto's own services, ``serverless`` adds Redshift Serverless, ``state`` holds
what they share (issued credentials, endpoint overrides, role apply delay), ``extensions.install()`` puts
them in place and ``roles`` creates the IAM roles tests and benchmarks use.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "IssuedCredential",
    "LocalAws",
    "find_temporary_credentials",
    "install_extensions",
    "set_cluster_endpoint",
    "set_workgroup_endpoint",
    "verify_temporary_credentials",
]


def __getattr__(name: str) -> Any:
    # the server pulls in moto: only when it is asked for (``roles`` stays light, for the pytest plugin)
    if name in __all__:
        from airflow_redshift_s3.local.aws import server

        return getattr(server, name)
    raise AttributeError(name)
