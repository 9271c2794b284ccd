"""The file-layout advice: files against slices, and sizes against AWS's 1 MB-1 GB per compressed file."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.transfers.copy.layout import layout_results
from airflow_redshift_s3.transfers.copy.request import FileInfo

MB = 1 << 20


def files(*sizes: int) -> list[FileInfo]:
    return [FileInfo(f"day/part-{n}.csv.gz", size, f"e{n}") for n, size in enumerate(sizes)]


def names(results) -> list[str]:
    return [r.name for r in results]


def test_one_big_file_on_sixteen_slices_warns_with_the_figures():
    (count, large) = layout_results(files(5 << 30), 16, compressed=True, bucket="b")
    assert count.name == "layout.file_count"
    assert "1 compressed file(s) for 16 slices" in count.message
    assert "1 round(s) and keeps 6% of the slices busy" in count.message
    assert "a multiple of 16 files (e.g. 16)" in count.fix
    assert large.name == "layout.large_file"
    assert "s3://b/day/part-0.csv.gz is 5.0 GB compressed" in large.message


@pytest.mark.parametrize(
    ("count", "slices", "warned"),
    [
        (16, 16, False),  # a multiple
        (32, 16, False),
        (17, 16, True),  # 2 rounds, the second with one file: 53% busy
        (3, 2, True),
        (65, 16, False),  # 5 rounds: the uneven last one matters little
        (1, 1, False),
    ],
)
def test_the_count_is_checked_against_the_slices(count, slices, warned):
    results = layout_results(files(*[50 * MB] * count), slices, compressed=True, bucket="b")
    assert ("layout.file_count" in names(results)) is warned


def test_a_small_daily_file_is_not_told_to_split():
    """Under slices x 1 MB in all, splitting would make files below the 1 MB AWS advises: no advice."""
    assert layout_results(files(300_000), 16, compressed=True, bucket="b") == []
    assert layout_results(files(15 * MB), 16, compressed=True, bucket="b") == []
    assert names(layout_results(files(16 * MB), 16, compressed=True, bucket="b")) == ["layout.file_count"]


def test_many_small_files_warn_but_a_few_small_files_do_not():
    assert names(layout_results(files(*[10_000] * 64), 16, True, "b")) == ["layout.small_files"]
    assert layout_results(files(10_000, 10_000), 2, True, "b") == []  # as many as slices: nothing to gain


def test_uncompressed_files_are_split_by_copy_itself_and_not_checked():
    assert layout_results(files(5 << 30), 16, compressed=False, bucket="b") == []


def test_unknown_slices_still_check_sizes():
    assert names(layout_results(files(2 << 30, 50 * MB), None, True, "b")) == ["layout.large_file"]


def test_a_nonsense_slice_count_counts_as_unknown():
    assert names(layout_results(files(2 << 30), -3, True, "b")) == ["layout.large_file"]
