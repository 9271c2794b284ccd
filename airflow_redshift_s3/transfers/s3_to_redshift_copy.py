"""Load S3 files into a Redshift table with COPY: exactly once, atomically, and saying what went wrong."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowProviderDeprecationWarning
from airflow.sdk import conf

from airflow_redshift_s3 import ledger as ledger_sql
from airflow_redshift_s3.copy_format import CopyFormat
from airflow_redshift_s3.hooks._aws_mixin import aws_template_fields
from airflow_redshift_s3.operators._aws_base import AwsOperatorBase
from airflow_redshift_s3.policies import MANIFEST_PREFIX
from airflow_redshift_s3.sql import SqlInputError, parse_table_name
from airflow_redshift_s3.transfers.copy import catalog, listing
from airflow_redshift_s3.transfers.copy import errors as copy_errors
from airflow_redshift_s3.transfers.copy.load import Load, LoadSummary, TaskIds, key_credentials
from airflow_redshift_s3.transfers.copy.request import PREFLIGHT_CHECKS, FileInfo, LoadRequest, build_request
from airflow_redshift_s3.transfers.copy.transport import DataApiTransport

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_redshift_s3.transfers.copy.plan import Step

__all__ = ["LoadSummary", "S3ToRedshiftCopyOperator", "redshift_table_asset"]


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


def _authority(hook: Any) -> str:
    """Return ``<cluster>.<region>:<port>`` (or host:port), as the Amazon RedshiftSQLHook names it."""
    return str(hook.get_openlineage_database_info(hook.conn).authority or hook.conn.host)


class S3ToRedshiftCopyOperator(DataApiTransport, AwsOperatorBase):
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
    AWS: ``aws_conn_id`` (S3, the preflight and IAM authentication to Redshift), ``region_name``, ``verify``,
    ``botocore_config`` (see ``AwsOperatorBase``; the first three templated).
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
    :param ledger_history_days: the ledger holds the current state (one row per file, target and partition);
        the rows a reload supersedes move to ``<ledger>_history`` right after COMMIT and stay there this
        many days (90). None keeps them for ever, 0 keeps none.
    :param manifest_bucket: the bucket for the manifests; default ``bucket`` (templated).
    :param manifest_prefix: the key prefix of the manifests (templated).
    :param preflight_checks: the checks to run first, among "role", "region", "access" and "format".
    :param on_region_mismatch: "set_region" (add REGION when the bucket is in another region) or "fail", as
        in ``S3VerifyBucketOperator``.
    :param bucket_region_policy: deprecated name of ``on_region_mismatch``.
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
    :param reuse_upstream_checks: take the role, region and access checks from an upstream
        ``S3VerifyBucketOperator`` of the same DAG run that verified the same bucket (or a prefix holding
        this one), role and cluster or workgroup, instead of asking AWS again (default True).
    :param transport: how the statements reach Redshift: "redshift_connector" (a database connection,
        ``redshift_conn_id``) or "data_api" (the Redshift Data API over HTTPS: no network path to the
        cluster needed; the load is one BatchExecuteStatement). Default: "data_api" when
        ``redshift_data_api_kwargs`` is given, else "redshift_connector".
    :param redshift_data_api_kwargs: where the Data API runs the load, as the Amazon
        ``S3ToRedshiftOperator`` takes it: ``database`` and ``cluster_identifier`` with ``db_user`` or
        ``secret_arn``, or ``workgroup_name``; ``poll_interval`` (seconds, default 1). Without it,
        ``transport="data_api"`` takes the database, the login and the cluster or workgroup from the
        ``redshift_conn_id`` connection.
    :param progress_interval: while a COPY over redshift_connector runs longer than this many seconds,
        log its progress from STV_LOAD_STATE every this many seconds (percent, bytes, files, rate, time
        left), on a connection of its own; None: never (default 60).
    :param deferrable: over the Data API, wait for the load's batch in the triggerer (the Amazon provider's
        ``RedshiftDataTrigger``) instead of a worker slot; over redshift_connector it has no effect (the
        transaction needs its connection).
    """

    template_fields: Sequence[str] = aws_template_fields(
        "bucket",
        "table",
        "prefix",
        "keys",
        "key_pattern",
        "schema",
        "column_list",
        "iam_role_arn",
        "redshift_conn_id",
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
        "redshift_data_api_kwargs",
        "transport",
    )
    template_fields_renderers = {
        "input_format": "json",
        "copy_options": "json",
        "keys": "json",
        "redshift_data_api_kwargs": "json",
    }
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
        on_region_mismatch: str = "set_region",
        bucket_region_policy: str | None = None,
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
        reuse_upstream_checks: bool = True,
        ledger_history_days: int | None = ledger_sql.DEFAULT_HISTORY_DAYS,
        transport: str | None = None,
        redshift_data_api_kwargs: Mapping[str, Any] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        progress_interval: float | None = 60.0,
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
        if bucket_region_policy is not None:
            warnings.warn(
                "bucket_region_policy is deprecated: pass on_region_mismatch (the same values), the name the "
                "other operators and the checks use.",
                AirflowProviderDeprecationWarning,
                stacklevel=2,
            )
            on_region_mismatch = bucket_region_policy
        self.on_region_mismatch = on_region_mismatch
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
        self.reuse_upstream_checks = reuse_upstream_checks
        self.ledger_history_days = ledger_history_days
        self.transport = transport
        self.redshift_data_api_kwargs = redshift_data_api_kwargs
        self.deferrable = deferrable
        self.progress_interval = progress_interval
        self._lineage: dict[str, Any] = {}
        self._data_api: Any = None

    def validate(self) -> LoadRequest:
        """Check every argument without network or SQL; raise an ``AirflowFailException`` for a bad one."""
        return build_request(
            bucket=self.bucket,
            table=self.table,
            prefix=self.prefix,
            keys=self.keys,
            key_pattern=self.key_pattern,
            schema=self.schema,
            column_list=self.column_list,
            iam_role_arn=self.iam_role_arn,
            input_format=self.input_format,
            copy_options=self.copy_options,
            mode=self.mode,
            upsert_keys=self.upsert_keys,
            upsert_strategy=self.upsert_strategy,
            partition_column=self.partition_column,
            partition_value=self.partition_value,
            skip_loaded_files=self.skip_loaded_files,
            ledger_table=self.ledger_table,
            use_ledger=self.use_ledger,
            manifest_bucket=self.manifest_bucket,
            manifest_prefix=self.manifest_prefix,
            preflight_checks=self.preflight_checks,
            on_region_mismatch=self.on_region_mismatch,
            allow_key_based_credentials=self.allow_key_based_credentials,
            strict_identifiers=self.strict_identifiers,
            allow_empty_replace=self.allow_empty_replace,
            on_duplicate_keys=self.on_duplicate_keys,
            duplicate_order_column=self.duplicate_order_column,
            on_changed_file=self.on_changed_file,
            on_invalid_key=self.on_invalid_key,
            keep_manifests=self.keep_manifests,
            ledger_history_days=self.ledger_history_days,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        """List the files, run the preflight, and load them in one transaction; return the summary."""
        started = time.time()
        request = self.validate()
        self._data_api = self._data_api_target()  # a bad transport fails before any call
        summary = LoadSummary(table=str(request.target), mode=request.mode, load_id=str(uuid.uuid4()))
        s3 = self._new_s3_hook()
        files, notes = listing.list_files(s3, request, self.log)
        self._warn(summary, [*request.warnings, *(note.text() for note in notes)])
        summary.files_found = len(files)
        self._lineage = {
            "bucket": request.bucket,
            "prefix": request.source_prefix,
            "keys": [f.key for f in files],
            "column_list": list(request.columns or ()),
        }
        if not files and not self.allow_no_files:
            raise listing.no_files_error(request)
        if files:
            hook, control, load_class = self._transport()
            try:
                load = self._prepare(hook, control, s3, request, files, summary, context, load_class)
                load.run(hook, control, s3)  # over the Data API with deferrable=True: defers here
            finally:
                control.close()
            return self._done(context, hook, summary, started)
        self.log.warning("No file to load under s3://%s/%s; nothing done (allow_no_files=True).",
                         request.bucket, request.source_prefix)  # fmt: skip
        return self._done(context, None, summary, started)

    def _done(self, context: Context, hook: Any, summary: LoadSummary, started: float) -> dict[str, Any]:
        """Add the Asset events of a load that changed the table, log the figures, return the summary."""
        if hook is not None:
            self._add_asset_events(context, hook, summary)
        summary.duration_seconds = round(time.time() - started, 3)
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

    def _add_asset_events(self, context: Context, hook: Any, summary: LoadSummary) -> None:
        """Attach the loaded table's Asset to each ``AssetAlias`` outlet, once the load changed the table.

        The table is known at run time only (a Param, a template), so a DAG declares an ``AssetAlias`` and
        DAGs scheduled on that alias run after each load, with the table's URI and the load's figures in
        the event. A run that loaded nothing new (every file already in the ledger) adds no event.
        """
        if not (summary.files_loaded or summary.rows_deleted):
            return
        from airflow.sdk import AssetAlias

        aliases = [outlet for outlet in self.outlets if isinstance(outlet, AssetAlias)]
        if not aliases:
            return
        try:  # after COMMIT: a failure here must not fail a task whose data is loaded
            host, _, port = _authority(hook).rpartition(":")
            schema, table = self._lineage.get("schema") or "public", self._lineage["table"]
            asset = redshift_table_asset(host=host, port=int(port), database=hook.conn.schema, schema=schema,
                                         table=table)  # fmt: skip
            extra: dict[str, Any] = {
                "table": summary.table,
                "mode": summary.mode,
                "load_id": summary.load_id,
                "files_loaded": summary.files_loaded,
                "rows_loaded": summary.rows_loaded,
                "partition_column": self.partition_column,
                "partition": None if self.partition_value is None else str(self.partition_value),
            }
            for alias in aliases:
                context["outlet_events"][alias].add(asset, extra=extra)
        except Exception as error:
            self._warn(summary, [
                f"The load is committed, but its Asset event could not be added to {aliases} ({error!r}); "
                "DAGs scheduled on them will not run for this load. Fix: run the task inside Airflow (its "
                "context gives outlet_events), or trigger those DAGs by hand."
            ])  # fmt: skip

    def _warn(self, summary: LoadSummary, notes: Sequence[str]) -> None:
        for note in notes:
            self.log.warning("%s", note)
        summary.warnings.extend(notes)

    def _prepare(
        self,
        hook: Any,
        control: Any,
        s3: Any,
        request: LoadRequest,
        files: list[FileInfo],
        summary: LoadSummary,
        context: Context,
        load_class: Callable[..., Load] = Load,
    ) -> Load:
        """Read the table, run the preflight, make sure of the ledger; return the load to run."""
        from airflow_redshift_s3.transfers.copy.preflight import redshift_target, run_preflight
        from airflow_redshift_s3.transfers.copy.verdicts import find_verdict

        request, table_columns, notes = catalog.resolve_table(control, hook, request, self.log)
        summary.warnings.extend(notes)
        summary.table = str(request.target)
        self._lineage.update(schema=request.target.schema, table=request.target.name, columns=table_columns)
        file_columns = catalog.file_columns(request, table_columns)
        cluster, workgroup = self.cluster_identifier, self.workgroup_name
        data_api = self._data_api
        if data_api is not None:
            cluster = cluster or data_api.cluster_identifier
            workgroup = workgroup or data_api.workgroup_name
        verdict = None
        if request.checks & {"role", "region", "access"}:
            cluster, workgroup = redshift_target(self.redshift_conn_id, cluster, workgroup)
            if self.reuse_upstream_checks:
                verdict = find_verdict(context, self, request, cluster, workgroup)
        preflight = run_preflight(
            s3=s3,
            request=request,
            files=files,
            file_columns=file_columns,
            aws=self._aws_kwargs,
            cluster=cluster,
            workgroup=workgroup,
            role_wait_timeout=self.role_wait_timeout,
            log=self.log,
            verdict=verdict,
        )
        summary.region = preflight.region
        summary.warnings.extend(preflight.warnings)
        if "format" in request.checks:
            self._check_layout(control, request, files, summary)
        if request.ledger is not None:
            self._warn(summary, ledger_sql.ensure_ledger(control, request.ledger, self.log))
        target = preflight.redshift_target or (
            f"cluster '{cluster}'" if cluster else f"workgroup '{workgroup}'" if workgroup else None
        )
        error_context = copy_errors.CopyContext(
            table=str(request.target),
            bucket=request.bucket,
            prefix=request.source_prefix,
            manifest_url="",
            iam_role=request.iam_role,
            redshift_target=target,
            max_errors=int(getattr(request.data_format, "max_errors", 0)),
            bucket_region=preflight.region,
            redshift_region=preflight.redshift_region,
        )
        return load_class(
            request=request,
            files=files,
            file_columns=file_columns,
            table_columns=table_columns,
            summary=summary,
            error_context=error_context,
            ids=TaskIds.from_context(context, self.task_id, self.dag_id if self.has_dag() else None),  # type: ignore[no-untyped-call]  # Airflow leaves it unannotated
            credentials=None if request.iam_role is not None else key_credentials(self.aws_conn_id, self.log),
            max_reported_errors=self.max_reported_errors,
            log=self.log,
            run_step=self._run,
            progress_interval=self.progress_interval,
            connect=None if self._data_api is not None else hook.get_conn,
        )

    def _check_layout(
        self, control: Any, request: LoadRequest, files: list[FileInfo], summary: LoadSummary
    ) -> None:
        """Report files per slice in the summary; warn when their number or sizes waste slices."""
        from airflow_redshift_s3.checks.result import log_results
        from airflow_redshift_s3.transfers.copy import layout

        slices = layout.slice_count(control, self.log)
        if slices:
            summary.slices, summary.files_per_slice = slices, round(len(files) / slices, 2)
        results = layout.check_layout(request, files, slices)
        log_results(results, self.log)
        summary.warnings.extend(r.text() for r in results)

    def _run(self, cursor: Any, step: Step) -> None:
        """Run one statement of the load transaction, logging it (``str()`` masks key-based credentials)."""
        self.log.info("%s: %s", step.name, step.statement)
        step.statement.execute(cursor)

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
        from airflow.providers.amazon.aws.utils.openlineage import get_identity_column_lineage_facet

        hook = RedshiftSQLHook(redshift_conn_id=self.redshift_conn_id, aws_conn_id=self.aws_conn_id)
        inputs, (namespace, name) = self.lineage_names(hook.conn.schema, _authority(hook))
        input_datasets = [Dataset(namespace=ns, name=n) for ns, n in inputs]
        facets: dict[str, Any] = {}
        if self._lineage.get("column_list"):  # each listed column comes unchanged from every input file
            facets["columnLineage"] = get_identity_column_lineage_facet(
                self._lineage["column_list"], input_datasets
            )
        if self._lineage.get("columns"):
            facets["schema"] = SchemaDatasetFacet(
                fields=[SchemaDatasetFacetFields(name=c, type=t) for c, t in self._lineage["columns"]]
            )
        if str(self.mode).lower() in ("replace", "replace_partition"):
            facets["lifecycleStateChange"] = LifecycleStateChangeDatasetFacet(
                lifecycleStateChange=LifecycleStateChange.OVERWRITE
            )
        return OperatorLineage(
            inputs=input_datasets,
            outputs=[Dataset(namespace=namespace, name=name, facets=facets)],
        )
