"""The data-safety rules of the COPY operator, on their own (the reliability suite runs them for real)."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.exceptions import ConfigCheckError, PrefixBoundaryError
from airflow_redshift_s3.transfers.copy import guards
from airflow_redshift_s3.transfers.copy.request import FileInfo
from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

ROLE = "arn:aws:iam::123456789012:role/copy"


def request(**kwargs):
    args = {
        "task_id": "t",
        "bucket": "data",
        "table": "s.t",
        "iam_role_arn": ROLE,
        "prefix": "sales/2026-11-2",
    }
    return S3ToRedshiftCopyOperator(**{**args, **kwargs}).validate()


def files(*keys: str) -> list[FileInfo]:
    return [FileInfo(k, 1, "e") for k in keys]


@pytest.mark.parametrize(
    ("kwargs", "open_prefix"),
    [
        ({}, True),
        ({"prefix": "sales/2026-11-2/"}, False),
        ({"prefix": ""}, False),  # the whole bucket: the empty-prefix warning covers it
        ({"key_pattern": "/*.csv"}, False),  # narrowed by the pattern
        ({"key_pattern": "-part*.csv"}, False),  # a file-name prefix, pinned by a literal
        ({"key_pattern": "*.csv"}, True),  # '*' also matches '/': sales/2026-11-20/a.csv matches
        ({"prefix": None, "keys": ["sales/2026-11-2"]}, False),
    ],
)
def test_which_prefixes_are_open(kwargs, open_prefix):
    assert request(**kwargs).open_prefix is open_prefix


def test_an_open_prefix_names_the_keys_beyond_its_folder():
    listed = files("sales/2026-11-2/a.csv", "sales/2026-11-20/a.csv", "sales/2026-11-2.csv")
    warning = guards.check_boundary(request(), listed).text()
    assert "2 key(s) outside 'sales/2026-11-2/': sales/2026-11-20/a.csv, sales/2026-11-2.csv" in warning
    with pytest.raises(PrefixBoundaryError, match="Nothing was deleted or loaded") as caught:
        guards.check_boundary(request(mode="replace", key_pattern="*.csv"), listed)
    with pytest.raises(PrefixBoundaryError, match="Nothing was deleted or loaded") as caught:
        guards.check_boundary(request(mode="replace"), listed)
    assert "sales/2026-11-20/a.csv" in str(caught.value)
    # even when today's keys are all inside the folder, a replace refuses: tomorrow's may not be
    with pytest.raises(PrefixBoundaryError, match=r"a later key such as 'sales/2026-11-20/\.\.\.'"):
        guards.check_boundary(request(mode="replace"), files("sales/2026-11-2/a.csv"))


def test_keys_a_varchar_cannot_hold():
    assert guards.unrecordable("in/a\x00b.csv") == "it contains a NUL byte"
    assert guards.unrecordable("in/\udcff.csv") == "it is not valid UTF-8"
    assert guards.unrecordable("in/été\ufffd\t.csv") is None  # unusual, but valid UTF-8 S3 keys


@pytest.mark.parametrize(
    ("kwargs", "safe"),
    [
        ({}, True),  # append with the ledger: a retry skips what committed
        ({"use_ledger": False}, False),
        ({"skip_loaded_files": False}, False),
        ({"mode": "replace"}, True),
        ({"mode": "upsert", "upsert_keys": ["id"], "use_ledger": False}, True),
    ],
)
def test_a_retry_after_an_unknown_commit_is_safe_only_when_nothing_can_load_twice(kwargs, safe):
    assert guards.retry_is_safe(request(prefix="in/", **kwargs)) is safe


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"on_duplicate_keys": "keep_first"}, "on_duplicate_keys is 'keep_first'"),
        ({"on_duplicate_keys": "keep_greatest", "mode": "upsert"}, "duplicate_order_column exactly"),
        ({"duplicate_order_column": "v", "mode": "upsert"}, "duplicate_order_column exactly"),
        ({"on_duplicate_keys": "keep_last_file"}, "with mode='upsert' only"),
        ({"on_changed_file": "reload", "mode": "replace"}, "on_changed_file is 'reload' but mode is"),
        ({"on_changed_file": "ignore"}, "on_changed_file is 'ignore'"),
        ({"on_invalid_key": "drop"}, "on_invalid_key is 'drop'"),
        ({"allow_empty_replace": "yes"}, "allow_empty_replace is 'yes'"),
        ({"on_duplicate_keys": "keep_greatest", "duplicate_order_column": "v;drop", "mode": "upsert"},
         "duplicate_order_column"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_before_any_network(kwargs, match):
    with pytest.raises(ConfigCheckError, match=match):
        request(prefix="in/", **kwargs)


def test_rule_defaults_follow_the_mode():
    assert request(prefix="in/").on_changed_file == "fail"
    assert request(prefix="in/", mode="upsert").on_changed_file == "reload"
    assert (request(prefix="in/").on_duplicate_keys, request(prefix="in/").keep_manifests) == ("fail", False)
