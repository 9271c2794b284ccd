"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_redshift_s3 import __version__

_INTEGRATION = "Amazon Redshift from S3"

# Each list names the modules of that role; a unit test fails when a module exists and is not listed here.
HOOK_MODULES: list[str] = [
    "airflow_redshift_s3.hooks.iam_role",
    "airflow_redshift_s3.hooks.redshift_iam",
    "airflow_redshift_s3.hooks.s3_inspect",
]
OPERATOR_MODULES: list[str] = [
    "airflow_redshift_s3.operators.redshift_audit",
    "airflow_redshift_s3.operators.redshift_iam",
    "airflow_redshift_s3.operators.s3_verify",
]
SENSOR_MODULES: list[str] = [
    "airflow_redshift_s3.sensors.redshift_iam",
    "airflow_redshift_s3.sensors.s3_prefix",
]
TRIGGER_MODULES: list[str] = [
    "airflow_redshift_s3.triggers.redshift_data_load",
    "airflow_redshift_s3.triggers.redshift_iam",
    "airflow_redshift_s3.triggers.s3_prefix",
]
TRANSFER_MODULES: list[str] = ["airflow_redshift_s3.transfers.s3_to_redshift_copy"]


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata in the shape of Airflow's provider_info schema."""
    info: dict[str, Any] = {
        "package-name": "airflow-provider-redshift-s3",
        "name": "Redshift S3",
        "description": (
            "Load Amazon S3 data into Amazon Redshift: the IAM role attached, the bucket's region and the "
            "files' format checked before COPY, exactly-once atomic loads, and a local Redshift for tests."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html",
                "tags": ["aws"],
            }
        ],
    }
    for key, modules in (
        ("hooks", HOOK_MODULES),
        ("operators", OPERATOR_MODULES),
        ("sensors", SENSOR_MODULES),
    ):
        if modules:
            info[key] = [{"integration-name": _INTEGRATION, "python-modules": list(modules)}]
    if TRIGGER_MODULES:
        info["triggers"] = [{"integration-name": _INTEGRATION, "python-modules": list(TRIGGER_MODULES)}]
    if TRANSFER_MODULES:
        info["transfers"] = [
            {
                "source-integration-name": "Amazon Simple Storage Service (S3)",
                "target-integration-name": "Amazon Redshift",
                "python-module": module,
            }
            for module in TRANSFER_MODULES
        ]
    return info
