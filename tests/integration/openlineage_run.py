"""Run one DAG with ``dag.test()`` in a process of its own, with OpenLineage's listener on.

The OpenLineage provider decides at plugin load whether its listener is registered (a transport must be
configured), and the test session has loaded Airflow's plugins long before: a fresh process is the only way
to run a DAG as a deployment with OpenLineage configured runs it. The transport is given by the caller's
environment (``AIRFLOW__OPENLINEAGE__TRANSPORT``).

Usage: ``python openlineage_run.py SPEC_JSON`` with the spec
``{"dag_file": PATH, "dag_id": ID, "logical_date": ISO, "conf": {...}}`` (the file is ``<dag_id>.py``); the
DAG file's folder is the DAG bundle. Prints the run's state last.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path


def main() -> None:
    spec = json.loads(sys.argv[1])
    folder = os.path.dirname(spec["dag_file"])
    bundle = {"name": "lineage", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
              "kwargs": {"path": folder, "refresh_interval": 0}}  # fmt: skip
    os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps([bundle])
    from airflow_redshift_s3.demo import load_dag_file

    dag = load_dag_file(Path(folder), spec["dag_id"])
    logical_date = datetime.datetime.fromisoformat(spec["logical_date"])
    run = dag.test(logical_date=logical_date, run_conf=spec.get("conf"))
    print(f"state={run.state}")


if __name__ == "__main__":
    main()
