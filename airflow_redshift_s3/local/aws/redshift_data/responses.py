"""JSON-protocol handlers of the local Redshift Data API, installed on moto's own response class.

moto dispatches ``RedshiftData.<Action>`` to the snake_case method of ``RedshiftDataAPIServiceResponse``;
``install()`` replaces moto's four methods (which record a statement and never run it) and adds the
others. Each returns an ``ActionResult`` that moto serialises from botocore's service model.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.redshiftdata.models import RedshiftDataAPIServiceBackend, redshiftdata_backends
from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse
from moto.sts.models import sts_backends

from airflow_redshift_s3.local.aws.redshift_data import execution, metadata, parameters
from airflow_redshift_s3.local.aws.redshift_data.exceptions import (
    ActiveStatementsExceededException,
    DatabaseConnectionException,
    ValidationException,
)
from airflow_redshift_s3.local.aws.redshift_data.models import Statement, StatementStore, Submission
from airflow_redshift_s3.local.aws.redshift_data.results import json_default, paginate
from airflow_redshift_s3.local.aws.redshift_data.sessions import Session, SessionStore, validate_keep_alive

# Statements running at once per account and region; PostgreSQL behind the gateway takes 200 connections.
MAX_ACTIVE_STATEMENTS = 100
_MAX_WAIT_SECONDS = 30
_DEFAULT_MAX_RESULTS = {"statements": 100, "catalog": 1000}


def statements_of(backend: RedshiftDataAPIServiceBackend) -> StatementStore:
    """Return the statement store of one moto backend (one per account and region)."""
    store = backend.__dict__.get("_local_statements")
    if store is None:
        store = StatementStore()
        backend._local_statements = store  # type: ignore[attr-defined]
    return store


def _json_answer(answer: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    """Return a result page as the JSON protocol's body, written directly.

    moto's model-driven serialiser takes about a quarter of a second for a 64 KiB page of records; the
    page's members are already JSON types (blobs become base64, as the protocol has them).
    """
    body = json.dumps(answer, default=json_default, separators=(",", ":"))
    return 200, {"Content-Type": "application/x-amz-json-1.1"}, body


def sessions_of(backend: RedshiftDataAPIServiceBackend) -> SessionStore:
    """Return the session store of one moto backend (one per account and region)."""
    store = backend.__dict__.get("_local_sessions")
    if store is None:
        store = SessionStore()
        backend._local_sessions = store  # type: ignore[attr-defined]
    return store


class LocalRedshiftDataResponse(RedshiftDataAPIServiceResponse):
    """The handlers ``install()`` copies onto moto's RedshiftDataAPIServiceResponse."""

    @property
    def sessions(self) -> SessionStore:
        """Return the sessions of the caller's account and region."""
        return sessions_of(redshiftdata_backends[self.current_account][self.region])

    @property
    def store(self) -> StatementStore:
        """Return the statements of the caller's account and region."""
        return statements_of(redshiftdata_backends[self.current_account][self.region])

    def _caller_arn(self) -> str:
        sts = sts_backends[self.current_account][self.partition]
        return sts.get_caller_identity(self.get_access_key(), self.region)[1]

    def _target(self, database: str | None = None) -> execution.Target:
        return execution.resolve_target(
            self.current_account,
            self.region,
            cluster_identifier=self._get_param("ClusterIdentifier"),
            workgroup_name=self._get_param("WorkgroupName"),
            db_user=self._get_param("DbUser"),
            secret_arn=self._get_param("SecretArn"),
            database=database or self._get_param("Database"),
            caller_arn=self._caller_arn(),
        )

    def _wait(self, statement: Statement) -> None:
        seconds = self._get_param("WaitTimeSeconds")
        if seconds:
            statement.done.wait(min(float(seconds), _MAX_WAIT_SECONDS))

    # -- running SQL ---------------------------------------------------------------------------------

    def _where(self) -> tuple[execution.Target, Session | None, dict[str, Any]]:
        """Return where a statement runs: its target, its session (reserved), and the fields naming them."""
        keep_alive = validate_keep_alive(self._get_param("SessionKeepAliveSeconds"))
        session_id = self._get_param("SessionId")
        if session_id is None:
            target = self._target()
            names = ("ClusterIdentifier", "WorkgroupName", "DbUser", "SecretArn")
            fields = {name: self._get_param(name) for name in names}
            fields["Database"] = target.database
            session = self.sessions.open(target, keep_alive, fields) if keep_alive else None
        else:
            for name in ("ClusterIdentifier", "WorkgroupName"):
                if self._get_param(name):
                    raise ValidationException(
                        f"{name} cannot be given with SessionId: the session runs where it was opened."
                    )
            session = self.sessions.get(session_id)
            target, fields = session.target, session.fields
        if session is not None:
            session.acquire(keep_alive)
        return target, session, fields

    def _submit(self, sqls: list[str], is_batch: bool) -> ActionResult:
        if not sqls or any(not isinstance(sql, str) or not sql.strip() for sql in sqls):
            raise ValidationException("Sql must be a non-empty SQL text (Sqls: a list of them).")
        query_parameters = self._get_param("Parameters")
        parameters.validate(sqls, query_parameters)
        result_format = self._get_param("ResultFormat") or "JSON"
        if result_format not in ("JSON", "CSV"):
            raise ValidationException(f"ResultFormat must be JSON or CSV, got {result_format!r}.")
        store = self.store
        if store.active() >= MAX_ACTIVE_STATEMENTS:
            raise ActiveStatementsExceededException(
                f"{MAX_ACTIVE_STATEMENTS} statements are running: wait for some to end (DescribeStatement)."
            )
        target, session, fields = self._where()
        submission = Submission(
            sqls=sqls,
            database=fields["Database"],
            is_batch=is_batch,
            cluster_identifier=fields["ClusterIdentifier"],
            workgroup_name=fields["WorkgroupName"],
            db_user=fields["DbUser"],
            secret_arn=fields["SecretArn"],
            statement_name=self._get_param("StatementName"),
            parameters=query_parameters,
            result_format=result_format,
            caller_arn=self._caller_arn(),
            session_id=session.id if session is not None else None,
        )
        statement = Statement(submission)
        store.add(statement)
        worker = threading.Thread(
            target=execution.run,
            args=(statement, target, session),
            name=f"redshift-data-{statement.id[:8]}",
            daemon=True,
        )
        worker.start()
        self._wait(statement)
        described = statement.describe()
        kept = ("Id", "CreatedAt", "ClusterIdentifier", "WorkgroupName", "DbUser", "SecretArn", "Database")
        answer = {key: value for key, value in described.items() if key in kept or key == "SessionId"}
        answer.update(Status=described["Status"], HasResultSet=described["HasResultSet"])
        return ActionResult(answer)

    def execute_statement(self) -> ActionResult:  # type: ignore[override]  # moto's newer result style
        """Handle ExecuteStatement: run one SQL text (its own transaction) on a worker thread."""
        return self._submit([self._get_param("Sql")], is_batch=False)

    def batch_execute_statement(self) -> ActionResult:
        """Handle BatchExecuteStatement: run the SQL texts in order, in one transaction."""
        sqls = self._get_param("Sqls") or []
        if not isinstance(sqls, list) or not 1 <= len(sqls) <= 40:
            raise ValidationException("Sqls must list 1 to 40 SQL texts.")
        return self._submit(sqls, is_batch=True)

    def describe_statement(self) -> ActionResult:  # type: ignore[override]  # moto's newer result style
        """Handle DescribeStatement (of a statement or of one ``<id>:<n>`` sub-statement)."""
        statement_id = self._get_param("Id")
        statement = self.store.get(statement_id)
        self._wait(statement)
        if statement_id == statement.id:
            return ActionResult(statement.describe())
        part = statement.part(statement_id).describe()
        whole = statement.describe()
        for key in ("Database", "ClusterIdentifier", "WorkgroupName", "DbUser", "SecretArn", "RedshiftPid"):
            if key in whole:
                part[key] = whole[key]
        return ActionResult(part)

    def cancel_statement(self) -> ActionResult:  # type: ignore[override]  # moto's newer result style
        """Handle CancelStatement: a running statement ends ABORTED."""
        self.store.get(self._get_param("Id")).cancel()
        return ActionResult({"Status": True})

    def _result_part(self, result_format: str) -> tuple[str, Any]:
        statement_id = self._get_param("Id")
        statement = self.store.get(statement_id)
        self._wait(statement)
        part = statement.part(statement_id)
        if part.status != "FINISHED":
            raise ValidationException(
                f"Query {statement_id} is {part.status}: its result is available once FINISHED."
            )
        if part.result is None:
            raise ValidationException(f"Query {statement_id} does not have result. Please check the query.")
        if statement.submission.result_format != result_format:
            call = (
                "GetStatementResultV2"
                if statement.submission.result_format == "CSV"
                else "GetStatementResult"
            )
            raise ValidationException(
                f"Query {statement_id} ran with ResultFormat {statement.submission.result_format}: "
                f"fetch it with {call}."
            )
        return statement_id, part.result

    def get_statement_result(self) -> tuple[int, dict[str, str], str]:
        """Handle GetStatementResult: typed records, one page at a time."""
        statement_id, result = self._result_part("JSON")
        records, token = result.page(statement_id, self._get_param("NextToken"))
        answer: dict[str, Any] = {
            "Records": records,
            "ColumnMetadata": result.columns,
            "TotalNumRows": len(result.rows),
        }
        if token:
            answer["NextToken"] = token
        return _json_answer(answer)

    def get_statement_result_v2(self) -> tuple[int, dict[str, str], str]:
        """Handle GetStatementResultV2: CSV text, one page at a time."""
        statement_id, result = self._result_part("CSV")
        text, token = result.csv_page(statement_id, self._get_param("NextToken"))
        answer: dict[str, Any] = {
            "Records": [{"CSVRecords": text}],
            "ColumnMetadata": result.columns,
            "TotalNumRows": len(result.rows),
            "ResultFormat": "CSV",
        }
        if token:
            answer["NextToken"] = token
        return _json_answer(answer)

    def list_statements(self) -> ActionResult:
        """Handle ListStatements: the caller's statements, newest first."""
        statements = self.store.listing(
            status=self._get_param("Status") or "ALL",
            statement_name=self._get_param("StatementName"),
            caller_arn=self._caller_arn(),
            cluster_identifier=self._get_param("ClusterIdentifier"),
            workgroup_name=self._get_param("WorkgroupName"),
            database=self._get_param("Database"),
        )
        return self._page("Statements", [s.listed() for s in statements], "statements")

    # -- the catalog ---------------------------------------------------------------------------------

    def _page(self, key: str, items: list[Any], kind: str) -> ActionResult:
        max_results = self._get_param("MaxResults") or _DEFAULT_MAX_RESULTS[kind]
        page, token = paginate(items, self._get_param("NextToken"), int(max_results), scope=key)
        answer: dict[str, Any] = {key: page}
        if token:
            answer["NextToken"] = token
        return ActionResult(answer)

    def _catalog_target(self) -> execution.Target:
        database, connected = self._get_param("Database"), self._get_param("ConnectedDatabase")
        if connected and database and connected != database:
            raise ValidationException(
                f"The local Data API describes the connected database only: Database {database} differs from "
                f"ConnectedDatabase {connected}; connect to {database} instead."
            )
        return self._target(connected or database)

    def _catalog(self, call: Any, *args: Any) -> Any:
        target = self._catalog_target()
        try:
            return call(target, *args)
        except Exception as err:
            raise DatabaseConnectionException(execution.redshift_error(err)) from err

    def list_databases(self) -> ActionResult:
        """Handle ListDatabases."""
        return self._page("Databases", self._catalog(metadata.list_databases), "catalog")

    def list_schemas(self) -> ActionResult:
        """Handle ListSchemas (SchemaPattern is a LIKE pattern)."""
        schemas = self._catalog(metadata.list_schemas, self._get_param("SchemaPattern"))
        return self._page("Schemas", schemas, "catalog")

    def list_tables(self) -> ActionResult:
        """Handle ListTables (SchemaPattern and TablePattern are LIKE patterns)."""
        tables = self._catalog(
            metadata.list_tables, self._get_param("SchemaPattern"), self._get_param("TablePattern")
        )
        return self._page("Tables", tables, "catalog")

    def describe_table(self) -> ActionResult:
        """Handle DescribeTable: the ColumnMetadata of a table's columns."""
        table = self._get_param("Table")
        if not table:
            raise ValidationException(
                "Table is required: name the table to describe (and Schema, else the search path)."
            )
        name, columns = self._catalog(metadata.describe_table, self._get_param("Schema"), table)
        page = self._page("ColumnList", columns, "catalog")
        page.result["TableName"] = name  # type: ignore[index]
        return page


def install() -> None:
    """Copy the handlers onto moto's RedshiftDataAPIServiceResponse (idempotent).

    moto's server builds its URL map from moto's own class, so the handlers go there, as ``redshift.py``
    adds ModifyClusterIamRoles to moto's RedshiftResponse.
    """
    for name, handler in vars(LocalRedshiftDataResponse).items():
        if not name.startswith("__"):
            setattr(RedshiftDataAPIServiceResponse, name, handler)
