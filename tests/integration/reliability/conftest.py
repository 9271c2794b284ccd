"""Fixtures of the reliability suite: a spy on the SQL the gateway receives; faults restored afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from reliability_support import Db, GatewaySql, restart_postgres, wait_until_queryable


@pytest.fixture
def gateway_sql(local_redshift: Any) -> Iterator[GatewaySql]:
    """Every connection and SQL statement clients send to the gateway while the test runs."""
    spy = GatewaySql()

    def listen(event: Any) -> None:
        spy.add("<connect>" if event.kind == "connect" else event.sql)

    local_redshift.gateway.add_client_listener(listen)
    yield spy
    local_redshift.gateway.remove_client_listener(listen)


@pytest.fixture
def schema(local_redshift: Any) -> Iterator[str]:
    """A fresh schema, dropped afterwards. Unlike ``redshift_schema`` it keeps no connection open, so it
    outlives a PostgreSQL restart."""
    from airflow_redshift_s3.local.pytest_plugin import unique_name

    db = Db(local_redshift, unique_name("rel_"))
    db.run(f"create schema {db.schema}")
    yield db.schema
    wait_until_queryable(local_redshift)
    db.run(f"drop schema {db.schema} cascade")


@pytest.fixture
def db(local_redshift: Any, schema: str) -> Db:
    return Db(local_redshift, schema)


@pytest.fixture
def restartable_postgres(local_redshift: Any) -> Iterator[Callable[[], None]]:
    """Return a function that restarts PostgreSQL; afterwards, make sure the shared stack is up again."""
    yield lambda: restart_postgres(local_redshift)
    if not local_redshift.postgres.is_running():
        restart_postgres(local_redshift)
    wait_until_queryable(local_redshift)


@pytest.fixture
def drop_connections_during_copy(local_redshift: Any) -> Iterator[Callable[[bool], None]]:
    """Return a switch for the gateway's fault flag; it is always switched off afterwards."""
    gateway = local_redshift.gateway

    def switch(on: bool) -> None:
        gateway.drop_connections_during_copy = on

    yield switch
    gateway.drop_connections_during_copy = False


@pytest.fixture
def load_dag_source(
    airflow_db: None, local_redshift_env: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
):
    """Return a function that writes a DAG file into its own bundle, imports it and gives the module.

    dag.test() needs the DAG in a bundle (it records a DAG version); the module is the one whose DAG runs,
    so a test can reach the operator classes it defines.
    """
    import importlib.util
    import json
    import sys

    loaded: list[str] = []

    def load(source: str, dag_id: str) -> Any:
        path = tmp_path / f"{dag_id}.py"
        path.write_text(source)
        bundle = {"name": dag_id, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                  "kwargs": {"path": str(tmp_path), "refresh_interval": 0}}  # fmt: skip
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
        spec = importlib.util.spec_from_file_location(dag_id, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[dag_id] = module
        spec.loader.exec_module(module)
        loaded.append(dag_id)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)
