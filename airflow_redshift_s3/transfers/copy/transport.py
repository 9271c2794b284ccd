"""How ``S3ToRedshiftCopyOperator`` reaches Redshift: redshift_connector, or the Redshift Data API.

``DataApiTransport`` is a mixin of the operator: it picks the transport (``transport``,
``redshift_data_api_kwargs``), builds the connection-like objects the load reads with, and, with
``deferrable=True`` over the Data API, hands the wait for the submitted batch to the Amazon provider's
``RedshiftDataTrigger`` and finishes the load in ``execute_complete``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.exceptions import ConfigCheckError
from airflow_redshift_s3.transfers.copy.load import Load, LoadSummary, TaskIds, key_credentials

if TYPE_CHECKING:
    from airflow.sdk import Context

TRANSPORTS = ("redshift_connector", "data_api")


def data_api_kwargs_from_connection(
    redshift_conn_id: str, cluster_identifier: str | None, workgroup_name: str | None
) -> dict[str, Any]:
    """Return the Data API target of a Redshift connection: its database, login and cluster or workgroup."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    from airflow_redshift_s3.transfers.copy.preflight import redshift_target

    conn = RedshiftSQLHook.get_connection(redshift_conn_id)
    cluster, workgroup = redshift_target(redshift_conn_id, cluster_identifier, workgroup_name)
    kwargs: dict[str, Any] = {"database": conn.schema or "dev"}
    if cluster:
        kwargs.update(cluster_identifier=cluster, db_user=conn.login)
    elif workgroup:
        kwargs["workgroup_name"] = workgroup
    return kwargs


class DataApiTransport:
    """The transport half of ``S3ToRedshiftCopyOperator`` (a mixin: it uses the operator's attributes)."""

    redshift_conn_id: str
    cluster_identifier: str | None
    workgroup_name: str | None
    transport: str | None
    redshift_data_api_kwargs: Mapping[str, Any] | None
    deferrable: bool
    aws_conn_id: str | None
    region_name: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None
    max_reported_errors: int
    task_id: str
    log: Any
    _data_api: Any
    _lineage: dict[str, Any]
    _aws_kwargs: dict[str, Any]
    defer: Any
    validate: Any
    _new_s3_hook: Any
    _run: Any
    _done: Any

    def _transport(self) -> tuple[Any, Any, Callable[..., Load]]:
        """Return (hook, autocommit connection, load class) over redshift_connector or the Data API.

        The connection reads the catalog and the ledger and writes the ledger's DDL, never the load.
        """
        if self._data_api is None:
            from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

            hook = RedshiftSQLHook(redshift_conn_id=self.redshift_conn_id, aws_conn_id=self.aws_conn_id)
            control = hook.get_conn()
            control.autocommit = True
            return hook, control, Load
        from airflow.providers.amazon.aws.hooks.redshift_data import RedshiftDataHook

        from airflow_redshift_s3.transfers.copy.data_api import (
            DataApiClient,
            DataApiConnection,
            DataApiSqlHook,
        )
        from airflow_redshift_s3.transfers.copy.data_api_load import DataApiLoad

        data_hook = RedshiftDataHook(**self._aws_kwargs)
        client = DataApiClient(data_hook, self._data_api, self.log)
        defer = self._defer_load if self.deferrable else None
        return (
            DataApiSqlHook(client),
            DataApiConnection(client),
            partial(DataApiLoad, client=client, defer=defer),
        )

    def _data_api_target(self) -> Any:
        """Return the ``DataApiTarget`` of a Data API load, or None over redshift_connector."""
        from airflow_redshift_s3.transfers.copy.data_api import DataApiTarget

        transport = self.transport or ("data_api" if self.redshift_data_api_kwargs else "redshift_connector")
        if transport not in TRANSPORTS:
            raise ConfigCheckError(
                f"transport is {transport!r}: expected one of {', '.join(TRANSPORTS)}. Fix: pass one."
            )
        if transport == "redshift_connector":
            if self.redshift_data_api_kwargs:
                raise ConfigCheckError(
                    "transport is 'redshift_connector' but redshift_data_api_kwargs is given: expected one "
                    "way to reach Redshift. Fix: drop redshift_data_api_kwargs, or set transport='data_api'."
                )
            return None
        kwargs = self.redshift_data_api_kwargs
        if not kwargs:
            kwargs = data_api_kwargs_from_connection(self.redshift_conn_id, self.cluster_identifier,
                                                     self.workgroup_name)  # fmt: skip
        return DataApiTarget.from_kwargs(dict(kwargs) if isinstance(kwargs, Mapping) else kwargs)

    def _defer_load(self, statement_id: str, session_id: str | None, state: dict[str, Any]) -> None:
        """Wait for the submitted batch in the triggerer (Amazon's ``RedshiftDataTrigger``)."""
        from airflow_redshift_s3.triggers.redshift_data_load import RedshiftDataLoadTrigger

        self.log.info("Batch %s submitted; waiting for it in the triggerer.", statement_id)
        load = {"statement_id": statement_id, "session_id": session_id, "state": state,
                "lineage": self._lineage, "started": time.time()}  # fmt: skip
        trigger = RedshiftDataLoadTrigger(
            load=load,
            statement_id=statement_id,
            task_id=self.task_id,
            poll_interval=max(1, round(self._data_api.poll_interval)),
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            botocore_config=self.botocore_config,
        )
        self.defer(trigger=trigger, method_name="execute_complete")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Finish a deferred Data API load once its batch ended: figures, ledger, manifests, summary.

        Whatever the event says, the statement's own description decides (a failure is explained as it
        is without deferral).
        """
        if not event or "load" not in event:
            raise ConfigCheckError(f"The trigger's event holds no load to finish: {event!r}.")
        statement_id, session_id = event["load"]["statement_id"], event["load"]["session_id"]
        state, lineage, started = event["load"]["state"], event["load"]["lineage"], event["load"]["started"]
        from airflow_redshift_s3.transfers.copy.errors import CopyContext
        from airflow_redshift_s3.transfers.copy.request import FileInfo

        request = self.validate()
        self._data_api = self._data_api_target()
        self._lineage = lineage
        summary = LoadSummary(**state["summary"])
        s3 = self._new_s3_hook()
        hook, control, load_class = self._transport()
        to_load = [FileInfo(**f) for f in state["to_load"]]
        load = load_class(
            request=request,
            files=to_load,
            file_columns=state["file_columns"],
            table_columns=[tuple(c) for c in state["table_columns"]],
            summary=summary,
            error_context=CopyContext(**state["error_context"]),
            ids=TaskIds.from_context(context, self.task_id, None),
            credentials=None if request.iam_role is not None else key_credentials(self.aws_conn_id, self.log),
            max_reported_errors=self.max_reported_errors,
            log=self.log,
            run_step=self._run,
            loaded_at=dt.datetime.fromisoformat(state["loaded_at"]),
            manifest_keys=list(state["manifest_keys"]),
            defer=None,
        )
        load.resume(statement_id, session_id, control, s3)  # type: ignore[attr-defined]  # a DataApiLoad
        return self._done(context, hook, summary, started)  # type: ignore[no-any-return]
