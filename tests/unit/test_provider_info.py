from __future__ import annotations

import importlib
import json
import pkgutil
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema
import pytest

import airflow_redshift_s3
from airflow_redshift_s3.get_provider_info import get_provider_info

ROLES = ("hooks", "operators", "sensors", "triggers", "transfers")


def _listed_modules(info: dict) -> dict[str, set[str]]:
    listed: dict[str, set[str]] = {role: set() for role in ROLES}
    for role in ("hooks", "operators", "sensors", "triggers"):
        for entry in info.get(role, []):
            listed[role].update(entry["python-modules"])
    for entry in info.get("transfers", []):
        listed["transfers"].add(entry["python-module"])
    return listed


def test_provider_info_matches_airflow_schema():
    import airflow

    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    schema = json.loads(schema_path.read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == "airflow-provider-redshift-s3"
    assert info["versions"] == [airflow_redshift_s3.__version__]


def test_entry_point_is_registered():
    group = entry_points(group="apache_airflow_provider")
    found = [ep for ep in group if ep.value.startswith("airflow_redshift_s3")]
    assert len(found) == 1, "the package is not installed with its apache_airflow_provider entry point"
    assert found[0].load()()["package-name"] == "airflow-provider-redshift-s3"


@pytest.mark.parametrize("role", ROLES)
def test_every_listed_module_imports_and_every_module_is_listed(role):
    listed = _listed_modules(get_provider_info())[role]
    for module in sorted(listed):
        importlib.import_module(module)
    package_dir = Path(airflow_redshift_s3.__file__).parent / role
    present = set()
    if package_dir.is_dir():
        present = {
            f"airflow_redshift_s3.{role}.{m.name}"
            for m in pkgutil.iter_modules([str(package_dir)])
            if not m.name.startswith("_") and not m.ispkg  # a package holds the parts of one (transfers/copy)
        }
    assert present == listed, f"get_provider_info() and airflow_redshift_s3/{role}/ disagree"


def test_airflow_providers_manager_sees_the_package():
    from airflow.providers_manager import ProvidersManager

    providers = ProvidersManager().providers
    assert "airflow-provider-redshift-s3" in providers
    assert providers["airflow-provider-redshift-s3"].version == airflow_redshift_s3.__version__
