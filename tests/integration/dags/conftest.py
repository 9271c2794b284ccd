"""Run the example DAGs of ``dags/`` with ``dag.test()`` against the local stack."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

DAGS_DIR = Path(__file__).resolve().parents[3] / "dags"


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Create Airflow's metadata database once (dag.test() needs it)."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture
def load_dag(
    airflow_db: None, local_redshift_env: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Any]]:
    """Return a function that imports ``dags/<name>.py`` afresh and give its DAG."""
    loaded: list[str] = []
    monkeypatch.setenv("REDSHIFT_S3_WAITER_DELAY", "0.2")
    bundle = {"name": "redshift_s3_dags", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
              "kwargs": {"path": str(DAGS_DIR), "refresh_interval": 0}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))

    def load(name: str) -> Any:
        sys.modules.pop(name, None)
        spec = importlib.util.spec_from_file_location(name, DAGS_DIR / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        loaded.append(name)
        return module.dag

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.fixture
def query(local_redshift: Any, redshift_schema: str) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
    """Return a function that runs one statement on local-cluster (autocommit) and gives its rows."""
    import redshift_connector

    conn = redshift_connector.connect(**local_redshift.connect_kwargs())
    conn.autocommit = True

    def run(sql: str) -> list[tuple[Any, ...]]:
        cursor = conn.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    yield run
    conn.close()


@pytest.fixture
def task_states() -> Callable[[Any], dict[str, str]]:
    """Return a function giving {task_id: state} of a finished DAG run."""

    def states(run: Any) -> dict[str, str]:
        return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}

    return states
