"""UNLOAD to the local S3, driven through redshift_connector as a user's code would.

Expected names, contents and rules come from the UNLOAD page of the Redshift Database Developer Guide
(https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html) and its examples page
(https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD_command_examples.html). The stack reports 2 slices
(``stv_slices``), so PARALLEL ON writes ``0000_part_00`` and ``0001_part_00``.
"""

from __future__ import annotations

import gzip
import io
import json

import pytest

from airflow_redshift_s3.local.pytest_plugin import create_role, unique_name

pytestmark = pytest.mark.integration

WRITE_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:DeleteObject"]


@pytest.fixture(scope="module")
def unload_role(local_redshift):
    """A role Redshift trusts, attached in-sync, that may write every bucket (UNLOAD needs s3:PutObject)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": WRITE_ACTIONS, "Resource": "*"}],
    }
    arn = create_role(local_redshift, unique_name("unload-"), policy)
    local_redshift.attach_role(arn)
    return arn


@pytest.fixture
def venue(redshift_connection, redshift_schema):
    """The VENUE rows of the examples page: a quote, a comma, a pipe and a NULL in them."""
    cur = redshift_connection.cursor()
    table = f"{redshift_schema}.venue"
    cur.execute(
        f"create table {table} (venueid smallint, venuename varchar(100), venuestate char(2), seats int)"
    )
    cur.execute(
        f"insert into {table} values (1, 'Pinewood Race|track', 'OH', 0), (2, 'Columbus \"Crew\" Stadium', "
        "'OH', 0), (4, 'Community, Ballpark, Arena', 'KS', null)"
    )
    redshift_connection.commit()
    return table


def _objects(stack, bucket, prefix=""):
    s3 = stack.aws_client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def _run(conn, sql):
    cur = conn.cursor()
    cur.execute(sql)
    return cur


def test_default_pipe_delimited_one_file_per_slice(
    local_redshift, redshift_connection, venue, s3_bucket, unload_role
):
    """Default text format: '|' between fields, NULL as an empty field; PARALLEL ON names the files
    ``<prefix><slice>_part_<part>`` (UNLOAD page, TO parameter); pg_last_unload_count() gives the rows."""
    cur = _run(
        redshift_connection,
        f"unload ('select * from {venue} order by venueid') to 's3://{s3_bucket}/unload/venue_pipe_' "
        f"iam_role '{unload_role}'",
    )
    cur.execute("select pg_last_unload_count()")
    assert cur.fetchone()[0] == 3
    files = _objects(local_redshift, s3_bucket)
    assert sorted(files) == ["unload/venue_pipe_0000_part_00", "unload/venue_pipe_0001_part_00"]
    text = b"".join(files[k] for k in sorted(files)).decode()
    assert text == (
        '1|Pinewood Race|track|OH|0\n2|Columbus "Crew" Stadium|OH|0\n4|Community, Ballpark, Arena|KS|\n'
    )
    redshift_connection.rollback()


def test_csv_header_gzip_serially(local_redshift, redshift_connection, venue, s3_bucket, unload_role):
    """CSV quotes a field holding the delimiter or a quote, doubling the quote; HEADER adds the column
    names; PARALLEL OFF writes ``<prefix>000``; GZIP appends ``.gz`` (UNLOAD page; examples "Unload VENUE to
    a CSV file", "Unload VENUE with a header")."""
    _run(
        redshift_connection,
        f"unload ('select venueid, venuename from {venue} where venueid < 3 order by venueid') "
        f"to 's3://{s3_bucket}/csv/v_' iam_role '{unload_role}' format as csv header parallel off gzip",
    )
    files = _objects(local_redshift, s3_bucket)
    assert list(files) == ["csv/v_000.gz"]
    assert gzip.decompress(files["csv/v_000.gz"]).decode() == (
        'venueid,venuename\n1,Pinewood Race|track\n2,"Columbus ""Crew"" Stadium"\n'
    )
    redshift_connection.rollback()


def test_delimiter_null_as_escape_addquotes(
    local_redshift, redshift_connection, venue, s3_bucket, unload_role
):
    """DELIMITER, NULL AS, ESCAPE (a backslash before the delimiter in character columns) and ADDQUOTES,
    as the UNLOAD page describes them."""
    _run(
        redshift_connection,
        f"unload ('select venueid, venuename, seats from {venue} where venueid in (1, 4) order by 1') "
        f"to 's3://{s3_bucket}/d/' iam_role '{unload_role}' "
        "delimiter as '|' null as 'fred' escape parallel off",
    )
    assert _objects(local_redshift, s3_bucket)["d/000"].decode() == (
        "1|Pinewood Race\\|track|0\n4|Community, Ballpark, Arena|fred\n"
    )
    _run(
        redshift_connection,
        f"unload ('select venueid, venuestate from {venue} where venueid = 4') "
        f"to 's3://{s3_bucket}/q/' iam_role '{unload_role}' delimiter ',' addquotes parallel off",
    )
    assert _objects(local_redshift, s3_bucket, "q/")["q/000"] == b'"4","KS"\n'
    redshift_connection.rollback()


def test_parquet_with_manifest_loads_back_with_copy(
    local_redshift, redshift_connection, redshift_schema, venue, s3_bucket, unload_role
):
    """PARQUET writes ``.parquet`` files (examples page, partitioned Parquet); MANIFEST writes
    ``<prefix>manifest`` listing them, and COPY ... MANIFEST FORMAT PARQUET reads them back."""
    import pyarrow.parquet as pq

    _run(
        redshift_connection,
        f"unload ('select * from {venue}') to 's3://{s3_bucket}/pq/venue_' iam_role '{unload_role}' "
        "format parquet manifest",
    )
    files = _objects(local_redshift, s3_bucket)
    assert sorted(files) == [
        "pq/venue_0000_part_00.parquet",
        "pq/venue_0001_part_00.parquet",
        "pq/venue_manifest",
    ]
    manifest = json.loads(files["pq/venue_manifest"])
    assert [e["url"] for e in manifest["entries"]] == [
        f"s3://{s3_bucket}/pq/venue_0000_part_00.parquet",
        f"s3://{s3_bucket}/pq/venue_0001_part_00.parquet",
    ]
    table = pq.read_table(io.BytesIO(files["pq/venue_0000_part_00.parquet"]))
    assert [str(t) for t in table.schema.types] == ["int16", "string", "string", "int32"]
    cur = _run(redshift_connection, f"create table {redshift_schema}.copy_back (like {venue})")
    cur.execute(
        f"copy {redshift_schema}.copy_back from 's3://{s3_bucket}/pq/venue_manifest' "
        f"iam_role '{unload_role}' format as parquet manifest"
    )
    cur.execute(f"select * from {redshift_schema}.copy_back order by venueid")
    back = [tuple(r) for r in cur.fetchall()]
    cur.execute(f"select * from {venue} order by venueid")
    assert back == [tuple(r) for r in cur.fetchall()]
    redshift_connection.rollback()


def test_manifest_verbose(local_redshift, redshift_connection, venue, s3_bucket, unload_role):
    """MANIFEST VERBOSE: each entry's content_length and record_count (the header line counted), the
    schema with VARCHAR/CHAR lengths, the totals, and the author "Amazon Redshift" (UNLOAD page)."""
    _run(
        redshift_connection,
        f"unload ('select venueid, venuename, venuestate from {venue}') to 's3://{s3_bucket}/mv/' "
        f"iam_role '{unload_role}' header manifest verbose",
    )
    files = _objects(local_redshift, s3_bucket)
    manifest = json.loads(files["mv/manifest"])
    sizes = [len(files["mv/0000_part_00"]), len(files["mv/0001_part_00"])]
    assert [e["meta"] for e in manifest["entries"]] == [
        {"content_length": sizes[0], "record_count": 3},
        {"content_length": sizes[1], "record_count": 2},
    ]
    assert manifest["schema"]["elements"] == [
        {"name": "venueid", "type": {"base": "smallint"}},
        {"name": "venuename", "type": {"base": "character varying", "dimensions": [100]}},
        {"name": "venuestate", "type": {"base": "character", "dimensions": [2]}},
    ]
    assert manifest["meta"] == {"content_length": sum(sizes), "record_count": 5}
    assert manifest["author"]["name"] == "Amazon Redshift"
    redshift_connection.rollback()


def test_existing_files_need_allowoverwrite_or_cleanpath(
    local_redshift, redshift_connection, venue, s3_bucket, unload_role
):
    """ "By default, UNLOAD fails if it finds files that it would possibly overwrite" (ALLOWOVERWRITE);
    CLEANPATH removes the existing files first (UNLOAD page). The message is Redshift's."""
    import redshift_connector

    unload = (
        f"unload ('select venueid from {venue}') to 's3://{s3_bucket}/o/' "
        f"iam_role '{unload_role}' parallel off"
    )
    _run(redshift_connection, unload)
    with pytest.raises(
        redshift_connector.ProgrammingError, match="Specified unload destination on S3 is not empty"
    ):
        _run(redshift_connection, unload)
    redshift_connection.rollback()
    local_redshift.aws_client("s3").put_object(Bucket=s3_bucket, Key="o/stale.csv", Body=b"old")
    _run(redshift_connection, unload + " allowoverwrite")
    assert sorted(_objects(local_redshift, s3_bucket)) == ["o/000", "o/stale.csv"]
    _run(redshift_connection, unload + " cleanpath")
    assert sorted(_objects(local_redshift, s3_bucket)) == ["o/000"]
    redshift_connection.rollback()


def test_role_and_region_checks_as_copy(local_redshift, redshift_connection, venue, s3_bucket, copy_role_arn):
    """UNLOAD "uses the same parameters the COPY command uses for authorization" (UNLOAD page): a role not
    attached, a role that may not PutObject, and a bucket in another region without REGION fail with
    COPY's messages; REGION names the bucket's region."""
    import redshift_connector

    detached = local_redshift.create_copy_role(unique_name("detached-"), resources=["*"], attach=False)
    select = f"unload ('select venueid from {venue}') to 's3://{s3_bucket}/r/' "
    with pytest.raises(
        redshift_connector.ProgrammingError, match=f"Not authorized to get credentials of role {detached}"
    ):
        _run(redshift_connection, select + f"iam_role '{detached}'")
    redshift_connection.rollback()
    with pytest.raises(
        redshift_connector.ProgrammingError, match="S3ServiceException:Access Denied,Status 403"
    ):
        _run(redshift_connection, select + f"iam_role '{copy_role_arn}'")  # read-only role
    redshift_connection.rollback()
    assert _objects(local_redshift, s3_bucket) == {}


def test_other_region_needs_region(local_redshift, redshift_connection, venue, unload_role):
    """REGION "is required for UNLOAD to an Amazon S3 bucket that isn't in the same AWS Region as the
    Amazon Redshift cluster" (UNLOAD page); without it, COPY's 301 PermanentRedirect."""
    import redshift_connector

    bucket = unique_name("eu-unload-")
    s3 = local_redshift.aws_client("s3", region="eu-west-1")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    select = f"unload ('select venueid from {venue}') to 's3://{bucket}/e/' iam_role '{unload_role}' "
    with pytest.raises(redshift_connector.ProgrammingError, match="Status 301,Error PermanentRedirect"):
        _run(redshift_connection, select)
    redshift_connection.rollback()
    _run(redshift_connection, select + "region 'eu-west-1'")
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == [
        "e/0000_part_00",
        "e/0001_part_00",
    ]
    redshift_connection.rollback()


def test_maxfilesize_splits_a_slice_into_parts(local_redshift, redshift_connection, s3_bucket, unload_role):
    """MAXFILESIZE (5 MB to 6.2 GB) bounds each file; PARALLEL OFF then writes 000, 001, ... (UNLOAD page,
    PARALLEL and MAXFILESIZE)."""
    _run(
        redshift_connection,
        "unload ('select g, repeat(''x'', 100) from generate_series(1, 60000) g order by g') "
        f"to 's3://{s3_bucket}/big_' iam_role '{unload_role}' parallel off maxfilesize 5 mb",
    )
    files = _objects(local_redshift, s3_bucket)
    assert sorted(files) == ["big_000", "big_001"]
    assert all(len(body) <= 5 * 1024 * 1024 for body in files.values())
    lines = (files["big_000"] + files["big_001"]).decode().splitlines()
    assert len(lines) == 60000 and lines[0].startswith("1|") and lines[-1].startswith("60000|")
    redshift_connection.rollback()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("parquet header", "HEADER argument is not supported for PARQUET based UNLOAD"),
        ("maxfilesize 1 mb", "MAXFILESIZE 1 MB is out of range"),
        ("allowoverwrite cleanpath", "CLEANPATH cannot be combined with ALLOWOVERWRITE"),
        ("partition by (venueid)", "Unsupported UNLOAD option: PARTITION BY"),
    ],
)
def test_refused_options(redshift_connection, venue, s3_bucket, unload_role, options, message):
    """Combinations the UNLOAD page rules out, and options the local stack does not implement, are refused
    before the query runs."""
    import redshift_connector

    with pytest.raises(redshift_connector.ProgrammingError, match=message):
        _run(
            redshift_connection,
            f"unload ('select * from {venue}') to 's3://{s3_bucket}/x/' iam_role '{unload_role}' {options}",
        )
    redshift_connection.rollback()


def test_limit_in_the_outer_select_is_refused(redshift_connection, venue, s3_bucket, unload_role):
    """ "The SELECT query can't use a LIMIT clause in the outer SELECT" (UNLOAD page, usage notes); a nested
    LIMIT is fine. The wording of the refusal is the local stack's: the page does not give Redshift's."""
    import redshift_connector

    target = f"to 's3://{s3_bucket}/l/' iam_role '{unload_role}'"
    with pytest.raises(redshift_connector.ProgrammingError, match="Limit clause is not supported"):
        _run(redshift_connection, f"unload ('select * from {venue} limit 10') {target}")
    redshift_connection.rollback()
    _run(
        redshift_connection,
        f"unload ('select * from {venue} where venueid in (select venueid from {venue} order by 1 limit 1)') "
        f"{target} parallel off",
    )
    redshift_connection.rollback()
