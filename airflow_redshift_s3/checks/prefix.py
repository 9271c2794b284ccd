"""Checks of a bucket name and key prefix that need no AWS call."""

from __future__ import annotations

import re

from airflow_redshift_s3.checks.result import CheckResult

_WILDCARDS = ("*", "?")
_GLOB_LOOKING = re.compile(r"\[[^\]]*\]|\{[^}]*,[^}]*\}")


def check_bucket_name(bucket: str) -> CheckResult:
    """Return a failure when ``bucket`` is not a bare bucket name (an s3:// URI, a path, blank)."""
    if not bucket or not bucket.strip():
        fix = "pass the bucket name, e.g. bucket='my-bucket'"
        return CheckResult.failure(
            "bucket.name",
            "config",
            f"S3 bucket name is empty: expected a bucket name, found {bucket!r}.",
            fix,
        )
    if bucket.lower().startswith(("s3://", "s3a://", "s3n://")) or "/" in bucket or bucket != bucket.strip():
        name, _, key = re.sub(r"^s3[an]?://", "", bucket.strip(), flags=re.IGNORECASE).partition("/")
        fix = f"pass bucket='{name}'" + (f" and put '{key}' in the prefix" if key else "")
        return CheckResult.failure(
            "bucket.name",
            "config",
            f"S3 bucket name '{bucket}' is not a bare bucket name: expected only the name (no s3://, no "
            f"'/', no spaces), found '{bucket}'.",
            fix,
        )
    return CheckResult.ok("bucket.name", "config", f"S3 bucket name '{bucket}' is well-formed.")


def check_prefix(prefix: str, bucket: str = "") -> list[CheckResult]:
    """Return the problems of ``prefix`` as COPY would read it (``s3://bucket/prefix``), or one ok result.

    Failures: a leading '/', an ``s3://`` inside, a ``*`` or ``?`` (COPY takes wildcards literally).
    Warnings: an empty prefix (the whole bucket), a prefix that does not end at a '/' boundary and so may
    match more than intended, a '//' or surrounding spaces, something that looks like a glob.
    """
    where = f"S3 prefix '{prefix}'" + (f" in bucket '{bucket}'" if bucket else "")
    results = [*_location(prefix, where), *_wildcards(prefix, where), *_spelling(prefix, where)]
    results.extend(_boundary(prefix, bucket, where, failed=any(r.failed for r in results)))
    if not results:
        results.append(CheckResult.ok("prefix.format", "config", f"{where} is a well-formed folder prefix."))
    return results


def _location(prefix: str, where: str) -> list[CheckResult]:
    results: list[CheckResult] = []
    if "s3://" in prefix.lower() or "s3a://" in prefix.lower():
        uri = prefix[prefix.lower().index("s3") :]
        name, _, key = re.sub(r"^s3[an]?://", "", uri, flags=re.IGNORECASE).partition("/")
        results.append(
            CheckResult.failure(
                "prefix.s3_uri",
                "config",
                f"{where} contains an s3:// URI: expected only the key prefix (the bucket is passed "
                f"separately), found '{prefix}'.",
                f"pass bucket='{name}' and prefix='{key}'",
            )
        )
    elif prefix.startswith("/"):
        results.append(
            CheckResult.failure(
                "prefix.leading_slash",
                "config",
                f"{where} starts with '/': expected a key prefix without a leading slash (COPY would "
                "look for keys that begin with '/', which S3 paths written by tools almost never do), "
                f"found '{prefix}'.",
                f"use prefix='{prefix.lstrip('/')}'",
            )
        )
    return results


def _wildcards(prefix: str, where: str) -> list[CheckResult]:
    results: list[CheckResult] = []
    wildcards = [c for c in _WILDCARDS if c in prefix]
    if wildcards:
        literal = re.split(r"[*?\[]", prefix, maxsplit=1)[0]
        literal_dir = literal[: literal.rfind("/") + 1] if "/" in literal else literal
        rest = prefix[len(literal_dir) :]
        results.append(
            CheckResult.failure(
                "prefix.wildcard",
                "config",
                f"{where} contains the wildcard {' and '.join(repr(c) for c in wildcards)}: COPY matches "
                "keys by plain prefix and takes wildcards literally, so it would look for keys starting "
                f"with '{prefix}'; expected a literal prefix.",
                f"use prefix='{literal_dir}' and select files with key_pattern='{rest}' on S3PrefixSensor, "
                "or load an exact set of files with a manifest",
            )
        )
    elif _GLOB_LOOKING.search(prefix):
        results.append(
            CheckResult.warning(
                "prefix.glob",
                "config",
                f"{where} contains brackets or braces that look like a glob: COPY takes them literally "
                "and loads only keys that start with exactly these characters.",
                "if you meant a pattern, use the literal part as the prefix and a manifest for the files",
            )
        )
    return results


def _spelling(prefix: str, where: str) -> list[CheckResult]:
    results: list[CheckResult] = []
    if prefix != prefix.strip():
        results.append(
            CheckResult.warning(
                "prefix.whitespace",
                "config",
                f"{where} starts or ends with whitespace: COPY would match it literally.",
                f"use prefix='{prefix.strip()}' unless the keys really contain the spaces",
            )
        )
    if "//" in prefix.replace("s3://", "").replace("s3a://", ""):
        results.append(
            CheckResult.warning(
                "prefix.double_slash",
                "config",
                f"{where} contains '//': keys with an empty path segment are unusual, so it may match "
                "nothing.",
                f"use prefix='{re.sub('/{2,}', '/', prefix)}' unless the keys really contain '//'",
            )
        )
    return results


def _boundary(prefix: str, bucket: str, where: str, *, failed: bool) -> list[CheckResult]:
    results: list[CheckResult] = []
    if not prefix:
        results.append(
            CheckResult.warning(
                "prefix.boundary",
                "config",
                f"S3 prefix is empty: COPY would load every object in bucket '{bucket or '?'}'.",
                "give the folder to load, ending with '/', e.g. prefix='data/2026-11-27/'",
            )
        )
    elif not prefix.endswith("/") and not failed:
        example = f"{prefix}_old.csv" if "." not in prefix.rsplit("/", 1)[-1] else f"{prefix}.bak"
        results.append(
            CheckResult.warning(
                "prefix.boundary",
                "config",
                f"{where} does not end with '/': COPY loads every key that starts with it, so it would "
                f"also load e.g. '{example}'.",
                f"end the prefix at a folder (prefix='{prefix}/') or load an exact set of files with a "
                "manifest",
            )
        )
    return results
