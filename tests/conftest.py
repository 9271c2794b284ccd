from __future__ import annotations

import os
import tempfile


def pytest_configure(config):
    # Airflow reads its configuration at import time: point it at a private home before any test imports it.
    home = tempfile.mkdtemp(prefix="airflow-home-")
    os.environ.setdefault("AIRFLOW_HOME", home)
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", os.path.join(os.path.dirname(__file__), "..", "dags"))
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
