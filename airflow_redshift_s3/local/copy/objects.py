"""Resolve the S3 objects a COPY reads: a key prefix or a manifest, refused the way Redshift refuses them."""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from airflow_redshift_s3.local.copy.limits import MAX_SMALL_FILE, READ_SIZE
from airflow_redshift_s3.local.copy.model import (
    EMPTY_PREFIX_MESSAGE,
    MANIFEST_ERROR_PREFIX,
    LoadError,
    S3ObjectRef,
)
from airflow_redshift_s3.local.sql.copy_command import COLUMNAR_FORMATS, CopyCommand

# -- resolving the objects -----------------------------------------------------------------------------


def resolve_objects(s3_client: Any, cmd: CopyCommand) -> list[S3ObjectRef]:
    """Return the objects a COPY loads: every key under the prefix, or the manifest's entries.

    :param s3_client: a boto3 S3 client.
    :param cmd: the parsed COPY.
    :raises LoadError: nothing matches the prefix, or the manifest is unreadable or lacks a mandatory file.
    """
    if cmd.manifest:
        return _manifest_objects(s3_client, cmd)
    return _prefix_objects(s3_client, cmd.bucket, cmd.key_prefix)


def s3_error_message(err: Exception) -> str:
    """Render a botocore ClientError the way Redshift reports S3 failures."""
    response = getattr(err, "response", None) or {}
    error = response.get("Error", {})
    code = str(error.get("Code", "")) or type(err).__name__
    message = error.get("Message") or ""
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in ("404", "NoSuchKey", "NotFound"):
        code, message = "NoSuchKey", message or "The specified key does not exist."
    elif code == "403":
        code, message = "AccessDenied", message or "Access Denied"
    return f"S3ServiceException:{message or str(err)},Status {status},Error {code}"


def _prefix_objects(s3_client: Any, bucket: str, prefix: str) -> list[S3ObjectRef]:
    refs: list[S3ObjectRef] = []
    try:
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                size = int(item.get("Size", 0))
                if key.endswith("/") and size == 0:
                    continue  # a "folder" placeholder, not data
                refs.append(S3ObjectRef(bucket, key, size, _etag(item.get("ETag"))))
    except Exception as err:
        if not hasattr(err, "response"):
            raise
        raise LoadError(s3_error_message(err)) from None
    if not refs:
        raise LoadError(EMPTY_PREFIX_MESSAGE.format(prefix=prefix))
    return refs


def _manifest_objects(s3_client: Any, cmd: CopyCommand) -> list[S3ObjectRef]:
    manifest = _read_manifest(s3_client, cmd)
    entries = manifest.get("entries") if isinstance(manifest, dict) else None
    if not isinstance(entries, list):
        raise LoadError(f'{MANIFEST_ERROR_PREFIX}{cmd.source} is not a JSON object with an "entries" array')
    columnar = cmd.format in COLUMNAR_FORMATS
    refs: list[S3ObjectRef] = []
    for number, entry in enumerate(entries, start=1):
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.strip().lower().startswith("s3://"):
            raise LoadError(f'{MANIFEST_ERROR_PREFIX}entry {number} has no "url" of the form s3://bucket/key')
        bucket, _, key = url.strip()[5:].partition("/")
        if not bucket or not key or key.endswith("/"):
            raise LoadError(
                f"{MANIFEST_ERROR_PREFIX}COPY with MANIFEST parameter requires full path of an S3 object: "
                f"{url}"
            )
        mandatory = entry.get("mandatory", False)
        if not isinstance(mandatory, bool):
            raise LoadError(f'{MANIFEST_ERROR_PREFIX}"mandatory" of {url} must be true or false')
        meta = entry.get("meta")
        content_length = meta.get("content_length") if isinstance(meta, dict) else None
        if columnar and (not isinstance(content_length, int) or isinstance(content_length, bool)):
            raise LoadError(
                f'{MANIFEST_ERROR_PREFIX}entry {url} needs "meta": {{"content_length": <bytes>}} '
                f"for a {cmd.format.upper()} COPY"
            )
        try:
            head = s3_client.head_object(Bucket=bucket, Key=key)
        except Exception as err:
            if not hasattr(err, "response"):
                raise
            if _is_not_found(err):
                if mandatory:
                    raise LoadError(
                        f"{MANIFEST_ERROR_PREFIX}{url} is mandatory in the manifest but does not exist"
                    ) from None
                continue
            raise LoadError(s3_error_message(err)) from None
        size = int(head.get("ContentLength", 0))
        if columnar and content_length != size:
            raise LoadError(
                f"{MANIFEST_ERROR_PREFIX}meta.content_length {content_length} of {url} does not match "
                f"the object's size {size}"
            )
        refs.append(S3ObjectRef(bucket, key, size, _etag(head.get("ETag"))))
    return refs


def _read_manifest(s3_client: Any, cmd: CopyCommand) -> object:
    try:
        body = s3_client.get_object(Bucket=cmd.bucket, Key=cmd.key_prefix)["Body"]
        try:
            data = _read_small(body, cmd.source)
        finally:
            body.close()
    except LoadError as err:
        raise LoadError(MANIFEST_ERROR_PREFIX + err.message) from None
    except Exception as err:
        if not hasattr(err, "response"):
            raise
        raise LoadError(MANIFEST_ERROR_PREFIX + s3_error_message(err)) from None
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as err:
        raise LoadError(f"{MANIFEST_ERROR_PREFIX}{cmd.source} is not valid JSON: {err}") from None


def _is_not_found(err: Exception) -> bool:
    response = getattr(err, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket") or status == 404


def _etag(value: object) -> str | None:
    return str(value).strip('"') if value else None


def _read_small(body: BinaryIO, url: str) -> bytes:
    parts: list[bytes] = []
    total = 0
    while chunk := body.read(READ_SIZE):
        total += len(chunk)
        if total > MAX_SMALL_FILE:
            raise LoadError(f"{url} is larger than {MAX_SMALL_FILE} bytes")
        parts.append(chunk)
    return b"".join(parts)
