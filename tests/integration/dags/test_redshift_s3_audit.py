"""``redshift_s3_audit`` with dag.test(): what ``redshift_s3_setup`` builds passes; a bad setup fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import FAKE_KEY_ID, FAKE_SECRET, make_clean

pytestmark = pytest.mark.integration


def _xcom(run, key: str, task_id: str = "audit"):
    from airflow import settings
    from airflow.models.xcom import XComModel

    with settings.Session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key=key)
        ).first()
        return XComModel.deserialize_value(row) if row is not None else None


def base_log_folder() -> str:
    from airflow.configuration import conf

    return conf.get("logging", "base_log_folder")


def test_the_setup_dags_result_passes_the_weekly_audit(load_dag, local_redshift_env, s3_bucket, task_states):
    from airflow_redshift_s3.local.pytest_plugin import unique_name

    cluster = make_clean(local_redshift_env, s3_bucket)
    setup = load_dag("redshift_s3_setup").test(
        run_conf={
            "role_name": unique_name("setup-"),
            "bucket": s3_bucket,
            "prefix": "sales/",
            "cluster_identifier": cluster,
        }
    )
    assert str(setup.state) == "success", task_states(setup)
    dag = load_dag("redshift_s3_audit")
    assert dag.schedule == "@weekly"
    run = dag.test(run_conf={"cluster_identifier": cluster, "source": f"s3://{s3_bucket}/sales/"})
    assert str(run.state) == "success", task_states(run)
    summary = _xcom(run, "return_value")
    assert summary["target"] == f"Redshift cluster '{cluster}'"
    assert summary["failures"] == 0 and summary["ok"] >= 8
    # the warnings are kept: the setup's trust policy has no confused-deputy conditions, the role is unused
    assert {f["name"] for f in summary["findings"]} == {
        "audit.role.trust",
        "audit.role.used",
        "audit.connection.tls",
    }
    # the week's usage is attached to the run: the report's figures, and its HTML page by the logs
    usage = _xcom(run, "return_value", "usage_report")
    assert usage["days"] == 7 and usage["transfer_price_per_gb"] == 0.02
    assert usage["rpu_seconds"] is None  # no sys_serverless_usage locally: unavailable, not invented
    page = Path(usage["html"])
    assert page.parent.name == "redshift_s3_usage" and page.parent.parent == Path(base_log_folder())
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert usage["totals"]["copies"] == sum(row["copies"] for row in usage["rows"])


def test_a_bad_setup_fails_the_run_and_keeps_its_findings(
    load_dag, local_redshift_env, bad_setup, task_states
):
    dag = load_dag("redshift_s3_audit")
    run = dag.test(
        run_conf={"cluster_identifier": bad_setup["cluster"], "source": f"s3://{bad_setup['bucket']}/data/"}
    )
    assert str(run.state) == "failed"
    # the usage report runs beside the audit: it does not hide the audit's failure
    assert task_states(run) == {"audit": "failed", "usage_report": "success"}
    findings = _xcom(run, "audit")
    failed = {(f["name"], f["details"]["resource"]) for f in findings["findings"] if f["status"] == "failure"}
    assert ("audit.history.access_keys", f"Redshift cluster '{bad_setup['cluster']}'") in failed
    assert ("audit.role.permissions", bad_setup["broad"]) in failed
    assert findings["warnings"] >= 5
    assert FAKE_KEY_ID not in str(findings) and FAKE_SECRET not in str(findings)
