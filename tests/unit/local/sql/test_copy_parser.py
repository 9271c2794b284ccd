from __future__ import annotations

import pytest

from airflow_redshift_s3.local.sql.copy_command import (
    AwsKeyCredentials,
    CopyCommand,
    CopySyntaxError,
    datetime_format_parts,
)
from airflow_redshift_s3.local.sql.copy_parser import parse_copy, redact_sql

ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"
BASE = f"COPY t FROM 's3://bucket/data/2026' IAM_ROLE '{ROLE}'"


def parse(sql: str) -> CopyCommand:
    cmd = parse_copy(sql)
    assert cmd is not None
    return cmd


def options(text: str) -> CopyCommand:
    return parse(f"{BASE} {text}")


def syntax_error(sql: str) -> str:
    with pytest.raises(CopySyntaxError) as info:
        parse_copy(sql)
    return str(info.value)


# -- what is not a COPY from S3 --------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "COPY t FROM STDIN",
        "COPY t (a, b) FROM STDIN WITH (FORMAT csv)",
        "copy (select 's3://bucket/x') to stdout",
        "COPY t TO 's3://bucket/out'",
        "COPY t FROM '/var/lib/data.csv'",
        "SELECT 's3://bucket/key'",
        "",
        "-- only a comment",
        "COPY \"unterminated FROM 's3://bucket/x'",
        "INSERT INTO t SELECT * FROM s3",
    ],
)
def test_statements_that_are_not_a_copy_from_s3_return_none(sql):
    assert parse_copy(sql) is None


@pytest.mark.parametrize(
    ("source", "label"), [("dynamodb://table", "DynamoDB"), ("emr://j-1/part-*", "Amazon EMR")]
)
def test_other_redshift_sources_are_refused(source, label):
    message = syntax_error(f"COPY t FROM '{source}' IAM_ROLE default")
    assert label in message
    assert "not supported" in message


# -- table, columns, source ------------------------------------------------------------------------


def test_minimal_command_has_redshift_defaults():
    cmd = parse(f"copy t from 's3://bucket/data/2026' iam_role '{ROLE}'")
    assert (cmd.schema, cmd.table, cmd.columns) == (None, "t", None)
    assert cmd.source == "s3://bucket/data/2026"
    assert (cmd.bucket, cmd.key_prefix) == ("bucket", "data/2026")
    assert cmd.iam_role == ROLE
    assert cmd.credentials is None
    assert cmd.format == "text"
    assert cmd.delimiter == "|"
    assert cmd.quote is None
    assert cmd.null_as is None
    assert cmd.maxerror == 0
    assert cmd.ignoreheader == 0
    assert cmd.compression is None
    assert not cmd.manifest
    assert cmd.encoding == "utf8"


def test_unquoted_identifiers_are_lowercased_and_quoted_ones_kept():
    cmd = parse(
        'COPY Sales.Daily_Orders (Order_ID, "Customer ""Name""") FROM \'s3://bucket/k\' IAM_ROLE default'
    )
    assert cmd.schema == "sales"
    assert cmd.table == "daily_orders"
    assert cmd.columns == ("order_id", 'Customer "Name"')
    assert cmd.qualified_table == "sales.daily_orders"


def test_quoted_schema_and_table_keep_their_case():
    cmd = parse('COPY "Staging"."MyTable" FROM \'s3://bucket/k\' IAM_ROLE default')
    assert (cmd.schema, cmd.table) == ("Staging", "MyTable")


def test_three_part_name_sets_the_database():
    cmd = parse("COPY dev.public.t FROM 's3://bucket/k' IAM_ROLE default")
    assert (cmd.database, cmd.schema, cmd.table) == ("dev", "public", "t")


def test_four_part_name_is_an_error():
    assert "too many dotted names" in syntax_error("COPY a.b.c.d FROM 's3://bucket/k' IAM_ROLE default")


def test_duplicate_column_is_an_error():
    assert syntax_error("COPY t (a, A) FROM 's3://bucket/k' IAM_ROLE default") == (
        'column "a" specified more than once'
    )


def test_empty_column_list_is_a_syntax_error():
    assert syntax_error("COPY t () FROM 's3://bucket/k' IAM_ROLE default") == 'syntax error at or near ")"'


def test_source_scheme_is_normalised():
    cmd = parse("COPY t FROM 'S3://bucket/Dir/File.csv' IAM_ROLE default")
    assert cmd.source == "s3://bucket/Dir/File.csv"
    assert cmd.key_prefix == "Dir/File.csv"


def test_bucket_without_key_loads_the_whole_bucket():
    cmd = parse("COPY t FROM 's3://bucket' IAM_ROLE default")
    assert (cmd.bucket, cmd.key_prefix) == ("bucket", "")


def test_manifest_needs_an_object_key():
    assert "requires full path of an S3 object" in syntax_error(
        "COPY t FROM 's3://bucket/dir/' IAM_ROLE default MANIFEST"
    )


def test_manifest_flag():
    cmd = options("MANIFEST")
    assert cmd.manifest
    assert cmd.key_prefix == "data/2026"


# -- authorization ---------------------------------------------------------------------------------


def test_iam_role_default_keyword_is_case_insensitive():
    assert parse("COPY t FROM 's3://bucket/k' IAM_ROLE DEFAULT").iam_role == "default"


def test_chained_roles_are_accepted():
    chained = f"{ROLE},arn:aws:iam::210987654321:role/Other"
    assert parse(f"COPY t FROM 's3://bucket/k' IAM_ROLE '{chained}'").iam_role == chained


def test_invalid_role_arn_is_rejected():
    assert "Invalid IAM_ROLE 'MyRole'" in syntax_error("COPY t FROM 's3://bucket/k' IAM_ROLE 'MyRole'")


def test_credentials_string_with_keys_and_token():
    cmd = parse(
        "COPY t FROM 's3://bucket/k' WITH CREDENTIALS AS "
        "'aws_access_key_id=AKIDEXAMPLE;aws_secret_access_key=testSECRET;token=SESSIONTOKEN'"
    )
    assert cmd.credentials == AwsKeyCredentials("AKIDEXAMPLE", "testSECRET", "SESSIONTOKEN")
    assert cmd.iam_role is None


def test_credentials_string_with_role_sets_iam_role():
    cmd = parse(f"COPY t FROM 's3://bucket/k' CREDENTIALS 'aws_iam_role={ROLE}'")
    assert cmd.iam_role == ROLE
    assert cmd.credentials is None


def test_access_key_options():
    cmd = parse(
        "COPY t FROM 's3://bucket/k' ACCESS_KEY_ID 'AKID' SECRET_ACCESS_KEY 'SECRET' SESSION_TOKEN 'TOK'"
    )
    assert cmd.credentials == AwsKeyCredentials("AKID", "SECRET", "TOK")
    no_token = parse("COPY t FROM 's3://bucket/k' SECRET_ACCESS_KEY 'SECRET' ACCESS_KEY_ID 'AKID'")
    assert no_token.credentials == AwsKeyCredentials("AKID", "SECRET", None)


def test_repr_never_shows_secrets():
    cmd = parse(
        "COPY t FROM 's3://bucket/k' ACCESS_KEY_ID 'AKID' SECRET_ACCESS_KEY 'TOPSECRET' SESSION_TOKEN 'TOK9'"
    )
    text = repr(cmd)
    assert "AKID" in text
    assert "TOPSECRET" not in text
    assert "TOK9" not in text


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        (
            f"IAM_ROLE default CREDENTIALS 'aws_iam_role={ROLE}'",
            "IAM_ROLE cannot be combined with CREDENTIALS",
        ),
        ("IAM_ROLE default ACCESS_KEY_ID 'a' SECRET_ACCESS_KEY 'b'", "IAM_ROLE cannot be combined with"),
        (
            "CREDENTIALS 'aws_access_key_id=a;aws_secret_access_key=b' "
            "ACCESS_KEY_ID 'a' SECRET_ACCESS_KEY 'b'",
            "CREDENTIALS cannot be combined with ACCESS_KEY_ID",
        ),
        ("ACCESS_KEY_ID 'a'", "ACCESS_KEY_ID and SECRET_ACCESS_KEY must be specified together"),
        ("SESSION_TOKEN 'x'", "SESSION_TOKEN needs both"),
        ("CREDENTIALS 'aws_access_key_id=a'", "the CREDENTIALS string needs"),
        ("CREDENTIALS 'aws_key=a'", "unknown key 'aws_key'"),
        (f"CREDENTIALS 'aws_iam_role={ROLE};aws_access_key_id=a'", "aws_iam_role cannot be combined"),
        (
            "CREDENTIALS 'aws_access_key_id=a;aws_secret_access_key=b;master_symmetric_key=k'",
            "MASTER_SYMMETRIC_KEY",
        ),
        ("IAM_ROLE default IAM_ROLE default", "conflicting or redundant options: IAM_ROLE"),
    ],
)
def test_authorization_errors(auth, message):
    assert message in syntax_error(f"COPY t FROM 's3://bucket/k' {auth}")


def test_missing_authorization_is_left_to_the_runner():
    cmd = parse("COPY t FROM 's3://bucket/k' CSV")
    assert cmd.iam_role is None
    assert cmd.credentials is None


# -- formats ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "fmt", "json_spec"),
    [
        ("FORMAT AS CSV", "csv", None),
        ("FORMAT CSV", "csv", None),
        ("csv", "csv", None),
        ("FORMAT AS JSON 'auto'", "json", "auto"),
        ("JSON 'auto'", "json", "auto"),
        ("json AS 'Auto  IgnoreCase'", "json", "auto ignorecase"),
        ("FORMAT JSON 's3://bucket/paths/jsonpaths.json'", "json", "s3://bucket/paths/jsonpaths.json"),
        ("JSON", "json", "auto"),
        ("FORMAT AS PARQUET", "parquet", None),
        ("PARQUET", "parquet", None),
        ("format orc", "orc", None),
        ("FORMAT AS AVRO 'auto'", "avro", None),
    ],
)
def test_format_forms(clause, fmt, json_spec):
    cmd = options(clause)
    assert cmd.format == fmt
    assert cmd.json_spec == json_spec


def test_avro_spec_is_kept():
    assert options("AVRO 'auto ignorecase'").avro_spec == "auto ignorecase"


def test_csv_defaults_and_quote():
    cmd = options("CSV")
    assert (cmd.delimiter, cmd.quote) == (",", '"')
    quoted = options("FORMAT AS CSV QUOTE AS '%' DELIMITER AS ';'")
    assert (quoted.delimiter, quoted.quote) == (";", "%")


def test_json_and_columnar_have_no_delimiter():
    assert options("JSON 'auto'").delimiter is None
    assert options("PARQUET").delimiter is None


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("FORMAT AS TEXT", 'syntax error at or near "TEXT"'),
        ("FORMAT AS FIXEDWIDTH 'a'", "Invalid FIXEDWIDTH spec 'a'"),
        ("FIXEDWIDTH 'a:1' DELIMITER ','", "DELIMITER argument is not supported with FIXEDWIDTH"),
        ("CSV FIXEDWIDTH 'a:1'", "FIXEDWIDTH argument is not supported for CSV based COPY"),
        ("FIXEDWIDTH 'a:1' JSON 'auto'", "FIXEDWIDTH argument is not supported for JSON based COPY"),
        ("SHAPEFILE", "Unsupported COPY option: SHAPEFILE"),
        ("JSON 'sideways'", "Invalid JSON option 'sideways'"),
        ("JSON 's3://bucket/'", "the JSONPaths file must be one S3 object"),
        ("JSON AS", "syntax error at end of input"),
        ("CSV JSON 'auto'", "conflicting or redundant options: FORMAT"),
        ("FORMAT CSV FORMAT CSV", "conflicting or redundant options: FORMAT"),
    ],
)
def test_format_errors(clause, message):
    assert message in syntax_error(f"{BASE} {clause}")


@pytest.mark.parametrize("fmt", ["PARQUET", "ORC"])
@pytest.mark.parametrize(
    "clause",
    [
        "REGION 'us-west-2'",
        "MAXERROR 10",
        "GZIP",
        "DELIMITER ','",
        "IGNOREHEADER 1",
        "NULL AS ''",
        "COMPUPDATE OFF",
        "DATEFORMAT 'auto'",
        "EMPTYASNULL",
    ],
)
def test_columnar_formats_refuse_text_options(fmt, clause):
    name = clause.split(" ")[0] if not clause.startswith("NULL") else "NULL AS"
    assert syntax_error(f"{BASE} FORMAT AS {fmt} {clause}") == (
        f"{name} argument is not supported for {fmt} based COPY"
    )


def test_columnar_formats_accept_their_options():
    cmd = options("PARQUET MANIFEST STATUPDATE OFF ACCEPTINVCHARS FILLRECORD EXPLICIT_IDS")
    assert cmd.manifest
    assert cmd.statupdate == "off"
    assert cmd.fillrecord
    assert cmd.explicit_ids


@pytest.mark.parametrize(
    "clause", ["DELIMITER '|'", "NULL AS 'x'", "FILLRECORD", "IGNOREBLANKLINES", "ESCAPE"]
)
def test_json_refuses_delimited_options(clause):
    name = "NULL AS" if clause.startswith("NULL") else clause.split(" ")[0]
    assert (
        syntax_error(f"{BASE} JSON 'auto' {clause}")
        == f"{name} argument is not supported for JSON based COPY"
    )


def test_json_accepts_header_and_conversion_options():
    cmd = options("JSON 'auto' IGNOREHEADER 1 EMPTYASNULL TRUNCATECOLUMNS TIMEFORMAT 'epochmillisecs' GZIP")
    assert (cmd.ignoreheader, cmd.emptyasnull, cmd.truncatecolumns) == (1, True, True)
    assert cmd.timeformat == "epochmillisecs"


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("CSV ESCAPE", "ESCAPE argument is not supported for CSV based COPY"),
        ("CSV REMOVEQUOTES", "REMOVEQUOTES argument is not supported for CSV based COPY"),
        ("QUOTE '\"'", "QUOTE argument is only supported with CSV format"),
        ("CSV QUOTE ','", "COPY delimiter and quote must be different"),
        ("CSV QUOTE 'ab'", "COPY QUOTE must be a single ASCII character"),
    ],
)
def test_csv_option_errors(clause, message):
    assert message in syntax_error(f"{BASE} {clause}")


# -- options ---------------------------------------------------------------------------------------


def test_as_forms_and_mixed_case_keywords():
    cmd = options(
        "Delimiter As ';' IgnoreHeader As 2 NULL AS 'nil' REGION AS 'eu-west-1' MaxError As 7 "
        "DateFormat As 'MM/DD/YYYY' TimeFormat As 'YYYY-MM-DD HH24:MI:SS' AcceptInvChars As '^'"
    )
    assert cmd.delimiter == ";"
    assert cmd.ignoreheader == 2
    assert cmd.null_as == "nil"
    assert cmd.region == "eu-west-1"
    assert cmd.maxerror == 7
    assert cmd.dateformat == "MM/DD/YYYY"
    assert cmd.timeformat == "YYYY-MM-DD HH24:MI:SS"
    assert cmd.acceptinvchars == "^"


def test_options_without_as():
    cmd = options("DELIMITER ',' IGNOREHEADER 1 REGION 'us-east-2' MAXERROR 3")
    assert (cmd.delimiter, cmd.ignoreheader, cmd.region, cmd.maxerror) == (",", 1, "us-east-2", 3)


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("'\\t'", "\t"), ("'\\036'", "\x1e"), ("'\\\\'", "\\"), ("''''", "'"), ("'\\''", "'"), ("'~'", "~")],
)
def test_delimiter_literals(literal, expected):
    assert options(f"DELIMITER {literal}").delimiter == expected


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("'ab'", "COPY DELIMITER must be a single ASCII character, got 'ab'"),
        ("''", "COPY DELIMITER must be a single ASCII character"),
        ("'é'", "COPY DELIMITER must be a single ASCII character"),
        ("'\\000'", "COPY DELIMITER cannot be NUL"),
        ("'\n'", "COPY DELIMITER cannot be newline or carriage return"),
    ],
)
def test_delimiter_errors(literal, message):
    assert message in syntax_error(f"{BASE} DELIMITER {literal}")


def test_null_as_keeps_backslashes():
    assert options("NULL AS '\\N'").null_as == "\\N"
    assert options("NULL AS ''").null_as == ""


def test_null_as_nul_is_unsupported():
    assert "Unsupported COPY option: NULL AS '\\0'" in syntax_error(f"{BASE} NULL AS '\\0'")


def test_delimiter_inside_null_string_is_an_error():
    assert syntax_error(f"{BASE} NULL AS 'a|b'") == "COPY delimiter must not appear in the NULL AS string"


@pytest.mark.parametrize("word", ["GZIP", "BZIP2", "ZSTD", "LZOP"])
def test_compression_keywords(word):
    assert options(word.lower()).compression == word.lower()


def test_two_compressions_conflict():
    assert syntax_error(f"{BASE} GZIP ZSTD") == "conflicting or redundant options: ZSTD"


def test_flags():
    cmd = options(
        "EMPTYASNULL BLANKSASNULL TRUNCATECOLUMNS TRIMBLANKS FILLRECORD IGNOREBLANKLINES ESCAPE REMOVEQUOTES "
        "ROUNDEC EXPLICIT_IDS"
    )
    assert cmd.emptyasnull
    assert cmd.blanksasnull
    assert cmd.truncatecolumns
    assert cmd.trimblanks
    assert cmd.fillrecord
    assert cmd.ignoreblanklines
    assert cmd.escape
    assert cmd.removequotes
    assert cmd.roundec
    assert cmd.explicit_ids


def test_flags_default_to_false():
    cmd = options("")
    assert not cmd.emptyasnull
    assert not cmd.blanksasnull
    assert not cmd.truncatecolumns
    assert not cmd.escape
    assert not cmd.fillrecord


def test_acceptinvchars_defaults_to_question_mark():
    assert options("ACCEPTINVCHARS").acceptinvchars == "?"
    assert options("ACCEPTINVCHARS '*'").acceptinvchars == "*"
    assert options("").acceptinvchars is None


@pytest.mark.parametrize(
    ("clause", "compupdate", "statupdate"),
    [
        ("COMPUPDATE OFF STATUPDATE OFF", "off", "off"),
        ("COMPUPDATE STATUPDATE", "on", "on"),
        ("COMPUPDATE TRUE STATUPDATE FALSE", "on", "off"),
        ("COMPUPDATE PRESET", "preset", None),
        ("STATUPDATE ON", None, "on"),
    ],
)
def test_compupdate_statupdate(clause, compupdate, statupdate):
    cmd = options(clause)
    assert (cmd.compupdate, cmd.statupdate) == (compupdate, statupdate)


def test_comprows_and_encoding():
    cmd = options("COMPROWS 100000 ENCODING AS UTF8")
    assert cmd.comprows == 100000
    assert cmd.encoding == "utf8"


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("COMPROWS 10", "COMPROWS must be between 1000 and 2147483647"),
        ("MAXERROR 100001", "MAXERROR must be between 0 and 100000"),
        ("MAXERROR -1", 'syntax error at or near "-"'),
        ("MAXERROR 'ten'", "syntax error at or near \"'ten'\""),
        ("IGNOREHEADER", "syntax error at end of input"),
        ("ENCODING UTF16", "Unsupported COPY option: ENCODING UTF16"),
        ("ENCODING LATIN1", "Invalid ENCODING LATIN1"),
        ("REGION 'mars'", "Invalid REGION 'mars'"),
        ("DATEFORMAT 'YYYY-QQ'", "Invalid DATEFORMAT 'YYYY-QQ'"),
        ("DATEFORMAT 'AUTO'", "Invalid DATEFORMAT 'AUTO'"),
        ("TIMEFORMAT 'YYYY-MM-DD HH:MI:SS TZ'", "Invalid TIMEFORMAT"),
        ("DATEFORMAT 'epochsecs'", "Invalid DATEFORMAT 'epochsecs'"),
        ("DATEFORMAT 'YYYY-MM-DD' DATEFORMAT 'auto'", "conflicting or redundant options: DATEFORMAT"),
        ("ACCEPTINVCHARS 'ab'", "must be a single ASCII character"),
        ("FOO", 'syntax error at or near "FOO"'),
        ("Delimiter ',' Bogus 1", 'syntax error at or near "Bogus"'),
        ("DELIMITER ',', GZIP", 'syntax error at or near ","'),
        ("WITH GZIP", 'syntax error at or near "GZIP"'),
        ("GZIP; SELECT 1", 'syntax error at or near "SELECT"'),
        ("GZIP 'x'", "syntax error at or near \"'x'\""),
    ],
)
def test_option_errors(clause, message):
    assert message in syntax_error(f"{BASE} {clause}")


@pytest.mark.parametrize(
    "word",
    ["NOLOAD", "ACCEPTANYDATE", "ENCRYPTED", "IGNOREALLERRORS", "READRATIO", "SSH", "MASTER_SYMMETRIC_KEY"],
)
def test_unsupported_redshift_options_fail_clearly(word):
    assert syntax_error(f"{BASE} {word}") == (
        f"Unsupported COPY option: {word} (not implemented by the local Redshift stack)"
    )


def test_datetime_formats_are_kept_verbatim():
    cmd = options("DATEFORMAT 'auto' TIMEFORMAT 'epochsecs'")
    assert (cmd.dateformat, cmd.timeformat) == ("auto", "epochsecs")
    assert options("TIMEFORMAT 'YYYY-MM-DDTHH:MI:SS'").timeformat == "YYYY-MM-DDTHH:MI:SS"


def test_datetime_format_parts():
    assert datetime_format_parts("MON DD, YYYY") == ["MON", " ", "DD", ",", " ", "YYYY"]
    assert datetime_format_parts("hh12:mi am") == ["HH12", ":", "MI", " ", "AM"]
    with pytest.raises(ValueError, match="more than once"):
        datetime_format_parts("YYYY-MM-DD YYYY")
    with pytest.raises(ValueError, match="needs YYYY or YY"):
        datetime_format_parts("MM/DD")


# -- lexical details -------------------------------------------------------------------------------


def test_comments_semicolon_and_whitespace():
    cmd = parse(
        "/* load /* nested */ step */ COPY -- the target\n"
        "  t\n  FROM 's3://bucket/k' -- source\n"
        "  IAM_ROLE default /* auth */ CSV\n  IGNOREHEADER 1 ;  -- done\n"
    )
    assert (cmd.table, cmd.format, cmd.ignoreheader) == ("t", "csv", 1)


def test_unterminated_comment_after_source_is_an_error():
    assert "unterminated /* comment" in syntax_error("COPY t FROM 's3://bucket/k' IAM_ROLE default /* oops")


def test_unterminated_string_after_source_is_an_error():
    assert "unterminated quoted string" in syntax_error(
        "COPY t FROM 's3://bucket/k' IAM_ROLE default NULL AS 'x"
    )


def test_trailing_option_word_without_value():
    assert syntax_error(f"{BASE} DELIMITER") == "syntax error at end of input"


def test_string_with_doubled_quote():
    assert options("NULL AS 'it''s'").null_as == "it's"


# -- redaction -------------------------------------------------------------------------------------


def test_redacted_masks_key_options_only():
    sql = (
        "COPY t FROM 's3://bucket/k' ACCESS_KEY_ID 'AKIDEXAMPLE' SECRET_ACCESS_KEY AS 'testSECRET' "
        "SESSION_TOKEN 'FQoTOKEN' REGION 'us-east-1'"
    )
    redacted = parse(sql).redacted()
    assert redacted == (
        "COPY t FROM 's3://bucket/k' ACCESS_KEY_ID '***' SECRET_ACCESS_KEY AS '***' "
        "SESSION_TOKEN '***' REGION 'us-east-1'"
    )


def test_redacted_masks_credentials_with_keys_but_not_roles():
    keys = parse(
        "COPY t FROM 's3://bucket/k' CREDENTIALS 'aws_access_key_id=AKID;aws_secret_access_key=SECRET' CSV"
    )
    assert keys.redacted() == "COPY t FROM 's3://bucket/k' CREDENTIALS '***' CSV"
    role = parse(f"COPY t FROM 's3://bucket/k' CREDENTIALS 'aws_iam_role={ROLE}'")
    assert role.redacted() == role.sql
    iam = parse(f"COPY t FROM 's3://bucket/k' IAM_ROLE '{ROLE}'")
    assert ROLE in iam.redacted()


def test_redact_sql_works_on_statements_that_do_not_parse():
    assert redact_sql("copy t from 's3://b/k' secret_access_key 'S3CR3T' bogus") == (
        "copy t from 's3://b/k' secret_access_key '***' bogus"
    )
    assert redact_sql("copy t from 's3://b/k' credentials 'aws_access_key_id=A;aws_secret_access_key=S") == (
        "copy t from 's3://b/k' credentials ***"
    )
    assert redact_sql("select 1") == "select 1"
