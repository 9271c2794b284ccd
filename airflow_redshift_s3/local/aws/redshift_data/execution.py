"""How a Data API call reaches the database: the endpoint and login AWS would use, and the SQL run.

The Data API logs in to the cluster's or workgroup's endpoint (the local gateway, from the endpoint
``set_cluster_endpoint`` / ``set_workgroup_endpoint`` or the stack's CreateCluster gave it) as AWS does:
with the temporary password of ``GetClusterCredentials`` for ``DbUser`` (so as ``IAM:<DbUser>``), of
``GetCredentials`` for a workgroup without a secret (``IAM:<caller>`` / ``IAMR:<role>``), or with the
``username`` and ``password`` of the ``SecretArn`` secret. It then sends the SQL with redshift_connector,
the driver production code uses, so the gateway applies its rules to it as to any client.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from moto.redshift.exceptions import ClusterNotFoundError
from moto.redshift.models import redshift_backends
from moto.secretsmanager.models import secretsmanager_backends

from airflow_redshift_s3.local.aws.redshift_data.exceptions import ValidationException
from airflow_redshift_s3.local.aws.redshift_data.models import Statement, SubStatement
from airflow_redshift_s3.local.aws.redshift_data.parameters import bind
from airflow_redshift_s3.local.aws.redshift_data.results import ResultSet, column_metadata
from airflow_redshift_s3.local.aws.redshift_data.sessions import Session
from airflow_redshift_s3.local.aws.serverless.exceptions import ResourceNotFoundException as NoWorkgroup
from airflow_redshift_s3.local.aws.serverless.models import redshiftserverless_backends
from airflow_redshift_s3.local.aws.state import cluster_endpoint_override, workgroup_endpoint_override

log = logging.getLogger(__name__)

_COPY = re.compile(r"\s*(?:--[^\n]*\n\s*)*copy\b", re.IGNORECASE)
_CANCEL_REQUEST_CODE = 80877102  # the PostgreSQL wire protocol's CancelRequest
_CONNECT_TIMEOUT = 15
# AWS: "Redshift endpoint doesn't exist in this region." for an unknown cluster or workgroup.
NO_ENDPOINT = "Redshift endpoint doesn't exist in this region."


@dataclass(frozen=True)
class Target:
    """Where and as whom a Data API call runs its SQL."""

    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)

    def connect(self) -> Any:
        """Log in to the gateway with redshift_connector.

        Protocol 1 (EXTENDED_RESULT_METADATA): the result columns' schema, table and NOT NULL flag for
        ColumnMetadata, and NUMERIC values as exact text (protocol 2's binary NUMERIC goes through the
        driver's 28-digit Decimal context).
        """
        import redshift_connector

        return redshift_connector.connect(
            client_protocol_version=1,
            host=self.host,
            port=self.port,
            database=self.database,
            user=self.user,
            password=self.password,
            ssl=False,
            timeout=_CONNECT_TIMEOUT,
        )


def _secret_login(account_id: str, region: str, secret_arn: str) -> dict[str, Any]:
    """Return the secret's JSON (``username``, ``password``, maybe ``dbname``)."""
    backend = secretsmanager_backends[account_id][region]
    try:
        value = backend.get_secret_value(secret_arn, None, None)  # type: ignore[arg-type]
    except Exception as err:
        raise ValidationException(f"Secret {secret_arn} cannot be read: {err}") from err
    try:
        login = json.loads(value.get("SecretString") or "")
        if not isinstance(login, dict) or not login.get("username") or not login.get("password"):
            raise ValueError("no username or password")
    except ValueError as err:
        raise ValidationException(
            f"Secret {secret_arn} must be a JSON object with 'username' and 'password' (as the Redshift "
            "console stores it); store the database user's name and password in it."
        ) from err
    return login


def resolve_target(
    account_id: str,
    region: str,
    *,
    cluster_identifier: str | None,
    workgroup_name: str | None,
    db_user: str | None,
    secret_arn: str | None,
    database: str | None,
    caller_arn: str,
) -> Target:
    """Return the endpoint and login of a Data API call, or raise the ValidationException AWS gives."""
    if bool(cluster_identifier) == bool(workgroup_name):
        raise ValidationException(
            "Either ClusterIdentifier or WorkgroupName must be specified, and not both: a provisioned "
            "cluster is addressed by ClusterIdentifier, Redshift Serverless by WorkgroupName."
        )
    if db_user and secret_arn:
        raise ValidationException("DbUser and SecretArn are mutually exclusive: give one of them.")
    login = _secret_login(account_id, region, secret_arn) if secret_arn else {}
    database = database or login.get("dbname")
    if not database:
        raise ValidationException("Database is required: name the database to connect to (e.g. 'dev').")
    if cluster_identifier:
        endpoint = _cluster_endpoint(account_id, region, cluster_identifier)
        if not secret_arn:
            if not db_user:
                raise ValidationException(
                    f"Cluster {cluster_identifier}: give DbUser (temporary credentials) or SecretArn."
                )
            backend = redshift_backends[account_id][region]
            issued = backend.get_cluster_credentials(cluster_identifier, db_user, False, 900)
            login = {"username": issued["DbUser"], "password": issued["DbPassword"]}
    else:
        assert workgroup_name is not None
        if db_user:
            raise ValidationException(
                f"Workgroup {workgroup_name}: DbUser is not supported for Redshift Serverless; the Data API "
                "logs in as the caller's IAM identity, or give SecretArn."
            )
        endpoint = _workgroup_endpoint(account_id, region, workgroup_name)
        if not secret_arn:
            serverless: Any = redshiftserverless_backends[account_id][region]  # get_credentials is ours
            issued = serverless.get_credentials(workgroup_name, database, 900, caller_arn)
            login = {"username": issued["dbUser"], "password": issued["dbPassword"]}
    host, port = endpoint
    return Target(host, port, database, str(login["username"]), str(login["password"]))


def _cluster_endpoint(account_id: str, region: str, cluster_identifier: str) -> tuple[str, int]:
    try:
        redshift_backends[account_id][region].describe_clusters(cluster_identifier)
    except ClusterNotFoundError as err:
        raise ValidationException(f"{NO_ENDPOINT} (cluster {cluster_identifier} in {region})") from err
    override = cluster_endpoint_override(account_id, region, cluster_identifier)
    if override is None:
        raise ValidationException(
            f"Cluster {cluster_identifier} has no local database: the local Data API runs SQL on the gateway "
            "port a cluster gets when created through the stack's AWS endpoint (or set with "
            "set_cluster_endpoint()); create it through the stack, or use local-cluster."
        )
    return override.address, override.port


def _workgroup_endpoint(account_id: str, region: str, workgroup_name: str) -> tuple[str, int]:
    try:
        redshiftserverless_backends[account_id][region].get_workgroup(workgroup_name)
    except NoWorkgroup as err:
        raise ValidationException(f"{NO_ENDPOINT} (workgroup {workgroup_name} in {region})") from err
    override = workgroup_endpoint_override(account_id, region, workgroup_name)
    if override is None:
        raise ValidationException(
            f"Workgroup {workgroup_name} has no local database: the local Data API runs SQL on the gateway "
            "set with set_workgroup_endpoint(); use the stack's workgroup (local-workgroup) or set one."
        )
    return override.address, override.port


# ------------------------------------------------------------------------------------------- running SQL


def redshift_error(err: BaseException) -> str:
    """Return a driver error as the Data API words it: ``ERROR: <Redshift's message>``."""
    detail = err.args[0] if err.args else err
    if isinstance(detail, dict) and "M" in detail:
        return f"ERROR: {detail['M']}"
    return f"ERROR: {detail}"


def _send_cancel(target: Target, key_data: bytes | None) -> None:
    """Send the wire protocol's CancelRequest for the session whose BackendKeyData is ``key_data``."""
    if not key_data:
        return
    try:
        with socket.create_connection((target.host, target.port), timeout=5) as sock:
            sock.sendall(struct.pack("!ii", 16, _CANCEL_REQUEST_CODE) + key_data[:8])
    except OSError:
        log.debug("the CancelRequest could not be sent", exc_info=True)


def _run_part(cursor: Any, part: SubStatement, parameters: dict[str, str] | None, result_format: str) -> None:
    """Run one SQL text and keep its rows or row count."""
    part.begin()
    if parameters:
        sql, values = bind(part.query_string, parameters)
        cursor.paramstyle = "numeric"  # $1, $2 pass through; a % or ? in the SQL is no placeholder
        cursor.execute(sql, values)
    else:
        cursor.execute(part.query_string)
    if cursor.description is not None:
        rows = [tuple(row) for row in cursor.fetchall()]
        labels = [str(column[0]) for column in cursor.description]
        part.result = ResultSet(column_metadata(cursor.ps["row_desc"], labels), rows, result_format)
        part.result_rows = len(rows)
    elif _COPY.match(part.query_string):
        # the driver does not count COPY's rows for a server that reports version 8.0.2, as Redshift does
        cursor.execute("select pg_last_copy_count()")
        part.result_rows = int(cursor.fetchone()[0])
    else:
        part.result_rows = max(cursor.rowcount, 0)


def run(statement: Statement, target: Target, session: Session | None = None) -> None:
    """Run a statement to its end on the calling (worker) thread; never raises.

    :param session: run on this session's kept connection (reserved by the caller), and release it after.
    """
    broken = False
    try:
        _run(statement, target, session)
    except Exception as err:  # a worker thread has no caller: the error becomes the statement's
        log.debug("Data API statement %s failed", statement.id, exc_info=True)
        statement.finish("FAILED", redshift_error(err))
        broken = True  # no SQL error (those end the statement in _run): the connection itself failed
    finally:
        if session is not None:
            session.release(broken=broken)


def _run(statement: Statement, target: Target, session: Session | None) -> None:
    if not statement.advance("PICKED"):
        statement.finish("ABORTED", statement.error)
        return
    connection = session.connection() if session is not None else target.connect()
    try:
        submission = statement.submission
        statement.redshift_pid = _backend_pid(connection)
        key_data = getattr(connection, "_backend_key_data", None)
        statement.set_cancel_hook(lambda: _send_cancel(target, key_data))
        if not statement.advance("STARTED"):
            statement.finish("ABORTED")
            return
        # a single statement commits on its own; a batch is one transaction, as on Redshift
        connection.autocommit = not submission.is_batch
        parameters = {p["name"]: p["value"] for p in submission.parameters or []}
        cursor = connection.cursor()
        for index, part in enumerate(statement.parts):
            try:
                _run_part(cursor, part, parameters, submission.result_format)
            except Exception as err:
                part.end("ABORTED" if statement.cancel_requested else "FAILED", redshift_error(err))
                for later in statement.parts[index + 1 :]:
                    later.end("ABORTED")
                if submission.is_batch:
                    _rollback(connection)
                statement.finish("FAILED", part.error)
                return
            part.end("FINISHED")
        if submission.is_batch:
            connection.commit()
        statement.finish("FINISHED")
    finally:
        statement.set_cancel_hook(None)
        if session is None:
            try:
                connection.close()
            except Exception:
                log.debug("closing the Data API's connection failed", exc_info=True)


def _rollback(connection: Any) -> None:
    try:
        connection.rollback()
    except Exception:
        log.debug("the rollback failed; closing the connection ends the transaction", exc_info=True)


def _backend_pid(connection: Any) -> int:
    key_data = getattr(connection, "_backend_key_data", None)
    return struct.unpack("!i", key_data[:4])[0] if key_data else -1
