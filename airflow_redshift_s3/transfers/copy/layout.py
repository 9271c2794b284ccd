"""The files of a load against the cluster's slices: Redshift loads files in parallel, one per slice.

AWS's advice for COPY (the guide's best practices, and "Loading data files" in the Redshift developer
guide): split the input into a number of files that is a multiple of the number of slices
(``SELECT COUNT(*) FROM stv_slices``), each about 1 MB to 1 GB after compression. A compressed file is read
by one slice from start to end, so 1 file of 5 GB on a 16-slice cluster loads on one slice while 15 wait.
Uncompressed delimited files are split by COPY itself and are left out of these rules.

These are warnings with the figures, never failures: the load is right either way, only slower.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_redshift_s3.checks.result import CheckResult
    from airflow_redshift_s3.transfers.copy.request import FileInfo, LoadRequest

MIN_BYTES = 1 << 20  # 1 MiB
MAX_BYTES = 1 << 30  # 1 GiB
BUSY_WAVES = 4
"""From this many files per slice on, the last, uneven round of files matters little: no warning."""


def slice_count(conn: Any, log: Any) -> int | None:
    """Return the number of slices (``stv_slices``), or None where the view is not readable (Serverless)."""
    cursor = conn.cursor()
    try:
        cursor.execute("SELECT COUNT(*) FROM stv_slices")
        row = cursor.fetchone()
    except Exception as error:
        log.info("Slice count unknown (stv_slices: %s); the file layout is not checked.", str(error)[:200])
        return None
    finally:
        cursor.close()
    return int(row[0]) if row and row[0] else None


def _size(n_bytes: float) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} bytes"


def check_layout(request: LoadRequest, files: Sequence[FileInfo], slices: int | None) -> list[CheckResult]:
    """Return ``layout_results`` for the files of ``request`` (compressed when its format says so)."""
    compressed = request.data_format.compression_name is not None
    return layout_results(files, slices, compressed, request.bucket)


def layout_results(
    files: Sequence[FileInfo], slices: int | None, compressed: bool, bucket: str
) -> list[CheckResult]:
    """Return warnings about the number and sizes of ``files`` for ``slices`` slices (none when fine)."""
    from airflow_redshift_s3.checks.result import CheckResult

    if not compressed or not files:
        return []
    slices = slices if slices and slices > 0 else None  # unknown rather than nonsense
    results = []
    count = len(files)
    total = sum(f.size for f in files)
    # Below one slice-full of 1 MB files, splitting would only make files smaller than AWS advises: a small
    # daily file loads in one round anyway.
    if slices and count % slices and count < BUSY_WAVES * slices and total >= slices * MIN_BYTES:
        waves = math.ceil(count / slices)
        busy = count / (waves * slices)
        target = max(slices, round(count / slices) * slices)
        results.append(
            CheckResult.warning(
                "layout.file_count",
                "config",
                f"{count} compressed file(s) for {slices} slices: Redshift loads one file per "
                "slice at a time, "
                f"so this load runs in {waves} round(s) and keeps {busy:.0%} of the slices busy.",
                f"split the data into a multiple of {slices} files (e.g. {target}), each 1 MB-1 GB "
                "compressed",
                files=count,
                slices=slices,
            )
        )
    largest = max(files, key=lambda f: f.size)
    if largest.size > MAX_BYTES:
        results.append(
            CheckResult.warning(
                "layout.large_file",
                "config",
                f"s3://{bucket}/{largest.key} is {_size(largest.size)} compressed: one slice reads it alone "
                "from start to end, above the 1 GB AWS advises per file.",
                f"split it into files of 1 MB-1 GB, a multiple of {slices or 'the slice count'} in number",
                size_bytes=largest.size,
            )
        )
    sizes = sorted(f.size for f in files)
    median = sizes[len(sizes) // 2]
    if slices and count > slices and median < MIN_BYTES:
        results.append(
            CheckResult.warning(
                "layout.small_files",
                "config",
                f"{count} compressed files with a median size of {_size(median)}: each file costs a request "
                "and a round of work per slice, below the 1 MB AWS advises per file.",
                f"combine them into fewer files of 1 MB-1 GB, a multiple of {slices} in number",
                files=count,
                median_bytes=median,
            )
        )
    return results
