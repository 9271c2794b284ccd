"""The COPY operator's data-safety rules: a load does what was meant, or fails before anything is committed.

Each rule either lets the load go on (possibly with a warning for the summary) or raises a
``DataSafetyError`` subclass (``airflow_redshift_s3.exceptions``) naming what was found and the fix:

- a prefix that does not end at a '/' over-matches neighbouring folders: refused in the replace modes,
  a warning naming the extra keys otherwise;
- a replace that would delete rows and load none is refused unless ``allow_empty_replace``;
- an upsert whose files hold several rows of one key needs a rule saying which wins (never a silent pick),
  and its keys must be unique among the target rows they match;
- a file the ledger has under another ETag (rewritten since it was loaded) is a decision: fail, reload, skip;
- a key the ledger cannot record (NUL, invalid UTF-8) is refused, or skipped when asked;
- a connection that broke during COMMIT of a load with nothing to tell whether it committed is not retried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_redshift_s3.checks.result import CheckResult
from airflow_redshift_s3.exceptions import (
    ChangedFileError,
    CommitUnknownError,
    DuplicateKeyError,
    EmptyReplaceError,
    InvalidKeyError,
    PrefixBoundaryError,
)

if TYPE_CHECKING:
    from airflow_redshift_s3.transfers.copy.request import FileInfo, LoadRequest

SHOWN = 5


def _listing(items: Sequence[str], limit: int = SHOWN) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def check_boundary(request: LoadRequest, files: Sequence[FileInfo]) -> CheckResult | None:
    """Return a warning for an append/upsert prefix that does not end at '/'; raise for a replace mode.

    The intended files are those under ``prefix + '/'``; the others share the prefix's characters only
    (``sales/2026-11-2`` also matches ``sales/2026-11-20/...``).
    """
    if not request.open_prefix:
        return None
    prefix = str(request.prefix)
    folder = prefix + "/"
    beyond = [f.key for f in files if not f.key.startswith(folder)]
    if beyond:
        found = f"it matched {len(beyond)} key(s) outside '{folder}': {_listing(beyond)}"
    else:
        found = (
            f"today every key it matched is under '{folder}', but a later key such as '{prefix}0/...' "
            "would be too"
        )
    fix = (
        f"end the prefix with '/' (prefix='{folder}'), pin what follows it with a key_pattern that starts "
        "with a literal character (key_pattern='/*'), or name the files with keys=[...]"
    )
    if request.replaces:
        raise PrefixBoundaryError(
            f"Refusing to {request.mode} {request.target} from s3://{request.bucket}/{prefix}: the "
            "prefix does "
            f"not end with '/', so it loads every key that starts with these characters; {found}. Nothing "
            f"was deleted or loaded. Fix: {fix}.",
            fix=fix,
        )
    return CheckResult.warning(
        "prefix.boundary",
        "config",
        f"prefix '{prefix}' does not end with '/': every key starting with it is loaded; {found}.",
        fix,
    )


def unrecordable(key: str) -> str | None:
    """Return why the ledger (a VARCHAR) cannot hold ``key``, or None."""
    if "\x00" in key:
        return "it contains a NUL byte"
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: bytes that were not UTF-8, decoded with surrogateescape
        return "it is not valid UTF-8"
    return None


def invalid_key(request: LoadRequest, key: str, reason: str) -> CheckResult:
    """Return the warning for a skipped key (``on_invalid_key="skip"``), or raise ``InvalidKeyError``."""
    shown = ascii(key)[:200]
    if request.on_invalid_key == "skip":
        return CheckResult.warning(
            "files.invalid_key",
            "config",
            f"Left out s3://{request.bucket}/{shown}: {reason}, so neither COPY nor the ledger can take it.",
            "",
        )
    fix = (
        "rename or delete the object (S3 keys should be UTF-8 without control characters), or pass "
        "on_invalid_key='skip' to load the other files"
    )
    raise InvalidKeyError(
        f"S3 key s3://{request.bucket}/{shown} under prefix '{request.prefix}' cannot be loaded: "
        f"{reason}, and "
        f"the ledger of {request.target} records every loaded key as text. Nothing was loaded. Fix: {fix}.",
        fix=fix,
    )


def changed_files(
    request: LoadRequest, changed: Sequence[tuple[FileInfo, str | None, dt.datetime | None]]
) -> None:
    """Raise ``ChangedFileError`` for files rewritten since they were loaded (``on_changed_file="fail"``)."""
    described = [
        f"s3://{request.bucket}/{f.key} (loaded {at.isoformat(sep=' ', timespec='seconds') if at else '?'} "
        f"with ETag {old}, now ETag {f.etag})"
        for f, old, at in changed
    ]
    fix = (
        "if the new content replaces the old, load with mode='replace' or 'replace_partition' (or 'upsert'); "
        "to load it again on top of the old rows pass on_changed_file='reload' (its rows are then in the "
        "table twice); to ignore the new content pass on_changed_file='skip'"
    )
    raise ChangedFileError(
        f"{len(changed)} file(s) already loaded into {request.target} were rewritten since: "
        f"{_listing(described)}. Loading them again in mode '{request.mode}' would add their rows a second "
        f"time. Nothing was loaded. Fix: {fix}.",
        fix=fix,
    )


def _key_text(keys: Sequence[str], row: Sequence[Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in zip(keys, row, strict=False))


def duplicate_keys(
    request: LoadRequest,
    rows: Sequence[Sequence[Any]],
    files_of: dict[tuple[Any, ...], list[str]] | None,
    probed: int,
    total: int,
) -> DuplicateKeyError:
    """Return the error for keys held by several rows of the files (or tied under the rule).

    :param rows: (key values..., row count) of the first keys.
    :param files_of: the files holding each key, when they were found; None when not looked up.
    :param probed: how many files were looked into; ``total`` how many the load had.
    """
    keys = list(request.upsert_keys or ())
    shown = []
    for row in rows:
        values = tuple(row[: len(keys)])
        text = f"{_key_text(keys, values)} ({row[len(keys)]} different rows"
        if files_of is not None:
            text += f" in {', '.join(files_of.get(values, [])) or 'files not looked into'}"
        shown.append(text + ")")
    if files_of is not None and probed < total:
        shown.append(f"(only the first {probed} of {total} files were looked into)")
    rule = request.on_duplicate_keys
    if rule == "fail":
        what = "several rows of the files have the same upsert key"
        fix = (
            "remove the duplicates from the files, or choose which row wins: "
            "on_duplicate_keys='keep_greatest' "
            "with duplicate_order_column='<a column such as updated_at>', or "
            "on_duplicate_keys='keep_last_file'"
        )
    else:
        order = request.duplicate_order_column if rule == "keep_greatest" else "the file order"
        what = f"on_duplicate_keys='{rule}' cannot choose: rows of one key tie on {order}"
        fix = (
            "make the rows of a key differ in duplicate_order_column"
            if rule == "keep_greatest"
            else "keep each key once per file (Redshift does not keep the line order of a file, so rows of "
            "one key inside one file cannot be ordered), or use keep_greatest with an order column"
        )
    return DuplicateKeyError(
        f"Upsert into {request.target} refused: {what}: {'; '.join(shown)}. Nothing was loaded. Fix: {fix}.",
        fix=fix,
    )


def target_duplicates(request: LoadRequest, rows: Sequence[Sequence[Any]]) -> DuplicateKeyError:
    """Return the error for upsert keys that several rows of the target table already hold."""
    keys = list(request.upsert_keys or ())
    shown = [f"{_key_text(keys, row[: len(keys)])} ({row[len(keys)]} rows)" for row in rows]
    fix = (
        f"pass upsert_keys that identify one row of {request.target} (its primary key), or remove the "
        "duplicate rows from the table first"
    )
    return DuplicateKeyError(
        f"Upsert into {request.target} refused: upsert_keys ({', '.join(keys)}) are not unique in the table: "
        f"{'; '.join(shown)} would all be overwritten by one row of the files. Nothing was loaded. "
        f"Fix: {fix}.",
        fix=fix,
    )


def empty_replace(request: LoadRequest, files: int, deleted: int) -> EmptyReplaceError:
    """Return the error for a replace that deleted rows and loaded none."""
    scope = (
        f"partition {request.partition_column} = {request.partition_value!r} of {request.target}"
        if request.mode == "replace_partition"
        else str(request.target)
    )
    fix = (
        "check the files (a header-only or empty export is the usual cause); if an empty result is right, "
        "pass allow_empty_replace=True"
    )
    return EmptyReplaceError(
        f"COPY loaded 0 rows from {files} file(s); refusing to replace {deleted} row(s) of {scope} with "
        f"nothing. The transaction was rolled back: {scope} is as it was. Fix: {fix}.",
        fix=fix,
    )


def retry_is_safe(request: LoadRequest) -> bool:
    """Return whether running the load again after an unknown COMMIT outcome can never load a file twice."""
    if request.mode != "append":
        return True  # the replace modes replace again; upsert writes the same rows again
    return request.ledger is not None and request.skip_loaded


def commit_unknown(request: LoadRequest, manifest_url: str, error: BaseException) -> CommitUnknownError:
    """Return the error for a connection lost during COMMIT of an append that nothing can check."""
    fix = (
        f"check whether the load committed before running it again: SELECT * FROM stl_load_commits WHERE "
        f"filename LIKE 's3://{request.bucket}/%' ORDER BY curtime DESC (or sys_load_history on "
        "Serverless), or "
        f"look in {request.target} for the files' rows; rerun the task only if it did not. Keep the ledger "
        "(use_ledger=True, skip_loaded_files=True) to make such retries safe"
    )
    return CommitUnknownError(
        f"COPY into {request.target}: the connection to Redshift broke during COMMIT "
        f"({str(error)[:200]}), so "
        f"whether the load committed is unknown, and this append has no ledger to skip the files if it did "
        f"(use_ledger/skip_loaded_files off). Not retried automatically: a retry could load the files twice. "
        f"Manifest: {manifest_url}. Fix: {fix}.",
        fix=fix,
    )


def cleanup_manifests(s3: Any, bucket: str, folder: str, log: Any, keys: Sequence[str] | None = None) -> int:
    """Delete every manifest under ``folder`` (this task's, failed tries included); return how many.

    :param keys: the manifests, when the caller knows them all (a first try): no listing.

    A failure to delete is a warning: the load is committed, and a lifecycle rule on the manifest prefix
    (``airflow-redshift-s3 policy --lifecycle``) expires what is left.
    """
    deleted = 0
    try:
        if keys is None:
            keys = [obj["Key"] for obj in s3.iter_objects(bucket, folder) if obj["Key"].endswith(".manifest")]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            answer = s3.conn.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            refused = answer.get("Errors") or []
            if refused:
                first = refused[0]
                raise RuntimeError(f"{len(refused)} refused, first: {first.get('Code')} {first.get('Key')}")
            deleted += len(batch)
    except Exception as error:  # the data is committed: a leftover manifest is only clutter
        log.warning(
            "Could not delete the manifests under s3://%s/%s (%s); they are kept. Fix: allow "
            "s3:DeleteObject on "
            "the manifest prefix to the AWS connection, or expire them with a lifecycle rule.",
            bucket,
            folder,
            error,
        )
    return deleted
