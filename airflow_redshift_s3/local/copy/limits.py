"""Size limits of the local COPY (chunk sizes, Redshift's row and file limits).

Read as ``limits.MAX_LINE`` where a test lowers it, so that one patch reaches every reader.
"""

from __future__ import annotations

MIN_CHUNK = 64 * 1024
MAX_CHUNK = 1024 * 1024
READ_SIZE = 1024 * 1024
MAX_ERROR_RECORDS = 100
MAX_RAW_LINE = 1024
MAX_REASON = 100
MAX_JSON_OBJECT = 4 * 1024 * 1024
MAX_LINE = 4 * 1024 * 1024  # Redshift's maximum row size
MAX_SMALL_FILE = 16 * 1024 * 1024
ARROW_BATCH_ROWS = 8192
