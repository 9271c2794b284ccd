from __future__ import annotations

import bz2
import gzip
import io
import json

import pytest

from airflow_redshift_s3.checks.format_sniff import (
    check_compression,
    check_delimited,
    check_json,
    check_magic,
    compare_columns,
    decompress_head,
    sniff_object,
)
from airflow_redshift_s3.checks.result import CheckStatus
from airflow_redshift_s3.copy_format import CsvFormat, JsonFormat, ParquetFormat, TextFormat

URL = "s3://b/k"
COLUMNS = ["id", "name", "born"]


def _by_name(results):
    return {r.name: r for r in results}


def test_compression_magic():
    assert check_compression(b"id,name", None, URL).status is CheckStatus.OK
    assert check_compression(gzip.compress(b"x"), "gzip", URL).status is CheckStatus.OK
    undeclared = check_compression(gzip.compress(b"x"), None, URL)
    assert undeclared.failed and "compression='gzip'" in undeclared.fix
    wrong = check_compression(b"id,name", "gzip", URL)
    assert wrong.failed and "is not gzip-compressed" in wrong.message
    assert check_compression(bz2.compress(b"x"), "gzip", URL).failed


def test_partial_gzip_and_bzip2_heads_are_read():
    body = b"".join(b"%d,n,2001-01-01\n" % i for i in range(50000))
    text, complete, _ = decompress_head(gzip.compress(body)[:2000], "gzip", False)
    assert text.startswith("0,n,2001-01-01\n1,n,")
    assert not complete
    text, complete, _ = decompress_head(bz2.compress(body[:1000]), "bzip2", True)
    assert text.startswith("0,n,2001-01-01\n1,n,")
    assert complete
    # bzip2 decompresses whole blocks (up to 900 kB): a head of a bigger file gives nothing to check
    text, _, why = decompress_head(bz2.compress(body)[:2000], "bzip2", False)
    assert text is None and "block" in why
    text, complete, _ = decompress_head(gzip.compress(b"1,a,\n"), "gzip", True)
    assert (text, complete) == ("1,a,\n", True)
    assert decompress_head(b"x", "lzop", True)[0] is None
    assert decompress_head(b"not gzip", "gzip", True)[0] is None


def test_csv_columns_and_header():
    ok = _by_name(
        check_delimited(
            "id,name,born\n1,ann,2001-02-03\n", CsvFormat(header_rows=1), COLUMNS, URL, complete=True
        )
    )
    assert ok["format.header"].status is CheckStatus.OK
    assert ok["format.csv.columns"].status is CheckStatus.OK

    header_as_data = _by_name(
        check_delimited("id,name,born\n1,ann,x\n", CsvFormat(), COLUMNS, URL, complete=True)
    )
    assert header_as_data["format.header"].failed
    assert header_as_data["format.header"].fix == "set header_rows=1 in the input format"

    skipped = _by_name(
        check_delimited("1,ann,x\n2,bob,y\n", CsvFormat(header_rows=1), COLUMNS, URL, complete=True)
    )
    assert skipped["format.header"].status is CheckStatus.WARNING

    too_many = _by_name(check_delimited("1,ann,x,extra\n", CsvFormat(), COLUMNS, URL, complete=True))
    assert too_many["format.csv.columns"].failed
    assert "Extra column(s) found" in too_many["format.csv.columns"].message
    too_few = _by_name(check_delimited("1,ann\n", CsvFormat(), COLUMNS, URL, complete=True))
    assert "Delimiter not found" in too_few["format.csv.columns"].message
    filled = _by_name(check_delimited("1,ann\n", CsvFormat(), COLUMNS, URL, complete=True, fill_record=True))
    assert filled["format.csv.columns"].status is CheckStatus.OK


def test_csv_quoting_and_a_line_cut_by_the_sample():
    text = '1,"ann, jr",x\n2,"bob",y\n3,cut'
    results = _by_name(check_delimited(text, CsvFormat(), COLUMNS, URL, complete=False))
    assert results["format.csv.columns"].status is CheckStatus.OK


def test_wrong_delimiter_is_caught():
    results = _by_name(check_delimited("1|ann|x\n", CsvFormat(), COLUMNS, URL, complete=True))
    assert results["format.csv.columns"].failed
    text = _by_name(check_delimited("1|ann|x\n", TextFormat(), COLUMNS, URL, complete=True))
    assert text["format.text.columns"].status is CheckStatus.OK


def test_json():
    assert check_json(
        '{"id": 1, "name": "a"}\n{"id": 2}', JsonFormat(), COLUMNS, URL, complete=True
    ).status is (CheckStatus.OK)
    case = check_json('{"ID": 1, "Name": "a"}', JsonFormat(), COLUMNS, URL, complete=True)
    assert case.failed and "auto ignorecase" in case.fix
    assert check_json(
        '{"ID": 1}', JsonFormat(paths="auto ignorecase"), COLUMNS, URL, complete=True
    ).status is (CheckStatus.OK)
    assert check_json('{"x": 1}', JsonFormat(), COLUMNS, URL, complete=True).failed
    assert check_json("[{}]", JsonFormat(), COLUMNS, URL, complete=True).failed
    assert check_json('{"id": 1,, }', JsonFormat(), COLUMNS, URL, complete=True).failed
    assert (
        check_json('{"id": "long', JsonFormat(), COLUMNS, URL, complete=False).status is CheckStatus.WARNING
    )
    assert check_json("id,name\n", JsonFormat(), COLUMNS, URL, complete=True).failed
    paths = JsonFormat(paths="s3://bkt/paths.json")
    assert check_json('{"x": 1}', paths, COLUMNS, URL, complete=True).status is CheckStatus.OK


def test_columnar_magic_and_columns():
    assert check_magic(b"PAR1....", "parquet", URL).status is CheckStatus.OK
    wrong = check_magic(b"id,name\n", "parquet", URL)
    assert wrong.failed and "text or CSV" in wrong.fix
    assert check_magic(b"ORC...", "orc", URL).status is CheckStatus.OK
    assert compare_columns(["id", "name", "born"], COLUMNS, URL).status is CheckStatus.OK
    swapped = compare_columns(["name", "id", "born"], COLUMNS, URL)
    assert swapped.failed and "another order" in swapped.message
    assert compare_columns(["a", "b"], COLUMNS, URL).failed
    assert compare_columns(["a", "b", "c"], COLUMNS, URL).status is CheckStatus.WARNING


class _FakeS3:
    def __init__(self, body: bytes):
        self.body = body
        self.ranges: list[str] = []

    def get_object(self, Bucket, Key, Range):
        self.ranges.append(Range)
        start, end = Range.removeprefix("bytes=").split("-")
        return {"Body": io.BytesIO(self.body[int(start) : int(end) + 1])}


def test_sniff_reads_only_ranges_and_parquet_footer():
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"name": ["a"], "id": [1], "born": ["x"]}), buffer)
    body = buffer.getvalue()
    s3 = _FakeS3(body)
    results = _by_name(sniff_object(s3, "b", "k.parquet", len(body), ParquetFormat(), COLUMNS))
    assert results["format.parquet.magic"].status is CheckStatus.OK
    assert results["format.parquet.columns"].failed
    assert all(r.startswith("bytes=") for r in s3.ranges) and len(s3.ranges) == 3


def test_sniff_csv_gzip_and_json_objects():
    body = gzip.compress(b"id,name,born\n1,a,x\n")
    results = sniff_object(
        _FakeS3(body), "b", "k.gz", len(body), CsvFormat(header_rows=1, compression="gzip"), COLUMNS
    )
    assert [r.status for r in results] == [CheckStatus.OK] * 3
    body = json.dumps({"id": 1}).encode()
    (_, parsed) = sniff_object(_FakeS3(body), "b", "k", len(body), JsonFormat(), COLUMNS)
    assert parsed.status is CheckStatus.OK
    assert sniff_object(_FakeS3(b""), "b", "k", 0, JsonFormat(), COLUMNS)[0].status is CheckStatus.WARNING


@pytest.mark.parametrize("fmt", [CsvFormat(), JsonFormat()])
def test_sniff_stops_at_a_compression_mismatch(fmt):
    body = gzip.compress(b"1,2,3\n")
    results = sniff_object(_FakeS3(body), "b", "k", len(body), fmt, COLUMNS)
    assert len(results) == 1 and results[0].failed


def test_json_lines_checked_as_csv_fail_instead_of_passing_split_at_commas():
    text = '{"id": 1, "name": "ann", "born": "2001-02-03"}\n{"id": 2, "name": "bob", "born": "2002-03-04"}\n'
    (result,) = check_delimited(text, CsvFormat(), COLUMNS, URL, complete=True)
    assert result.failed and result.name == "format.csv.json_lines"
    assert "holds JSON lines" in result.message and "doctor --format json" in result.fix
    # a CSV whose first field happens to start with a brace is still CSV
    csv_rows = _by_name(check_delimited('"{x}",ann,y\n', CsvFormat(), COLUMNS, URL, complete=True))
    assert csv_rows["format.csv.columns"].status is CheckStatus.OK
