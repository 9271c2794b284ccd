"""The deferred load's trigger survives serialization as the triggerer does it (no AWS call)."""

from __future__ import annotations

from airflow.sdk.module_loading import import_string

from airflow_redshift_s3.triggers.redshift_data_load import RedshiftDataLoadTrigger


def test_the_trigger_round_trips_with_its_load():
    load = {"statement_id": "s-1", "session_id": None, "state": {"to_load": [{"key": "a/1.csv"}]}}
    trigger = RedshiftDataLoadTrigger(load=load, statement_id="s-1", task_id="load", poll_interval=1)
    path, kwargs = trigger.serialize()
    assert path == "airflow_redshift_s3.triggers.redshift_data_load.RedshiftDataLoadTrigger"
    again = import_string(path)(**kwargs)
    assert again.load == load and again.statement_id == "s-1" and again.serialize() == (path, kwargs)
