from __future__ import annotations

from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))


def test_dags_folder_exists():
    assert DAGS_DIR.is_dir()


@pytest.mark.skipif(not DAG_FILES, reason="dags/ holds no DAG file yet")
@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_loads_with_tags_and_owner(dag_file):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dag_file))
    assert bag.import_errors == {}, f"{dag_file.name} failed to import: {bag.import_errors}"
    assert bag.dags, f"{dag_file.name} defines no DAG"
    for dag_id, dag in bag.dags.items():
        assert dag.tags, f"DAG {dag_id} has no tags"
        owners = {task.owner for task in dag.tasks}
        assert owners, f"DAG {dag_id} has no task"
        assert "airflow" not in owners, f"DAG {dag_id} has no owner in default_args: {owners}"
