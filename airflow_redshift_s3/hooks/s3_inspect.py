"""What COPY will find in S3: the bucket's region and encryption, and what a prefix holds."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from airflow_redshift_s3.exceptions import PermissionCheckError, ResourceNotFoundError
from airflow_redshift_s3.hooks._aws_errors import error_code as _code
from airflow_redshift_s3.hooks._shared_loader import SharedLoaderMixin

if TYPE_CHECKING:
    pass

PAGE_SIZE = 1000  # ListObjectsV2 returns at most 1,000 keys a call
# GetBucketLocation's LocationConstraint quirks: None (or "") is us-east-1, "EU" is eu-west-1.
_LOCATION_QUIRKS: dict[str | None, str] = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}
_NOT_FOUND = {"404", "NoSuchBucket", "NotFound"}
_FORBIDDEN = {"403", "AccessDenied", "AllAccessDisabled"}
_REDIRECTS = {
    "301",
    "PermanentRedirect",
    "400",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
}


def _headers(error_or_response: Any) -> dict[str, str]:
    response = getattr(error_or_response, "response", error_or_response) or {}
    return response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}


def location_to_region(location: str | None) -> str:
    """Return the region a GetBucketLocation ``LocationConstraint`` means."""
    return _LOCATION_QUIRKS.get(location, location or "us-east-1")


@dataclass(frozen=True)
class BucketProbe:
    """What HeadBucket (and GetBucketLocation) told about a bucket."""

    bucket: str
    region: str | None
    accessible: bool  # False: the bucket exists but the connection's identity may not read it
    error: str | None = None


@dataclass(frozen=True)
class BucketEncryption:
    """A bucket's default encryption."""

    algorithm: str | None  # "AES256" (SSE-S3) | "aws:kms" (SSE-KMS) | "aws:kms:dsse" | None
    kms_key_id: str | None = None
    bucket_key_enabled: bool = False
    readable: bool = True  # False: the connection's identity may not read the configuration

    @property
    def kind(self) -> str:
        """Return "SSE-S3", "SSE-KMS", "DSSE-KMS", "none" or "unknown"."""
        if not self.readable:
            return "unknown"
        return {"AES256": "SSE-S3", "aws:kms": "SSE-KMS", "aws:kms:dsse": "DSSE-KMS"}.get(
            self.algorithm or "", "none"
        )

    @property
    def uses_kms(self) -> bool:
        """Return whether reading objects needs kms:Decrypt."""
        return bool(self.algorithm and self.algorithm.startswith("aws:kms"))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict."""
        return {
            "type": self.kind,
            "kms_key_id": self.kms_key_id,
            "bucket_key_enabled": self.bucket_key_enabled,
        }


@dataclass
class PrefixSummary:
    """A bounded summary of a listing, built one object at a time (the listing is never kept).

    :param bucket: the bucket listed.
    :param prefix: the key prefix listed.
    :param key_pattern: count only keys whose part after ``prefix`` matches this glob (``fnmatch``,
        case-sensitive; ``*`` also matches ``/``).
    :param exclude_keys: full keys not to count (e.g. a success marker).
    """

    bucket: str
    prefix: str
    key_pattern: str | None = None
    exclude_keys: frozenset[str] = frozenset()
    object_count: int = 0
    total_bytes: int = 0
    first_key: str | None = None
    last_key: str | None = None
    last_modified: datetime | None = None
    keys_seen: int = 0  # every key listed, matching or not
    _digest: Any = field(default_factory=hashlib.sha256, repr=False)

    def matches(self, key: str) -> bool:
        """Return whether ``key`` counts."""
        if key in self.exclude_keys:
            return False
        if self.key_pattern is None:
            return True
        return fnmatch.fnmatchcase(key[len(self.prefix) :], self.key_pattern)

    def add(self, obj: dict[str, Any]) -> bool:
        """Count one ListObjectsV2 ``Contents`` entry if it matches; return whether it did."""
        self.keys_seen += 1
        key = obj["Key"]
        if not self.matches(key):
            return False
        size = int(obj.get("Size") or 0)
        self.object_count += 1
        self.total_bytes += size
        if self.first_key is None:
            self.first_key = key  # S3 lists keys in UTF-8 binary order
        self.last_key = key
        modified = obj.get("LastModified")
        if isinstance(modified, datetime) and (self.last_modified is None or modified > self.last_modified):
            self.last_modified = modified
        self._digest.update(f"{key}\0{size}\0{obj.get('ETag', '')}\n".encode())
        return True

    def add_all(self, objects: Iterable[dict[str, Any]]) -> None:
        """Count every entry of one page."""
        for obj in objects:
            self.add(obj)

    @property
    def fingerprint(self) -> str:
        """Return a SHA-256 over (key, size, ETag) of the counted objects, in listing order."""
        return cast("str", self._digest.copy().hexdigest())

    def to_dict(self) -> dict[str, Any]:
        """Return a small JSON-able dict whose size does not grow with the number of objects."""
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "object_count": self.object_count,
            "total_bytes": self.total_bytes,
            "first_key": self.first_key,
            "last_key": self.last_key,
            "last_modified": self.last_modified.isoformat() if self.last_modified else None,
            "fingerprint": self.fingerprint,
        }


class S3InspectHook(SharedLoaderMixin, S3Hook):
    """Inspect buckets and prefixes the way COPY will see them, on top of the Amazon provider's S3Hook.

    Listings are generators over pages of at most 1,000 keys: nothing holds a whole listing in memory
    unless ``list_objects`` is asked for it. Cross-region buckets work with the connection's client, as
    botocore follows S3's region redirects.
    """

    def __init__(self, *args: Any, requester_pays: bool = False, **kwargs: Any) -> None:
        # The hook's own argument, for the calls it makes itself: S3Hook takes ``requester_pays`` only
        # from Amazon provider 9.9.0 on, and keeps it in a private attribute.
        super().__init__(*args, **kwargs)
        self.requester_pays = requester_pays

    # -- the bucket --------------------------------------------------------------------------------

    def probe_bucket(self, bucket: str) -> BucketProbe:
        """Return the bucket's region and whether the connection may read it; raise if it does not exist.

        The region comes from HeadBucket's ``x-amz-bucket-region`` header, which S3 sends even with a
        403; GetBucketLocation is the fallback.
        """
        from botocore.exceptions import ClientError

        try:
            response = self.conn.head_bucket(Bucket=bucket)  # HeadBucket takes no RequestPayer
        except ClientError as error:
            code = _code(error)
            region = _headers(error).get("x-amz-bucket-region")
            if code in _NOT_FOUND:
                raise bucket_not_found(bucket, self.aws_conn_id) from error
            if code in _FORBIDDEN:
                return BucketProbe(bucket, region or self._location_or_none(bucket), False, code)
            if region and code in _REDIRECTS:
                # Another region answered, and botocore could not follow: the bucket exists there.
                return BucketProbe(bucket, region, True, code)
            raise
        region = response.get("BucketRegion") or _headers(response).get("x-amz-bucket-region")
        return BucketProbe(bucket, region or self._location_or_none(bucket), True)

    def get_bucket_region(self, bucket: str) -> str:
        """Return the bucket's region; raise when it does not exist or its region cannot be read."""
        probe = self.probe_bucket(bucket)
        if probe.region is None:
            fix = (
                f"allow the connection's identity s3:ListBucket and s3:GetBucketLocation on "
                f"arn:aws:s3:::{bucket}"
            )
            raise PermissionCheckError(
                f"Cannot read the region of bucket '{bucket}' with connection '{self.aws_conn_id}': expected "
                f"HeadBucket or GetBucketLocation to answer, found {probe.error}. Fix: {fix}.",
                fix=fix,
            )
        return probe.region

    def get_bucket_location(self, bucket: str) -> str:
        """Return the region from GetBucketLocation (None means us-east-1, "EU" means eu-west-1)."""
        location = self.conn.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        return location_to_region(location)

    def _location_or_none(self, bucket: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return self.get_bucket_location(bucket)
        except ClientError:
            return None

    def get_bucket_encryption(self, bucket: str) -> BucketEncryption:
        """Return the bucket's default encryption (SSE-S3, or SSE-KMS and its key)."""
        from botocore.exceptions import ClientError

        try:
            response = self.conn.get_bucket_encryption(Bucket=bucket)
        except ClientError as error:
            code = _code(error)
            if code == "ServerSideEncryptionConfigurationNotFoundError":
                return BucketEncryption(None)
            if code in _FORBIDDEN:
                return BucketEncryption(None, readable=False)
            if code in _NOT_FOUND:
                raise bucket_not_found(bucket, self.aws_conn_id) from error
            raise
        rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules") or [{}]
        default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
        return BucketEncryption(
            default.get("SSEAlgorithm"),
            default.get("KMSMasterKeyID"),
            bool(rules[0].get("BucketKeyEnabled", False)),
        )

    # -- objects -----------------------------------------------------------------------------------

    def _payer(self) -> dict[str, str]:
        return {"RequestPayer": "requester"} if self.requester_pays else {}

    def iter_object_pages(
        self, bucket: str, prefix: str, *, page_size: int = PAGE_SIZE
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the ``Contents`` of each ListObjectsV2 page under ``prefix``, one call per page."""
        from botocore.exceptions import ClientError

        paginator = self.conn.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}, **self._payer()
        )
        try:
            for page in pages:
                yield page.get("Contents") or []
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise bucket_not_found(bucket, self.aws_conn_id) from error
            raise

    def iter_objects(
        self, bucket: str, prefix: str, *, page_size: int = PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Yield every object under ``prefix`` (Key, Size, ETag, LastModified, ...), page by page."""
        for page in self.iter_object_pages(bucket, prefix, page_size=page_size):
            yield from page

    def list_objects(
        self, bucket: str, prefix: str, *, max_objects: int | None = None
    ) -> list[dict[str, Any]]:
        """Return the objects under ``prefix`` as a list: only when the whole listing is wanted in memory."""
        objects: list[dict[str, Any]] = []
        for obj in self.iter_objects(bucket, prefix):
            if max_objects is not None and len(objects) >= max_objects:
                break
            objects.append(obj)
        return objects

    def summarize_prefix(
        self,
        bucket: str,
        prefix: str,
        *,
        key_pattern: str | None = None,
        exclude_keys: Iterable[str] = (),
        page_size: int = PAGE_SIZE,
    ) -> PrefixSummary:
        """Return counts, bytes, first and last key and a fingerprint of the prefix, in constant memory."""
        summary = PrefixSummary(bucket, prefix, key_pattern, frozenset(exclude_keys))
        for page in self.iter_object_pages(bucket, prefix, page_size=page_size):
            summary.add_all(page)
        return summary

    def object_exists(self, bucket: str, key: str) -> bool:
        """Return whether ``key`` exists (HeadObject)."""
        from botocore.exceptions import ClientError

        try:
            self.conn.head_object(Bucket=bucket, Key=key, **self._payer())
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return False
            raise
        return True

    # -- async, for triggers (aiobotocore client from get_async_conn()) --------------------------------

    async def iter_object_pages_async(
        self, client: Any, bucket: str, prefix: str, *, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield the ``Contents`` of each ListObjectsV2 page, without blocking the event loop."""
        from botocore.exceptions import ClientError

        paginator = client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}, **self._payer()
        )
        try:
            async for page in pages:
                yield page.get("Contents") or []
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise bucket_not_found(bucket, self.aws_conn_id) from error
            raise

    async def summarize_prefix_async(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        *,
        key_pattern: str | None = None,
        exclude_keys: Iterable[str] = (),
        page_size: int = PAGE_SIZE,
    ) -> PrefixSummary:
        """Return the same summary as ``summarize_prefix``, with async calls."""
        summary = PrefixSummary(bucket, prefix, key_pattern, frozenset(exclude_keys))
        async for page in self.iter_object_pages_async(client, bucket, prefix, page_size=page_size):
            summary.add_all(page)
        return summary

    async def object_exists_async(self, client: Any, bucket: str, key: str) -> bool:
        """Return whether ``key`` exists (HeadObject), with an async call."""
        from botocore.exceptions import ClientError

        try:
            await client.head_object(Bucket=bucket, Key=key, **self._payer())
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return False
            raise
        return True


def bucket_not_found(bucket: str, aws_conn_id: str | None) -> ResourceNotFoundError:
    """Return the error for a bucket that does not exist."""
    fix = f"check the bucket name (no s3:// and no key in it); `aws s3api head-bucket --bucket {bucket}`"
    return ResourceNotFoundError(
        f"S3 bucket '{bucket}' does not exist (HeadBucket answered 404 to connection '{aws_conn_id}'): "
        f"expected an existing bucket. Fix: {fix}.",
        fix=fix,
    )
