"""The sweep of the temporary directories a killed stack leaves (``airflow_redshift_s3.local.workdir``)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from airflow_redshift_s3.local.workdir import LOCK_NAME, Workdir, sweep


@pytest.fixture
def prefix():
    name = f"local-redshift-sweep-test-{uuid.uuid4().hex[:8]}-"
    yield name
    for left in Path(tempfile.gettempdir()).glob(f"{name}*"):
        if left.is_symlink():
            left.unlink()
        else:
            shutil.rmtree(left, ignore_errors=True)


def _die(workdir: Workdir) -> Path:
    """What a SIGKILL does to a Workdir: the lock goes with the process, the directory stays."""
    assert workdir._fd is not None
    os.close(workdir._fd)
    workdir._fd = None
    return workdir.path


def test_a_dead_owner_s_directory_is_removed_and_a_living_one_s_kept(prefix):
    dead = _die(Workdir(prefix))
    assert dead.exists() and (dead / LOCK_NAME).exists()
    assert sweep(prefix) == [dead]
    assert not dead.exists()
    dead_again = _die(Workdir(prefix))
    living = Workdir(prefix)  # a new directory sweeps first
    assert not dead_again.exists() and living.path.exists()
    assert sweep(prefix) == []  # its lock is held
    assert living.path.exists()
    living.remove()
    assert not living.path.exists()


def test_a_directory_without_the_lock_file_is_left_alone(prefix):
    foreign = Path(tempfile.mkdtemp(prefix=prefix))
    (foreign / "data").write_text("not a stack's")
    assert sweep(prefix) == []
    assert (foreign / "data").exists()


def test_a_link_named_like_a_stack_directory_is_not_followed(prefix, tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / LOCK_NAME).write_text("")  # unlocked, ours: would be swept if it were in the temp directory
    (target / "keep").write_text("x")
    link = Path(tempfile.gettempdir()) / f"{prefix}link"
    link.symlink_to(target)
    assert sweep(prefix) == []
    assert (target / "keep").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another account needs root")
def test_another_account_s_directory_is_left_alone(prefix):
    other = _die(Workdir(prefix))
    os.chown(other / LOCK_NAME, 65534, 65534)
    assert sweep(prefix) == []
    assert other.exists()
