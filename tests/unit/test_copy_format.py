from __future__ import annotations

import json

import pytest

from airflow_redshift_s3.copy_format import (
    AvroFormat,
    CsvFormat,
    FormatError,
    JsonFormat,
    OrcFormat,
    ParquetFormat,
    TextFormat,
    parse_copy_options,
    parse_format,
)
from airflow_redshift_s3.sql import SqlInputError


def test_csv_defaults_and_every_option():
    assert CsvFormat().copy_options() == ["FORMAT AS CSV"]
    fmt = CsvFormat(
        delimiter="\t",
        quote="'",
        header_rows=1,
        null_as="\\N",
        empty_as_null=True,
        blanks_as_null=True,
        compression="GZIP",
        date_format="YYYY-MM-DD",
        time_format="auto",
        max_errors=5,
        truncate_columns=True,
        accept_inv_chars="?",
    )
    assert " ".join(fmt.copy_options()) == (
        "FORMAT AS CSV DELIMITER AS '\\t' QUOTE AS '''' IGNOREHEADER AS 1 NULL AS '\\N' EMPTYASNULL "
        "BLANKSASNULL "
        "GZIP DATEFORMAT AS 'YYYY-MM-DD' TIMEFORMAT AS 'auto' TRUNCATECOLUMNS ACCEPTINVCHARS AS '?' "
        "MAXERROR AS 5"
    )
    assert fmt.compression == "gzip"


def test_text_json_avro_parquet_orc():
    assert TextFormat().copy_options() == []
    assert TextFormat(delimiter=",", escape=True, remove_quotes=True, compression="bzip2").copy_options() == [
        "DELIMITER AS ','",
        "ESCAPE",
        "REMOVEQUOTES",
        "BZIP2",
    ]
    assert JsonFormat().copy_options() == ["FORMAT AS JSON 'auto'"]
    assert JsonFormat(paths="AUTO  IGNORECASE", compression="zstd").copy_options() == [
        "FORMAT AS JSON 'auto ignorecase'",
        "ZSTD",
    ]
    assert JsonFormat(paths="s3://my-bucket/paths/p.json").copy_options() == [
        "FORMAT AS JSON 's3://my-bucket/paths/p.json'"
    ]
    assert AvroFormat().copy_options() == ["FORMAT AS AVRO 'auto'"]
    assert ParquetFormat().copy_options() == ["FORMAT AS PARQUET"]
    assert OrcFormat(accept_inv_chars="?").copy_options() == ["FORMAT AS ORC", "ACCEPTINVCHARS AS '?'"]
    assert ParquetFormat.columnar and not CsvFormat.columnar


@pytest.mark.parametrize(
    "build",
    [
        lambda: CsvFormat(delimiter=",,"),
        lambda: CsvFormat(delimiter="\\"),
        lambda: CsvFormat(delimiter="\n"),
        lambda: CsvFormat(quote=","),
        lambda: CsvFormat(header_rows=-1),
        lambda: CsvFormat(header_rows="x"),
        lambda: CsvFormat(null_as="a'\\"),
        lambda: CsvFormat(null_as="a,b"),
        lambda: CsvFormat(compression="zip"),
        lambda: CsvFormat(date_format="YYYY-MM-DD'; DROP TABLE x; --"),
        lambda: CsvFormat(time_format="nonsense"),
        lambda: CsvFormat(max_errors=100_001),
        lambda: CsvFormat(max_errors=True),
        lambda: CsvFormat(truncate_columns="yes"),
        lambda: JsonFormat(paths="auto'; --"),
        lambda: JsonFormat(paths="s3://bucket/"),
        lambda: AvroFormat(compression="gzip"),
        lambda: ParquetFormat(accept_inv_chars="ab"),
    ],
)
def test_invalid_fields_are_refused_when_built(build):
    with pytest.raises(SqlInputError) as caught:
        build()
    assert "Fix:" in str(caught.value)


def test_formats_round_trip_through_json():
    for fmt in (
        CsvFormat(header_rows=1, compression="gzip"),
        TextFormat(delimiter="\t"),
        JsonFormat(paths="auto ignorecase"),
        ParquetFormat(),
        OrcFormat(),
        AvroFormat(),
    ):
        data = json.loads(json.dumps(fmt.to_dict()))
        assert parse_format(data) == fmt
        assert parse_format(json.dumps(data)) == fmt
        assert parse_format(str(data)) == fmt  # a template renders a dict as its Python repr


def test_parse_format_from_names_strings_and_params():
    assert parse_format("parquet") == ParquetFormat()
    assert parse_format(" CSV ") == CsvFormat()
    assert parse_format({"type": "csv", "header_rows": "1", "max_errors": "3", "empty_as_null": "true"}) == (
        CsvFormat(header_rows=1, max_errors=3, empty_as_null=True)
    )
    assert CsvFormat(header_rows=1).to_dict() == {"type": "csv", "header_rows": 1}


@pytest.mark.parametrize(
    "value",
    [None, 5, "xml", {"type": "xml"}, {"delimiter": ","}, {"type": "csv", "delimeter": ","}, "{not json"],
)
def test_parse_format_refuses(value):
    with pytest.raises(FormatError):
        parse_format(value)


def test_copy_options_allow_list():
    csv = CsvFormat()
    assert parse_copy_options(None, csv) == []
    assert parse_copy_options(
        {
            "fillrecord": True,
            "TRIMBLANKS": False,
            "COMPROWS": 100000,
            "encoding": "utf8",
            "STATUPDATE": False,
        },
        csv,
    ) == ["FILLRECORD", "COMPROWS 100000", "ENCODING UTF8", "STATUPDATE OFF"]
    assert parse_copy_options({"SERIALIZETOJSON": True}, ParquetFormat()) == ["SERIALIZETOJSON"]


@pytest.mark.parametrize(
    ("options", "fmt", "message"),
    [
        ({"IAM_ROLE": "x"}, CsvFormat(), "iam_role_arn"),
        ({"CREDENTIALS": "aws_access_key_id=x"}, CsvFormat(), "allow_key_based_credentials"),
        ({"MANIFEST": True}, CsvFormat(), "manifest"),
        ({"REGION": "eu-west-1"}, CsvFormat(), "on_region_mismatch"),
        ({"DELIMITER": "|"}, CsvFormat(), "delimiter field"),
        ({"GZIP": True}, CsvFormat(), "compression field"),
        ({"NOLOAD": True}, CsvFormat(), "refused"),
        ({"FILLRECORD; DROP TABLE x": True}, CsvFormat(), "not SQL"),
        ({"MADE_UP": True}, CsvFormat(), "expected one of"),
        ({"ESCAPE": True}, CsvFormat(), "TextFormat"),
        ({"IGNOREBLANKLINES": True}, ParquetFormat(), "not accept"),
        ({"COMPROWS": 5}, CsvFormat(), "from 1000"),
        ({"ENCODING": "latin1"}, CsvFormat(), "expected one of"),
        ({"FILLRECORD": "maybe"}, CsvFormat(), "true or false"),
        (["FILLRECORD"], CsvFormat(), "dict"),
    ],
)
def test_copy_options_refused(options, fmt, message):
    with pytest.raises(FormatError, match=message):
        parse_copy_options(options, fmt)
