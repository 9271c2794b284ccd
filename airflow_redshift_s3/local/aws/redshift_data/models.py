"""The statements of the local Redshift Data API: their life cycle, results and listing.

A statement is ``SUBMITTED`` when the API returns its id, ``PICKED`` once a worker thread takes it,
``STARTED`` while its SQL runs and then ``FINISHED``, ``FAILED`` (``Error`` holds Redshift's message) or
``ABORTED`` (cancelled). That sequence, the ``<id>:<n>`` ids of a batch's sub-statements and the
``Duration`` in nanoseconds come from the Data API reference; how long each state lasts is the local
database's own time.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_redshift_s3.local.aws.redshift_data.exceptions import (
    ResourceNotFoundException,
    ValidationException,
)
from airflow_redshift_s3.local.aws.redshift_data.results import ResultSet

RUNNING = ("SUBMITTED", "PICKED", "STARTED")
ENDED = ("FINISHED", "FAILED", "ABORTED")
LIST_STATUSES = ("SUBMITTED", "PICKED", "STARTED", "FINISHED", "ABORTED", "FAILED", "ALL")
# The Id pattern of the Data API reference (a batch's sub-statement adds ``:<n>``).
_ID_PATTERN = re.compile(r"^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\d+)?$")
CANCELLED_MESSAGE = "Query cancelled on user's request"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def validate_id(statement_id: Any) -> str:
    """Return ``statement_id`` or raise the ValidationException AWS gives for a malformed id."""
    if not isinstance(statement_id, str) or not _ID_PATTERN.match(statement_id):
        raise ValidationException(
            f"id must satisfy regex pattern: {_ID_PATTERN.pattern}; got {statement_id!r}. "
            "Pass the Id that ExecuteStatement or BatchExecuteStatement returned."
        )
    return statement_id


@dataclass
class SubStatement:
    """One SQL text of a statement, with its own status and result (a whole ExecuteStatement is one)."""

    id: str
    query_string: str
    status: str = "SUBMITTED"
    error: str | None = None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    duration_ns: int = 0
    result_rows: int = -1
    result: ResultSet | None = None
    _began: float = 0.0

    @property
    def has_result_set(self) -> bool:
        """Tell whether the SQL returned rows (a SELECT, a SHOW) rather than a command tag."""
        return self.result is not None

    @property
    def result_size(self) -> int:
        """Return the size in bytes of the result, or -1 without one."""
        return self.result.size if self.result is not None else -1

    def begin(self) -> None:
        """Mark the SQL as sent to the database."""
        self.status, self.updated_at, self._began = "STARTED", _now(), time.monotonic()

    def end(self, status: str, error: str | None = None) -> None:
        """Record how the SQL ended and how long it ran."""
        if self._began:
            self.duration_ns = int((time.monotonic() - self._began) * 1e9)
        self.status, self.error, self.updated_at = status, error, _now()

    def describe(self) -> dict[str, Any]:
        """Return the SubStatementData of DescribeStatement."""
        data: dict[str, Any] = {
            "Id": self.id,
            "QueryString": self.query_string,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Duration": self.duration_ns if self.status in ENDED else -1,
            "HasResultSet": self.has_result_set,
            "ResultRows": self.result_rows,
            "ResultSize": self.result_size,
            "RedshiftQueryId": -1,
        }
        if self.error is not None:
            data["Error"] = self.error
        return data


@dataclass
class Submission:
    """What the caller asked for, as ExecuteStatement and BatchExecuteStatement take it."""

    sqls: list[str]
    database: str
    is_batch: bool
    cluster_identifier: str | None = None
    workgroup_name: str | None = None
    db_user: str | None = None
    secret_arn: str | None = None
    statement_name: str | None = None
    parameters: list[dict[str, str]] | None = None
    result_format: str = "JSON"
    caller_arn: str = ""
    session_id: str | None = None


class Statement:
    """One ExecuteStatement or BatchExecuteStatement call and how far it got."""

    def __init__(self, submission: Submission) -> None:
        self.id = str(uuid.uuid4())
        self.submission = submission
        ids = (
            [f"{self.id}:{n}" for n in range(1, len(submission.sqls) + 1)]
            if submission.is_batch
            else [self.id]
        )
        self.parts = [SubStatement(part_id, sql) for part_id, sql in zip(ids, submission.sqls, strict=False)]
        self.status = "SUBMITTED"
        self.error: str | None = None
        self.created_at = self.updated_at = _now()
        self.redshift_pid = -1
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._cancel_hook: Callable[[], None] | None = None
        self.cancel_requested = False

    # -- the worker's side ---------------------------------------------------------------------------

    def advance(self, status: str) -> bool:
        """Move a running statement to ``status`` (PICKED, STARTED); False once it was cancelled."""
        with self._lock:
            if self.cancel_requested or self.status in ENDED:
                return False
            self.status, self.updated_at = status, _now()
            return True

    def set_cancel_hook(self, hook: Callable[[], None] | None) -> None:
        """Set how a CancelStatement interrupts the SQL running now (None when nothing runs)."""
        with self._lock:
            self._cancel_hook = hook

    def finish(self, status: str, error: str | None = None) -> None:
        """Record the end of the whole statement and wake those waiting for it."""
        with self._lock:
            if self.cancel_requested and status == "FAILED":
                status, error = "ABORTED", error or CANCELLED_MESSAGE
            self.status, self.error, self.updated_at = status, error, _now()
            self._cancel_hook = None
        for part in self.parts:
            if part.status in RUNNING:
                part.end("ABORTED" if status != "FINISHED" else "FINISHED")
        self.done.set()

    # -- the API's side ------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Cancel the statement (CancelStatement); a statement that ended cannot be."""
        with self._lock:
            if self.status in ENDED:
                raise ValidationException(
                    f"Could not cancel a query that is already in {self.status} state with ID: {self.id}"
                )
            self.cancel_requested = True
            hook = self._cancel_hook
        if hook is not None:
            hook()

    @property
    def duration_ns(self) -> int:
        """Return the nanoseconds the SQL ran, summed over a batch's sub-statements."""
        return sum(part.duration_ns for part in self.parts)

    def describe(self) -> dict[str, Any]:
        """Return DescribeStatement's answer for the whole statement."""
        submission = self.submission
        data: dict[str, Any] = {
            "Id": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Database": submission.database,
            "Duration": self.duration_ns if self.status in ENDED else -1,
            "RedshiftPid": self.redshift_pid,
            "RedshiftQueryId": -1,
            "ResultFormat": submission.result_format,
            "QueryParameters": submission.parameters or [],
        }
        for key, value in (
            ("ClusterIdentifier", submission.cluster_identifier),
            ("WorkgroupName", submission.workgroup_name),
            ("DbUser", submission.db_user),
            ("SecretArn", submission.secret_arn),
            ("SessionId", submission.session_id),
            ("Error", self.error),
        ):
            if value is not None:
                data[key] = value
        if submission.is_batch:
            data["SubStatements"] = [part.describe() for part in self.parts]
            data["HasResultSet"] = any(part.has_result_set for part in self.parts)
            data["ResultRows"] = sum(max(part.result_rows, 0) for part in self.parts)
            data["ResultSize"] = sum(max(part.result_size, 0) for part in self.parts)
        else:
            (part,) = self.parts
            data.update(
                QueryString=part.query_string,
                HasResultSet=part.has_result_set,
                ResultRows=part.result_rows,
                ResultSize=part.result_size,
            )
        return data

    def listed(self) -> dict[str, Any]:
        """Return the StatementData of ListStatements."""
        submission = self.submission
        data: dict[str, Any] = {
            "Id": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "IsBatchStatement": submission.is_batch,
            "ResultFormat": submission.result_format,
            "QueryParameters": submission.parameters or [],
        }
        if submission.is_batch:
            data["QueryStrings"] = list(submission.sqls)
        else:
            data["QueryString"] = submission.sqls[0]
        if submission.statement_name is not None:
            data["StatementName"] = submission.statement_name
        if submission.secret_arn is not None:
            data["SecretArn"] = submission.secret_arn
        if submission.session_id is not None:
            data["SessionId"] = submission.session_id
        return data

    def part(self, statement_id: str) -> SubStatement:
        """Return the sub-statement ``<id>:<n>`` (or the only part of an ExecuteStatement by its id)."""
        for part in self.parts:
            if part.id == statement_id:
                return part
        if self.submission.is_batch and statement_id == self.id:
            raise ValidationException(
                f"Statement {self.id} is a batch: fetch the result of one of its sub-statements, "
                f"{self.id}:1 to {self.id}:{len(self.parts)}."
            )
        raise ResourceNotFoundException(f"Query does not exist: {statement_id}", statement_id)


class StatementStore:
    """The statements of one account and region, kept for the life of the moto backend."""

    def __init__(self) -> None:
        self._statements: dict[str, Statement] = {}
        self._lock = threading.Lock()

    def add(self, statement: Statement) -> None:
        """Keep ``statement``."""
        with self._lock:
            self._statements[statement.id] = statement

    def get(self, statement_id: Any) -> Statement:
        """Return the statement of ``<id>`` or ``<id>:<n>``, or raise ResourceNotFoundException."""
        validate_id(statement_id)
        statement = self._statements.get(statement_id.split(":")[0])
        if statement is None:
            raise ResourceNotFoundException(f"Query does not exist: {statement_id}", statement_id)
        return statement

    def active(self) -> int:
        """Return how many statements have not ended."""
        with self._lock:
            return sum(statement.status in RUNNING for statement in self._statements.values())

    def listing(
        self,
        status: str,
        statement_name: str | None,
        caller_arn: str | None,
        cluster_identifier: str | None = None,
        workgroup_name: str | None = None,
        database: str | None = None,
    ) -> list[Statement]:
        """Return the matching statements, newest first (ListStatements)."""
        if status not in LIST_STATUSES:
            raise ValidationException(f"Status must be one of {', '.join(LIST_STATUSES)}; got {status!r}.")
        with self._lock:
            statements = list(self._statements.values())
        chosen = []
        for statement in statements:
            submission = statement.submission
            if status != "ALL" and statement.status != status:
                continue
            if statement_name is not None and not (submission.statement_name or "").startswith(
                statement_name
            ):
                continue
            if caller_arn is not None and submission.caller_arn != caller_arn:
                continue
            wanted = (
                (cluster_identifier, submission.cluster_identifier),
                (workgroup_name, submission.workgroup_name),
                (database, submission.database),
            )
            if any(want is not None and want != have for want, have in wanted):
                continue
            chosen.append(statement)
        return sorted(chosen, key=lambda s: s.created_at, reverse=True)
