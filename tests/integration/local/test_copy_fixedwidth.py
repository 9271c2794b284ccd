"""COPY ... FIXEDWIDTH from the local S3, driven through redshift_connector.

The spec 'label:width,...' follows the table's columns in order, the labels have no relation to the column
names and the widths count bytes (FIXEDWIDTH, "Data format parameters" of the COPY reference:
https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html#copy-fixedwidth); bad rows
go to stl_load_errors as with the other formats (Load error reference).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

SPEC = "venueid:3,venuename:25,venuecity:12,venuestate:2,venueseats:6"


def _line(*fields_and_widths: tuple[str, int]) -> bytes:
    """Pad each field with blanks to its width in bytes."""
    out = b""
    for text, width in fields_and_widths:
        data = text.encode()
        out += data + b" " * (width - len(data))
    return out + b"\n"


def _venue_line(venueid: str, name: str, city: str, state: str, seats: str) -> bytes:
    return _line((venueid, 3), (name, 25), (city, 12), (state, 2), (seats, 6))


@pytest.fixture
def venue(redshift_connection, redshift_schema):
    cur = redshift_connection.cursor()
    table = f"{redshift_schema}.venue"
    cur.execute(
        f"create table {table} (venueid smallint, venuename varchar(100), venuecity varchar(30), "
        "venuestate char(2), venueseats integer)"
    )
    redshift_connection.commit()
    return table


def test_fixed_width_columns_by_position_in_bytes(
    local_redshift, redshift_connection, venue, s3_bucket, copy_role_arn
):
    """Each field is cut at its width in bytes (a two-byte 'é' takes two), blanks padding it are dropped,
    and labels need not name the columns; FORMAT AS FIXEDWIDTH is the same option."""
    body = (
        _venue_line("1", "Toyota Park", "Bridgeview", "IL", "0")
        + _venue_line("2", "Stade Vélodrome", "Marseille", "FR", "67394")
        + _venue_line("3", "RFK Stadium", "Washington", "DC", "")
    )
    local_redshift.aws_client("s3").put_object(Bucket=s3_bucket, Key="fw/venue.txt", Body=body)
    cur = redshift_connection.cursor()
    cur.execute(f"copy {venue} from 's3://{s3_bucket}/fw/' iam_role '{copy_role_arn}' fixedwidth '{SPEC}'")
    cur.execute(f"select * from {venue} order by venueid")
    assert [tuple(r) for r in cur.fetchall()] == [
        (1, "Toyota Park", "Bridgeview", "IL", 0),
        (2, "Stade Vélodrome", "Marseille", "FR", 67394),
        (3, "RFK Stadium", "Washington", "DC", None),
    ]
    cur.execute(f"truncate {venue}")
    cur.execute(
        f"copy {venue} from 's3://{s3_bucket}/fw/' iam_role '{copy_role_arn}' "
        "format as fixedwidth 'a:3,b:25,c:12,d:2,e:6'"
    )
    cur.execute("select pg_last_copy_count()")
    assert cur.fetchone()[0] == 3
    redshift_connection.rollback()


def test_bad_rows_go_to_stl_load_errors(local_redshift, redshift_connection, venue, s3_bucket, copy_role_arn):
    """An invalid digit (1207) and a line that ends before a column (1214) are load errors with their line
    and column; without MAXERROR the COPY fails with Redshift's "Load into table ... failed" message."""
    import redshift_connector

    body = (
        _venue_line("1", "Toyota Park", "Bridgeview", "IL", "0")
        + _venue_line("2", "Columbus Crew Stadium", "Columbus", "OH", "12x")
        + b"3  RFK Stadium\n"
        + _venue_line("4", "Gillette Stadium", "Foxborough", "MA", "68756")
    )
    local_redshift.aws_client("s3").put_object(Bucket=s3_bucket, Key="bad/venue.txt", Body=body)
    cur = redshift_connection.cursor()
    copy = f"copy {venue} from 's3://{s3_bucket}/bad/' iam_role '{copy_role_arn}' fixedwidth '{SPEC}'"
    with pytest.raises(redshift_connector.ProgrammingError, match=r"Load into table 'venue' failed\.  Check"):
        cur.execute(copy)
    redshift_connection.rollback()
    cur.execute(copy + " maxerror 5")
    cur.execute(f"select venueid from {venue} order by 1")
    assert [r[0] for r in cur.fetchall()] == [1, 4]
    cur.execute(
        "select line_number, trim(colname), err_code from stl_load_errors where query = pg_last_copy_id() "
        "order by line_number"
    )
    assert [tuple(r) for r in cur.fetchall()] == [(2, "venueseats", 1207), (3, "venuecity", 1214)]
    redshift_connection.rollback()


def test_spec_must_name_every_loaded_column(
    local_redshift, redshift_connection, venue, s3_bucket, copy_role_arn
):
    """ "The order of the label/width pairs must match the order of the table columns exactly": a spec with
    fewer pairs than loaded columns is refused, naming both counts."""
    import redshift_connector

    local_redshift.aws_client("s3").put_object(Bucket=s3_bucket, Key="few/v.txt", Body=b"1  x\n")
    cur = redshift_connection.cursor()
    with pytest.raises(redshift_connector.ProgrammingError, match="FIXEDWIDTH spec has 2 columns but 5"):
        cur.execute(
            f"copy {venue} from 's3://{s3_bucket}/few/' iam_role '{copy_role_arn}' fixedwidth 'id:3,name:1'"
        )
    redshift_connection.rollback()
    cur.execute(
        f"copy {venue} (venueid, venuename) from 's3://{s3_bucket}/few/' iam_role '{copy_role_arn}' "
        "fixedwidth 'id:3,name:1'"
    )
    cur.execute(f"select venueid, venuename from {venue}")
    assert [tuple(r) for r in cur.fetchall()] == [(1, "x")]
    redshift_connection.rollback()
