"""The Redshift Data API (``redshift-data``) for moto, running the SQL on the local Redshift.

moto 5 has a ``redshift-data`` service that records ``ExecuteStatement`` and never runs it. This package
replaces its backend and response methods (moto's own ``RedshiftDataAPIServiceBackend`` and
``RedshiftDataAPIServiceResponse`` classes, as ``aws/redshift.py`` extends moto's Redshift), laid out as
moto lays out a service: the statements and their life cycle (``models``), how a statement reaches the
database (``execution``), typed results and pages (``results``), the JSON handlers (``responses``) and the
errors (``exceptions``).

A statement runs on a worker thread that logs in to the cluster's (or workgroup's) endpoint, the local
gateway, with the credentials AWS would use (``GetClusterCredentials`` for ``DbUser``, ``GetCredentials``
for a workgroup, or the user and password of ``SecretArn``) and sends the SQL with redshift_connector:
every rule of the gateway (COPY's role, region, format and permission checks, the Redshift dialect,
privileges) applies to the Data API unchanged.
"""

from __future__ import annotations


def install() -> None:
    """Put the Data API's backend and response methods into moto's redshift-data classes (idempotent)."""
    from airflow_redshift_s3.local.aws.redshift_data import responses

    responses.install()
