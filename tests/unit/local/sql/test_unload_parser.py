"""The UNLOAD statement as the gateway parses it (grammar of the UNLOAD page of the Redshift Database
Developer Guide, https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html)."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.local.sql.tokens import split_statements
from airflow_redshift_s3.local.sql.unload_command import MAX_FILE_SIZE, UnloadSyntaxError, parse_unload

ROLE = "arn:aws:iam::123456789012:role/R"


def parse(sql: str):
    return parse_unload(split_statements(sql)[0])


def test_defaults_are_redshifts():
    cmd = parse(f"unload ('select * from venue where s = ''NV''') to 's3://b/unload/v_' iam_role '{ROLE}'")
    assert (cmd.query, cmd.bucket, cmd.prefix) == ("select * from venue where s = 'NV'", "b", "unload/v_")
    assert (cmd.format, cmd.delimiter, cmd.parallel, cmd.maxfilesize) == ("text", "|", True, MAX_FILE_SIZE)
    assert not (cmd.header or cmd.manifest or cmd.allowoverwrite or cmd.compression)


def test_the_amazon_operators_form():
    """RedshiftToS3Operator: a dollar-quoted query and CREDENTIALS 'aws_iam_role=...'."""
    cmd = parse(
        f"UNLOAD ($$SELECT * FROM s.t WHERE n = 'x'$$) TO 's3://b/k/t_' credentials 'aws_iam_role={ROLE}' "
        "FORMAT AS CSV\n\t\t\tHEADER PARALLEL OFF MAXFILESIZE AS 1.5 GB manifest verbose;"
    )
    assert (cmd.query, cmd.iam_role, cmd.format, cmd.delimiter) == (
        "SELECT * FROM s.t WHERE n = 'x'",
        ROLE,
        "csv",
        ",",
    )
    assert (cmd.header, cmd.parallel, cmd.manifest, cmd.verbose) == (True, False, True, True)
    assert cmd.maxfilesize == int(1.5 * 1024**3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("gzip bzip2", "conflicting or redundant options: BZIP2"),
        ("parquet delimiter ','", "DELIMITER argument is not supported for PARQUET"),
        (f"credentials 'aws_iam_role={ROLE}'", "IAM_ROLE cannot be combined with CREDENTIALS"),
        ("fixedwidth 'a:1'", "Unsupported UNLOAD option: FIXEDWIDTH"),
        ("parallel sideways", 'syntax error at or near "sideways"'),
    ],
)
def test_refusals(options, message):
    with pytest.raises(UnloadSyntaxError, match=message):
        parse(f"unload ('select 1') to 's3://b/p' iam_role '{ROLE}' {options}")
