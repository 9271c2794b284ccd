"""The operator's arguments checked without any network or SQL: hostile input stops here.

``build_request`` turns the (rendered) operator arguments into a ``LoadRequest`` of checked names and
typed options, or raises an ``AirflowFailException`` subclass that names the argument, what was expected,
what was found and the fix.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_redshift_s3 import ledger as ledger_sql
from airflow_redshift_s3.copy_format import CopyFormat, parse_copy_options, parse_format
from airflow_redshift_s3.exceptions import ConfigCheckError
from airflow_redshift_s3.policies import MANIFEST_PREFIX
from airflow_redshift_s3.rules import BUCKET_RE, REGION_POLICIES
from airflow_redshift_s3.sql import SqlInputError, TableName, check_identifier, parse_table_name
from airflow_redshift_s3.transfers.copy import plan as copy_sql

PREFLIGHT_CHECKS = ("role", "region", "access", "format")
DUPLICATE_KEY_RULES = ("fail", "keep_greatest", "keep_last_file")
CHANGED_FILE_RULES = ("fail", "reload", "skip")
INVALID_KEY_RULES = ("fail", "skip")
_MANIFEST_PREFIX = re.compile(r"[A-Za-z0-9!_.*()=/-]*")
_PARTITION_VALUE = re.compile(r"[\w\-.:+/@ ]{1,256}")


@dataclass(frozen=True)
class FileInfo:
    """An object to load: key, size and ETag (without quotes)."""

    key: str
    size: int
    etag: str | None


@dataclass(frozen=True)
class LoadRequest:
    """The operator's arguments after every check that needs no network."""

    bucket: str
    prefix: str | None
    keys: tuple[str, ...] | None
    key_pattern: str | None
    target: TableName
    columns: tuple[str, ...] | None
    iam_role: str | None
    data_format: CopyFormat
    extra_options: tuple[str, ...]
    mode: str
    upsert_keys: tuple[str, ...] | None
    upsert_strategy: str
    partition_column: str | None
    partition_value: str | None
    skip_loaded: bool
    ledger: TableName | None
    manifest_bucket: str
    manifest_prefix: str
    checks: frozenset[str]
    region_policy: str
    warnings: tuple[str, ...] = ()
    ledger_follows_target: bool = False
    allow_empty_replace: bool = False
    on_duplicate_keys: str = "fail"
    duplicate_order_column: str | None = None
    on_changed_file: str = "fail"
    on_invalid_key: str = "fail"
    keep_manifests: bool = False
    ledger_history_days: int | None = ledger_sql.DEFAULT_HISTORY_DAYS

    @property
    def replaces(self) -> bool:
        """Return whether the mode deletes rows before loading (``replace``, ``replace_partition``)."""
        return self.mode in ("replace", "replace_partition")

    @property
    def open_prefix(self) -> bool:
        """Return whether the prefix may match neighbouring folders.

        It may when it does not end with '/' and no ``key_pattern`` pins what follows it: a pattern
        starting with a literal character (``/*``, ``-part*.csv``) does; one starting with a wildcard
        (``*.csv``) does not, since ``*`` also matches '/'.
        """
        if not self.prefix or str(self.prefix).endswith("/"):
            return False
        return not self.key_pattern or self.key_pattern[0] in "*?["

    @property
    def source_prefix(self) -> str:
        """Return the prefix, or the longest prefix the keys share."""
        if self.prefix is not None:
            return self.prefix
        keys = list(self.keys or ())
        return os.path.commonprefix(keys)  # noqa: RUF071 (a string prefix is wanted, not a path)


def check_bucket(value: object, what: str = "bucket") -> str:
    """Return a bucket name, or raise for anything else (an s3:// URL, a path, upper case)."""
    from airflow_redshift_s3.checks.prefix import check_bucket_name
    from airflow_redshift_s3.checks.result import raise_for_failures

    if isinstance(value, str):
        raise_for_failures([check_bucket_name(value)])
    if not isinstance(value, str) or not BUCKET_RE.fullmatch(value):
        raise SqlInputError(
            f"{what} is {value!r}: expected an S3 bucket name (3-63 lower-case letters, digits, '.' and "
            "'-'). "
            "Fix: pass the bucket name alone."
        )
    return value


def check_key(key: object, what: str = "key") -> str:
    """Return an S3 key, or raise for an empty key, a URL, a leading '/' or a control character."""
    if not isinstance(key, str) or not key:
        raise SqlInputError(
            f"The {what} is {key!r}: expected a non-empty S3 key. Fix: pass the object's key."
        )
    if not key.isprintable() or len(key.encode("utf-8")) > 1024:
        raise SqlInputError(
            f"The {what} {key[:80]!r} contains a control character or is longer than 1024 bytes: expected an "
            "S3 key. Fix: correct the key."
        )
    if key.lower().startswith(("s3://", "s3a://")) or key.startswith("/"):
        raise SqlInputError(
            f"The {what} {key!r} is a URL or starts with '/': expected the key inside the bucket. Fix: pass "
            "the key without s3://bucket/ and without a leading '/'."
        )
    return key


def check_prefix_value(prefix: object, bucket: str) -> tuple[str, list[str]]:
    """Return the prefix and the warnings about it, or raise for a prefix COPY would misread."""
    from airflow_redshift_s3.checks.prefix import check_prefix
    from airflow_redshift_s3.checks.result import failures, raise_for_failures, warnings

    if not isinstance(prefix, str) or not prefix.isprintable() or len(prefix.encode("utf-8")) > 1024:
        raise SqlInputError(
            f"prefix is {str(prefix)[:80]!r}: expected a key prefix of printable characters, at most 1024 "
            "bytes. Fix: correct the prefix."
        )
    results = check_prefix(prefix, bucket)
    if failures(results):
        raise_for_failures(results)
    # The boundary is checked against the listing, where the keys it over-matches can be named
    # (S3ToRedshiftCopyOperator._check_boundary).
    return prefix, [r.text() for r in warnings(results) if r.name != "prefix.boundary" or not prefix]


def check_partition_value(value: object) -> str:
    """Return the text of a partition value, or raise for a value that is not a plain scalar.

    Strings are limited to letters, digits, space and ``- _ . : + / @`` (dates, timestamps, codes). The
    value is bound as a parameter anyway; anything else coming from a trigger form is refused before any SQL.
    """
    if isinstance(value, bool) or value is None:
        raise SqlInputError(
            f"partition_value is {value!r}: expected a date, number or short text such as '2026-11-27'. "
            "Fix: pass the value of the partition to replace, e.g. '{{ ds }}'."
        )
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        # bit_length first: Python refuses to print an int of more than 4300 digits
        if not isinstance(value, int) or value.bit_length() <= 900:
            text = repr(value)
            if len(text) <= 256:
                return text
        raise SqlInputError(
            "partition_value is a number of more than 256 characters: expected a date, number or short text "
            "such as '2026-11-27'. Fix: pass the partition's value, e.g. '{{ ds }}'."
        )
    if isinstance(value, str) and _PARTITION_VALUE.fullmatch(value) and value.strip() == value:
        return value
    raise SqlInputError(
        f"partition_value is {str(value)[:80]!r}: expected at most 256 letters, digits, spaces or '-_.:+/@' "
        "(a date, a number, a code), without leading or trailing blanks. Fix: pass the partition's value, "
        "e.g. '{{ ds }}'."
    )


def _names(values: object, what: str, strict: bool) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise ConfigCheckError(
            f"{what} is {values!r}: expected a non-empty list of column names. Fix: pass e.g. ['id', 'name']."
        )
    names = tuple(check_identifier(v, f"column of {what}", strict=strict) for v in values)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigCheckError(f"{what} names {duplicates[0]} twice. Fix: list each column once.")
    return names


def _choice(value: object, what: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ConfigCheckError(f"{what} is {value!r}: expected one of {', '.join(choices)}. Fix: pass one.")
    return value.lower()


def _source(
    prefix: object, keys: object, bucket: str
) -> tuple[str | None, tuple[str, ...] | None, list[str]]:
    if (prefix is None) == (keys is None):
        raise ConfigCheckError(
            f"Expected exactly one of prefix and keys, found {'both' if prefix is not None else 'neither'}. "
            "Fix: pass prefix='folder/' to load a folder, or keys=[...] to load exact files."
        )
    if prefix is not None:
        checked, notes = check_prefix_value(prefix, bucket)
        return checked, None, notes
    if isinstance(keys, str) or not isinstance(keys, Sequence) or not keys:
        raise ConfigCheckError(
            f"keys is {keys!r}: expected a non-empty list of S3 keys. Fix: pass keys=['a.csv', ...]."
        )
    return None, tuple(dict.fromkeys(check_key(k) for k in keys)), []


def _partition(column: object, value: object, mode: str, strict: bool) -> tuple[str | None, str | None]:
    if mode != "replace_partition":
        if column is not None or value is not None:
            raise ConfigCheckError(
                f"partition_column/partition_value are set but mode is {mode!r}: expected them with "
                "mode='replace_partition' only. Fix: set the mode or remove them."
            )
        return None, None
    if column is None:
        raise ConfigCheckError(
            "mode 'replace_partition' needs partition_column: expected the column naming the "
            "partition, found "
            "none. Fix: pass partition_column='load_date' and partition_value='{{ ds }}'."
        )
    return check_identifier(column, "partition_column", strict=strict), check_partition_value(value)


def _ledger(
    ledger_table: object,
    use_ledger: bool,
    skip_loaded_files: bool | None,
    target: TableName,
    mode: str,
    strict: bool,
) -> tuple[TableName | None, bool]:
    skip = skip_loaded_files if skip_loaded_files is not None else mode == "append"
    if not use_ledger:
        if skip_loaded_files:
            raise ConfigCheckError("skip_loaded_files=True needs the ledger. Fix: keep use_ledger=True.")
        return None, False
    if ledger_table:
        return parse_table_name(ledger_table, strict=strict), bool(skip)
    return TableName(ledger_sql.DEFAULT_LEDGER_NAME, target.schema), bool(skip)


def _manifest_location(manifest_bucket: object, manifest_prefix: object) -> tuple[str, str]:
    bucket = check_bucket(manifest_bucket, "manifest_bucket")
    prefix = manifest_prefix or ""
    if not isinstance(prefix, str) or not _MANIFEST_PREFIX.fullmatch(prefix) or prefix.startswith("/"):
        raise SqlInputError(
            f"manifest_prefix is {prefix!r}: expected letters, digits and !_.*()=/- without a leading '/'. "
            "Fix: e.g. '_manifests/'."
        )
    return bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _checks(preflight_checks: Sequence[str] | None) -> frozenset[str]:
    checks = frozenset(preflight_checks or ())
    unknown = sorted(checks - set(PREFLIGHT_CHECKS))
    if unknown:
        raise ConfigCheckError(
            f"preflight_checks has {', '.join(unknown)}: expected some of {', '.join(PREFLIGHT_CHECKS)}. "
            "Fix: remove the unknown names (pass () to skip every check)."
        )
    return checks


def _rules(
    *,
    mode: str,
    strict: bool,
    allow_empty_replace: object,
    on_duplicate_keys: object,
    duplicate_order_column: object,
    on_changed_file: object,
    on_invalid_key: object,
    keep_manifests: object,
) -> dict[str, Any]:
    """Return the data-safety rules: empty replace, duplicate keys, changed files, invalid keys, manifests."""
    on_duplicate = _choice(on_duplicate_keys, "on_duplicate_keys", DUPLICATE_KEY_RULES)
    if on_duplicate != "fail" and mode != "upsert":
        raise ConfigCheckError(
            f"on_duplicate_keys is {on_duplicate!r} but mode is {mode!r}: expected it with mode='upsert' "
            "only (the other modes load every row). Fix: remove on_duplicate_keys or set mode='upsert'."
        )
    order = duplicate_order_column
    if (on_duplicate == "keep_greatest") != (order is not None):
        raise ConfigCheckError(
            f"on_duplicate_keys is {on_duplicate!r} and duplicate_order_column is {order!r}: expected "
            "duplicate_order_column exactly with on_duplicate_keys='keep_greatest' (the row with the "
            "greatest value of that column wins). Fix: pass both, e.g. on_duplicate_keys='keep_greatest', "
            "duplicate_order_column='updated_at', or neither."
        )
    changed = on_changed_file
    if changed is None:
        changed = "reload" if mode == "upsert" else "fail"
    elif mode not in ("append", "upsert"):
        raise ConfigCheckError(
            f"on_changed_file is {changed!r} but mode is {mode!r}: expected it with mode='append' or "
            "'upsert' (the replace modes reload every file anyway). Fix: remove on_changed_file."
        )
    if not isinstance(allow_empty_replace, bool):
        raise ConfigCheckError(
            f"allow_empty_replace is {allow_empty_replace!r}: expected True or False. Fix: pass a boolean."
        )
    return {
        "allow_empty_replace": allow_empty_replace,
        "on_duplicate_keys": on_duplicate,
        "duplicate_order_column": None
        if order is None
        else check_identifier(order, "duplicate_order_column", strict=strict),
        "on_changed_file": _choice(changed, "on_changed_file", CHANGED_FILE_RULES),
        "on_invalid_key": _choice(on_invalid_key, "on_invalid_key", INVALID_KEY_RULES),
        "keep_manifests": bool(keep_manifests),
    }


def _history_days(days: object) -> int | None:
    if days is None or (isinstance(days, int) and not isinstance(days, bool) and days >= 0):
        return days
    raise ConfigCheckError(
        f"ledger_history_days is {days!r}: expected a number of days >= 0 (how long superseded ledger rows "
        "stay in the history), or None to keep them all. Fix: pass e.g. ledger_history_days=90."
    )


def _authorization(iam_role_arn: object, allow_key_based_credentials: bool) -> str | None:
    if iam_role_arn is not None:
        return copy_sql.check_role(iam_role_arn)
    if not allow_key_based_credentials:
        raise ConfigCheckError(
            "iam_role_arn is not set: expected the ARN of an IAM role attached to the cluster (or "
            "'default'), "
            "because COPY authorizes with IAM_ROLE only. Fix: pass iam_role_arn (key-based credentials need "
            "allow_key_based_credentials=True and are discouraged)."
        )
    return None


def build_request(
    *,
    bucket: object,
    table: object,
    prefix: object = None,
    keys: object = None,
    key_pattern: object = None,
    schema: object = None,
    column_list: object = None,
    iam_role_arn: object = None,
    input_format: Any = "csv",
    copy_options: Any = None,
    mode: object = "append",
    upsert_keys: object = None,
    upsert_strategy: object = "merge",
    partition_column: object = None,
    partition_value: object = None,
    skip_loaded_files: bool | None = None,
    ledger_table: object = None,
    use_ledger: bool = True,
    manifest_bucket: object = None,
    manifest_prefix: object = MANIFEST_PREFIX,
    preflight_checks: Sequence[str] | None = PREFLIGHT_CHECKS,
    on_region_mismatch: object = "set_region",
    allow_key_based_credentials: bool = False,
    strict_identifiers: bool = True,
    allow_empty_replace: object = False,
    on_duplicate_keys: object = "fail",
    duplicate_order_column: object = None,
    on_changed_file: object = None,
    on_invalid_key: object = "fail",
    keep_manifests: object = False,
    ledger_history_days: object = ledger_sql.DEFAULT_HISTORY_DAYS,
) -> LoadRequest:
    """Return the checked request of a load from ``S3ToRedshiftCopyOperator``'s (rendered) arguments.

    The arguments are the operator's, with the same names and defaults; see its docstring.
    """
    strict = bool(strict_identifiers)
    checked_bucket = check_bucket(bucket)
    checked_prefix, checked_keys, notes = _source(prefix, keys, checked_bucket)
    if key_pattern is not None and (not isinstance(key_pattern, str) or not key_pattern.isprintable()):
        raise SqlInputError(
            f"key_pattern is {key_pattern!r}: expected a glob such as '*.csv'. Fix: pass one."
        )
    target = parse_table_name(table, schema, strict=strict)
    checked_mode = _choice(mode, "mode", copy_sql.MODES)
    column, value = _partition(partition_column, partition_value, checked_mode, strict)
    data_format = parse_format(input_format)
    ledger, skip = _ledger(ledger_table, use_ledger, skip_loaded_files, target, checked_mode, strict)
    manifests = _manifest_location(manifest_bucket or checked_bucket, manifest_prefix)
    return LoadRequest(
        bucket=checked_bucket,
        prefix=checked_prefix,
        keys=checked_keys,
        key_pattern=key_pattern,
        target=target,
        columns=_names(column_list, "column_list", strict),
        iam_role=_authorization(iam_role_arn, allow_key_based_credentials),
        data_format=data_format,
        extra_options=tuple(parse_copy_options(copy_options, data_format)),
        mode=checked_mode,
        upsert_keys=_names(upsert_keys, "upsert_keys", strict),
        upsert_strategy=_choice(upsert_strategy, "upsert_strategy", copy_sql.UPSERT_STRATEGIES),
        partition_column=column,
        partition_value=value,
        skip_loaded=skip,
        ledger=ledger,
        ledger_follows_target=ledger is not None and not ledger_table,
        manifest_bucket=manifests[0],
        manifest_prefix=manifests[1],
        checks=_checks(preflight_checks),
        region_policy=_choice(on_region_mismatch, "on_region_mismatch", REGION_POLICIES),
        warnings=tuple(notes),
        ledger_history_days=_history_days(ledger_history_days),
        **_rules(
            mode=checked_mode,
            strict=strict,
            allow_empty_replace=allow_empty_replace,
            on_duplicate_keys=on_duplicate_keys,
            duplicate_order_column=duplicate_order_column,
            on_changed_file=on_changed_file,
            on_invalid_key=on_invalid_key,
            keep_manifests=keep_manifests,
        ),
    )
