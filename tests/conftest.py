from __future__ import annotations

import os
import shutil
import tempfile

_created_home: list[str] = []


def pytest_configure(config):
    # Airflow reads its configuration at import time: point it at a private home before any test imports it.
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
        _created_home.append(os.environ["AIRFLOW_HOME"])
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", os.path.join(os.path.dirname(__file__), "..", "dags"))
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


def pytest_unconfigure(config):
    # the home holds the metadata database and the task logs: gone with the session that made it
    for home in _created_home:
        shutil.rmtree(home, ignore_errors=True)
