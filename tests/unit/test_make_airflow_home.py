"""``make airflow`` starts fresh: the run history of the previous start goes with the stack's state."""

from __future__ import annotations

from airflow_redshift_s3.demo import HOME_MARKER, _fresh_home


def test_a_home_made_by_make_airflow_loses_its_run_history_and_keeps_the_rest(tmp_path):
    home = tmp_path / "home"
    assert _fresh_home(home) is None  # a new directory
    (home / "airflow.db").write_text("runs of the previous start")
    (home / "logs" / "dag_id=x").mkdir(parents=True)
    (home / "airflow.cfg").write_text("[core]\n")
    assert _fresh_home(home) is None
    assert sorted(p.name for p in home.iterdir()) == [HOME_MARKER, "airflow.cfg"]


def test_a_home_not_made_by_make_airflow_is_left_alone_with_the_fix(tmp_path):
    (tmp_path / "airflow.db").write_text("someone's run history")
    refusal = _fresh_home(tmp_path)
    assert refusal and "Fix: pass --home with a new or empty directory" in refusal
    assert (tmp_path / "airflow.db").read_text() == "someone's run history"
    assert _fresh_home(tmp_path, ours=True) is None  # the clone's default .airflow
    assert not (tmp_path / "airflow.db").exists()
