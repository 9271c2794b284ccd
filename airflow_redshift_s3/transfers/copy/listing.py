"""The files of a load: listed under the prefix (or named in ``keys``), checked by the listing rules."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any, cast

from airflow_redshift_s3.checks.result import CheckResult
from airflow_redshift_s3.exceptions import ResourceNotFoundError
from airflow_redshift_s3.transfers.copy import guards
from airflow_redshift_s3.transfers.copy.request import FileInfo, LoadRequest

MISSING_CHECK_LIMIT = 1000


def list_files(s3: Any, request: LoadRequest, log: Any) -> tuple[list[FileInfo], list[CheckResult]]:
    """Return the files to load and the warnings about the listing (raise for what a rule refuses).

    Folder markers and the operator's own manifests are left out; so are zero-byte objects, whether listed
    or named in ``keys`` (they hold no row).
    """
    if request.keys is not None:
        listed = [head(s3, request.bucket, key) for key in request.keys]
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
            listed.append(FileInfo(key, int(obj.get("Size") or 0), etag(obj.get("ETag"))))
    files: list[FileInfo] = []
    notes: list[CheckResult] = []
    for info in listed:
        reason = guards.unrecordable(info.key)
        if reason is not None:
            notes.append(guards.invalid_key(request, info.key, reason))
        elif not info.size:
            log.info("Leaving out empty object s3://%s/%s", request.bucket, info.key)
        else:
            files.append(info)
    boundary = guards.check_boundary(request, files)
    return files, notes if boundary is None else [*notes, boundary]


def no_files_error(request: LoadRequest) -> ResourceNotFoundError:
    """Return the error for a load that found no file (unless ``allow_no_files``)."""
    where = f"s3://{request.bucket}/{request.source_prefix}"
    pattern = f" matching key_pattern {request.key_pattern!r}" if request.key_pattern else ""
    return ResourceNotFoundError(
        f"No file to load under {where}{pattern}: expected at least one non-empty object. Fix: check bucket "
        "and prefix, wait for the data (S3PrefixSensor), or pass allow_no_files=True to succeed without "
        "loading."
    )


def etag(value: object) -> str | None:
    """Return an ETag without its quotes (None when absent)."""
    return str(value or "").strip('"') or None


def head(s3: Any, bucket: str, key: str) -> FileInfo:
    """Return the ``FileInfo`` of one object, or raise ``ResourceNotFoundError`` naming it."""
    from airflow_redshift_s3.hooks._aws_errors import is_not_found

    try:
        answer = s3.conn.head_object(Bucket=bucket, Key=key)
    except Exception as error:
        if is_not_found(error):
            raise ResourceNotFoundError(
                f"S3 object s3://{bucket}/{key} does not exist: expected every key of keys to exist. Fix: "
                "correct the key, or wait for the file."
            ) from error
        raise
    return FileInfo(key, int(answer.get("ContentLength") or 0), etag(answer.get("ETag")))


def missing(s3: Any, bucket: str, files: Sequence[FileInfo]) -> list[str]:
    """Return the URLs of ``files`` (the first MISSING_CHECK_LIMIT) that no longer exist in S3."""
    gone = []
    for info in files[:MISSING_CHECK_LIMIT]:
        try:
            head(s3, bucket, info.key)
        except ResourceNotFoundError:
            gone.append(f"s3://{bucket}/{info.key}")
        except Exception:  # only for the message: the COPY error is what matters
            return []
    return gone


def bucket_region(s3: Any, bucket: str) -> str | None:
    """Return the bucket's region, or None when it cannot be found (only for a message)."""
    try:
        return cast("str | None", s3.probe_bucket(bucket).region)
    except Exception:  # only for the message: the COPY error is what matters
        return None
