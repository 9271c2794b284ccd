"""The load over the Redshift Data API: the same statements as over redshift_connector, in one batch.

A ``BatchExecuteStatement`` is one transaction (the Data API reference: "If any SQL statement fails, all
work is rolled back"), but it cannot stop between two statements for Python to read a result. So each
check that the connector path makes in Python before COMMIT is also written as a *guard*: a statement
that fails (a cast of text to INTEGER) exactly when the check would, which rolls the whole batch back:

- the ledger, read before the batch, is read again inside it after LOCK: a file another load committed in
  between fails the batch (nothing is loaded twice; the next try skips the file);
- a replace that would leave the table (or partition) empty after deleting rows fails
  (``allow_empty_replace``);
- the partition check and the two duplicate-key checks of upsert fail as they do over the connector.

When a guard fails, the load runs the statements that lead to its check again in a Data API session, without
writing the target (staging tables are temporary), and reads the check's rows to raise the same error as the
connector path. The figures (rows loaded, deleted, updated) are read after COMMIT from the batch's
sub-statements. The batch keeps its session open for a while, so that the load-error report reads
``stl_load_errors`` of the failed COPY's own session, as it does over the connector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from airflow_redshift_s3 import ledger as ledger_sql
from airflow_redshift_s3.exceptions import (
    ConcurrentLoadError,
    ConfigCheckError,
    DataSafetyError,
    PartitionMismatchError,
)
from airflow_redshift_s3.sql import Statement, quoted, sql_literal
from airflow_redshift_s3.transfers.copy import errors as copy_errors
from airflow_redshift_s3.transfers.copy import guards
from airflow_redshift_s3.transfers.copy import plan as copy_sql
from airflow_redshift_s3.transfers.copy.data_api import (
    SESSION_KEEP_ALIVE_SECONDS,
    DataApiClient,
    DataApiConnection,
    DataApiStatementError,
    RowsCursor,
)
from airflow_redshift_s3.transfers.copy.load import Load
from airflow_redshift_s3.transfers.copy.plan import StepName
from airflow_redshift_s3.transfers.copy.request import FileInfo

_CHECKS = (StepName.CHECK_PARTITION, StepName.DUPLICATES, StepName.TARGET_DUPLICATES)
# What the diagnosis of a failed guard runs again: statements on temporary tables, and reads.
_REPLAYED = (StepName.STAGE, StepName.COPY, StepName.COPY_COUNT, StepName.TAG_FILE, StepName.DEDUP, *_CHECKS)
_BEFORE = '"s3copy_before"'


@dataclass(frozen=True)
class Part:
    """One statement of the batch: a step of the plan, or a guard (``kind``) checking one."""

    kind: str  # "step", "guard", "ledger", "empty", "before", "ledger_insert"
    sql: str
    step: copy_sql.Step | None = None


def _guard(rows_when_bad: str, what: str) -> str:
    """Return a statement that fails (and rolls the batch back) when ``rows_when_bad`` returns a row."""
    label = f"airflow_redshift_s3 refused the load: {what} ("
    return (
        f"SELECT CAST('{label}' || COUNT(*) || ')' AS INTEGER) FROM ({rows_when_bad}) AS \"s3copy_guard\" "
        "HAVING COUNT(*) > 0"
    )


@dataclass
class DataApiLoad(Load):
    """``Load`` whose transaction is one ``BatchExecuteStatement`` (``client``) instead of a connection."""

    client: DataApiClient | None = None
    defer: Callable[[str, str | None, dict[str, Any]], None] | None = None
    """Called with the submitted batch's id, its session and ``state()``; raises TaskDeferred."""
    _source: copy_sql.CopySource | None = None
    _stage: str = ""

    def run(self, hook: Any, control: Any, s3: Any) -> None:
        """Run the batch (one transaction); then compact the ledger and delete the manifests.

        With ``defer``, submit the batch and hand its id to ``defer`` (which raises TaskDeferred); the
        operator's ``execute_complete`` rebuilds the load from ``state()`` and calls ``resume``.
        """
        assert self.client is not None
        request, summary = self.request, self.summary
        to_load = self._to_load(control)  # read again inside the batch, after LOCK (the ledger guard)
        if not to_load:
            self.log.info("Every file is already in ledger %s: nothing to load.", request.ledger)
            return
        summary.manifest = self._put_manifest(s3, self.manifest_url(), to_load)
        parts, steps = self._batch(s3, to_load)
        for part in parts:
            self.log.info("%s: %s", part.step.name if part.step else part.kind, _masked(part))
        sqls = [p.sql for p in parts]
        if self.defer is not None:
            submitted = self.client.submit(sqls, keep_session=SESSION_KEEP_ALIVE_SECONDS)
            self.defer(submitted.statement_id, submitted.session_id, self.state(to_load))
            # never past here: going on would wait for, and then account for, a batch already submitted
            raise AssertionError("defer() must raise TaskDeferred")
        client = self.client
        self._finish(lambda: client.run(sqls, keep_session=SESSION_KEEP_ALIVE_SECONDS), parts, steps, s3,
                     to_load, control)  # fmt: skip

    def resume(self, statement_id: str, session_id: str | None, control: Any, s3: Any) -> None:
        """Finish a deferred load: wait for its batch (ended by now), then what ``run`` does after it."""
        assert self.client is not None
        to_load = list(self.files)
        parts, steps = self._batch(s3, to_load)  # the same statements: ids, manifests, load time are kept
        client = self.client
        self._finish(lambda: client.wait(statement_id, session_id), parts, steps, s3, to_load, control)

    def state(self, to_load: list[FileInfo]) -> dict[str, Any]:
        """Return what ``resume`` needs, JSON-able (the task's ``next_kwargs``)."""
        assert self.loaded_at is not None
        return {
            "summary": self.summary.to_dict(),
            "to_load": [{"key": f.key, "size": f.size, "etag": f.etag} for f in to_load],
            "file_columns": list(self.file_columns),
            "table_columns": [list(c) for c in self.table_columns],
            "error_context": dict(self.error_context.__dict__),
            "loaded_at": self.loaded_at.isoformat(),
            "manifest_keys": list(self.manifest_keys),
        }

    def _finish(
        self,
        wait: Callable[[], dict[str, Any]],
        parts: list[Part],
        steps: list[copy_sql.Step],
        s3: Any,
        to_load: list[FileInfo],
        control: Any,
    ) -> None:
        request = self.request
        error_context = replace(self.error_context, manifest_url=self.manifest_url())
        try:
            described = wait()
        except DataApiStatementError as error:
            raise self._failed(error, parts, steps, s3, to_load, control, error_context) from error
        except Exception as error:  # submitted, but its end was not heard: it may have committed
            if guards.retry_is_safe(request):
                raise copy_errors.connection_lost_error(error_context, error, committing=True) from error
            raise guards.commit_unknown(request, error_context.manifest_url, error) from error
        self._read_figures(described, parts, to_load)
        self._after_commit(control, s3)

    # -- the batch -----------------------------------------------------------------------------------

    def _batch(self, s3: Any, to_load: list[FileInfo]) -> tuple[list[Part], list[copy_sql.Step]]:
        request = self.request
        self._source, self._stage, steps = self._steps(s3, to_load)
        parts = [
            Part("step", copy_sql.lock_step(request.target).statement.sql, copy_sql.lock_step(request.target))
        ]
        parts += self._ledger_guards(to_load)
        empty_guard = request.replaces and not request.allow_empty_replace
        if empty_guard:
            parts.append(Part("before", self._count_before()))
        for step in steps:
            parts.append(Part("step", step.statement.inline(), step))
            if step.name in _CHECKS:
                parts.append(Part("guard", _guard(self._rows_when_bad(step), str(step.name)), step))
        if empty_guard:
            parts.append(Part("empty", _guard(self._emptied(), "the replace would leave no row")))
        if request.ledger is not None:
            # The rows' count is not known before the batch runs: load_rows is set after COMMIT.
            self.written = self._ledger_entries(to_load)
            parts += [
                Part("ledger_insert", statement.inline())
                for statement in ledger_sql.insert_entries(request.ledger, self.written)
            ]
        return parts, steps

    def _ledger_guards(self, to_load: list[FileInfo]) -> list[Part]:
        """Fail the batch when a file to load is now in the ledger with the same ETag (a concurrent load)."""
        request = self.request
        if not request.skip_loaded or request.ledger is None or request.mode not in ("append", "upsert"):
            return []  # a replace is idempotent: a concurrent replace of the same files loads the same rows
        etags = {f.key: f.etag for f in to_load if f.etag is not None}
        parts = []
        for statement in ledger_sql.select_loaded(
            request.ledger, request.target, request.bucket, list(etags)
        ):
            keys = [k for k in statement.params or () if isinstance(k, str) and k in etags]
            pairs = " OR ".join(
                f'("object_key" = {sql_literal(k)} AND "etag" = {sql_literal(etags[k])})' for k in keys
            )
            rows = f'SELECT 1 FROM ({statement.inline()}) AS "s3copy_loaded" WHERE {pairs}'
            parts.append(Part("ledger", _guard(rows, "a file is already in the ledger")))
        return parts

    def _partition_condition(self) -> str:
        request = self.request
        column = quoted(str(request.partition_column))
        cast = copy_sql.cast_sql(dict(self.table_columns)[str(request.partition_column)])  # checks the type
        return Statement(f"{column} = {cast}", (request.partition_value,)).inline()

    def _count_before(self) -> str:
        where = f" WHERE {self._partition_condition()}" if self.request.mode == "replace_partition" else ""
        return f'CREATE TEMP TABLE {_BEFORE} AS SELECT COUNT(*) AS "n" FROM {self.request.target.sql}{where}'

    def _emptied(self) -> str:
        where = f" WHERE {self._partition_condition()}" if self.request.mode == "replace_partition" else ""
        target = self.request.target.sql
        return f'SELECT 1 FROM {_BEFORE} WHERE "n" > 0 AND NOT EXISTS (SELECT 1 FROM {target}{where})'

    @staticmethod
    def _rows_when_bad(step: copy_sql.Step) -> str:
        sql = step.statement.inline()
        if step.name is StepName.CHECK_PARTITION:
            assert sql.startswith("SELECT COUNT(*) FROM ")
            return "SELECT 1 FROM " + sql.removeprefix("SELECT COUNT(*) FROM ")
        return sql  # the duplicate checks return rows exactly when they fail

    # -- after the batch -----------------------------------------------------------------------------

    def _read_figures(self, described: dict[str, Any], parts: list[Part], to_load: list[FileInfo]) -> None:
        """Fill the summary from the committed batch's sub-statements, as ``_run_steps`` does live."""
        assert self.client is not None
        request, summary = self.request, self.summary
        subs = described.get("SubStatements") or []
        replay = _Replay(self.client, [(p, subs[n] if n < len(subs) else {}) for n, p in enumerate(parts)])
        steps = [
            p.step
            for p in parts
            if p.kind == "step" and p.step is not None and p.step.name is not StepName.LOCK
        ]
        summary.rows_loaded = self._run_steps(
            replay, steps, lambda found: AssertionError("checked by a guard")
        )
        summary.files_loaded = len(to_load)
        summary.bytes_loaded = sum(f.size for f in to_load)
        if request.ledger is not None and self.written:
            summary.ledger_entries = len(self.written)
            self._set_ledger_rows()

    def _set_ledger_rows(self) -> None:
        """Write the load's row count into its ledger rows (after COMMIT; a failure only warns)."""
        assert self.client is not None and self.request.ledger is not None
        statement = Statement(
            f'UPDATE {self.request.ledger.sql} SET "load_rows" = %s WHERE "load_id" = %s',
            (self.summary.rows_loaded, self.summary.load_id),
        )
        try:
            self.client.run(statement.inline())
        except DataApiStatementError as error:
            self.log.warning("The ledger rows of load %s keep load_rows 0: %s", self.summary.load_id, error)

    def _failed(
        self,
        error: DataApiStatementError,
        parts: list[Part],
        steps: list[copy_sql.Step],
        s3: Any,
        to_load: list[FileInfo],
        control: Any,
        context: Any,
    ) -> Exception:
        """Return the exception explaining the rolled-back batch (same classes as over the connector)."""
        part = parts[error.part] if error.part is not None and error.part < len(parts) else None
        if part is not None and part.kind == "ledger":
            return ConcurrentLoadError(
                f"Another load committed some of these files into {self.request.target} while this one ran "
                f"(ledger {self.request.ledger}); this try loaded nothing. Fix: none needed: a retry skips "
                "the files already loaded."
            )
        if part is not None and part.kind == "empty":
            where = (
                f" WHERE {self._partition_condition()}" if self.request.mode == "replace_partition" else ""
            )
            cursor = control.cursor()
            cursor.execute(f"SELECT COUNT(*) FROM {self.request.target.sql}{where}")
            (count,) = cursor.fetchone() or (0,)
            return guards.empty_replace(self.request, len(to_load), int(count or 0))
        if part is not None and part.kind == "guard" and part.step is not None:
            return self._diagnose(part.step, steps, s3, to_load)
        session = DataApiConnection(self.client, getattr(error, "session_id", None))  # type: ignore[arg-type]
        return self._explain(session, s3, error, context, committing=False)

    def _diagnose(
        self, failed: copy_sql.Step, steps: list[copy_sql.Step], s3: Any, to_load: list[FileInfo]
    ) -> Exception:
        """Run the statements leading to ``failed``'s check again (temporary tables only): its error."""
        assert self.client is not None
        first = self.client.run("SELECT 1", keep_session=SESSION_KEEP_ALIVE_SECONDS)
        session = DataApiConnection(self.client, first.get("SessionId"))
        cursor = session.cursor()
        replayed = []
        for step in steps:
            if step.name in _REPLAYED:
                replayed.append(step)
            if step is failed:
                break
        source, stage = self._source, self._stage
        assert source is not None

        def duplicates_error(found: Sequence[Sequence[Any]]) -> Exception:
            return self._duplicates_error(cursor, s3, source, stage, to_load, found)

        try:
            self._run_steps(cursor, replayed, duplicates_error)
        except (DataSafetyError, PartitionMismatchError) as explained:
            return explained
        return ConfigCheckError(
            f"The load's {failed.name} check failed inside its transaction, and nothing was loaded; run "
            "again, it found nothing wrong (the files or the table changed in between). Fix: rerun the task."
        )


class _Replay(RowsCursor):
    """A cursor over a committed batch: each ``execute`` moves to the next step's recorded result."""

    def __init__(self, client: DataApiClient, parts: list[tuple[Part, dict[str, Any]]]) -> None:
        super().__init__()
        self._client = client
        self._steps = [
            (p, sub) for p, sub in parts if p.kind == "step" and p.step and p.step.name is not StepName.LOCK
        ]

    def execute(self, sql: str, params: Any = None) -> _Replay:
        _part, sub = self._steps.pop(0)
        self.rowcount = int(sub.get("ResultRows", -1))
        self._rows = self._client.records(sub["Id"])[1] if sub.get("HasResultSet") else []
        return self


def _read_result(cursor: Any, step: copy_sql.Step) -> None:
    """Move a ``_Replay`` to ``step``'s result (the statement ran in the batch: nothing to log or run)."""
    cursor.execute(step.statement.sql)


def _masked(part: Part) -> str:
    """Return the part's text for the log: a step as ``Statement`` shows it (key-based credentials masked).

    The other parts (guards, ledger rows) never hold credentials.
    """
    return str(part.step.statement) if part.step is not None and part.kind == "step" else part.sql
