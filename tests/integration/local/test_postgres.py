"""The embedded PostgreSQL: runs as an unprivileged account when started as root, and restarts."""

from __future__ import annotations

import os
import subprocess

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
