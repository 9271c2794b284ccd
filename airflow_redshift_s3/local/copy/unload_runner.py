"""Execute one Redshift ``UNLOAD ('select ...') TO 's3://...'`` inside a gateway session, as Redshift would.

Before the query runs, the checks COPY makes (the role attached in-sync and trusting Redshift, the bucket in
the cluster's region or the one REGION names) and UNLOAD's own (the destination empty unless
ALLOWOVERWRITE; CLEANPATH first deletes it); before writing, the role's policies must allow s3:PutObject on
every object (and s3:DeleteObject for CLEANPATH), else Redshift's Access Denied. The query runs on the
session's own connection, inside the client's transaction; its rows are held in memory.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.local.copy.access import (
    ACCESS_DENIED,
    WRONG_REGION,
    CopyAccessError,
    aws_endpoint_errors,
    aws_endpoint_failed,
)
from airflow_redshift_s3.local.copy.unload_files import build_files, manifest_file
from airflow_redshift_s3.local.sql.errors import RefusedStatement
from airflow_redshift_s3.local.sql.rewrite import rewrite_for_postgres
from airflow_redshift_s3.local.sql.tokens import render, split_statements
from airflow_redshift_s3.local.sql.unload_command import UnloadSyntaxError
from airflow_redshift_s3.local.wire.messages import (
    Backend,
    Frontend,
    PgError,
    cstring,
    message,
    parse_data_row,
    parse_row_description,
)

if TYPE_CHECKING:
    from airflow_redshift_s3.local.copy.runner import CopySession
    from airflow_redshift_s3.local.copy.unload_files import Column, Row, UnloadFile
    from airflow_redshift_s3.local.sql.unload_command import UnloadCommand

NOT_EMPTY = (
    "Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, manually "
    "removing the target files in S3, or using the ALLOWOVERWRITE option."
)
NO_AUTHORIZATION = "Either IAM_ROLE or CREDENTIALS must be specified for UNLOAD to Amazon S3"
_SIMULATE_BATCH = 100


class UnloadRunner:
    """Run one UNLOAD on a session's upstream connection (in capture mode)."""

    def __init__(self, session: CopySession, command: UnloadCommand | UnloadSyntaxError):
        """Prepare the UNLOAD.

        :param session: the session (in capture mode) whose connection and transaction run the query.
        :param command: the UNLOAD as the gateway parsed it, or the syntax error to answer it with.
        """
        self.session = session
        self.command = command
        self.rows_unloaded = 0

    async def run(self) -> PgError | None:
        """Execute the UNLOAD; return the error to send to the client, or None on success."""
        if isinstance(self.command, UnloadSyntaxError):
            return PgError.make(str(self.command), self.command.sqlstate)
        cmd = self.command
        try:
            role = await asyncio.to_thread(self._authorize, cmd)
        except CopyAccessError as err:  # the message is Redshift's
            return PgError.make(str(err), "XX000")
        except aws_endpoint_errors() as err:  # the double's own failure: said, and the session goes on
            return PgError.make(aws_endpoint_failed(err), "XX000")
        result = await self._select(cmd)
        if isinstance(result, PgError):
            return result
        columns, rows, slices = result
        try:
            await asyncio.to_thread(self._write, cmd, role, columns, rows, slices)
        except CopyAccessError as err:
            return PgError.make(str(err), "XX000")
        self.rows_unloaded = len(rows)
        assert self.session.upstream is not None
        await self.session.upstream.query(
            f"SELECT set_config('redshift.last_unload_count', '{self.rows_unloaded}', false)"
        )
        return None

    # -- before the query ---------------------------------------------------------------------------

    def _authorize(self, cmd: UnloadCommand) -> str | None:
        aws = self.session.aws
        role = None
        if not cmd.key_credentials:
            if not cmd.iam_role:
                raise CopyAccessError(
                    "Either IAM_ROLE or CREDENTIALS must be specified for UNLOAD to Amazon S3"
                )
            role = aws.authorize_role(self.session.owner, cmd.iam_role)
        if aws.bucket_region(cmd.bucket) != (cmd.region or self.session.owner.region):
            raise CopyAccessError(WRONG_REGION)
        existing = self._existing(cmd)
        if existing and cmd.cleanpath:
            if role is not None:
                _check(aws, role, "s3:DeleteObject", cmd.bucket, existing)
            s3 = aws.client("s3")
            for start in range(0, len(existing), 1000):
                batch = [{"Key": k} for k in existing[start : start + 1000]]
                s3.delete_objects(Bucket=cmd.bucket, Delete={"Objects": batch, "Quiet": True})
        elif existing and not cmd.allowoverwrite:
            raise CopyAccessError(NOT_EMPTY)
        return role

    def _existing(self, cmd: UnloadCommand) -> list[str]:
        keys: list[str] = []
        paginator = self.session.aws.client("s3").get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=cmd.bucket, Prefix=cmd.prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    # -- the query ----------------------------------------------------------------------------------

    async def _select(self, cmd: UnloadCommand) -> tuple[list[Column], list[Row], int] | PgError:
        upstream = self.session.upstream
        assert upstream is not None
        rows_of_slices, _, error = await upstream.query("SELECT count(*) FROM pg_catalog.stv_slices")
        if error is not None:
            return error
        slices = max(1, int(rows_of_slices[0][0] or 1))
        try:
            sql = render(rewrite_for_postgres(split_statements(cmd.query)[0]))
        except RefusedStatement as err:
            return PgError.make(str(err), err.sqlstate)
        upstream.send(message(Frontend.QUERY, cstring(sql)))
        await upstream.drain()
        columns: list[Column] = []
        rows: list[Row] = []
        error = None
        while True:
            kind, body = await upstream.receive()
            if kind == Backend.READY_FOR_QUERY:
                break
            if kind == Backend.ROW_DESCRIPTION:
                columns = parse_row_description(body)
            elif kind == Backend.DATA_ROW:
                rows.append(parse_data_row(body))
            elif kind == Backend.ERROR_RESPONSE:
                error = PgError.parse(body)
        if error is not None:
            return error
        if not columns:
            return PgError.make("UNLOAD needs a query that returns rows (a SELECT)", "42601")
        return columns, rows, slices

    # -- the files ----------------------------------------------------------------------------------

    def _write(
        self, cmd: UnloadCommand, role: str | None, columns: list[Column], rows: list[Row], slices: int
    ) -> None:
        files: list[UnloadFile] = build_files(cmd, columns, rows, slices)
        if cmd.manifest:
            files.append(manifest_file(cmd, columns, files))
        if role is not None:
            _check(self.session.aws, role, "s3:PutObject", cmd.bucket, [f.key for f in files])
        s3 = self.session.aws.client("s3")
        for file in files:
            s3.put_object(Bucket=cmd.bucket, Key=file.key, Body=file.body)


def _check(aws: Any, role: str, action: str, bucket: str, keys: list[str]) -> None:
    """Raise Redshift's Access Denied unless the role's policies allow ``action`` on every object."""
    iam = aws.client("iam")
    resources = [f"arn:aws:s3:::{bucket}/{key}" for key in keys]
    for start in range(0, len(resources), _SIMULATE_BATCH):
        result = iam.simulate_principal_policy(
            PolicySourceArn=role,
            ActionNames=[action],
            ResourceArns=resources[start : start + _SIMULATE_BATCH],
        )
        if any(r["EvalDecision"] != "allowed" for r in result["EvaluationResults"]):
            raise CopyAccessError(ACCESS_DENIED)


__all__ = ["NOT_EMPTY", "UnloadRunner"]
