"""Load S3 files into a Redshift table with COPY: exactly once, atomically, and saying what went wrong."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_redshift_s3 import ledger as ledger_sql
from airflow_redshift_s3.copy_format import CopyFormat
from airflow_redshift_s3.exceptions import ConfigCheckError, DataSafetyError, ResourceNotFoundError
from airflow_redshift_s3.policies import MANIFEST_PREFIX
from airflow_redshift_s3.sql import SqlInputError, Statement, TableName, check_identifier, parse_table_name
from airflow_redshift_s3.transfers import _copy_errors as copy_errors
from airflow_redshift_s3.transfers import _copy_guards as guards
from airflow_redshift_s3.transfers import _copy_sql as copy_sql
from airflow_redshift_s3.transfers._copy_request import (
    PREFLIGHT_CHECKS,
    FileInfo,
    LoadRequest,
    build_request,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

_ID_CHARS = re.compile(r"[^A-Za-z0-9._=-]+")
_COLUMNS_SQL = (
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = "
    "%s "
    "ORDER BY ordinal_position"
)


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
    duration_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the dict pushed to XCom."""
        return dict(self.__dict__)


def redshift_table_asset(*, host: str, database: str, schema: str, table: str, port: int = 5439) -> Any:
    """Return the Asset of a Redshift table (``redshift://host:port/database/schema/table``), for ``outlets``.

    The URI is the Amazon provider's ``redshift`` asset scheme, so OpenLineage and asset-aware schedules see
    the same table the operator loads.

    :param host: the cluster as the Amazon provider names it (``<cluster>.<region>`` or the endpoint).
    :param database: the database.
    :param schema: the schema.
    :param table: the table.
    :param port: the port.
    """
    from airflow.sdk import Asset

    return Asset(uri=f"redshift://{host}:{port}/{database}/{schema}/{table}")


class S3ToRedshiftCopyOperator(BaseOperator):
    """Load an S3 prefix, or an exact list of files, into a Redshift table with COPY: atomic, exactly once.

    The files are listed first and COPY reads exactly those through a manifest, so files arriving during
    the load are not half-loaded. The write is one transaction on a redshift_connector connection from
    the Amazon provider's RedshiftSQLHook: LOCK the table; leave out the files the ledger has with the same
    ETag; the mode's statements and COPY; one ledger row per file; COMMIT. A failure rolls everything back
    and raises an exception that says what to fix; rejected rows are listed with file, line, column, value
    and reason. Arguments from a trigger form are checked before any SQL runs.

    :param bucket: the bucket holding the files (templated).
    :param table: the target table, "table" or "schema.table" (templated).
    :param prefix: load every object whose key starts with this (templated). Give ``prefix`` or ``keys``.
    :param keys: load exactly these keys (templated).
    :param key_pattern: with ``prefix``, only keys whose part after the prefix matches this glob (templated).
    :param schema: the target's schema, when ``table`` is not qualified (templated).
    :param column_list: the table columns the files fill, in file order (templated).
    :param iam_role_arn: the role COPY uses: an ARN or "default" (templated).
    :param redshift_conn_id: the Redshift connection (templated).
    :param aws_conn_id: the AWS connection, for S3 and the preflight (templated).
    :param cluster_identifier: the provisioned cluster, for the role and region preflight; default: from the
        connection (templated).
    :param workgroup_name: the Serverless workgroup, for the role and region preflight (templated).
    :param input_format: ``CsvFormat``, ``TextFormat``, ``JsonFormat``, ``ParquetFormat``, ``OrcFormat`` or
        ``AvroFormat``, or its dict form ``{"type": "csv", ...}``; default "csv", i.e. ``CsvFormat()``
        (templated; to template the fields, pass the dict).
    :param copy_options: further COPY options checked against an allow-list, e.g. ``{"FILLRECORD": True}``
        (templated).
    :param mode: "append"; "replace" (DELETE every row and COPY, in one transaction); "replace_partition"
        (DELETE one partition and COPY); "upsert" (staging table, de-duplication, MERGE) (templated).
    :param upsert_keys: the key columns of "upsert"; default: the table's primary key (templated).
    :param upsert_strategy: "merge" (MERGE) or "delete_insert" (DELETE the matched rows, then INSERT).
    :param partition_column: with "replace_partition", the column naming the partition (templated).
    :param partition_value: with "replace_partition", the partition's value, e.g. "{{ ds }}", bound as a
        parameter (templated).
    :param skip_loaded_files: leave out files the ledger has with the same ETag; default True in "append"
        mode, False otherwise. In the replace modes the load is skipped only when the last load of the table
        (or partition) had exactly these files.
    :param ledger_table: the ledger; default ``s3_load_ledger`` in the target's schema (templated).
    :param use_ledger: record the loaded files in the ledger.
    :param manifest_bucket: the bucket for the manifests; default ``bucket`` (templated).
    :param manifest_prefix: the key prefix of the manifests (templated).
    :param preflight_checks: the checks to run first, among "role", "region", "access" and "format".
    :param bucket_region_policy: "set_region" (add REGION when the bucket is in another region) or "fail".
    :param role_wait_timeout: seconds to wait for a role still being attached ("adding").
    :param allow_key_based_credentials: with no ``iam_role_arn``, let COPY use the AWS connection's access
        keys (masked in logs); refused otherwise.
    :param strict_identifiers: the strict identifier policy of ``airflow_redshift_s3.sql`` (see there).
    :param allow_no_files: succeed without loading when no file is found (default: fail).
    :param max_reported_errors: how many rejected rows the exception lists.
    :param allow_empty_replace: let "replace"/"replace_partition" commit when the files hold no row while the
        table (or partition) had rows; by default that load is rolled back and fails.
    :param on_duplicate_keys: with "upsert", what to do when the files hold several rows of one key: "fail"
        (the default: nothing is loaded, the keys and their files are named); "keep_greatest" (the row with
        the greatest ``duplicate_order_column``); "keep_last_file" (the row of the file listed last; the files
        are then copied one at a time). A tie fails in both (templated).
    :param duplicate_order_column: with ``on_duplicate_keys="keep_greatest"``, the column whose greatest value
        wins, e.g. "updated_at" (templated).
    :param on_changed_file: with "append" or "upsert", what to do with a file the ledger has under another
        ETag (rewritten since it was loaded): "fail", "reload" (load it again: in "append" its old rows
        stay, so its rows are then in the table twice) or "skip". Default: "fail" in "append", "reload" in
        "upsert" (templated).
    :param on_invalid_key: "fail" (default) or "skip" (with a warning) for an S3 key the ledger cannot
        record: a NUL byte or invalid UTF-8.
    :param keep_manifests: keep the manifest after a successful load; by default it is deleted (with the
        manifests of this task's failed tries). A failed load always keeps it, for diagnosis.
    """

    template_fields: Sequence[str] = (
        "bucket",
        "table",
        "prefix",
        "keys",
        "key_pattern",
        "schema",
        "column_list",
        "iam_role_arn",
        "redshift_conn_id",
        "aws_conn_id",
        "cluster_identifier",
        "workgroup_name",
        "input_format",
        "copy_options",
        "mode",
        "upsert_keys",
        "partition_column",
        "partition_value",
        "ledger_table",
        "manifest_bucket",
        "manifest_prefix",
        "on_duplicate_keys",
        "duplicate_order_column",
        "on_changed_file",
    )
    template_fields_renderers = {"input_format": "json", "copy_options": "json", "keys": "json"}
    ui_color = "#c7e0f4"

    def __init__(
        self,
        *,
        bucket: str,
        table: str,
        prefix: str | None = None,
        keys: Sequence[str] | None = None,
        key_pattern: str | None = None,
        schema: str | None = None,
        column_list: Sequence[str] | None = None,
        iam_role_arn: str | None = None,
        redshift_conn_id: str = "redshift_default",
        aws_conn_id: str | None = "aws_default",
        cluster_identifier: str | None = None,
        workgroup_name: str | None = None,
        input_format: CopyFormat | Mapping[str, Any] | str = "csv",
        copy_options: Mapping[str, Any] | None = None,
        mode: str = "append",
        upsert_keys: Sequence[str] | None = None,
        upsert_strategy: str = "merge",
        partition_column: str | None = None,
        partition_value: Any = None,
        skip_loaded_files: bool | None = None,
        ledger_table: str | None = None,
        use_ledger: bool = True,
        manifest_bucket: str | None = None,
        manifest_prefix: str = MANIFEST_PREFIX,
        preflight_checks: Sequence[str] = PREFLIGHT_CHECKS,
        bucket_region_policy: str = "set_region",
        role_wait_timeout: float = 300.0,
        allow_key_based_credentials: bool = False,
        strict_identifiers: bool = True,
        allow_no_files: bool = False,
        max_reported_errors: int = 10,
        allow_empty_replace: bool = False,
        on_duplicate_keys: str = "fail",
        duplicate_order_column: str | None = None,
        on_changed_file: str | None = None,
        on_invalid_key: str = "fail",
        keep_manifests: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bucket = bucket
        self.table = table
        self.prefix = prefix
        self.keys = keys
        self.key_pattern = key_pattern
        self.schema = schema
        self.column_list = column_list
        self.iam_role_arn = iam_role_arn
        self.redshift_conn_id = redshift_conn_id
        self.aws_conn_id = aws_conn_id
        self.cluster_identifier = cluster_identifier
        self.workgroup_name = workgroup_name
        self.input_format = input_format
        self.copy_options = copy_options
        self.mode = mode
        self.upsert_keys = upsert_keys
        self.upsert_strategy = upsert_strategy
        self.partition_column = partition_column
        self.partition_value = partition_value
        self.skip_loaded_files = skip_loaded_files
        self.ledger_table = ledger_table
        self.use_ledger = use_ledger
        self.manifest_bucket = manifest_bucket
        self.manifest_prefix = manifest_prefix
        self.preflight_checks = preflight_checks
        self.bucket_region_policy = bucket_region_policy
        self.role_wait_timeout = role_wait_timeout
        self.allow_key_based_credentials = allow_key_based_credentials
        self.strict_identifiers = strict_identifiers
        self.allow_no_files = allow_no_files
        self.max_reported_errors = max_reported_errors
        self.allow_empty_replace = allow_empty_replace
        self.on_duplicate_keys = on_duplicate_keys
        self.duplicate_order_column = duplicate_order_column
        self.on_changed_file = on_changed_file
        self.on_invalid_key = on_invalid_key
        self.keep_manifests = keep_manifests
        self._lineage: dict[str, Any] = {}

    def validate(self) -> LoadRequest:
        """Check every argument without network or SQL; raise an ``AirflowFailException`` for a bad one."""
        return build_request(self)

    # -- execute -------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """List the files, run the preflight, and load them in one transaction; return the summary."""
        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

        from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook
        from airflow_redshift_s3.transfers._copy_preflight import redshift_target, run_preflight

        started = time.monotonic()
        request = self.validate()
        for note in request.warnings:
            self.log.warning("%s", note)
        summary = LoadSummary(table=str(request.target), mode=request.mode, load_id=str(uuid.uuid4()))
        summary.warnings.extend(request.warnings)
        s3 = S3InspectHook(aws_conn_id=self.aws_conn_id)
        files, notes = self._list_files(s3, request)
        for note in notes:
            self.log.warning("%s", note)
        summary.warnings.extend(notes)
        summary.files_found = len(files)
        self._lineage = {
            "bucket": request.bucket,
            "prefix": request.source_prefix,
            "keys": [f.key for f in files],
        }
        if not files:
            return self._no_files(request, summary, started)
        hook = RedshiftSQLHook(redshift_conn_id=self.redshift_conn_id, aws_conn_id=self.aws_conn_id)
        control = hook.get_conn()  # autocommit: catalog, ledger DDL and ledger reads, never the write
        try:
            control.autocommit = True
            request, table_columns, notes = self._resolve_table(control, hook, request)
            summary.warnings.extend(notes)
            summary.table = str(request.target)
            self._lineage.update(
                schema=request.target.schema, table=request.target.name, columns=table_columns
            )
            file_columns = _file_columns(request, table_columns)
            needs_target = bool(request.checks & {"role", "region", "access"})
            cluster, workgroup = (
                redshift_target(self.redshift_conn_id, self.cluster_identifier, self.workgroup_name)
                if needs_target
                else (self.cluster_identifier, self.workgroup_name)
            )
            preflight = run_preflight(
                s3=s3,
                request=request,
                files=files,
                file_columns=file_columns,
                aws_conn_id=self.aws_conn_id,
                cluster=cluster,
                workgroup=workgroup,
                role_wait_timeout=self.role_wait_timeout,
                log=self.log,
            )
            summary.region = preflight.region
            summary.warnings.extend(preflight.warnings)
            if request.ledger is not None:
                summary.warnings.extend(self._ensure_ledger(control, request.ledger))
            error_context = copy_errors.CopyContext(
                table=str(request.target),
                bucket=request.bucket,
                prefix=request.source_prefix,
                manifest_url="",
                iam_role=request.iam_role,
                redshift_target=preflight.redshift_target
                or (f"cluster '{cluster}'" if cluster else f"workgroup '{workgroup}'" if workgroup else None),
                max_errors=int(getattr(request.data_format, "max_errors", 0)),
                bucket_region=preflight.region,
                redshift_region=preflight.redshift_region,
            )
            self._load(
                hook,
                control,
                s3,
                request,
                files,
                file_columns,
                table_columns,
                summary,
                error_context,
                context,
            )
        finally:
            control.close()
        summary.duration_seconds = round(time.monotonic() - started, 3)
        self.log.info(
            "Loaded %s file(s), %s bytes, %s row(s) into %s (%s); %s file(s) already loaded were skipped.",
            summary.files_loaded,
            summary.bytes_loaded,
            summary.rows_loaded,
            summary.table,
            summary.mode,
            summary.files_skipped,
        )
        return summary.to_dict()

    def _no_files(self, request: LoadRequest, summary: LoadSummary, started: float) -> dict[str, Any]:
        where = f"s3://{request.bucket}/{request.source_prefix}"
        if not self.allow_no_files:
            pattern = f" matching key_pattern {request.key_pattern!r}" if request.key_pattern else ""
            raise ResourceNotFoundError(
                f"No file to load under {where}{pattern}: expected at least one non-empty object. Fix: check "
                "bucket and prefix, wait for the data (S3PrefixSensor), or pass allow_no_files=True to "
                "succeed "
                "without loading."
            )
        self.log.warning("No file to load under %s; nothing done (allow_no_files=True).", where)
        summary.duration_seconds = round(time.monotonic() - started, 3)
        return summary.to_dict()

    # -- S3 ------------------------------------------------------------------------------------------

    def _list_files(self, s3: Any, request: LoadRequest) -> tuple[list[FileInfo], list[str]]:
        """Return the files to load and the warnings about the listing (raise for what a rule refuses).

        Zero-byte objects are left out whether listed or named in ``keys`` (they hold no row).
        """
        if request.keys is not None:
            listed = [_head(s3, request.bucket, key) for key in request.keys]
        else:
            prefix = request.prefix or ""
            manifests = request.manifest_prefix if request.manifest_bucket == request.bucket else None
            listed = []
            for obj in s3.iter_objects(request.bucket, prefix):
                key = obj["Key"]
                if key.endswith("/") or (manifests and key.startswith(manifests)):
                    continue
                if request.key_pattern and not fnmatch.fnmatchcase(key[len(prefix) :], request.key_pattern):
                    continue
                listed.append(FileInfo(key, int(obj.get("Size") or 0), _etag(obj.get("ETag"))))
        files, notes = [], []
        for info in listed:
            reason = guards.unrecordable(info.key)
            if reason is not None:
                notes.append(guards.invalid_key(request, info.key, reason))
            elif not info.size:
                self.log.info("Leaving out empty object s3://%s/%s", request.bucket, info.key)
            else:
                files.append(info)
        boundary = guards.check_boundary(request, files)
        return files, notes if boundary is None else [*notes, boundary]

    def _manifest_folder(self, request: LoadRequest, context: Context) -> str:
        """Return the key prefix of this task's manifests: ``<manifest_prefix><dag>/<run>/<task>/``."""
        ids = self._airflow_ids(context)
        task = ids["task_id"] or self.task_id
        if ids["map_index"] not in (None, -1):
            task = f"{task}-{ids['map_index']}"
        parts = [ids["dag_id"] or "no_dag", ids["run_id"] or "no_run", task]
        return request.manifest_prefix + "/".join(_ID_CHARS.sub("_", p)[:200] for p in parts) + "/"

    def _manifest_url(self, request: LoadRequest, load_id: str, context: Context, suffix: str = "") -> str:
        """Return the URL of a manifest of this load (fixed by the ids and the load id)."""
        key = f"{self._manifest_folder(request, context)}{load_id}{suffix}.manifest"
        return f"s3://{request.manifest_bucket}/{key}"

    def _put_manifest(self, s3: Any, request: LoadRequest, url: str, files: Sequence[FileInfo]) -> str:
        """Write the manifest listing exactly ``files`` at ``url``; return ``url``."""
        entries = []
        for f in files:
            entry: dict[str, Any] = {"url": f"s3://{request.bucket}/{f.key}", "mandatory": True}
            if request.data_format.columnar:
                entry["meta"] = {"content_length": f.size}
            entries.append(entry)
        bucket, _, key = url.removeprefix("s3://").partition("/")
        body = json.dumps({"entries": entries}).encode()
        s3.conn.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        self.log.info("Wrote manifest %s listing %s file(s).", url, len(files))
        return url

    # -- Redshift catalog ----------------------------------------------------------------------------

    def _resolve_table(
        self, conn: Any, hook: Any, request: LoadRequest
    ) -> tuple[LoadRequest, list[tuple[str, str]], list[str]]:
        """Qualify the target with its schema, read its columns, and check the names given against them.

        Return the request, the table's (column, type) and warnings.
        """
        cursor = conn.cursor()
        try:
            target = request.target
            if target.schema is None:
                cursor.execute("SELECT current_schema()")
                target = target.with_schema(str(cursor.fetchone()[0]))
            Statement(_COLUMNS_SQL, (target.schema, target.name)).execute(cursor)
            columns = [(str(r[0]), str(r[1])) for r in cursor.fetchall()]
        finally:
            cursor.close()
        if not columns:
            raise ResourceNotFoundError(
                f"Table {target} does not exist (or this user may not see it): expected an existing table to "
                "load into. Fix: create the table first, or correct table and schema."
            )
        ledger = request.ledger
        if ledger is not None and ledger.schema is None and not self.ledger_table:
            ledger = ledger.with_schema(str(target.schema))
        names = [c for c, _ in columns]
        _require_columns(request.columns or (), names, target, "column_list")
        upsert_keys = request.upsert_keys
        notes: list[str] = []
        if request.mode == "upsert":
            primary = tuple(str(k) for k in hook.get_table_primary_key(target.name, target.schema) or [])
            if upsert_keys is None:
                upsert_keys = primary or None
            if not upsert_keys:
                raise ConfigCheckError(
                    f"mode 'upsert' needs key columns: upsert_keys is not set and table {target} has no "
                    "primary "
                    "key. Fix: pass upsert_keys=['id']."
                )
            file_names = request.columns or _file_columns(request, columns)
            _require_columns(upsert_keys, file_names, target, "upsert_keys")
            notes.extend(_upsert_key_notes(target, upsert_keys, primary))
            order = request.duplicate_order_column
            if order is not None and (order not in file_names or order in upsert_keys):
                raise ConfigCheckError(
                    f"duplicate_order_column is {order!r}: expected a column the files fill that "
                    "is not an upsert "
                    f"key (one of {', '.join(c for c in file_names if c not in upsert_keys)}). Fix: pass one."
                )
        if request.partition_column is not None:
            _require_columns((request.partition_column,), names, target, "partition_column")
        for note in notes:
            self.log.warning("%s", note)
        return replace(request, target=target, ledger=ledger, upsert_keys=upsert_keys), columns, notes

    def _ensure_ledger(self, conn: Any, ledger: TableName) -> list[str]:
        notes = ledger_sql.ensure_ledger(conn, ledger, self.log)
        for note in notes:
            self.log.warning("%s", note)
        return notes

    # -- the load ------------------------------------------------------------------------------------

    def _credentials(self, request: LoadRequest) -> copy_sql.KeyCredentials | None:
        if request.iam_role is not None:
            return None
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
        from airflow.sdk.log import mask_secret

        frozen = AwsBaseHook(aws_conn_id=self.aws_conn_id, client_type="s3").get_credentials()
        for secret in (frozen.access_key, frozen.secret_key, frozen.token):
            if secret:
                mask_secret(secret)
        self.log.warning(
            "COPY uses the access keys of connection %r (allow_key_based_credentials=True); prefer an IAM "
            "role.",
            self.aws_conn_id,
        )
        return copy_sql.KeyCredentials(frozen.access_key, frozen.secret_key, frozen.token)

    def _plan(
        self,
        request: LoadRequest,
        source: copy_sql.CopySource,
        file_columns: Sequence[str],
        table_columns: Sequence[tuple[str, str]],
        stage: str,
        file_sources: Sequence[copy_sql.CopySource] = (),
    ) -> list[copy_sql.Step]:
        if request.mode == "append":
            return copy_sql.plan_append(request.target, request.columns, source)
        if request.mode == "replace":
            return copy_sql.plan_replace(request.target, request.columns, source)
        if request.mode == "replace_partition":
            assert request.partition_column is not None and request.partition_value is not None
            return copy_sql.plan_replace_partition(
                request.target,
                file_columns,
                request.partition_column,
                dict(table_columns)[request.partition_column],
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
            file_columns,
            request.upsert_keys,
            source,
            stage,
            strategy=request.upsert_strategy,
            order_by=order_by,
            file_sources=file_sources,
        )

    def _load(
        self,
        hook: Any,
        control: Any,
        s3: Any,
        request: LoadRequest,
        files: list[FileInfo],
        file_columns: Sequence[str],
        table_columns: Sequence[tuple[str, str]],
        summary: LoadSummary,
        error_context: copy_errors.CopyContext,
        context: Context,
    ) -> None:
        """Run LOCK, the ledger check, the plan and the ledger INSERTs in one transaction, and COMMIT.

        After COMMIT the load's manifests are deleted (unless ``keep_manifests``); a failed load keeps them.
        """
        manifest_url = self._manifest_url(request, summary.load_id, context)
        error_context = replace(error_context, manifest_url=manifest_url)
        source = copy_sql.CopySource(
            manifest_url=manifest_url,
            iam_role=request.iam_role or "default",
            data_format=request.data_format,
            extra_options=request.extra_options,
            region=summary.region,
            credentials=self._credentials(request),
        )
        stage = check_identifier(f"s3copy_stage_{summary.load_id[:8]}", "staging table")
        committing = False
        conn = hook.get_conn()
        try:
            conn.autocommit = False
            cursor = conn.cursor()
            self._run(cursor, copy_sql.lock_step(request.target))  # loads of this table queue here
            to_load = self._to_load(control, request, files, summary)
            if not to_load:
                conn.rollback()
                self.log.info("Every file is already in ledger %s: nothing to load.", request.ledger)
                return
            summary.manifest = self._put_manifest(s3, request, manifest_url, to_load)
            file_sources = []
            if request.mode == "upsert" and request.on_duplicate_keys == "keep_last_file":
                file_sources = self._file_sources(s3, request, source, to_load, summary.load_id, context)
            _lock, *steps = self._plan(request, source, file_columns, table_columns, stage, file_sources)

            def probe(found: Sequence[Sequence[Any]]) -> Exception:
                return self._duplicates_error(
                    cursor, s3, request, source, stage, file_columns, to_load, found, summary, context
                )

            summary.rows_loaded = self._run_steps(cursor, steps, request, summary, probe)
            if (
                request.replaces
                and summary.rows_loaded == 0
                and summary.rows_deleted > 0
                and not request.allow_empty_replace
            ):
                raise guards.empty_replace(request, len(to_load), summary.rows_deleted)
            summary.files_loaded = len(to_load)
            summary.bytes_loaded = sum(f.size for f in to_load)
            if request.ledger is not None:
                entries = self._ledger_entries(request, to_load, summary, context)
                for statement in ledger_sql.insert_entries(request.ledger, entries):
                    statement.execute(cursor)
                summary.ledger_entries = len(entries)
            committing = True
            conn.commit()
        except Exception as error:
            _rollback(conn, self.log)
            if error_context.bucket_region is None and copy_errors.is_region_failure(error):
                error_context = replace(error_context, bucket_region=_bucket_region(s3, request.bucket))
            if copy_errors.is_connection_lost(error):
                if committing and not guards.retry_is_safe(request):
                    raise guards.commit_unknown(request, manifest_url, error) from error
                raise copy_errors.connection_lost_error(error_context, error, committing) from error
            if copy_errors.may_be_missing_object(error):
                # Whatever Redshift's wording, S3 says whether listed files are gone (deleted after listing).
                gone = _missing(s3, request.bucket, files)
                if gone:
                    raise copy_errors.missing_files_error(error_context, gone, error) from error
            failure = self._failure(conn, error, error_context)
            if failure is error:
                raise
            raise failure from error
        finally:
            conn.close()
        if not request.keep_manifests:
            folder = self._manifest_folder(request, context)
            deleted = guards.cleanup_manifests(s3, request.manifest_bucket, folder, self.log)
            self.log.info(
                "Deleted %s manifest(s) under s3://%s/%s.", deleted, request.manifest_bucket, folder
            )

    def _file_sources(
        self,
        s3: Any,
        request: LoadRequest,
        source: copy_sql.CopySource,
        files: Sequence[FileInfo],
        load_id: str,
        context: Context,
    ) -> list[copy_sql.CopySource]:
        """Write one manifest per file (in order) and return a source for each, for one COPY per file."""
        return [
            replace(
                source,
                manifest_url=self._put_manifest(
                    s3, request, self._manifest_url(request, load_id, context, f"-file-{n:05d}"), [f]
                ),
            )
            for n, f in enumerate(files, start=1)
        ]

    def _duplicates_error(
        self,
        cursor: Any,
        s3: Any,
        request: LoadRequest,
        source: copy_sql.CopySource,
        stage: str,
        file_columns: Sequence[str],
        files: Sequence[FileInfo],
        found: Sequence[Sequence[Any]],
        summary: LoadSummary,
        context: Context,
    ) -> Exception:
        """Return the error for duplicate (or tied) keys, naming the files that hold them.

        Redshift cannot say which file a row came from, so on the way to this failure the first
        ``PROBE_FILES`` files are copied one at a time into a probe table (the transaction is rolled back).
        """
        keys = list(request.upsert_keys or ())
        urls = [f"s3://{request.bucket}/{f.key}" for f in files]
        if len(files) == 1:
            return guards.duplicate_keys(request, found, {tuple(r[: len(keys)]): urls for r in found}, 1, 1)
        sample = files[:PROBE_FILES]
        if request.on_duplicate_keys == "keep_last_file":  # the staging table has the file numbers already
            statement = copy_sql.files_of_duplicates(stage, stage, keys)
            sample = files
        else:
            sources = self._file_sources(s3, request, source, sample, f"{summary.load_id}-probe", context)
            *steps, last = copy_sql.plan_file_probe(
                f"{stage}_probe", stage, request.target, file_columns, keys, sources
            )
            for step in steps:
                self._run(cursor, step)
            statement = last.statement
        statement.execute(cursor)
        files_of: dict[tuple[Any, ...], list[str]] = {}
        for row in cursor.fetchall():
            files_of.setdefault(tuple(row[: len(keys)]), []).append(urls[int(row[len(keys)]) - 1])
        return guards.duplicate_keys(request, found, files_of, len(sample), len(files))

    def _run(self, cursor: Any, step: copy_sql.Step) -> None:
        self.log.info("%s: %s", step.name, step.statement)  # str() masks key-based credentials
        step.statement.execute(cursor)

    def _run_steps(
        self,
        cursor: Any,
        steps: Sequence[copy_sql.Step],
        request: LoadRequest,
        summary: LoadSummary,
        duplicates_error: Callable[[Sequence[Sequence[Any]]], Exception],
    ) -> int:
        """Run the plan after LOCK, fill the summary's row counts, and return the rows COPY loaded.

        Upsert counts are the same whichever the strategy: matched rows are updated, none deleted.
        """
        rows = 0
        for step in steps:
            self._run(cursor, step)
            if step.name == "copy_count":
                count, query_id = cursor.fetchone()  # one per file when the files are copied one at a time
                rows += int(count or 0)
                summary.copy_query_id = None if query_id is None else int(query_id)
            elif step.name == "delete":
                summary.rows_deleted = max(0, int(cursor.rowcount or 0))
            elif step.name == "insert" and request.mode == "replace_partition":
                summary.rows_inserted = max(0, int(cursor.rowcount or 0))
            elif step.name == "check_partition":
                (mismatched,) = cursor.fetchone()
                if mismatched:
                    raise copy_errors.PartitionMismatchError(
                        f"{mismatched} row(s) of the files have {request.partition_column} other than "
                        f"{request.partition_value!r} (or NULL): expected only rows of the partition being "
                        f"replaced. Nothing was loaded. Fix: load only that partition's files, or leave "
                        f"{request.partition_column} out of column_list so that partition_value fills it."
                    )
            elif step.name == "duplicates":
                found = cursor.fetchall()
                if found:
                    raise duplicates_error(found)
            elif step.name == "target_duplicates":
                found = cursor.fetchall()
                if found:
                    raise guards.target_duplicates(request, found)
            elif step.name == "counts":
                distinct, matched = (int(v or 0) for v in cursor.fetchone())
                summary.duplicate_rows_dropped = rows - distinct
                summary.rows_updated = matched
                summary.rows_inserted = distinct - matched
        if request.mode in ("append", "replace"):
            summary.rows_inserted = rows
        return rows

    def _to_load(
        self, control: Any, request: LoadRequest, files: list[FileInfo], summary: LoadSummary
    ) -> list[FileInfo]:
        """Return the files to load, reading the ledger (autocommit connection) once the table is locked."""
        if not request.skip_loaded or request.ledger is None:
            return files
        target = request.target
        cursor = control.cursor()
        try:
            if request.mode in ("append", "upsert"):
                rows: list[Any] = []
                keys = [f.key for f in files]
                for statement in ledger_sql.select_loaded(request.ledger, target, request.bucket, keys):
                    statement.execute(cursor)
                    rows.extend(cursor.fetchall())
                to_load = self._new_or_changed(request, files, ledger_sql.latest_etags(rows), summary)
            else:
                partition = None
                if request.partition_column and request.partition_value:
                    partition = (request.partition_column, request.partition_value)
                ledger_sql.select_last_load_id(request.ledger, target, partition).execute(cursor)
                last = cursor.fetchone()
                previous: set[tuple[str, str, str | None]] = set()
                if last:
                    ledger_sql.select_load(request.ledger, str(last[0])).execute(cursor)
                    previous = {
                        (str(b), str(k), None if e is None else str(e)) for b, k, e in cursor.fetchall()
                    }
                current = {(request.bucket, f.key, f.etag) for f in files}
                to_load = [] if previous == current else files
        finally:
            cursor.close()
        summary.files_skipped = len(files) - len(to_load)
        if summary.files_skipped:
            self.log.info(
                "%s of %s file(s) are in ledger %s with the same ETag: not loaded again.",
                summary.files_skipped,
                len(files),
                request.ledger,
            )
        return to_load

    def _new_or_changed(
        self,
        request: LoadRequest,
        files: Sequence[FileInfo],
        loaded: Mapping[str, tuple[str | None, dt.datetime | None]],
        summary: LoadSummary,
    ) -> list[FileInfo]:
        """Return the files not in the ledger, and the changed ones as ``on_changed_file`` says (in order)."""
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
            summary.warnings.append(note)
        reload = request.on_changed_file == "reload"
        return [f for f in files if f.key not in loaded or (reload and loaded[f.key][0] != f.etag)]

    def _airflow_ids(self, context: Context) -> dict[str, Any]:
        ti = context.get("ti") or context.get("task_instance")
        return {
            "dag_id": getattr(ti, "dag_id", None) or (self.dag_id if self.has_dag() else None),
            "run_id": getattr(ti, "run_id", None) or context.get("run_id"),
            "task_id": getattr(ti, "task_id", None) or self.task_id,
            "map_index": getattr(ti, "map_index", None),
            "try_number": getattr(ti, "try_number", None),
        }

    def _ledger_entries(
        self, request: LoadRequest, files: Sequence[FileInfo], summary: LoadSummary, context: Context
    ) -> list[ledger_sql.LedgerEntry]:
        ids = self._airflow_ids(context)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
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
                dag_id=ids["dag_id"],
                run_id=ids["run_id"],
                task_id=ids["task_id"],
                map_index=ids["map_index"],
                try_number=ids["try_number"],
                loaded_at=now,
            )
            for f in files
        ]

    def _failure(self, conn: Any, error: Exception, context: copy_errors.CopyContext) -> Exception:
        """Return the exception to raise for a failed write (after ROLLBACK)."""
        if isinstance(error, (copy_errors.PartitionMismatchError, SqlInputError, DataSafetyError)):
            return error
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

    # -- lineage -------------------------------------------------------------------------------------

    def lineage_names(
        self, database: str | None, authority: str
    ) -> tuple[list[tuple[str, str]], tuple[str, str]]:
        """Return the OpenLineage (namespace, name) of the inputs and the output, as the Amazon provider.

        :param database: the Redshift database.
        :param authority: ``<cluster>.<region>:<port>``, RedshiftSQLHook's OpenLineage authority.
        """
        info = self._lineage
        bucket = info.get("bucket") or self.bucket
        if self.keys is not None:
            inputs = [(f"s3://{bucket}", key) for key in (info.get("keys") or self.keys)]
        else:
            inputs = [(f"s3://{bucket}", info.get("prefix", self.prefix) or "/")]
        schema, table = info.get("schema"), info.get("table")
        if not table:  # before execute: the names as given
            try:
                target = parse_table_name(self.table, self.schema, strict=self.strict_identifiers)
                schema, table = target.schema, target.name
            except SqlInputError:
                table = str(self.table)
        schema = schema or "public"
        name = f"{database}.{schema}.{table}" if database else f"{schema}.{table}"
        return inputs, (f"redshift://{authority}", name)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Return the OpenLineage inputs (the S3 files) and output (the table); None without OpenLineage."""
        try:
            from airflow.providers.common.compat.openlineage.facet import (
                Dataset,
                LifecycleStateChange,
                LifecycleStateChangeDatasetFacet,
                SchemaDatasetFacet,
                SchemaDatasetFacetFields,
            )
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:
            return None
        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

        hook = RedshiftSQLHook(redshift_conn_id=self.redshift_conn_id, aws_conn_id=self.aws_conn_id)
        authority = hook.get_openlineage_database_info(hook.conn).authority
        inputs, (namespace, name) = self.lineage_names(hook.conn.schema, authority)
        facets: dict[str, Any] = {}
        if self._lineage.get("columns"):
            facets["schema"] = SchemaDatasetFacet(
                fields=[SchemaDatasetFacetFields(name=c, type=t) for c, t in self._lineage["columns"]]
            )
        if str(self.mode).lower() in ("replace", "replace_partition"):
            facets["lifecycleStateChange"] = LifecycleStateChangeDatasetFacet(
                lifecycleStateChange=LifecycleStateChange.OVERWRITE
            )
        return OperatorLineage(
            inputs=[Dataset(namespace=ns, name=n) for ns, n in inputs],
            outputs=[Dataset(namespace=namespace, name=name, facets=facets)],
        )


def _etag(value: object) -> str | None:
    return str(value or "").strip('"') or None


def _head(s3: Any, bucket: str, key: str) -> FileInfo:
    from botocore.exceptions import ClientError

    try:
        head = s3.conn.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey", "NotFound"):
            raise ResourceNotFoundError(
                f"S3 object s3://{bucket}/{key} does not exist: expected every key of keys to exist. Fix: "
                "correct the key, or wait for the file."
            ) from error
        raise
    return FileInfo(key, int(head.get("ContentLength") or 0), _etag(head.get("ETag")))


MISSING_CHECK_LIMIT = 1000
PROBE_FILES = 20
"""How many files a failed upsert copies one at a time to name the files holding duplicate keys."""


def _missing(s3: Any, bucket: str, files: Sequence[FileInfo]) -> list[str]:
    """Return the URLs of ``files`` (the first MISSING_CHECK_LIMIT) that no longer exist in S3."""
    gone = []
    for info in files[:MISSING_CHECK_LIMIT]:
        try:
            _head(s3, bucket, info.key)
        except ResourceNotFoundError:
            gone.append(f"s3://{bucket}/{info.key}")
        except Exception:  # only for the message: the COPY error is what matters
            return []
    return gone


def _bucket_region(s3: Any, bucket: str) -> str | None:
    try:
        return s3.probe_bucket(bucket).region
    except Exception:  # only for the message: the COPY error is what matters
        return None


def _file_columns(request: LoadRequest, table_columns: Sequence[tuple[str, str]]) -> list[str]:
    """Return the columns the files hold, in order: the column list, else the table's (less the partition)."""
    if request.columns:
        return list(request.columns)
    names = [c for c, _ in table_columns]
    if request.mode == "replace_partition":
        return [c for c in names if c != request.partition_column]
    return names


def _upsert_key_notes(target: TableName, keys: Sequence[str], primary: Sequence[str]) -> list[str]:
    """Return a warning when ``keys`` are not the table's declared primary key (it may not be unique)."""
    if not primary or set(keys) == set(primary):
        return []
    return [
        f"upsert_keys ({', '.join(keys)}) differ from the primary key of {target} ({', '.join(primary)}): "
        "Redshift does not enforce keys, so check that they identify one row (the load fails if "
        "the rows they "
        "match are not unique). Fix: leave upsert_keys unset to use the primary key."
    ]


def _require_columns(wanted: Sequence[str], available: Sequence[str], target: TableName, what: str) -> None:
    missing = [c for c in wanted if c not in available]
    if missing:
        raise ConfigCheckError(
            f"{what} names {', '.join(missing)}, not a column COPY can fill in {target}: expected some of "
            f"{', '.join(available)}. Fix: correct {what}."
        )


def _rollback(conn: Any, log: Any) -> None:
    try:
        conn.rollback()
    except Exception as error:  # the connection itself broke: nothing was committed
        log.warning("ROLLBACK failed: %s", error)
