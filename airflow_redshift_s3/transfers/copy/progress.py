"""Progress of a long COPY in the task log, read from STV_LOAD_STATE while the COPY runs.

Redshift keeps one STV_LOAD_STATE row per slice of each running COPY (its "STV_LOAD_STATE" page): bytes
to load and loaded (``*_compressed`` for compressed files), files done, lines. A thread waits
``interval`` seconds; if the COPY is still running, it opens a connection of its own (the load's is busy
with the COPY) and logs one line per interval: percent, bytes, files, rate and time left. A COPY shorter
than ``interval`` costs nothing. The thread stops when the COPY returns or fails; a failure of the thread
is a warning, never the load's failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

PROGRESS_SQL = (
    "SELECT SUM(bytes_loaded), SUM(bytes_to_load), SUM(bytes_loaded_compressed), "
    "SUM(bytes_to_load_compressed), SUM(num_files_complete), SUM(num_files), SUM(lines) "
    "FROM stv_load_state WHERE session = %s"
)


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def progress_line(table: str, row: tuple[Any, ...], rate: float | None) -> str | None:
    """Return the log line of one STV_LOAD_STATE reading (summed over slices), or None when it is empty.

    :param rate: bytes per second since the previous reading, if any.
    """
    loaded, to_load, loaded_c, to_load_c, files_done, files, lines = (int(v or 0) for v in row)
    done, total = (loaded_c, to_load_c) if to_load_c else (loaded, to_load)
    if not files and not total:
        return None
    pct = f"{min(100, done * 100 // total)}%" if total else "?%"
    text = f"COPY into {table}: {pct} ({_size(done)} of {_size(total)}"
    text += " compressed" if to_load_c else ""
    text += f"), {files_done} of {files} file(s) done, {lines:,} line(s)"
    if rate:
        text += f", {_size(rate)}/s"
        if total > done:
            text += f", about {max(1, round((total - done) / rate))} s left"
    return text


class CopyProgress:
    """Logs the progress of the COPY running on session ``session_pid`` until the ``with`` block ends.

    :param connect: opens a new autocommit-able DB-API connection (the hook's ``get_conn``).
    :param interval: seconds between two lines (the first after one interval).
    """

    def __init__(
        self, connect: Callable[[], Any], session_pid: int, table: str, log: Any, interval: float
    ) -> None:
        self.connect, self.session_pid, self.table = connect, session_pid, table
        self.log, self.interval = log, interval
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="copy-progress", daemon=True)

    def __enter__(self) -> CopyProgress:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 30)

    def _watch(self) -> None:
        if self._stop.wait(self.interval):
            return  # the COPY ended first: no connection opened
        conn = None
        try:
            conn = self.connect()
            conn.autocommit = True
            previous: tuple[float, int] | None = None
            while not self._stop.is_set():
                cursor = conn.cursor()
                cursor.execute(PROGRESS_SQL, (self.session_pid,))
                row = cursor.fetchone() or (0,) * 7
                cursor.close()
                now, done = time.monotonic(), int(row[2] or 0) or int(row[0] or 0)
                rate = (done - previous[1]) / (now - previous[0]) if previous and now > previous[0] else None
                previous = (now, done)
                line = progress_line(self.table, tuple(row), rate)
                if line and not self._stop.is_set():
                    self.lines.append(line)
                    self.log.info("%s", line)
                if self._stop.wait(self.interval):
                    break
        except Exception as error:  # progress must never fail the load
            self.log.warning("No COPY progress for %s: reading stv_load_state failed: %s", self.table, error)
        finally:
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    self.log.debug("closing the progress connection failed", exc_info=True)
