"""Data API sessions: one database connection kept open between statements (temporary tables live on).

A statement with ``SessionKeepAliveSeconds`` keeps its connection open that long after it ends and returns
a ``SessionId``; a statement with ``SessionId`` runs on that connection (one at a time) instead of logging
in again. The keep-alive counts from the end of the session's last statement, as the Data API reference
describes it; an ended or unknown session is refused with a ValidationException.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from airflow_redshift_s3.local.aws.redshift_data.exceptions import ValidationException

log = logging.getLogger(__name__)

MAX_KEEP_ALIVE_SECONDS = 24 * 3600  # the Data API reference's maximum


def validate_keep_alive(seconds: Any) -> int | None:
    """Return the keep-alive in seconds, or raise the ValidationException for an invalid one."""
    if seconds is None:
        return None
    if not isinstance(seconds, int) or not 0 <= seconds <= MAX_KEEP_ALIVE_SECONDS:
        raise ValidationException(
            f"SessionKeepAliveSeconds must be 0 to {MAX_KEEP_ALIVE_SECONDS} seconds, got {seconds!r}."
        )
    return seconds


class Session:
    """A kept connection of one target (endpoint, database, login) and how long it stays open."""

    def __init__(self, target: Any, keep_alive: int, fields: dict[str, Any]) -> None:
        self.id = str(uuid.uuid4())
        self.target = target
        self.keep_alive = keep_alive
        self.fields = fields  # ClusterIdentifier, WorkgroupName, DbUser, SecretArn, Database it opened with
        self._connection: Any = None
        self._busy = False
        self._ended = False
        self._expires_at = float("inf")
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def acquire(self, keep_alive: int | None) -> None:
        """Reserve the session for one statement, or raise ValidationException when it cannot run one."""
        with self._lock:
            if self._ended or time.monotonic() >= self._expires_at:
                raise ValidationException(
                    f"Session {self.id} has ended (its keep-alive ran out): start a new one with "
                    "SessionKeepAliveSeconds."
                )
            if self._busy:
                raise ValidationException(
                    f"Session {self.id} is running another statement: wait until it ends (DescribeStatement)."
                )
            self._busy = True
            if keep_alive is not None:
                self.keep_alive = keep_alive

    def connection(self) -> Any:
        """Return the session's connection, logging in on first use."""
        if self._connection is None:
            self._connection = self.target.connect()
        return self._connection

    def release(self, broken: bool = False) -> None:
        """End one statement: start counting the keep-alive, or close a broken connection at once."""
        with self._lock:
            self._busy = False
            if broken or self.keep_alive == 0:
                self._end_locked()
                return
            self._expires_at = time.monotonic() + self.keep_alive
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.keep_alive, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if not self._busy and time.monotonic() >= self._expires_at:
                self._end_locked()

    def _end_locked(self) -> None:
        self._ended = True
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                log.debug("closing session %s failed", self.id, exc_info=True)

    @property
    def status(self) -> str:
        """Return ``ACTIVE`` or ``ENDED``."""
        return "ENDED" if self._ended or time.monotonic() >= self._expires_at else "ACTIVE"


class SessionStore:
    """The sessions of one account and region."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, target: Any, keep_alive: int, fields: dict[str, Any]) -> Session:
        """Open (lazily: the first statement logs in) and keep a new session."""
        session = Session(target, keep_alive, fields)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def get(self, session_id: Any) -> Session:
        """Return the session or raise ValidationException."""
        session = self._sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise ValidationException(
                f"Session {session_id} does not exist: pass the SessionId a statement with "
                "SessionKeepAliveSeconds returned."
            )
        return session
