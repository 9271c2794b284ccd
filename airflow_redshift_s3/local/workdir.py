"""Temporary directories of a running stack, and the sweep of those a killed stack left behind.

A stack removes its directories when it stops; one killed with SIGKILL (or by the OOM killer) cannot, and
its PostgreSQL data (about 47 MB) stayed in the temporary directory for good. Each directory now holds a
lock file its process keeps locked (``flock``) while it lives: the kernel releases the lock when the process
dies, however it dies. The next stack that starts removes the directories of its prefix whose lock it can
take, and only those: a directory of a running stack, of another account, or without a lock file (made by
an older version, or not by this package) is left alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

LOCK_NAME = ".owner.lock"


class Workdir:
    """A private temporary directory, locked for the life of this object (or of this process)."""

    def __init__(self, prefix: str) -> None:
        sweep(prefix)
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self._fd: int | None = _lock(self.path)

    def remove(self) -> None:
        """Remove the directory, then release its lock; safe to call more than once."""
        shutil.rmtree(self.path, ignore_errors=True)
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _lock(path: Path) -> int | None:
    """Create ``path/LOCK_NAME`` already locked (under another name first: never seen unlocked)."""
    try:
        import fcntl
    except ImportError:  # no flock here: nothing is swept either
        return None
    staging = path / f"{LOCK_NAME}.{os.getpid()}"
    fd = os.open(staging, os.O_CREAT | os.O_EXCL | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.replace(staging, path / LOCK_NAME)
    return fd


def sweep(prefix: str) -> list[Path]:
    """Remove the directories ``prefix*`` in the temporary directory whose owner process is gone."""
    try:
        import fcntl
    except ImportError:
        return []
    removed = []
    for candidate in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        lock = candidate / LOCK_NAME
        if candidate.is_symlink() or not candidate.is_dir():
            continue  # ours are real directories: a link could point anywhere
        try:
            if lock.is_symlink() or lock.stat().st_uid != os.getuid():
                continue
            fd = os.open(lock, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue  # no lock file, or not ours to open
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its stack is running
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
    return removed
