"""The demo behind ``make demo``."""

from __future__ import annotations


def run_demo() -> int:
    """Run the smallest end-to-end thing that exists today and say so."""
    from airflow.providers_manager import ProvidersManager

    provider = ProvidersManager().providers.get("airflow-provider-redshift-s3")
    if provider is None:
        print("airflow-provider-redshift-s3 is not registered with Airflow")
        return 1
    print(f"Airflow sees airflow-provider-redshift-s3 {provider.version}.")
    print("The S3 -> Redshift demo on the local stack arrives with the example DAGs; nothing more yet.")
    return 0
