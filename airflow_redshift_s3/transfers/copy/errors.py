"""What a failed COPY means, in words that say what to fix.

After a failed COPY the transaction is rolled back and the load errors Redshift recorded for this
session's newest query are read from SYS_LOAD_ERROR_DETAIL (provisioned and Serverless), with the raw
values from STL_LOAD_ERRORS where it exists (provisioned only). Role, permission and region failures
are recognised by Redshift's messages and re-raised with the fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_redshift_s3.exceptions import (
    ConfigCheckError,
    CopyLoadError,
    FormatCheckError,
    PermissionCheckError,
    RedshiftS3Error,
    RegionCheckError,
)
from airflow_redshift_s3.rules import ROLE_ARN

_ROLE_IN_MESSAGE = re.compile(rf"credentials of role ({ROLE_ARN})")
_SERIALIZABLE = "serializable isolation violation"
_DECOMPRESS = re.compile(r"Failed to decompress (s3://\S+?) as (\w+)", re.IGNORECASE)
_DECOMPRESS_HINTS = (
    "failed to decompress",
    "zlib error",
    "unexpected end of stream",
    "invalid gzip",
    "not in gzip",
)
_MISSING_HINTS = ("does not exist", "nosuchkey", "not found", "status 404")


@dataclass(frozen=True)
class LoadErrorRow:
    """One row Redshift rejected."""

    file: str
    line: int | None
    column: str | None
    column_type: str | None
    code: int | None
    reason: str | None
    position: int | None = None
    raw_value: str | None = None
    raw_line: str | None = None
    query_id: int | None = None

    def text(self) -> str:
        """Return one line for the exception message."""
        where = f"{self.file}, line {self.line}"
        if self.column:
            where += f", column {self.column}" + (f" ({self.column_type})" if self.column_type else "")
        what = f"error {self.code}: {self.reason}" if self.code is not None else str(self.reason)
        if self.raw_value is not None:
            what += f"; raw value {_clip(self.raw_value)!r}"
        if self.raw_line is not None:
            what += f"; raw line {_clip(self.raw_line)!r}"
        return f"{where}: {what}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict."""
        return dict(self.__dict__)


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def server_message(error: BaseException) -> str:
    """Return the server's message (and detail) of a redshift_connector error, else ``str(error)``."""
    args = getattr(error, "args", ())
    if args and isinstance(args[0], dict):
        message = str(args[0].get("M", ""))
        detail = str(args[0].get("D", "") or "").strip()
        return f"{message}\n{detail}" if detail else message
    return str(error)


_SYS_QUERY = (
    "SELECT TRIM(file_name), line_number, TRIM(column_name), TRIM(column_type), error_code, "
    "TRIM(error_message), "
    "position, query_id FROM sys_load_error_detail WHERE session_id = pg_backend_pid() AND query_id = "
    "(SELECT MAX(query_id) FROM sys_load_error_detail WHERE session_id = pg_backend_pid()) "
    "ORDER BY file_name, line_number LIMIT {limit}"
)
_STL_QUERY = (
    "SELECT TRIM(filename), line_number, TRIM(colname), TRIM(type), err_code, TRIM(err_reason), position, "
    "query, "
    "TRIM(raw_field_value), TRIM(raw_line) FROM stl_load_errors WHERE session = pg_backend_pid() AND query = "
    "(SELECT MAX(query) FROM stl_load_errors WHERE session = pg_backend_pid()) "
    "ORDER BY filename, line_number LIMIT {limit}"
)


def _query(conn: Any, sql: str) -> list[tuple[Any, ...]] | None:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        rows = [tuple(_strip(v) for v in row) for row in cursor.fetchall()]
    except Exception:
        conn.rollback()  # e.g. STL_LOAD_ERRORS does not exist on Serverless
        return None
    finally:
        cursor.close()
    conn.rollback()
    return rows


def read_load_errors(conn: Any, limit: int) -> tuple[list[LoadErrorRow], str]:
    """Return the first ``limit`` load errors of this session's newest failed COPY, and where they came from.

    :param conn: the connection that ran the COPY, after its transaction was rolled back.
    :param limit: how many rows to return.
    """
    limit = max(1, int(limit))
    detail = _query(conn, _SYS_QUERY.format(limit=limit))
    stl = _query(conn, _STL_QUERY.format(limit=limit))
    raw = {(r[0], r[1], r[2]): (r[8], r[9]) for r in stl or []}
    if detail:
        no_raw = (None, None)
        rows = [_row(r, *raw.get((r[0], r[1], r[2]), no_raw)) for r in detail]
        return rows, "sys_load_error_detail" + (" and stl_load_errors" if raw else "")
    if stl:
        return [_row(r, r[8], r[9]) for r in stl], "stl_load_errors"
    return [], ""


def _row(r: Any, raw_value: Any, raw_line: Any) -> LoadErrorRow:
    """Build a LoadErrorRow from the first eight columns both system-table queries select."""
    return LoadErrorRow(
        file=r[0],
        line=r[1],
        column=r[2] or None,
        column_type=r[3] or None,
        code=r[4],
        reason=r[5],
        position=r[6],
        query_id=r[7],
        raw_value=raw_value,
        raw_line=raw_line,
    )


@dataclass(frozen=True)
class CopyContext:
    """What the operator knows when COPY fails, to say what to fix."""

    table: str
    bucket: str
    prefix: str
    manifest_url: str
    iam_role: str | None
    redshift_target: str | None  # "cluster 'x'" / "Serverless namespace 'y'" / None
    max_errors: int
    bucket_region: str | None = None
    redshift_region: str | None = None


def load_error(
    context: CopyContext, rows: Sequence[LoadErrorRow], source: str, message: str
) -> CopyLoadError:
    """Return the exception for rows COPY rejected, listing them."""
    fix = (
        "correct these rows in the files (or the table's column types), or let COPY skip up to N bad rows "
        "with max_errors=N in the input format"
    )
    if rows:
        query = f", query {rows[0].query_id}" if rows[0].query_id is not None else ""
        listed = "\n".join(f"  {i}. {row.text()}" for i, row in enumerate(rows, 1))
        head = f"COPY into {context.table} failed: Redshift rejected row(s) of the files ({source}{query}):"
        head += f"\n{listed}"
    else:
        head = f"COPY into {context.table} failed and no load error was found for this session: "
        head += message.splitlines()[0]
    text = (
        f"{head}\nNothing was loaded: the transaction was rolled back, table {context.table} is as it was "
        f"and no file was recorded in the ledger (max_errors was {context.max_errors}).\nFix: {fix}."
    )
    return CopyLoadError(text, errors=rows, fix=fix)


def translate(error: BaseException, context: CopyContext) -> Exception | None:
    """Return the domain exception for a COPY failure recognised by its message, or None."""
    message = server_message(error)
    said = message.splitlines()[0] if message else ""
    recognisers = (_role_refused, _access_denied, _region, _missing_bucket, _decompress, _manifest,
                   _refused_statement, _serializable)  # fmt: skip
    for recognise in recognisers:
        translated = recognise(error, message.lower(), said, context)
        if translated is not None:
            return translated
    return None


def _role_refused(error: BaseException, lowered: str, said: str, context: CopyContext) -> Exception | None:
    target = context.redshift_target or "the cluster (or Serverless namespace)"
    if "not authorized to get credentials of role" in lowered:
        match = _ROLE_IN_MESSAGE.search(server_message(error))
        # the ARN, without the punctuation that follows it in the message ("..., should retry")
        role = match.group(1).rstrip(",.") if match else context.iam_role or "the role"
        fix = (
            f"attach role {role} to {target} and wait until it is in-sync (RedshiftEnsureIamRoleOperator), "
            "and make sure its trust policy lets redshift.amazonaws.com (and, for Serverless, "
            "redshift-serverless.amazonaws.com) call sts:AssumeRole"
        )
        return PermissionCheckError(
            f"COPY into {context.table} failed: Redshift may not use IAM role {role} (it said: {said}). "
            f"Expected the role attached to {target} and in-sync, with a trust policy for Redshift. "
            f"Fix: {fix}.",
            fix=fix,
        )
    if "default iam role is not set" in lowered:
        fix = f"pass iam_role_arn=<the role's ARN>, or make a role the default of {target}"
        return PermissionCheckError(
            f"COPY into {context.table} failed: iam_role_arn is 'default' but {target} has no default IAM "
            f"role (Redshift said: {said}). Fix: {fix}.",
            fix=fix,
        )
    return None


def _access_denied(error: BaseException, lowered: str, said: str, context: CopyContext) -> Exception | None:
    if not ("s3serviceexception:access denied" in lowered or ("status 403" in lowered and "s3" in lowered)):
        return None
    role = context.iam_role or "the COPY role"
    manifest_bucket, _, manifest_key = context.manifest_url.removeprefix("s3://").partition("/")
    fix = (
        f"allow role {role} s3:GetObject on arn:aws:s3:::{context.bucket}/{context.prefix}* and on "
        f"arn:aws:s3:::{manifest_bucket}/{manifest_key} (the manifest), plus kms:Decrypt on the bucket's "
        "KMS key if it uses SSE-KMS"
    )
    return PermissionCheckError(
        f"COPY into {context.table} failed: IAM role {role} may not read the files or the manifest (Redshift "
        f"said: {said}). Fix: {fix}.",
        fix=fix,
    )


def _region(error: BaseException, lowered: str, said: str, context: CopyContext) -> Exception | None:
    if not is_region_failure(error):
        return None
    where = (
        f" (bucket in {context.bucket_region}, Redshift in {context.redshift_region})"
        if context.bucket_region
        else ""
    )
    region = context.bucket_region or "<the bucket's region>"
    fix = (
        f"add REGION '{region}' (keep the region preflight on with on_region_mismatch='set_region'), or "
        "move the data to a bucket in Redshift's "
        f"region{' ' + context.redshift_region if context.redshift_region else ''}"
    )
    return RegionCheckError(
        f"COPY into {context.table} failed: bucket '{context.bucket}' is in another region than "
        f"Redshift{where} (Redshift said: {said}). Fix: {fix}.",
        fix=fix,
    )


def _missing_bucket(error: BaseException, lowered: str, said: str, context: CopyContext) -> Exception | None:
    if "nosuchbucket" in lowered:
        fix = f"check that bucket '{context.bucket}' (and the manifest's bucket) still exists"
        return ConfigCheckError(
            f"COPY into {context.table} failed: a bucket does not exist (Redshift said: {said}). Fix: {fix}.",
            fix=fix,
        )
    return None


def _manifest(error: BaseException, lowered: str, said: str, context: CopyContext) -> Exception | None:
    if "problem reading manifest file" in lowered:
        fix = f"check that {context.manifest_url} exists and that the role may read it"
        return ConfigCheckError(
            f"COPY into {context.table} failed reading its manifest {context.manifest_url}: {said}. "
            f"Fix: {fix}.",
            fix=fix,
        )
    return None


def _decompress(error: BaseException, lowered: str, said: str, context: CopyContext) -> Exception | None:
    found = _DECOMPRESS.search(server_message(error))
    if not (found or any(hint in lowered for hint in _DECOMPRESS_HINTS)):
        return None
    url = found.group(1) if found else f"a file under s3://{context.bucket}/{context.prefix}"
    kind = found.group(2).upper() if found else "compressed"
    fix = (
        f"replace {url} with a complete {kind} file, or correct the compression of the input format "
        "(a retry alone fails the same way)"
    )
    return FormatCheckError(
        f"COPY into {context.table} failed: {url} could not be decompressed (Redshift said: {said}). Nothing "
        f"was loaded: the transaction was rolled back. Fix: {fix}.",
        fix=fix,
    )


def _refused_statement(
    error: BaseException, lowered: str, said: str, context: CopyContext
) -> Exception | None:
    state = sqlstate(error)
    if state == "42501":
        fix = (
            f"GRANT the database user the privileges the load needs on {context.table} (INSERT; DELETE for "
            "replace modes; CREATE on the schema for the ledger), or use a user that has them"
        )
        return PermissionCheckError(
            f"COPY into {context.table} failed: the database user may not do it (Redshift said: {said}). "
            f"Nothing was loaded. Fix: {fix}.",
            fix=fix,
        )
    if state and state.startswith("42"):
        # Syntax errors and unsupported options are deterministic: a retry would fail the same way.
        fix = (
            "check input_format and copy_options against the COPY parameters this file format accepts "
            "(Parquet and ORC accept only a few), or report the statement as a bug if they are right"
        )
        return ConfigCheckError(
            f"COPY into {context.table} failed: Redshift refused the statement (SQLSTATE {state}: {said}). "
            f"Nothing was loaded. Fix: {fix}.",
            fix=fix,
        )
    return None


def _serializable(error: BaseException, lowered: str, said: str, context: CopyContext) -> Exception | None:
    if _SERIALIZABLE not in lowered:
        return None
    return RedshiftS3Error(
        f"COPY into {context.table} was aborted by a concurrent transaction ({said}). Nothing was loaded; a "
        "retry will load the files."
    )


def may_be_missing_object(error: BaseException) -> bool:
    """Return whether ``error`` may come from an S3 object that does not exist (worth a HEAD of the files)."""
    lowered = server_message(error).lower()
    return any(hint in lowered for hint in _MISSING_HINTS)


def missing_files_error(context: CopyContext, urls: Sequence[str], error: BaseException) -> RedshiftS3Error:
    """Return the (retryable) error for listed files that were gone when COPY read them."""
    shown = ", ".join(urls[:5]) + (f" and {len(urls) - 5} more" if len(urls) > 5 else "")
    said = server_message(error).splitlines()[0]
    return RedshiftS3Error(
        f"COPY into {context.table} failed: {len(urls)} file(s) listed for this load no longer exist "
        f"(deleted or moved after the listing; Redshift said: {said}). Nothing was loaded: the transaction "
        "was rolled back and no file was recorded in the ledger. Fix: write "
        f"{shown} again if they should be loaded; otherwise nothing: the retry lists the files again."
    )


_CONNECTION_LOST = ("brokenpipe", "server socket closed", "connection reset", "connection refused")


def is_connection_lost(error: BaseException) -> bool:
    """Return whether ``error`` is the connection to Redshift breaking (not an answer from Redshift)."""
    if isinstance(error, ConnectionError):
        return True
    lowered = str(error).lower()
    return not sqlstate(error) and any(hint in lowered for hint in _CONNECTION_LOST)


def connection_lost_error(
    context: CopyContext, error: BaseException, committing: bool = False
) -> RedshiftS3Error:
    """Return the (retryable) error for a connection that broke during the load transaction.

    :param committing: it broke during COMMIT (the outcome is unknown); only call this then for a load
        whose retry is safe (``_copy_guards.retry_is_safe``).
    """
    if committing:
        when = (
            "during COMMIT, so whether the load committed is unknown; a retry is safe because the "
            "ledger rows "
            "are committed with the load itself (append skips files already loaded, replace modes replace "
            "again, upsert writes the same rows again)"
        )
    else:
        when = (
            "before COMMIT, so Redshift rolled the transaction back and nothing was loaded; a retry is safe"
        )
    return RedshiftS3Error(
        f"COPY into {context.table}: the connection to Redshift broke during the load ({str(error)[:200]}), "
        f"{when}. Fix: none for a passing network or restart (the task retries); otherwise check the network "
        "path to the cluster."
    )


def sqlstate(error: BaseException) -> str | None:
    """Return the SQLSTATE of a redshift_connector server error, if any."""
    args = getattr(error, "args", ())
    if args and isinstance(args[0], dict):
        return str(args[0].get("C") or "") or None
    return None


def is_region_failure(error: BaseException) -> bool:
    """Return whether ``error`` is S3's 301 PermanentRedirect (the bucket is in another region)."""
    lowered = server_message(error).lower()
    return "permanentredirect" in lowered or "status 301" in lowered


def is_load_failure(error: BaseException) -> bool:
    """Return whether ``error`` is COPY's "Load into table ... failed" (rows rejected)."""
    lowered = server_message(error).lower()
    return "stl_load_errors" in lowered or ("load into table" in lowered and "failed" in lowered)
