"""Run the local Redshift in its own process for a benchmark (started by ``_common.StackProcess``).

This is what ``airflow-redshift-s3 local up`` runs (one ``LocalRedshift``: the SQL gateway as threads of
this process, moto's server and PostgreSQL as its children), on free ports and with a role apply delay of
0, plus what the benchmarks need and the command does not give: the PostgreSQL port (for the
``COPY FROM STDIN`` floor), a copy role attached in-sync, and, for set-up only, objects written straight
into moto's S3 store (``--seed-count``), which skips one PutObject round trip per object.
``--no-sql-layer`` makes the gateway a pass-through for the SQL layer's cost (see ``_without_sql_layer``);
``--time-sql-layer`` times, inside the gateway, the work that switch removes (see ``_timing_sql_layer``);
``--switch-sql-layer`` lets a statement turn the layer off and on (see ``_switching_sql_layer``).

It prints one line ``READY {json}`` and runs until its standard input closes (the benchmark ends or dies)
or it gets SIGTERM; either way the stack stops and PostgreSQL with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
from typing import Any


def _seed(stack, bucket: str, prefix: str, count: int) -> float:
    began = time.monotonic()
    stack.aws_client("s3").create_bucket(Bucket=bucket)
    # one day of small parts, as a busy producer writes them; 1-byte bodies: only the listing matters
    stack.aws.seed_objects(bucket, [f"{prefix}part-{index:06d}.csv.gz" for index in range(count)], b"x")
    return time.monotonic() - began


def _fast_listing() -> None:
    """Make moto's ListObjectsV2 (without a delimiter) cost one page instead of the whole bucket per call.

    moto 5 builds, sorts and scans every key of the bucket on each ListObjectsV2 call, so listing 100,000
    objects takes 100 calls of about a second each here (about 90 s), where S3 answers a page in tens of
    milliseconds. This keeps the bucket's sorted key names (rebuilt when the number of keys changes) and
    answers a page from them by bisection (same keys, order and continuation tokens as moto's), then writes
    plain pages without moto's generic serializer (below). Checked against moto's own answers (keys, ETags,
    sizes, storage class, URL-encoded names, StartAfter, prefixes matching nothing). Only the benchmark's
    test double gets faster: the client side is unchanged.
    """
    import bisect

    from moto.s3.models import FakeDeleteMarker, S3Backend

    original = S3Backend.list_objects_v2
    sorted_names: dict[str, tuple[int, list[str]]] = {}

    def list_objects_v2(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys):
        if delimiter:
            return original(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
        cached = sorted_names.get(bucket.name)
        if cached is None or cached[0] != len(bucket.keys):
            cached = sorted_names[bucket.name] = (len(bucket.keys), sorted(dict.keys(bucket.keys)))
        names = cached[1]
        prefix = prefix or ""
        after = self._pagination_tokens.get(continuation_token) if continuation_token else start_after
        index = bisect.bisect_left(names, prefix)
        if after:
            index = max(index, bisect.bisect_right(names, after))
        page = []
        while index < len(names) and len(page) <= max_keys and names[index].startswith(prefix):
            key = bucket.keys.get(names[index])
            index += 1
            if key is not None and not isinstance(key, FakeDeleteMarker):
                page.append(key)
        return self._truncate_result(page, max_keys)  # one more than a page: truncated, and its token

    S3Backend.list_objects_v2 = list_objects_v2

    # moto then writes each page through its generic, model-driven serializer (which also re-parses each
    # LastModified with dateutil): about 0.3 s a page here. A plain ListObjectsV2 page is written directly
    # instead, from the same result moto built (keys already URL-encoded when the client asked, as botocore
    # does); anything else goes through moto's serializer.
    from xml.sax.saxutils import escape

    from moto.s3.responses import S3Response

    serialized = S3Response.serialized
    simple = {"Key", "LastModified", "ETag", "Size", "StorageClass"}

    def fast_serialized(self, action_result):
        result = action_result.result
        if (
            self.data.get("Action") != "ListObjectsV2"
            or not isinstance(result, dict)
            or "Delimiter" in result
            or any(item.keys() - simple for item in result["Contents"])
        ):
            return serialized(self, action_result)
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        ]
        for name in (
            "Name",
            "Prefix",
            "StartAfter",
            "KeyCount",
            "MaxKeys",
            "EncodingType",
            "NextContinuationToken",
        ):
            if result.get(name) is not None:
                parts.append(f"<{name}>{escape(str(result[name]))}</{name}>")
        parts.append(f"<IsTruncated>{'true' if result['IsTruncated'] else 'false'}</IsTruncated>")
        for item in result["Contents"]:
            parts.append(
                f"<Contents><Key>{escape(item['Key'])}</Key><LastModified>{item['LastModified']}</LastModified>"
                f"<ETag>{escape(item['ETag'])}</ETag><Size>{item['Size']}</Size>"
                f"<StorageClass>{item['StorageClass']}</StorageClass></Contents>"
            )
        parts.append("</ListBucketResult>")
        return 200, {"Content-Type": "application/xml", **self.response_headers}, "".join(parts).encode()

    S3Response.serialized = fast_serialized


def _pass_through() -> dict[tuple[Any, str], Any]:
    """Return what makes the gateway a pass-through for its Redshift SQL layer, to measure what it costs.

    Statements go to PostgreSQL as the client wrote them (no splitting, identifier folding, rewriting,
    translation, VARCHAR byte limits or local UNLOAD: only plain PostgreSQL statements work), and result
    messages pass unread (no SUPER/VARBYTE/interval/NUMERIC conversion), and the client protocol stays 0, as
    before the gateway negotiated it (no names looked up for RowDescriptions, no binary NUMERIC).
    Connection handling, authentication, the relay and the gateway's COPY from S3 (which came before the
    layer) stay: a statement that starts with COPY and names ``s3://`` is planned as before. The difference
    with a normal gateway is the layer's cost. Keys are (owner, attribute name); a session takes its result
    types and protocol when it connects, so a switch reaches the sessions that connect after it.
    """
    from airflow_redshift_s3.local.gateway import session

    plan = session.plan_statements

    def copy_from_s3_only(sql, case=None):
        if sql.lstrip()[:4].upper() == "COPY" and "s3://" in sql.lower():
            return plan(sql, case)
        return sql, None

    class PassThroughResults:
        active = False
        protocol = 0

        def simple_query(self) -> None: ...

        def describe(self, body: bytes) -> None: ...

        def bind(self, statement: bytes, formats: list[int]) -> None: ...

        def no_data(self) -> None: ...

        def portal(self, formats: list[int]) -> None: ...

        def row_description(self, body: bytes) -> bytes:
            return body

    async def no_catalog_lookup(self: object) -> None: ...

    return {
        (session, "plan_statements"): copy_from_s3_only,
        (session, "negotiate"): lambda asked: 0,
        (session, "ResultTypes"): PassThroughResults,
        (session.Session, "_load_super_columns"): no_catalog_lookup,
    }


def _without_sql_layer() -> None:
    """Make the gateway a pass-through for its SQL layer for good (see ``_pass_through``)."""
    for (owner, name), value in _pass_through().items():
        setattr(owner, name, value)


# A statement that switches the SQL layer (--switch-sql-layer): this, then ``on'`` or ``off'``, then
# something new each time (a driver that keeps prepared statements by text would not send it again).
SWITCH_QUERY = "SELECT 'bench: switch the sql layer "


def _switching_sql_layer() -> None:
    """Let a statement switch the gateway's SQL layer off (a pass-through) and on again.

    So that the layer's cost on a whole load is measured in one stack: the same PostgreSQL, the same
    moto and the same process, the two modes in interleaved rounds (two stacks side by side differed by
    more than the 5% target even where the layer does nothing). ``SWITCH_QUERY`` + ``off'`` applies
    ``_pass_through``; ``on'`` puts back what was there (with ``--time-sql-layer``, the timed layer). The
    switch answers one row, the mode; it reaches the sessions that connect after it.
    """
    from airflow_redshift_s3.local.gateway import session

    passing = _pass_through()
    modes = {"off": passing, "on": {key: getattr(*key) for key in passing}}
    plans = {mode: attributes.pop((session, "plan_statements")) for mode, attributes in modes.items()}
    current = ["on"]

    def plan_or_switch(sql, case=None):
        head = sql.lstrip()
        mode = head[len(SWITCH_QUERY) :].split("'", 1)[0] if head.startswith(SWITCH_QUERY) else None
        if mode in modes:
            for (owner, name), value in modes[mode].items():
                setattr(owner, name, value)
            current[0] = mode
            return f"SELECT '{mode}' AS sql_layer", None
        return plans[current[0]](sql, case)

    session.plan_statements = plan_or_switch


# How the statement that reads the SQL layer's accumulated time (--time-sql-layer) begins; the client
# ends each with something new (a driver that keeps prepared statements by text would reuse the answer).
LAYER_SECONDS_QUERY = "SELECT 'bench: sql layer seconds'"


def _timing_sql_layer() -> None:
    """Time, inside the gateway, each piece of work ``_without_sql_layer`` removes; a query reads the sum.

    The pieces: planning each statement (splitting, folding, rewriting, translation), the result types'
    bookkeeping and conversions (every RowDescription and DataRow the client gets), the catalog lookups of
    names for protocol 1+ RowDescriptions and of SUPER columns (their wall time, waits included). What the
    layer makes PostgreSQL do (the byte-limit CHECKs) is not here: ``bench_sql_dialect.py`` times it apart.
    A statement that starts with ``LAYER_SECONDS_QUERY`` answers the seconds so far (it is not itself
    counted).
    """
    import functools

    from airflow_redshift_s3.local.gateway import session
    from airflow_redshift_s3.local.wire import result_types

    total = [0.0]

    def timed(function):
        @functools.wraps(function)
        def call(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                total[0] += time.perf_counter() - began

        return call

    def timed_async(function):
        @functools.wraps(function)
        async def call(*args, **kwargs):
            began = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                total[0] += time.perf_counter() - began

        return call

    plan = timed(session.plan_statements)

    def plan_or_answer(sql, case=None):
        if sql.lstrip().startswith(LAYER_SECONDS_QUERY):
            return f"SELECT {total[0]!r}::float8 AS seconds", None
        return plan(sql, case)

    session.plan_statements = plan_or_answer
    for name in ("simple_query", "describe", "bind", "no_data", "portal", "row_description", "data_row"):
        setattr(result_types.ResultTypes, name, timed(getattr(result_types.ResultTypes, name)))
    for name in ("_learn_columns", "_load_super_columns"):
        setattr(session.Session, name, timed_async(getattr(session.Session, name)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role-name", default="bench-copy-role")
    parser.add_argument("--seed-bucket")
    parser.add_argument("--seed-prefix", default="")
    parser.add_argument("--seed-count", type=int, default=0)
    parser.add_argument("--fast-listing", action="store_true", help="see _fast_listing")
    parser.add_argument("--no-sql-layer", action="store_true", help="see _without_sql_layer")
    parser.add_argument("--time-sql-layer", action="store_true", help="see _timing_sql_layer")
    parser.add_argument("--switch-sql-layer", action="store_true", help="see _switching_sql_layer")
    args = parser.parse_args()

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    from airflow_redshift_s3.local.stack import LocalRedshift

    if args.fast_listing:
        _fast_listing()
    if args.no_sql_layer:
        _without_sql_layer()
    if args.time_sql_layer:
        _timing_sql_layer()
    if args.switch_sql_layer:  # after the timing, so that "on" is the timed layer
        _switching_sql_layer()

    with LocalRedshift(role_apply_delay=0, aws_in_process=args.fast_listing) as stack:
        role_arn = stack.create_copy_role(args.role_name, resources=["*"], attach=True)
        seed_seconds = 0.0
        if args.seed_bucket and args.seed_count:
            seed_seconds = _seed(stack, args.seed_bucket, args.seed_prefix, args.seed_count)
        assert stack.postgres is not None
        info = {
            "startup_seconds": round(stack.startup_seconds, 2),
            "environment": stack.environment(),
            "connect_kwargs": stack.connect_kwargs(),
            "postgres": {"host": stack.postgres.host, "port": stack.postgres.port, "user": "postgres"},
            "database": "dev",
            "role_arn": role_arn,
            "aws_endpoint_url": stack.aws_endpoint_url,
            "seed_seconds": round(seed_seconds, 2),
            "aws_pid": stack.aws.pid,  # moto's process (this one with --fast-listing)
        }
        print("READY " + json.dumps(info), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()  # returns at EOF: the benchmark closed the pipe, or died
    return 0


if __name__ == "__main__":
    sys.exit(main())
