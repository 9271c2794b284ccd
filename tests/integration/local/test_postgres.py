"""The embedded PostgreSQL: runs as an unprivileged account when started as root, and restarts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from airflow_redshift_s3.local.postgres import LocalPostgres

pytestmark = pytest.mark.integration


def _query(pg: LocalPostgres, sql: str) -> str:
    from airflow_redshift_s3.local.postgres import _default_bin_dir

    psql = _default_bin_dir() / "psql"
    return subprocess.run(
        [str(psql), pg.dsn, "-Atc", sql], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


@pytest.mark.parametrize("copy_binaries", [False, True], ids=["in-place", "private-copy"])
def test_starts_queries_restarts_and_cleans_up(copy_binaries):
    pg = LocalPostgres(copy_binaries=copy_binaries).start()
    workdir = pg.data_dir.parent
    try:
        assert _query(pg, "select 40 + 2") == "42"
        if os.geteuid() == 0:
            assert pg._process is not None
            import psutil

            assert psutil.Process(pg._process.pid).username() != "root"
        pg.restart()
        assert _query(pg, "select 1") == "1"
    finally:
        pg.stop()
    assert not workdir.exists()
    assert not pg.is_running()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another account")
def test_data_dir_the_unprivileged_account_cannot_reach_is_refused_at_once(tmp_path):
    import tempfile
    import time

    from airflow_redshift_s3.local.postgres import PostgresStartError

    closed = Path(tempfile.mkdtemp(dir=tmp_path))  # mode 0700, owned by root, like /root
    data_dir = closed / "pgdata"
    pg = LocalPostgres(data_dir=data_dir)
    began = time.monotonic()
    try:
        with pytest.raises(PostgresStartError) as raised:
            pg.prepare()
    finally:
        pg.stop()
    message = str(raised.value)
    assert str(data_dir) in message and "Fix:" in message and "AIRFLOW_REDSHIFT_S3_PG_USER" in message
    assert not (data_dir / "PG_VERSION").exists()  # refused before initdb
    assert time.monotonic() - began < 20


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another account")
def test_cli_local_up_names_the_unreachable_data_dir(tmp_path):
    import sys
    import tempfile

    data_dir = Path(tempfile.mkdtemp(dir=tmp_path)) / "pgdata"
    cli = Path(sys.executable).parent / "airflow-redshift-s3"
    result = subprocess.run(
        [str(cli), "local", "up", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert str(data_dir) in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_initdb_runs_once_then_its_cached_copy_starts_the_next_servers(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_REDSHIFT_S3_PG_CACHE", str(tmp_path / "cache"))

    def start_and_use() -> bool | None:
        pg = LocalPostgres().start()
        try:
            _query(pg, "create table t (v text); insert into t values ('x')")
            assert _query(pg, "select v from t") == "x"
            if os.geteuid() == 0:  # the copy belongs to the account the server runs as
                assert {p.stat().st_uid for p in pg.data_dir.rglob("*")} == {pg._run_as.uid}
            return pg.initialised_from_cache
        finally:
            pg.stop()

    assert start_and_use() is False  # initdb, then kept
    (template,) = (tmp_path / "cache" / "airflow-redshift-s3").iterdir()
    assert oct((tmp_path / "cache" / "airflow-redshift-s3").stat().st_mode & 0o777) == "0o700"
    # Copied: "create table t" succeeds again, so the copy was taken before the first server's table existed.
    assert start_and_use() is True
    (template / ".complete").unlink()  # an interrupted copy is not used
    assert start_and_use() is False
    monkeypatch.setenv("AIRFLOW_REDSHIFT_S3_PG_CACHE", "off")
    assert start_and_use() is False
