"""The load transaction: LOCK, the ledger check, the manifest, the mode's plan, the ledger rows, COMMIT.

One redshift_connector connection (autocommit off) does the write; a second, autocommit one (``control``)
reads the ledger once the table is locked, so that loads into different tables sharing the ledger never
read and write it in one transaction. A failure rolls everything back and is explained
(``copy.errors``); a data-safety rule (``copy.guards``) can refuse the load at any step before COMMIT.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from airflow_redshift_s3 import ledger as ledger_sql
from airflow_redshift_s3.exceptions import DataSafetyError, PartitionMismatchError
from airflow_redshift_s3.sql import SqlInputError, check_identifier
from airflow_redshift_s3.transfers.copy import errors as copy_errors
from airflow_redshift_s3.transfers.copy import guards, listing
from airflow_redshift_s3.transfers.copy import plan as copy_sql
from airflow_redshift_s3.transfers.copy.plan import StepName
from airflow_redshift_s3.transfers.copy.request import FileInfo, LoadRequest

_ID_CHARS = re.compile(r"[^A-Za-z0-9._=-]+")
PROBE_FILES = 20
"""How many files a failed upsert copies one at a time to name the files holding duplicate keys."""

RunStep = Callable[[Any, copy_sql.Step], None]


@dataclass
class LoadSummary:
    """The XCom of a load: small and JSON-able."""

    table: str
    mode: str
    load_id: str
    files_found: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    bytes_loaded: int = 0
    rows_loaded: int = 0
    rows_deleted: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    duplicate_rows_dropped: int = 0
    ledger_entries: int = 0
    manifest: str | None = None
    copy_query_id: int | None = None
    region: str | None = None
    slices: int | None = None
    files_per_slice: float | None = None
    duration_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the dict pushed to XCom."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class TaskIds:
    """The Airflow ids of the running task, for the ledger and the manifests' location."""

    dag_id: str | None
    run_id: str | None
    task_id: str
    map_index: int | None = None
    try_number: int | None = None

    @classmethod
    def from_context(cls, context: Mapping[str, Any], task_id: str, dag_id: str | None) -> TaskIds:
        """Return the ids from an ``execute()`` context (``task_id`` and ``dag_id`` when it has none)."""
        ti = context.get("ti") or context.get("task_instance")
        return cls(
            dag_id=getattr(ti, "dag_id", None) or dag_id,
            run_id=getattr(ti, "run_id", None) or context.get("run_id"),
            task_id=getattr(ti, "task_id", None) or task_id,
            map_index=getattr(ti, "map_index", None),
            try_number=getattr(ti, "try_number", None),
        )

    def manifest_folder(self, manifest_prefix: str) -> str:
        """Return the key prefix of this task's manifests: ``<manifest_prefix><dag>/<run>/<task>/``."""
        task = self.task_id if self.map_index in (None, -1) else f"{self.task_id}-{self.map_index}"
        parts = [self.dag_id or "no_dag", self.run_id or "no_run", task]
        return manifest_prefix + "/".join(_ID_CHARS.sub("_", p)[:200] for p in parts) + "/"


@dataclass
class Load:
    """One load of ``files`` into ``request.target``: ``run()`` commits it or raises, having changed nothing.

    :param run_step: runs one statement of the plan on a cursor (the operator's ``_run``: it logs it).
    """

    request: LoadRequest
    files: list[FileInfo]
    file_columns: Sequence[str]
    table_columns: Sequence[tuple[str, str]]
    summary: LoadSummary
    error_context: copy_errors.CopyContext
    ids: TaskIds
    credentials: copy_sql.KeyCredentials | None
    max_reported_errors: int
    log: Any
    run_step: RunStep
    written: list[ledger_sql.LedgerEntry] = field(default_factory=list)
    """The ledger rows the load INSERTed (compacted after COMMIT)."""
    manifest_keys: list[str] = field(default_factory=list)
    """The manifests this try wrote (deleted after COMMIT)."""
    loaded_at: dt.datetime | None = None
    """The ledger rows' load time (fixed once: a deferred load writes the same rows when it resumes)."""
    progress_interval: float | None = None
    """Seconds between two progress lines of a running COPY (None: none); needs ``connect``."""
    connect: Callable[[], Any] | None = None
    """Opens a new connection (the hook's ``get_conn``), for the progress of a long COPY."""
    watch_copy: Callable[[], Any] | None = None

    def manifest_url(self, suffix: str = "") -> str:
        """Return the URL of a manifest of this load (fixed by the task's ids and the load id)."""
        folder = self.ids.manifest_folder(self.request.manifest_prefix)
        return f"s3://{self.request.manifest_bucket}/{folder}{self.summary.load_id}{suffix}.manifest"

    def run(self, hook: Any, control: Any, s3: Any) -> None:
        """Run the transaction and COMMIT; then delete the manifests (unless ``keep_manifests``).

        :param hook: the RedshiftSQLHook giving the write connection.
        :param control: the autocommit connection reading the ledger.
        :param s3: the S3InspectHook (manifests, and what a failure needs to be explained).
        """
        request, summary = self.request, self.summary
        manifest_url = self.manifest_url()
        error_context = replace(self.error_context, manifest_url=manifest_url)
        committing = False
        conn = hook.get_conn()
        try:
            conn.autocommit = False
            cursor = conn.cursor()
            self.run_step(cursor, copy_sql.lock_step(request.target))  # loads of this table queue here
            self.watch_copy = self._progress_watch(cursor)
            to_load = self._to_load(control)
            if not to_load:
                conn.rollback()
                self.log.info("Every file is already in ledger %s: nothing to load.", request.ledger)
                return
            summary.manifest = self._put_manifest(s3, manifest_url, to_load)
            self._write(cursor, s3, to_load)
            committing = True
            conn.commit()
        except Exception as error:
            _rollback(conn, self.log)
            explained = self._explain(conn, s3, error, error_context, committing)
            if explained is error:
                raise
            raise explained from error
        finally:
            conn.close()
        self._after_commit(control, s3)

    def _progress_watch(self, cursor: Any) -> Callable[[], Any] | None:
        """Return what watches the COPY's progress (``CopyProgress``) on this session, or None."""
        if not self.progress_interval or self.connect is None:
            return None
        from airflow_redshift_s3.transfers.copy.progress import CopyProgress

        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
        return partial(CopyProgress, self.connect, int(pid), str(self.request.target), self.log,
                       self.progress_interval)  # fmt: skip

    def _after_commit(self, control: Any, s3: Any) -> None:
        """Compact the ledger, then delete the manifests (unless ``keep_manifests``)."""
        request = self.request
        self._compact(control)
        if not request.keep_manifests:
            folder = self.ids.manifest_folder(request.manifest_prefix)
            # A first try knows every manifest in its folder; a later one lists the folder for those of
            # the failed tries before it.
            known = self.manifest_keys if self.ids.try_number == 1 else None
            deleted = guards.cleanup_manifests(s3, request.manifest_bucket, folder, self.log, known)
            self.log.info(
                "Deleted %s manifest(s) under s3://%s/%s.", deleted, request.manifest_bucket, folder
            )

    def _write(self, cursor: Any, s3: Any, to_load: list[FileInfo]) -> None:
        """Run the mode's plan after LOCK, check the result, and INSERT the ledger rows (before COMMIT)."""
        request, summary = self.request, self.summary
        source, stage, steps = self._steps(s3, to_load)

        def duplicates_error(found: Sequence[Sequence[Any]]) -> Exception:
            return self._duplicates_error(cursor, s3, source, stage, to_load, found)

        summary.rows_loaded = self._run_steps(cursor, steps, duplicates_error)
        if (
            request.replaces
            and not summary.rows_loaded
            and summary.rows_deleted
            and not request.allow_empty_replace
        ):
            raise guards.empty_replace(request, len(to_load), summary.rows_deleted)
        summary.files_loaded = len(to_load)
        summary.bytes_loaded = sum(f.size for f in to_load)
        if request.ledger is not None:
            entries = self._ledger_entries(to_load)
            for statement in ledger_sql.insert_entries(request.ledger, entries):
                statement.execute(cursor)
            summary.ledger_entries = len(entries)
            self.written = entries

    def _steps(
        self, s3: Any, to_load: list[FileInfo]
    ) -> tuple[copy_sql.CopySource, str, list[copy_sql.Step]]:
        """Return the COPY source, the staging table's name and the mode's statements after LOCK."""
        request, summary = self.request, self.summary
        source = copy_sql.CopySource(
            manifest_url=summary.manifest or "",
            iam_role=request.iam_role or "default",
            data_format=request.data_format,
            extra_options=request.extra_options,
            region=summary.region,
            credentials=self.credentials,
        )
        stage = check_identifier(f"s3copy_stage_{summary.load_id[:8]}", "staging table")
        file_sources: list[copy_sql.CopySource] = []
        if request.mode == "upsert" and request.on_duplicate_keys == "keep_last_file":
            file_sources = self._file_sources(s3, source, to_load, "")
        _lock, *steps = self._plan(source, stage, file_sources)
        return source, stage, steps

    def _explain(
        self, conn: Any, s3: Any, error: Exception, context: copy_errors.CopyContext, committing: bool
    ) -> Exception:
        """Return the exception to raise for a failed transaction (after ROLLBACK)."""
        request = self.request
        if context.bucket_region is None and copy_errors.is_region_failure(error):
            context = replace(context, bucket_region=listing.bucket_region(s3, request.bucket))
        if isinstance(error, (PartitionMismatchError, SqlInputError, DataSafetyError)):
            return error  # ours, already explained
        if copy_errors.is_connection_lost(error):
            if committing and not guards.retry_is_safe(request):
                return guards.commit_unknown(request, context.manifest_url, error)
            return copy_errors.connection_lost_error(context, error, committing)
        if copy_errors.may_be_missing_object(error):
            # Whatever Redshift's wording, S3 says whether listed files are gone (deleted after listing).
            gone = listing.missing(s3, request.bucket, self.files)
            if gone:
                return copy_errors.missing_files_error(context, gone, error)
        translated = copy_errors.translate(error, context)
        if translated is not None:
            return translated
        if copy_errors.is_load_failure(error):
            try:
                rows, source = copy_errors.read_load_errors(conn, self.max_reported_errors)
            except Exception as read_error:  # the report must not hide the failure
                self.log.warning("Could not read the load errors: %s", read_error)
                rows, source = [], ""
            return copy_errors.load_error(context, rows, source, copy_errors.server_message(error))
        return error

    # -- the plan ------------------------------------------------------------------------------------

    def _plan(
        self, source: copy_sql.CopySource, stage: str, file_sources: Sequence[copy_sql.CopySource]
    ) -> list[copy_sql.Step]:
        request = self.request
        if request.mode == "append":
            return copy_sql.plan_append(request.target, request.columns, source)
        if request.mode == "replace":
            return copy_sql.plan_replace(request.target, request.columns, source)
        if request.mode == "replace_partition":
            assert request.partition_column is not None and request.partition_value is not None
            return copy_sql.plan_replace_partition(
                request.target,
                self.file_columns,
                request.partition_column,
                dict(self.table_columns)[request.partition_column],
                request.partition_value,
                source,
                stage,
            )
        assert request.upsert_keys is not None
        order_by = {
            "fail": None,
            "keep_greatest": request.duplicate_order_column,
            "keep_last_file": copy_sql.FILE_ORDER,
        }[request.on_duplicate_keys]
        return copy_sql.plan_upsert(
            request.target,
            self.file_columns,
            request.upsert_keys,
            source,
            stage,
            strategy=request.upsert_strategy,
            order_by=order_by,
            file_sources=file_sources,
        )

    def _run_steps(
        self,
        cursor: Any,
        steps: Sequence[copy_sql.Step],
        duplicates_error: Callable[[Sequence[Sequence[Any]]], Exception],
        run_step: RunStep | None = None,
    ) -> int:
        """Run the plan after LOCK, fill the summary's row counts, and return the rows COPY loaded.

        Upsert counts are the same whichever the strategy: matched rows are updated, none deleted.
        """
        request, summary = self.request, self.summary
        rows = 0
        for step in steps:
            if step.name is StepName.COPY and self.watch_copy is not None and run_step is None:
                with self.watch_copy():
                    self.run_step(cursor, step)
            else:
                (run_step or self.run_step)(cursor, step)
            if step.name is StepName.COPY_COUNT:
                count, query_id = cursor.fetchone()  # one per file when the files are copied one at a time
                rows += int(count or 0)
                summary.copy_query_id = None if query_id is None else int(query_id)
            elif step.name is StepName.DELETE:
                summary.rows_deleted = max(0, int(cursor.rowcount or 0))
            elif step.name is StepName.INSERT and request.mode == "replace_partition":
                summary.rows_inserted = max(0, int(cursor.rowcount or 0))
            elif step.name is StepName.CHECK_PARTITION:
                (mismatched,) = cursor.fetchone()
                if mismatched:
                    raise PartitionMismatchError(
                        f"{mismatched} row(s) of the files have {request.partition_column} other than "
                        f"{request.partition_value!r} (or NULL): expected only rows of the partition being "
                        f"replaced. Nothing was loaded. Fix: load only that partition's files, or leave "
                        f"{request.partition_column} out of column_list so that partition_value fills it."
                    )
            elif step.name in (StepName.DUPLICATES, StepName.TARGET_DUPLICATES):
                found = cursor.fetchall()
                if found and step.name is StepName.DUPLICATES:
                    raise duplicates_error(found)
                if found:
                    raise guards.target_duplicates(request, found)
            elif step.name is StepName.COUNTS:
                distinct, matched = (int(v or 0) for v in cursor.fetchone())
                summary.duplicate_rows_dropped = rows - distinct
                summary.rows_updated = matched
                summary.rows_inserted = distinct - matched
        if request.mode in ("append", "replace"):
            summary.rows_inserted = rows
        return rows

    # -- the ledger ----------------------------------------------------------------------------------

    def _to_load(self, control: Any) -> list[FileInfo]:
        """Return the files to load, reading the ledger (autocommit connection) once the table is locked."""
        request, files = self.request, self.files
        if not request.skip_loaded or request.ledger is None:
            return files
        cursor = control.cursor()
        try:
            if request.mode in ("append", "upsert"):
                rows: list[Any] = []
                keys = [f.key for f in files]
                for statement in ledger_sql.select_loaded(
                    request.ledger, request.target, request.bucket, keys
                ):
                    statement.execute(cursor)
                    rows.extend(cursor.fetchall())
                to_load = self._new_or_changed(ledger_sql.latest_etags(rows))
            else:
                to_load = [] if self._previous_load(cursor) == self._current_files() else files
        finally:
            cursor.close()
        self.summary.files_skipped = len(files) - len(to_load)
        if self.summary.files_skipped:
            self.log.info(
                "%s of %s file(s) are in ledger %s: not loaded again.",
                self.summary.files_skipped,
                len(files),
                request.ledger,
            )
        return to_load

    def _compact(self, control: Any) -> None:
        """Move the ledger rows this committed load superseded to the history; on failure, only warn."""
        request = self.request
        if request.ledger is None or not self.written:
            return
        try:
            moved = ledger_sql.compact(control, request.ledger, self.written, request.ledger_history_days)
        except Exception as error:
            history = ledger_sql.history_table(request.ledger)
            fix = (
                f"GRANT SELECT, INSERT, DELETE ON {request.ledger.sql}, {history.sql} (and CREATE "
                "on the schema "
                "for the history) to this user; the next load of these files compacts them"
            )
            warning = (
                f"The load committed, but moving its superseded ledger rows to {history} failed: "
                f"{str(error)[:200]}. The ledger keeps an extra row per reloaded file until then. Fix: {fix}."
            )
            self.log.warning("%s", warning)
            self.summary.warnings.append(warning)
            return
        if moved:
            self.log.info(
                "Ledger %s: %s superseded row(s) moved to %s.",
                request.ledger,
                moved,
                ledger_sql.history_table(request.ledger),
            )

    def _current_files(self) -> set[tuple[str, str, str | None]]:
        return {(self.request.bucket, f.key, f.etag) for f in self.files}

    def _previous_load(self, cursor: Any) -> set[tuple[str, str, str | None]]:
        """Return the (bucket, key, ETag) of the newest load of the table (or partition)."""
        request = self.request
        assert request.ledger is not None
        partition = None
        if request.partition_column and request.partition_value:
            partition = (request.partition_column, request.partition_value)
        ledger_sql.select_last_load_id(request.ledger, request.target, partition).execute(cursor)
        last = cursor.fetchone()
        if not last:
            return set()
        ledger_sql.select_load(request.ledger, str(last[0])).execute(cursor)
        return {(str(b), str(k), None if e is None else str(e)) for b, k, e in cursor.fetchall()}

    def _new_or_changed(self, loaded: Mapping[str, tuple[str | None, dt.datetime | None]]) -> list[FileInfo]:
        """Return the files not in the ledger, and the changed ones as ``on_changed_file`` says (in order)."""
        request, files = self.request, self.files
        changed = [(f, *loaded[f.key]) for f in files if f.key in loaded and loaded[f.key][0] != f.etag]
        if changed and request.on_changed_file == "fail":
            guards.changed_files(request, changed)
        if changed:
            verb = "loaded again" if request.on_changed_file == "reload" else "skipped"
            note = (
                f"{len(changed)} file(s) rewritten since they were loaded into {request.target} were {verb} "
                f"(on_changed_file='{request.on_changed_file}'): "
                + ", ".join(f"{f.key} (ETag {old} -> {f.etag})" for f, old, _ in changed[:5])
            )
            self.log.warning("%s", note)
            self.summary.warnings.append(note)
        reload = request.on_changed_file == "reload"
        return [f for f in files if f.key not in loaded or (reload and loaded[f.key][0] != f.etag)]

    def _ledger_entries(self, files: Sequence[FileInfo]) -> list[ledger_sql.LedgerEntry]:
        request, summary, ids = self.request, self.summary, self.ids
        if self.loaded_at is None:
            self.loaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        now = self.loaded_at
        return [
            ledger_sql.LedgerEntry(
                load_id=summary.load_id,
                target_table=str(request.target),
                target_schema=request.target.schema,
                target_name=request.target.name,
                bucket=request.bucket,
                object_key=f.key,
                etag=f.etag,
                size_bytes=f.size,
                load_mode=request.mode,
                partition_column=request.partition_column,
                partition_value=request.partition_value,
                load_rows=summary.rows_loaded,
                load_files=len(files),
                dag_id=ids.dag_id,
                run_id=ids.run_id,
                task_id=ids.task_id,
                map_index=ids.map_index,
                try_number=ids.try_number,
                loaded_at=now,
            )
            for f in files
        ]

    # -- manifests -----------------------------------------------------------------------------------

    def _put_manifest(self, s3: Any, url: str, files: Sequence[FileInfo]) -> str:
        """Write the manifest listing exactly ``files`` at ``url``; return ``url``."""
        bucket, _, key = url.removeprefix("s3://").partition("/")
        body = manifest_body(self.request, files)
        s3.conn.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        self.manifest_keys.append(key)
        self.log.info("Wrote manifest %s listing %s file(s).", url, len(files))
        return url

    def _file_sources(
        self, s3: Any, source: copy_sql.CopySource, files: Sequence[FileInfo], tag: str
    ) -> list[copy_sql.CopySource]:
        """Write one manifest per file (in order) and return a source for each, for one COPY per file."""
        return [
            replace(
                source, manifest_url=self._put_manifest(s3, self.manifest_url(f"{tag}-file-{n:05d}"), [f])
            )
            for n, f in enumerate(files, start=1)
        ]

    def _duplicates_error(
        self,
        cursor: Any,
        s3: Any,
        source: copy_sql.CopySource,
        stage: str,
        files: Sequence[FileInfo],
        found: Sequence[Sequence[Any]],
    ) -> Exception:
        """Return the error for duplicate (or tied) keys, naming the files that hold them.

        Redshift cannot say which file a row came from, so on the way to this failure the first
        ``PROBE_FILES`` files are copied one at a time into a probe table (the transaction is rolled back).
        """
        request = self.request
        keys = list(request.upsert_keys or ())
        urls = [f"s3://{request.bucket}/{f.key}" for f in files]
        if len(files) == 1:
            return guards.duplicate_keys(request, found, {tuple(r[: len(keys)]): urls for r in found}, 1, 1)
        sample = files[:PROBE_FILES]
        if request.on_duplicate_keys == "keep_last_file":  # the staging table has the file numbers already
            statement = copy_sql.files_of_duplicates(stage, stage, keys)
            sample = files
        else:
            sources = self._file_sources(s3, source, sample, "-probe")
            *steps, last = copy_sql.plan_file_probe(
                f"{stage}_probe", stage, request.target, self.file_columns, keys, sources
            )
            for step in steps:
                self.run_step(cursor, step)
            statement = last.statement
        statement.execute(cursor)
        files_of: dict[tuple[Any, ...], list[str]] = {}
        for row in cursor.fetchall():
            files_of.setdefault(tuple(row[: len(keys)]), []).append(urls[int(row[len(keys)]) - 1])
        return guards.duplicate_keys(request, found, files_of, len(sample), len(files))


def manifest_body(request: LoadRequest, files: Sequence[FileInfo]) -> bytes:
    """Return the COPY manifest naming exactly ``files``, each mandatory (with its size if columnar)."""
    entries = []
    for f in files:
        entry: dict[str, Any] = {"url": f"s3://{request.bucket}/{f.key}", "mandatory": True}
        if request.data_format.columnar:
            entry["meta"] = {"content_length": f.size}
        entries.append(entry)
    return json.dumps({"entries": entries}).encode()


def key_credentials(aws_conn_id: str | None, log: Any) -> copy_sql.KeyCredentials:
    """Return the AWS connection's access keys for COPY, masked in every log (key-based COPY only)."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from airflow.sdk.log import mask_secret

    frozen = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="s3").get_credentials()
    for secret in (frozen.access_key, frozen.secret_key, frozen.token):
        if secret:
            mask_secret(secret)
    log.warning(
        "COPY uses the access keys of connection %r (allow_key_based_credentials=True); prefer an IAM role.",
        aws_conn_id,
    )
    return copy_sql.KeyCredentials(frozen.access_key, frozen.secret_key, frozen.token)


def _rollback(conn: Any, log: Any) -> None:
    try:
        conn.rollback()
    except Exception as error:  # the connection itself broke: nothing was committed
        log.warning("ROLLBACK failed: %s", error)
