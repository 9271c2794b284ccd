from __future__ import annotations

import bz2
import gzip
import io
import json
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from airflow_redshift_s3.local.copy.limits import MAX_CHUNK, MIN_CHUNK
from airflow_redshift_s3.local.copy.model import (
    EMPTY_PREFIX_MESSAGE,
    LOAD_FAILED_MESSAGE,
    MANIFEST_ERROR_PREFIX,
    LoadError,
    LoadFailed,
    RowLocation,
    S3ObjectRef,
    TableColumn,
)
from airflow_redshift_s3.local.copy.objects import resolve_objects, s3_error_message
from airflow_redshift_s3.local.copy.stream import (
    CopyStream,
    build_copy_stream,
    map_postgres_error,
    record_from_postgres_error,
)
from airflow_redshift_s3.local.sql.copy_command import CopyCommand
from airflow_redshift_s3.local.sql.copy_parser import parse_copy

BUCKET = "copy-bucket"
INT = TableColumn("id", "integer")
NAME = TableColumn("name", "character varying(5)", 5)
NOTE = TableColumn("note", "text")
DAY = TableColumn("day", "date")
AT = TableColumn("at", "timestamp without time zone")
ATZ = TableColumn("atz", "timestamp with time zone")


# -- fakes and helpers -----------------------------------------------------------------------------


class FakeBody:
    """A streaming body that refuses unbounded reads, like the rule for boto3's StreamingBody."""

    def __init__(self, data: bytes, max_read: int | None = None):
        self._data = io.BytesIO(data)
        self.max_read = max_read
        self.sizes: list[int] = []
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        assert size is not None, "unbounded read()"
        assert 0 < size <= MAX_CHUNK, f"unbounded or oversized read({size})"
        self.sizes.append(size)
        return self._data.read(min(size, self.max_read) if self.max_read else size)

    def close(self) -> None:
        self.closed = True


class Opener:
    def __init__(self, files: dict[str, bytes], max_read: int | None = None):
        self.files = files
        self.max_read = max_read
        self.opened: list[str] = []
        self.bodies: list[FakeBody] = []

    def __call__(self, ref: S3ObjectRef) -> FakeBody:
        assert ref.bucket == BUCKET
        self.opened.append(ref.key)
        body = FakeBody(self.files[ref.key], self.max_read)
        self.bodies.append(body)
        return body


def command(opts: str = "", source: str = "p") -> CopyCommand:
    cmd = parse_copy(f"COPY t FROM 's3://{BUCKET}/{source}' IAM_ROLE default {opts}")
    assert cmd is not None
    return cmd


def make_stream(
    opts: str, columns: list[TableColumn], files: dict[str, bytes], max_read: int | None = None
) -> tuple[CopyStream, Opener]:
    """Stream ``files`` (every key but ``paths.json``, a JSONPaths file only opened on demand)."""
    opener = Opener(files, max_read)
    refs = [S3ObjectRef(BUCKET, key, len(data)) for key, data in files.items() if key != "paths.json"]
    return build_copy_stream(command(opts), columns, refs, opener), opener


def data_of(stream: CopyStream) -> bytes:
    return b"".join(stream.chunks())


def pg_text_rows(data: bytes) -> list[tuple[str | None, ...]]:
    """Decode PostgreSQL TEXT COPY input (tab, \\N, backslash escapes)."""
    escapes = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}
    rows = []
    for line in data.decode("utf-8").split("\n")[:-1]:
        rows.append(
            tuple(
                None if f == "\\N" else re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), f)
                for f in line.split("\t")
            )
        )
    return rows


def rows_of(
    opts: str, columns: list[TableColumn], files: dict[str, bytes], **kw
) -> list[tuple[str | None, ...]]:
    stream, _ = make_stream(opts, columns, files, **kw)
    assert stream.pg_copy_options == "FORMAT text, DELIMITER E'\\t', NULL E'\\\\N'"
    return pg_text_rows(data_of(stream))


# -- table columns ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "base", "is_char", "short"),
    [
        ("character varying(10)", "character varying", True, "varchar"),
        ("character(3)", "character", True, "char"),
        ("text", "text", True, "text"),
        ("integer", "integer", False, "int4"),
        ("bigint", "bigint", False, "int8"),
        ("numeric(12,2)", "numeric", False, "numeric"),
        ("timestamp(3) without time zone", "timestamp without time zone", False, "timestamp"),
        ("timestamp with time zone", "timestamp with time zone", False, "timestamptz"),
        ("boolean", "boolean", False, "bool"),
        ("double precision", "double precision", False, "float8"),
    ],
)
def test_table_column_types(type_name, base, is_char, short):
    column = TableColumn("c", type_name)
    assert column.base_type == base
    assert column.is_char is is_char
    assert column.short_type == short


# -- TEXT pass-through -----------------------------------------------------------------------------


def test_text_pass_through_escapes_backslashes_and_carriage_returns():
    stream, _ = make_stream("", [NAME, NOTE], {"a": b"x\\y|\\N\nc\r|d\n", "b": b"e|f"})
    assert stream.mode == "pass-through"
    assert stream.pg_copy_options == "FORMAT text, DELIMITER E'|', NULL E'\\\\\\\\N'"
    assert data_of(stream) == b"x\\\\y|\\\\N\nc\\r|d\ne|f\n"


def test_text_with_non_char_columns_goes_row_by_row_for_empty_fields():
    stream, _ = make_stream("", [INT, NOTE], {"a": b"|x\n7|\n8|\\N\n"})
    assert stream.mode == "row-by-row"
    assert pg_text_rows(data_of(stream)) == [(None, "x"), ("7", ""), ("8", None)]


def test_text_null_as_empty_passes_through():
    stream, _ = make_stream("NULL AS ''", [INT, NOTE], {"a": b"1|\n|x\n"})
    assert stream.mode == "pass-through"
    assert stream.pg_copy_options == "FORMAT text, DELIMITER E'|', NULL E''"
    assert data_of(stream) == b"1|\n|x\n"


def test_text_header_is_skipped_in_every_file():
    files = {"a": b"h1|h2\nx|1\n", "b": b"h1|h2\ny|2\nz|3", "c": b"only|header\n"}
    stream, _ = make_stream("IGNOREHEADER 1", [NAME, NOTE], files)
    assert data_of(stream) == b"x|1\ny|2\nz|3\n"


def test_text_escape_keeps_the_next_character_literal():
    data = b"a\\|b|c\\\nd\n\\t\\N|\\\\\n\\N|x\\012\n"
    stream, _ = make_stream("ESCAPE", [NAME, NOTE], {"a": data})
    assert stream.pg_copy_options == "FORMAT text, DELIMITER E'|', NULL E'\\\\N'"
    # PostgreSQL decodes "\\|", "\\<LF>" and "\\N" inside a field to the character itself
    assert data_of(stream) == b"a\\|b|c\\\nd\nt\\N|\\\\\n\\N|x012\n"


def test_text_escape_survives_chunk_boundaries(monkeypatch):
    data = b"a\\tb|c\\\\d\n" * 50
    stream, _ = make_stream("ESCAPE", [NAME, NOTE], {"a": data}, max_read=7)
    assert data_of(stream) == b"atb|c\\\\d\n" * 50


def test_text_escape_counts_escaped_newlines_as_one_line():
    files = {"a": b"1\\\n2|x\n3|y\n", "b": b"4|z\n"}
    stream, _ = make_stream("ESCAPE", [NAME, NOTE], files)
    data_of(stream)
    assert stream.locate(2) == RowLocation(f"s3://{BUCKET}/a", 3, "3|y")
    assert stream.locate(3) == RowLocation(f"s3://{BUCKET}/b", 1, "4|z")
    assert stream.locate(1) == RowLocation(f"s3://{BUCKET}/a", 1, "1\\\n2|x")


def test_text_delimiter_postgres_cannot_use_goes_row_by_row():
    stream, _ = make_stream("DELIMITER 'x'", [NAME, NOTE], {"a": b"1x2\n"})
    assert stream.mode == "row-by-row"
    assert pg_text_rows(data_of(stream)) == [("1", "2")]


# -- CSV pass-through ------------------------------------------------------------------------------


def test_csv_pass_through_options_and_dummy_header():
    stream, _ = make_stream("CSV", [INT, NAME, DAY], {"a": b'1,x,2024-01-01\n2,"",\n'})
    assert stream.mode == "pass-through"
    assert stream.pg_copy_options == (
        "FORMAT csv, HEADER true, DELIMITER E',', QUOTE E'\"', NULL E'', "
        'FORCE_NOT_NULL ("name"), FORCE_NULL ("id", "day")'
    )
    assert data_of(stream) == b'\n1,x,2024-01-01\n2,"",\n'


def test_csv_emptyasnull_forces_null_on_char_columns():
    stream, _ = make_stream("CSV EMPTYASNULL QUOTE AS '%' DELIMITER ';'", [INT, NAME], {"a": b"1;%%\n"})
    assert stream.pg_copy_options == (
        "FORMAT csv, HEADER true, DELIMITER E';', QUOTE E'%', NULL E'', FORCE_NULL (\"id\", \"name\")"
    )
    explicit_empty, _ = make_stream("CSV NULL AS ''", [NAME], {"a": b"x\n"})
    assert 'FORCE_NULL ("name")' in explicit_empty.pg_copy_options


def test_csv_header_skipping_and_missing_newlines_across_files():
    files = {
        "a": b"id,name\n1,a\n2,b",  # no trailing newline
        "b": b"id,name\n",  # header only
        "c": b"",  # empty
        "d": b'id,name\n3,"multi\nline"\n4,d\n',
    }
    stream, _ = make_stream("CSV IGNOREHEADER 1", [INT, NAME], files)
    assert data_of(stream) == b'\n1,a\n2,b\n3,"multi\nline"\n4,d\n'


def test_csv_crlf_files_keep_their_line_ending():
    stream, _ = make_stream("CSV", [INT, NAME], {"a": b"1,a\r\n2,b"})
    assert data_of(stream) == b"\r\n1,a\r\n2,b\r\n"


def test_csv_locate_accounts_for_header_and_quoted_newlines():
    files = {"a": b'h\n1,a\n2,"x\ny"\n', "b": b"h\n3,c\nbad,d\n"}
    stream, _ = make_stream("CSV IGNOREHEADER 1", [INT, NAME], files)
    data_of(stream)
    # PostgreSQL counts the dummy header as line 1 and every physical line after it
    assert stream.locate(1) is None
    assert stream.locate(2) == RowLocation(f"s3://{BUCKET}/a", 2, "1,a")
    assert stream.locate(4) == RowLocation(f"s3://{BUCKET}/a", 3, '2,"x\ny"')
    assert stream.locate(6) == RowLocation(f"s3://{BUCKET}/b", 3, "bad,d")
    assert stream.locate(7) is None


# -- decompression and chunking --------------------------------------------------------------------


def test_gzip_multi_member_bzip2_multi_stream_and_zstd_multi_frame():
    import zstandard

    zstd = zstandard.ZstdCompressor()
    cases = {
        "GZIP": gzip.compress(b"1,a\n") + gzip.compress(b"2,b\n"),
        "BZIP2": bz2.compress(b"1,a\n") + bz2.compress(b"2,b\n"),
        "ZSTD": zstd.compress(b"1,a\n") + zstd.compress(b"2,b\n"),
    }
    for word, payload in cases.items():
        stream, opener = make_stream(f"CSV {word}", [INT, NAME], {"a.gz": payload})
        assert data_of(stream) == b"\n1,a\n2,b\n", word
        assert opener.bodies[0].closed


def test_corrupt_gzip_is_a_load_error():
    stream, _ = make_stream("CSV GZIP", [INT, NAME], {"a": b"this is not gzip data"})
    with pytest.raises(LoadError, match=r"Failed to decompress s3://copy-bucket/a as GZIP"):
        data_of(stream)


def test_truncated_gzip_is_a_load_error():
    stream, _ = make_stream("CSV GZIP", [INT, NAME], {"a": gzip.compress(b"1,a\n" * 1000)[:-20]})
    with pytest.raises(LoadError, match="as GZIP"):
        data_of(stream)


def test_lzop_and_avro_are_refused_before_reading():
    opener = Opener({})
    with pytest.raises(LoadError, match="LZOP compression is not supported"):
        build_copy_stream(command("LZOP"), [NAME], [], opener)
    with pytest.raises(LoadError, match="AVRO format is not supported"):
        build_copy_stream(command("FORMAT AS AVRO 'auto'"), [NAME], [], opener)
    assert opener.opened == []


def test_chunks_are_between_64_kib_and_1_mib_and_reads_are_bounded():
    line = b"12345,abcde\n"
    payload = line * 300_000  # about 3.4 MiB
    stream, opener = make_stream(
        "CSV GZIP", [INT, NAME], {"a": gzip.compress(payload), "b": gzip.compress(payload)}
    )
    chunks = list(stream.chunks())
    assert b"".join(chunks) == b"\n" + payload + payload
    assert all(MIN_CHUNK <= len(c) <= MAX_CHUNK for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= MAX_CHUNK
    assert all(size <= MAX_CHUNK for body in opener.bodies for size in body.sizes)


def test_chunks_can_be_consumed_once():
    stream, _ = make_stream("CSV", [INT, NAME], {"a": b"1,a\n"})
    data_of(stream)
    with pytest.raises(RuntimeError, match="only once"):
        data_of(stream)


# -- row by row: Redshift's value rules ------------------------------------------------------------


def test_empty_and_null_rules_for_text():
    data = b"|\n\\N|\\N\n  |  \n"
    assert rows_of("MAXERROR 1", [INT, NAME], {"a": data}) == [(None, ""), (None, None), (None, "  ")]
    assert rows_of("EMPTYASNULL", [INT, NAME], {"a": data}) == [(None, None), (None, None), (None, "  ")]
    assert rows_of("BLANKSASNULL", [INT, NAME], {"a": data}) == [(None, ""), (None, None), (None, None)]


def test_custom_null_string_replaces_backslash_n():
    assert rows_of("NULL AS 'nil'", [INT, NAME], {"a": b"nil|nil\n\\N|x\n"}) == [(None, None), ("\\N", "x")]


def test_csv_row_by_row_null_as_and_quotes():
    data = b'1,"a,b"\nNULL,NULL\n,""\n'
    assert rows_of("CSV NULL AS 'NULL'", [INT, NAME], {"a": data}) == [("1", "a,b"), (None, None), (None, "")]


def test_trimblanks_fillrecord_ignoreblanklines():
    data = b"1|ab   \n\n2\n"
    rows = rows_of("TRIMBLANKS FILLRECORD IGNOREBLANKLINES", [INT, NAME, NOTE], {"a": data})
    assert rows == [("1", "ab", ""), ("2", "", "")]


def test_removequotes_keeps_delimiters_inside_quotes():
    data = b'1|"a|b"\n2|\'single\'\n3|plain\n4|mid"dle\n'
    rows = rows_of("REMOVEQUOTES MAXERROR 5", [INT, NOTE], {"a": data})
    assert rows == [("1", "a|b"), ("2", "single"), ("3", "plain"), ("4", 'mid"dle')]


def test_removequotes_unterminated_quote_rejects_the_row():
    stream, _ = make_stream("REMOVEQUOTES MAXERROR 5", [INT, NOTE], {"a": b'1|"open\n2|ok\n'})
    assert pg_text_rows(data_of(stream)) == [("2", "ok")]
    assert stream.errors[0].err_code == 1216


def test_escape_row_by_row_handles_escaped_newlines_and_null():
    data = b"1|a\\|b\n2|line\\\nbreak\n3|\\\\N\n4|\\N\n"
    rows = rows_of("ESCAPE MAXERROR 1", [INT, NOTE], {"a": data})
    assert rows == [("1", "a|b"), ("2", "line\nbreak"), ("3", None), ("4", None)]


def test_truncatecolumns_and_overlong_values():
    assert rows_of("TRUNCATECOLUMNS", [NAME], {"a": b"abcdefgh\n"}) == [("abcde",)]
    stream, _ = make_stream("MAXERROR 3", [NAME], {"a": b"abcdefgh\nabcde   \nok\n"})
    assert pg_text_rows(data_of(stream)) == [("abcde   ",), ("ok",)]
    error = stream.errors[0]
    assert (error.err_code, error.err_reason, error.column_name, error.column_length) == (
        1204,
        "String length exceeds DDL length",
        "name",
        "5",
    )


@pytest.mark.parametrize(
    ("opts", "column", "text", "expected"),
    [
        ("DATEFORMAT 'MM/DD/YYYY'", DAY, "03/31/2003", "2003-03-31"),
        ("DATEFORMAT 'MON DD, YYYY'", DAY, "March 5, 2004", "2004-03-05"),
        ("DATEFORMAT 'DD.MM.YY'", DAY, "01.02.69", "2069-02-01"),
        ("DATEFORMAT 'DD.MM.YY'", DAY, "01.02.70", "1970-02-01"),
        ("DATEFORMAT 'YYYYMMDD'", DAY, "20240229 10:00", "2024-02-29"),
        ("TIMEFORMAT 'MM.DD.YYYY HH:MI:SS'", AT, "03.31.2003 18:45:05.1234", "2003-03-31 18:45:05.123400"),
        ("TIMEFORMAT 'YYYY-MM-DD HH12:MI AM'", AT, "2024-01-02 12:05 am", "2024-01-02 00:05:00"),
        ("TIMEFORMAT 'YYYY-MM-DD HH12:MI PM'", AT, "2024-01-02 01:05 PM", "2024-01-02 13:05:00"),
        ("TIMEFORMAT 'YYYY-MM-DDTHH24:MI:SS'", ATZ, "2024-01-02T03:04:05", "2024-01-02 03:04:05+00"),
        (
            "TIMEFORMAT 'YYYY-MM-DD HH24:MI:SS'",
            ATZ,
            "2024-01-02 03:04:05 +05:30",
            "2024-01-02 03:04:05+05:30",
        ),
        ("TIMEFORMAT 'epochsecs'", AT, "86400", "1970-01-02 00:00:00"),
        ("TIMEFORMAT 'epochmillisecs'", AT, "1500", "1970-01-01 00:00:01.500000"),
        ("TIMEFORMAT 'epochsecs'", ATZ, "0", "1970-01-01 00:00:00+00"),
        ("DATEFORMAT 'auto'", DAY, "Jan 2 2024", "Jan 2 2024"),
    ],
)
def test_datetime_formats(opts, column, text, expected):
    stream, _ = make_stream(f"{opts} MAXERROR 1", [column], {"a": text.encode() + b"\n"})
    assert pg_text_rows(data_of(stream)) == [(expected,)]
    assert stream.errors == []


@pytest.mark.parametrize(
    ("opts", "column", "text", "code"),
    [
        ("DATEFORMAT 'MM/DD/YYYY'", DAY, "2003-03-31", 1205),
        ("DATEFORMAT 'MM/DD/YYYY'", DAY, "02/30/2003", 1205),
        ("DATEFORMAT 'MON DD YYYY'", DAY, "Foo 01 2003", 1205),
        ("TIMEFORMAT 'YYYY-MM-DD HH12:MI AM'", AT, "2024-01-02 13:05 PM", 1206),
        ("TIMEFORMAT 'epochsecs'", AT, "soon", 1206),
    ],
)
def test_datetime_format_mismatch_is_a_row_error(opts, column, text, code):
    stream, _ = make_stream(f"{opts} MAXERROR 1", [column], {"a": text.encode() + b"\n"})
    assert data_of(stream) == b""
    assert [(e.err_code, e.raw_field_value, e.line_number) for e in stream.errors] == [(code, text, 1)]


# -- bad rows and MAXERROR -------------------------------------------------------------------------


def test_bad_rows_within_maxerror_are_recorded_and_skipped():
    files = {"a": b"h\n1|a\n2|b|extra\n3\n", "b": b"h\n4|d\n"}
    stream, _ = make_stream("IGNOREHEADER 1 MAXERROR 2", [INT, NAME], files)
    assert pg_text_rows(data_of(stream)) == [("1", "a"), ("4", "d")]
    assert stream.error_count == 2
    first, second = stream.errors
    assert (first.file_url, first.line_number, first.raw_line) == (f"s3://{BUCKET}/a", 3, "2|b|extra")
    assert (first.err_code, first.err_reason) == (1202, "Extra column(s) found")
    assert (second.line_number, second.err_code, second.err_reason, second.raw_line) == (
        4,
        1214,
        "Delimiter not found",
        "3",
    )


def test_bad_rows_beyond_maxerror_fail_the_load():
    stream, _ = make_stream("MAXERROR 1", [INT, NAME], {"a": b"1|a|x\n2|b|y\n3|c\n"})
    with pytest.raises(LoadFailed) as info:
        data_of(stream)
    assert str(info.value) == LOAD_FAILED_MESSAGE.format(table="t")
    assert "failed.  Check 'stl_load_errors'" in str(info.value)
    assert [r.line_number for r in info.value.records] == [1, 2]
    assert info.value.error_count == 2


def test_error_records_are_bounded():
    stream, _ = make_stream("MAXERROR 1000", [INT, NAME], {"a": b"x\n" * 250})
    data_of(stream)
    assert stream.error_count == 250
    assert len(stream.errors) == 100


def test_check_error_limit_adds_postgres_skipped_rows():
    stream, _ = make_stream("MAXERROR 3", [INT, NAME], {"a": b"1|a|x\n2|b\n"})
    data_of(stream)
    stream.check_error_limit(2)
    with pytest.raises(LoadFailed):
        stream.check_error_limit(3)


def test_csv_row_errors_and_unterminated_quote():
    data = b'1,a\n2,"b,c,d\n'
    stream, _ = make_stream("CSV MAXERROR 5", [INT, NAME], {"a": data})
    assert pg_text_rows(data_of(stream)) == [("1", "a")]
    assert [(e.line_number, e.err_code) for e in stream.errors] == [(2, 1216)]


def test_acceptinvchars_replaces_each_invalid_byte_even_across_chunks():
    data = b"1,ab\xe9c\n2,\xff\xfe\n3,caf\xc3\xa9\n"
    stream, _ = make_stream("CSV ACCEPTINVCHARS AS '^'", [INT, NOTE], {"a": data}, max_read=5)
    assert data_of(stream) == b"\n1,ab^c\n2,^^\n3,caf\xc3\xa9\n"


def test_invalid_utf8_without_acceptinvchars_is_a_row_error():
    stream, _ = make_stream("MAXERROR 1", [INT, NOTE], {"a": b"1|ab\xe9c\n2|ok\n"})
    assert pg_text_rows(data_of(stream)) == [("2", "ok")]
    error = stream.errors[0]
    assert error.err_code == 1220
    assert error.raw_line == "1|ab\ufffdc"
    rows = rows_of("MAXERROR 1 ACCEPTINVCHARS", [INT, NOTE], {"a": b"1|ab\xe9c\n"})
    assert rows == [("1", "ab?c")]


def test_locate_skips_rejected_rows_in_row_by_row_mode():
    files = {"a": b"1|a\nbad\n2|b\n", "b": b"3|c\n"}
    stream, _ = make_stream("MAXERROR 1", [INT, NAME], files)
    data_of(stream)
    assert stream.locate(2) == RowLocation(f"s3://{BUCKET}/a", 3, "2|b")
    assert stream.locate(3) == RowLocation(f"s3://{BUCKET}/b", 1, "3|c")
    assert stream.locate(4) is None


# -- JSON ------------------------------------------------------------------------------------------


JSON_COLUMNS = [INT, NAME, NOTE]


def test_json_auto_is_case_sensitive():
    data = b'{"id": 1, "Name": "a", "note": "x"}\n'
    assert rows_of("JSON 'auto'", JSON_COLUMNS, {"a": data}) == [("1", None, "x")]
    assert rows_of("JSON 'auto ignorecase'", JSON_COLUMNS, {"a": data}) == [("1", "a", "x")]


def test_json_values_nested_missing_and_several_per_line():
    data = (
        b'{"id": 1, "note": {"k": [1, 2.50, true, null, "s"]}} {"id": 2, "name": ""}\n'
        b'{\n  "id": 12345678901234567890,\n  "note": false,\n  "extra": "ignored"\n}\n'
    )
    rows = rows_of("JSON 'auto'", [TableColumn("id", "numeric"), NAME, NOTE], {"a": data})
    assert rows == [
        ("1", None, '{"k":[1,2.50,true,null,"s"]}'),
        ("2", "", None),
        ("12345678901234567890", None, "false"),
    ]


def test_json_emptyasnull_and_escapes():
    data = b'{"id": 1, "name": "", "note": "tab\\there\\nnew \\\\ \\u00e9"}\n'
    assert rows_of("JSON 'auto' EMPTYASNULL", JSON_COLUMNS, {"a": data}) == [
        ("1", None, "tab\there\nnew \\ é")
    ]


def test_json_objects_split_across_reads():
    data = b"".join(b'{"id": %d, "note": "%s"}\n' % (i, b"x" * (i % 7)) for i in range(200))
    rows = rows_of("JSON 'auto'", JSON_COLUMNS, {"a": data}, max_read=3)
    assert len(rows) == 200
    assert rows[199] == ("199", None, "x" * (199 % 7))


def test_json_header_lines_and_line_numbers():
    data = b'not json header\n{"id": 1}\n{"id":\n "x"}\n{"id": 3}\n'
    stream, _ = make_stream("JSON 'auto' IGNOREHEADER 1 MAXERROR 1", JSON_COLUMNS, {"a": data})
    assert pg_text_rows(data_of(stream)) == [("1", None, None), ("x", None, None), ("3", None, None)]
    assert stream.locate(2) == RowLocation(f"s3://{BUCKET}/a", 4, '{"id":\n "x"}')
    assert stream.locate(3).line_number == 5


def test_json_invalid_text_is_an_error_and_loading_resumes():
    data = b'{"id": 1}\nthis is not json\nneither, is this\n{"id": 2, "name": oops}\n{"id": 3}\n'
    stream, _ = make_stream("JSON 'auto' MAXERROR 3", JSON_COLUMNS, {"a": data})
    assert pg_text_rows(data_of(stream)) == [("1", None, None), ("3", None, None)]
    assert [(e.line_number, e.err_code) for e in stream.errors] == [(2, 1216), (4, 1216)]
    assert stream.errors[0].err_reason.startswith("Invalid JSON object")
    assert stream.errors[0].raw_line == "this is not json"


def test_json_top_level_array_needs_jsonpaths():
    stream, _ = make_stream("JSON 'auto' MAXERROR 1", JSON_COLUMNS, {"a": b'[{"id": 1}]\n{"id": 2}\n'})
    assert pg_text_rows(data_of(stream)) == [("2", None, None)]
    assert "found an array" in stream.errors[0].err_reason


def test_json_invalid_beyond_maxerror_fails():
    stream, _ = make_stream("JSON 'auto'", JSON_COLUMNS, {"a": b'{"id": 1}\n{oops}\n'})
    with pytest.raises(LoadFailed):
        data_of(stream)


def jsonpaths(*paths: str) -> bytes:
    return json.dumps({"jsonpaths": list(paths)}).encode()


def test_jsonpaths_bracket_dot_nested_and_arrays():
    data = (
        b'{"a": {"b": 7}, "arr": [10, 20], "Key": "v", "o": {"x": 1}}\n'
        b'{"a": {"b": 8}, "arr": [30]}\n'  # arr[1] is out of range: a row error
        b'["p", "q"]\n'  # names on an array are not found: NULLs
    )
    files = {"paths.json": jsonpaths("$.a.b", "$.arr[1]", "$.Key", "$.o"), "data": data}
    stream, opener = make_stream(
        "JSON 's3://copy-bucket/paths.json' MAXERROR 1", [INT, INT, NAME, NOTE], files
    )
    assert opener.opened == ["paths.json"]
    rows = pg_text_rows(data_of(stream))
    assert rows == [("7", "20", "v", '{"x":1}'), (None, None, None, None)]
    assert [(e.line_number, e.err_code) for e in stream.errors] == [(2, 1216)]
    assert "Not an array or index out of range" in stream.errors[0].err_reason


def test_jsonpaths_bracket_notation_on_arrays():
    files = {"paths.json": jsonpaths("$[0]", "$['k']"), "data": b'{"k": "ignored"}\n'}
    files_array = {"paths.json": jsonpaths("$['a'][1]", "$['b']"), "data": b'{"a": [1, 2], "b": "x"}\n'}
    assert rows_of("JSON 's3://copy-bucket/paths.json'", [INT, NAME], files_array) == [("2", "x")]
    stream, _ = make_stream("JSON 's3://copy-bucket/paths.json' MAXERROR 1", [INT, NAME], files)
    data_of(stream)
    assert stream.error_count == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (jsonpaths("$.a"), "Number of jsonpaths and the number of columns should match. JSONPath size: 1"),
        (jsonpaths("$.a", "$['b']"), "cannot be mixed"),
        (jsonpaths("$.a", "$.b[*]"), "only names and array indexes"),
        (jsonpaths("$.a", "$..b"), "Invalid JSONPath format"),
        (jsonpaths("$.a", "b"), "must start with $"),
        (b'{"jsonpaths": "nope"}', "array of non-empty strings"),
        (b'{"jsonpaths": ["$.a"]} {"x": 1}', "is not a single JSON object"),
        (b"[1, 2]", "must hold one JSON object"),
    ],
)
def test_jsonpaths_file_errors(document, message):
    with pytest.raises(LoadError, match=re.escape(message)):
        make_stream("JSON 's3://copy-bucket/paths.json'", [INT, NAME], {"paths.json": document, "d": b""})


def test_jsonpaths_file_with_another_key_falls_back_to_auto():
    files = {"paths.json": b'{"paths": ["$.x", "$.y"]}', "d": b'{"id": 5, "name": "n"}\n'}
    assert rows_of("JSON 's3://copy-bucket/paths.json'", [INT, NAME], files) == [("5", "n")]


# -- columnar --------------------------------------------------------------------------------------


def parquet_bytes(table) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def sample_table():
    import datetime
    import decimal

    import pyarrow as pa

    return pa.table(
        {
            "first": [1, None, 3],
            "second": ["a\tb\\c", None, "line\nbreak"],
            "third": [datetime.datetime(2024, 1, 2, 3, 4, 5, 123456), None, datetime.datetime(2024, 1, 1)],
            "fourth": [decimal.Decimal("1.50"), None, decimal.Decimal("-2.25")],
            "fifth": [[1, 2], None, []],
        }
    )


PARQUET_COLUMNS = [
    TableColumn("id", "integer"),
    TableColumn("txt", "text"),
    TableColumn("ts", "timestamp without time zone"),
    TableColumn("amount", "numeric(10,2)"),
    TableColumn("tags", "text"),
]


def test_parquet_columns_are_matched_by_position(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stream, opener = make_stream(
        "FORMAT AS PARQUET", PARQUET_COLUMNS, {"a.parquet": parquet_bytes(sample_table())}
    )
    assert stream.mode == "columnar"
    assert stream.pg_copy_options == "FORMAT text, DELIMITER E'\\t', NULL E'\\\\N'"
    assert pg_text_rows(data_of(stream)) == [
        ("1", "a\tb\\c", "2024-01-02 03:04:05.123456", "1.50", "[1,2]"),
        (None, None, None, None, None),
        ("3", "line\nbreak", "2024-01-01 00:00:00.000000", "-2.25", "[]"),
    ]
    assert list(tmp_path.iterdir()) == []  # the spooled copy is deleted
    assert opener.bodies[0].closed


def test_parquet_column_count_mismatch_is_a_load_error():
    stream, _ = make_stream("PARQUET", PARQUET_COLUMNS[:2], {"a.parquet": parquet_bytes(sample_table())})
    with pytest.raises(
        LoadError, match=r"has 5 columns but table 't' .* has 2: COPY from PARQUET maps columns"
    ):
        data_of(stream)


def test_parquet_fillrecord_pads_missing_columns():
    columns = [*PARQUET_COLUMNS, TableColumn("extra", "integer")]
    stream, _ = make_stream("PARQUET FILLRECORD", columns, {"a.parquet": parquet_bytes(sample_table())})
    assert [row[5] for row in pg_text_rows(data_of(stream))] == [None, None, None]


def test_parquet_locate_row_and_gzip_by_extension():
    import pyarrow as pa

    table = pa.table({"n": list(range(20000)), "s": [f"v{i}" for i in range(20000)]})
    payload = gzip.compress(parquet_bytes(table))
    stream, _ = make_stream("PARQUET", [INT, NOTE], {"part.parquet.gz": payload})
    assert len(pg_text_rows(data_of(stream))) == 20000
    assert stream.locate(12345) == RowLocation(f"s3://{BUCKET}/part.parquet.gz", 12345, "12344\tv12344")


def test_orc_by_position():
    import pyarrow as pa
    import pyarrow.orc as orc

    buf = io.BytesIO()
    orc.write_table(pa.table({"x": [5, 6], "y": ["p", None]}), buf)
    assert rows_of("FORMAT AS ORC", [INT, NOTE], {"a.orc": buf.getvalue()}) == [("5", "p"), ("6", None)]


def test_not_a_parquet_file_is_a_load_error():
    stream, _ = make_stream("PARQUET", [INT], {"a.parquet": b"plain text"})
    with pytest.raises(LoadError, match=re.escape("Cannot read s3://copy-bucket/a.parquet as PARQUET")):
        data_of(stream)


# -- column lists ----------------------------------------------------------------------------------


def test_column_list_selects_and_orders_target_columns():
    cmd = parse_copy(f"COPY t (note, id) FROM 's3://{BUCKET}/p' IAM_ROLE default CSV")
    assert cmd is not None
    stream = build_copy_stream(cmd, [INT, NAME, NOTE], [], Opener({}))
    assert stream.pg_columns == ["note", "id"]
    assert 'FORCE_NOT_NULL ("note"), FORCE_NULL ("id")' in stream.pg_copy_options


def test_unknown_column_in_list_is_an_error():
    cmd = parse_copy(f"COPY t (nope) FROM 's3://{BUCKET}/p' IAM_ROLE default")
    assert cmd is not None
    with pytest.raises(LoadError, match='column "nope" of relation "t" does not exist') as info:
        build_copy_stream(cmd, [INT], [], Opener({}))
    assert info.value.sqlstate == "42703"


# -- PostgreSQL errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sqlstate", "message", "column", "value", "code", "reason"),
    [
        (
            "22P02",
            "invalid input syntax for type integer",
            INT,
            "12x",
            1207,
            "Invalid digit, Value 'x', Pos 2",
        ),
        ("22P02", "invalid input syntax", TableColumn("n", "numeric(5,2)"), "a.1", 1207, "Type: Decimal"),
        ("22P02", "invalid input syntax", TableColumn("f", "double precision"), "x", 1208, "Invalid float"),
        ("22P02", "invalid input syntax", TableColumn("b", "boolean"), "maybe", 1210, "Invalid boolean"),
        ("22003", "out of range", INT, "99999999999", 1222, "Overflow, Value '99999999999'"),
        ("22007", "invalid input syntax for type date", DAY, "x", 1205, "Invalid Date Format"),
        ("22008", "date/time field value out of range", AT, "x", 1206, "Invalid timestamp format or value"),
        (
            "22001",
            "value too long for type character varying(5)",
            NAME,
            "abcdefg",
            1204,
            "String length exceeds",
        ),
        ("22P04", "extra data after last expected column", None, None, 1202, "Extra column(s) found"),
        ("22P04", 'missing data for column "name"', None, None, 1214, "Delimiter not found"),
        ("22P04", "unterminated CSV quoted field", None, None, 1216, "Invalid input line"),
        (
            "22021",
            'invalid byte sequence for encoding "UTF8"',
            None,
            None,
            1220,
            "invalid or unsupported UTF8",
        ),
        ("23502", "null value in column violates not-null", INT, None, 1213, "Missing data for not-null"),
        ("42P01", "something else", None, None, 1200, "Unknown parse error"),
    ],
)
def test_map_postgres_error(sqlstate, message, column, value, code, reason):
    got_code, got_reason = map_postgres_error(sqlstate, message, column, value)
    assert got_code == code
    assert reason in got_reason


def test_record_from_postgres_error_locates_the_row():
    stream, _ = make_stream("CSV IGNOREHEADER 1", [INT, NAME], {"a": b"h\n1,a\n", "b": b"h\n2,b\nx1,c\n"})
    data_of(stream)
    error = SimpleNamespace(code="22P02", message='invalid input syntax for type integer: "x1"')
    record = record_from_postgres_error(stream, 4, "id", "x1", error)
    assert record.file_url == f"s3://{BUCKET}/b"
    assert record.line_number == 3
    assert record.raw_line == "x1,c"
    assert (record.column_name, record.column_type, record.raw_field_value) == ("id", "int4", "x1")
    assert (record.err_code, record.position) == (1207, 0)
    assert record.err_reason == "Invalid digit, Value 'x', Pos 0, Type: Integer"


def test_record_from_a_skipped_row_notice():
    stream, _ = make_stream("MAXERROR 5", [INT, DAY], {"a": b"1|2024-01-01\n2|2024-99-01\n"})
    data_of(stream)
    record = record_from_postgres_error(stream, 2, "day", "2024-99-01", None)
    assert (record.line_number, record.err_code, record.column_type) == (2, 1205, "date")
    assert record.raw_line == "2|2024-99-01"


def test_record_for_a_line_without_column():
    stream, _ = make_stream("CSV", [INT, NAME], {"a": b"1,a,extra\n"})
    data_of(stream)
    error = SimpleNamespace(code="22P04", message="extra data after last expected column")
    record = record_from_postgres_error(stream, 2, None, "1,a,extra", error)
    assert (record.line_number, record.err_code, record.raw_line, record.raw_field_value) == (
        1,
        1202,
        "1,a,extra",
        "",
    )


# -- S3 over HTTP (moto server) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3():
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    for bucket in (BUCKET, "other-bucket"):
        client.create_bucket(Bucket=bucket)
    yield client
    server.stop()


def put(s3, key: str, body: bytes, bucket: str = BUCKET) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_prefix_listing_paginates_over_1000_keys(s3):
    keys = [f"many/part-{i:05d}.csv" for i in range(1003)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: put(s3, key, b"1,a\n"), keys))
    put(s3, "many_sibling.csv", b"2,b\n")
    put(s3, "elsewhere/x.csv", b"3,c\n")
    calls: list[dict] = []
    s3.meta.events.register("before-call.s3.ListObjectsV2", lambda params, **_: calls.append(params))
    try:
        refs = resolve_objects(s3, command("CSV", source="many/"))
        assert [r.key for r in refs] == keys
        assert len(calls) == 2
        assert all(r.size == 4 and r.etag and '"' not in r.etag for r in refs)
        # a prefix is a plain key prefix: it also matches a sibling "file"
        assert [r.key for r in resolve_objects(s3, command("CSV", source="many"))][-1] == "many_sibling.csv"
    finally:
        s3.meta.events.unregister("before-call.s3.ListObjectsV2")


def test_directory_placeholders_are_skipped(s3):
    put(s3, "dirs/", b"")
    put(s3, "dirs/a.csv", b"1,a\n")
    put(s3, "dirs/empty.csv", b"")
    assert [r.key for r in resolve_objects(s3, command("CSV", source="dirs/"))] == [
        "dirs/a.csv",
        "dirs/empty.csv",
    ]


def test_empty_prefix_is_a_load_error(s3):
    with pytest.raises(LoadError) as info:
        resolve_objects(s3, command("CSV", source="nothing/here"))
    assert str(info.value) == EMPTY_PREFIX_MESSAGE.format(prefix="nothing/here")
    assert str(info.value) == "The specified S3 prefix 'nothing/here' does not exist"


def test_missing_bucket_is_an_s3_error(s3):
    cmd = parse_copy("COPY t FROM 's3://no-such-bucket-here/x' IAM_ROLE default")
    with pytest.raises(LoadError, match=r"S3ServiceException:.*,Status 404,Error NoSuchBucket"):
        resolve_objects(s3, cmd)


def test_manifest_entries_mandatory_and_duplicates(s3):
    put(s3, "m/a.csv", b"1,a\n")
    put(s3, "b.csv", b"2,b\n", bucket="other-bucket")
    manifest = {
        "entries": [
            {"url": f"s3://{BUCKET}/m/a.csv", "mandatory": True},
            {"url": "s3://other-bucket/b.csv"},
            {"url": f"s3://{BUCKET}/m/missing.csv", "mandatory": False},
            {"url": f"s3://{BUCKET}/m/a.csv", "mandatory": True},
        ]
    }
    put(s3, "m/load.manifest", json.dumps(manifest).encode())
    refs = resolve_objects(s3, command("CSV MANIFEST", source="m/load.manifest"))
    assert [(r.bucket, r.key, r.size) for r in refs] == [
        (BUCKET, "m/a.csv", 4),
        ("other-bucket", "b.csv", 4),
        (BUCKET, "m/a.csv", 4),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey"),
        (b"{not json", "is not valid JSON"),
        (b'{"files": []}', 'is not a JSON object with an "entries" array'),
        (b'{"entries": [{"url": "http://x/y"}]}', 'entry 1 has no "url"'),
        (b'{"entries": [{"url": "s3://copy-bucket/dir/"}]}', "requires full path of an S3 object"),
        (b'{"entries": [{"url": "s3://copy-bucket/m/gone.csv", "mandatory": true}]}', "is mandatory"),
        (b'{"entries": [{"url": "s3://copy-bucket/m/a.csv", "mandatory": "yes"}]}', "must be true or false"),
    ],
)
def test_manifest_problems(s3, body, message):
    put(s3, "m/a.csv", b"1,a\n")
    key = f"m/bad-{abs(hash(message))}.manifest"
    if body is not None:
        put(s3, key, body)
    with pytest.raises(LoadError) as info:
        resolve_objects(s3, command("CSV MANIFEST", source=key))
    assert str(info.value).startswith(MANIFEST_ERROR_PREFIX)
    assert message in str(info.value)


def test_parquet_manifest_needs_content_length(s3):
    put(s3, "pq/a.parquet", b"PAR1....PAR1")
    entry = {"url": f"s3://{BUCKET}/pq/a.parquet", "mandatory": True}
    put(s3, "pq/none.manifest", json.dumps({"entries": [entry]}).encode())
    with pytest.raises(
        LoadError, match=re.escape('needs "meta": {"content_length": <bytes>} for a PARQUET COPY')
    ):
        resolve_objects(s3, command("PARQUET MANIFEST", source="pq/none.manifest"))
    put(s3, "pq/wrong.manifest", json.dumps({"entries": [{**entry, "meta": {"content_length": 5}}]}).encode())
    with pytest.raises(LoadError, match="does not match the object's size 12"):
        resolve_objects(s3, command("PARQUET MANIFEST", source="pq/wrong.manifest"))
    put(s3, "pq/ok.manifest", json.dumps({"entries": [{**entry, "meta": {"content_length": 12}}]}).encode())
    assert [r.size for r in resolve_objects(s3, command("PARQUET MANIFEST", source="pq/ok.manifest"))] == [12]


def test_end_to_end_over_http_with_streaming_bodies(s3):
    put(s3, "e2e/part-1.csv.gz", gzip.compress(b"id,name\n1,a\n2,b"))
    put(s3, "e2e/part-2.csv.gz", gzip.compress(b"id,name\n3,c\n"))
    cmd = command("CSV GZIP IGNOREHEADER 1", source="e2e/")
    refs = resolve_objects(s3, cmd)
    stream = build_copy_stream(
        cmd, [INT, NAME], refs, lambda ref: s3.get_object(Bucket=ref.bucket, Key=ref.key)["Body"]
    )
    assert data_of(stream) == b"\n1,a\n2,b\n3,c\n"
    assert stream.locate(4) == RowLocation(f"s3://{BUCKET}/e2e/part-2.csv.gz", 2, "3,c")


def test_missing_object_while_streaming_is_a_load_error(s3):
    cmd = command("CSV", source="gone/")
    stream = build_copy_stream(
        cmd,
        [INT],
        [S3ObjectRef(BUCKET, "gone/x.csv")],
        lambda ref: s3.get_object(Bucket=ref.bucket, Key=ref.key)["Body"],
    )
    with pytest.raises(LoadError, match="Status 404,Error NoSuchKey"):
        data_of(stream)


def test_s3_error_message_format():
    err = SimpleNamespace(
        response={
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
    )
    assert s3_error_message(err) == "S3ServiceException:Access Denied,Status 403,Error AccessDenied"


# -- limits ------------------------------------------------------------------------------------------


def test_json_nan_and_infinity_are_bad_objects():
    data = b'{"id": NaN}\n{"id": 1, "note": Infinity}\n{"id": 2}\n'
    stream, _ = make_stream("JSON 'auto' MAXERROR 2", JSON_COLUMNS, {"a": data})
    assert pg_text_rows(data_of(stream)) == [("2", None, None)]
    assert [(e.line_number, e.err_code) for e in stream.errors] == [(1, 1216), (2, 1216)]


def test_a_line_longer_than_the_row_limit_is_a_load_error(monkeypatch):
    from airflow_redshift_s3.local.copy import limits

    monkeypatch.setattr(limits, "MAX_LINE", 100)
    stream, _ = make_stream("MAXERROR 1", [INT, NOTE], {"a": b"1|" + b"x" * 500 + b"\n"}, max_read=10)
    with pytest.raises(LoadError, match="Line too long: s3://copy-bucket/a has a line longer than 100 bytes"):
        data_of(stream)


def test_csv_pass_through_with_a_very_long_first_line(monkeypatch):
    from airflow_redshift_s3.local.copy import limits

    monkeypatch.setattr(limits, "MAX_LINE", 100)
    data = b"1," + b"y" * 500 + b"\r\n2,z\r\n"
    stream, _ = make_stream("CSV", [INT, NOTE], {"a": data}, max_read=10)
    assert data_of(stream) == b"\n" + data
