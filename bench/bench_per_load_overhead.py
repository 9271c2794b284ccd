"""Per-load overhead: one small file through S3ToRedshiftCopyOperator vs the Amazon S3ToRedshiftOperator.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_per_load_overhead.py [--rounds 5]``).
Prints three tables and writes ``bench/results/per_load_overhead.json``.

Both operators run in this process against the same local stack (in its own process, so that the AWS calls
counted here are the operators' only, not the gateway's reads of S3), each round in a rotated order,
each load a fresh gzip CSV file under a fresh prefix into its own table (a daily load: a new file every
time, so the ledger skips nothing). Wall time of ``execute()``, median over the rounds, after two
untimed warm-up rounds. Variants of this project's operator show where its time goes: with its defaults
(every preflight check, ledger, manifest), with ``preflight_checks=()``, and also without the ledger;
then both operators over the Redshift Data API (``redshift_data_api_kwargs``): the Amazon one polls every
second (its hook's poll_interval is whole seconds), ours from 0.1 s doubling up to 1 s.

AWS API calls are counted for every boto3/botocore client any hook creates: a ``before-call`` handler
appended to ``botocore.handlers.BUILTIN_HANDLERS``, the list every new botocore session registers its
built-in event handlers from (so the hooks' own sessions get it; nothing of theirs is patched). SQL
statements, commits and connections are counted by wrapping redshift_connector's ``Cursor.execute``,
``Connection.commit``/``rollback`` and ``connect`` (what the Amazon provider's RedshiftSQLHook uses).
A few more untimed runs wrap the operator's steps with timers for the breakdown.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import gzip
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import _common

BUCKET = "bench-overhead"
DDL = "(id bigint, customer varchar(20), amount numeric(12,2), day date)"
COLUMNS = ["id", "customer", "amount", "day"]
DATA_API = {"database": "dev", "cluster_identifier": "local-cluster", "db_user": "awsuser"}


class Calls:
    """Counts of AWS API calls (by service and operation), SQL statements, commits and connections."""

    def __init__(self) -> None:
        self.armed = False
        self.aws: collections.Counter[str] = collections.Counter()
        self.sql: collections.Counter[str] = collections.Counter()

    def reset(self) -> None:
        self.aws.clear()
        self.sql.clear()

    def on_api_call(self, model: Any = None, **_: Any) -> None:
        if self.armed and model is not None:
            self.aws[f"{model.service_model.service_name}:{model.name}"] += 1

    def statement(self, text: str) -> None:
        if self.armed:
            words = str(text).split()
            kind = words[0].upper() if words else "?"
            if kind in ("CREATE", "DROP", "ALTER") and len(words) > 1:
                kind = f"{kind} {words[1].upper()}"
            self.sql[kind] += 1


def install_counters(calls: Calls) -> None:
    import botocore.handlers
    import redshift_connector

    # Every botocore Session created from now on registers this handler with its built-ins.
    botocore.handlers.BUILTIN_HANDLERS.append(("before-call", calls.on_api_call))

    execute = redshift_connector.Cursor.execute

    @functools.wraps(execute)
    def counted_execute(self: Any, operation: str, *args: Any, **kwargs: Any) -> Any:
        calls.statement(operation)
        return execute(self, operation, *args, **kwargs)

    redshift_connector.Cursor.execute = counted_execute
    for method in ("commit", "rollback"):
        original = getattr(redshift_connector.Connection, method)

        def counted(
            self: Any, *args: Any, _original: Any = original, _name: str = method, **kwargs: Any
        ) -> Any:
            if calls.armed:
                calls.sql[_name.upper() + " (driver)"] += 1
            return _original(self, *args, **kwargs)

        setattr(redshift_connector.Connection, method, counted)
    connect = redshift_connector.connect

    @functools.wraps(connect)
    def counted_connect(*args: Any, **kwargs: Any) -> Any:
        if calls.armed:
            calls.sql["connection opened"] += 1
        return connect(*args, **kwargs)

    redshift_connector.connect = counted_connect


class FirstTry:
    """The task instance of a load's first try, as an ``execute()`` context gives it."""

    dag_id, run_id, task_id, map_index, try_number = "bench", "manual__bench", "ours", -1, 1


def make_variants(role_arn: str) -> dict[str, Callable[[str, str], Any]]:
    from airflow.providers.amazon.aws.transfers.s3_to_redshift import S3ToRedshiftOperator

    from airflow_redshift_s3.copy_format import CsvFormat
    from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

    def amazon(prefix: str, table: str) -> Any:
        return S3ToRedshiftOperator(
            task_id="amazon",
            schema="public",
            table=table,
            s3_bucket=BUCKET,
            s3_key=prefix,
            redshift_conn_id="redshift_default",
            aws_conn_id="aws_copy_role",  # its role_arn extra makes the CREDENTIALS 'aws_iam_role=...'
            method="APPEND",
            copy_options=["CSV", "GZIP"],
        )

    def amazon_data_api(prefix: str, table: str) -> Any:
        operator = amazon(prefix, table)
        # its hook sleeps poll_interval seconds (an int, 10 by default) between two DescribeStatement calls
        operator.redshift_data_api_kwargs = {**DATA_API, "poll_interval": 1}
        operator.redshift_conn_id = "aws_default"  # with the Data API it names the AWS connection
        return operator

    def ours(**options: Any) -> Callable[[str, str], Any]:
        def make(prefix: str, table: str) -> Any:
            return S3ToRedshiftCopyOperator(
                task_id="ours",
                bucket=BUCKET,
                prefix=prefix,
                table=f"public.{table}",
                column_list=COLUMNS,
                iam_role_arn=role_arn,
                cluster_identifier="local-cluster",
                input_format=CsvFormat(compression="gzip"),
                **options,
            )

        return make

    verified: dict[str, Any] = {}

    def after_verification(prefix: str, table: str) -> Any:
        """Ours after S3VerifyBucketOperator in a DAG (the example DAGs' shape), given its XCom as in a run.

        The verification itself is another task of the run (its calls are not this load's): it runs once
        per table, before the timed load, and its XCom is handed to the load's context.
        """
        from airflow.sdk import DAG

        from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator

        with DAG(f"bench_{table}", schedule=None):
            verify = S3VerifyBucketOperator(
                task_id="verify",
                bucket=BUCKET,
                prefix=f"{table}/",
                iam_role_arn=role_arn,
                cluster_identifier="local-cluster",
            )
            load = ours()(prefix, table)
            verify >> load
        if table not in verified:
            verified[table] = verify.execute(context={})

        class Ti(FirstTry):
            def xcom_pull(self, task_ids: str) -> Any:
                return verified[table] if task_ids == "verify" else None

        load.bench_context = {"ti": Ti()}
        return load

    return {
        "Amazon S3ToRedshiftOperator (APPEND)": amazon,
        "ours, defaults (4 preflight checks, ledger)": ours(),
        "ours after S3VerifyBucketOperator (checks reused)": after_verification,
        "ours, preflight_checks=()": ours(preflight_checks=()),
        "ours, preflight_checks=(), use_ledger=False": ours(preflight_checks=(), use_ledger=False),
        # the Data API transport: the same loads over HTTPS (one BatchExecuteStatement), no connection
        "Amazon S3ToRedshiftOperator (APPEND) over the Data API": amazon_data_api,
        "ours over the Data API (defaults)": ours(redshift_data_api_kwargs=DATA_API),
        "ours over the Data API, preflight_checks=()": ours(
            redshift_data_api_kwargs=DATA_API, preflight_checks=()
        ),
    }


def add_latency(seconds: float) -> None:
    """Make every AWS call of every botocore session created from now on wait ``seconds`` before it is sent.

    The local stack answers in a few ms; an AWS API's round trip from a worker in the same region takes
    tens. This shows what running calls one after another costs where the network, not the CPU, dominates.
    """
    import botocore.handlers

    def wait(**_: Any) -> None:
        time.sleep(seconds)

    botocore.handlers.BUILTIN_HANDLERS.append(("before-send", wait))


STEP_LABELS: list[str] = []


@contextlib.contextmanager
def step_timers(totals: collections.Counter[str], counts: collections.Counter[str]) -> Iterator[None]:
    """Wrap the operator's steps (and what they call) with timers adding to ``totals``; undo on exit.

    ``counts`` gets how many times each step ran, and ``client <service>`` for each boto3 client created.
    """
    import botocore.session
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    from airflow_redshift_s3 import ledger
    from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook
    from airflow_redshift_s3.transfers.copy import catalog, listing
    from airflow_redshift_s3.transfers.copy import preflight as _copy_preflight
    from airflow_redshift_s3.transfers.copy.load import Load

    targets = [
        (listing, "list_files", "list files (ListObjectsV2)"),
        (catalog, "resolve_table", "read the table's columns"),
        (_copy_preflight, "run_preflight", "preflight, total"),
        (RedshiftIamRoleHook, "get_roles_and_region", "  preflight: cluster roles and region"),
        (_copy_preflight, "region_checks", "  preflight: region checks"),
        (_copy_preflight, "role_checks", "  preflight: role and access checks"),
        (_copy_preflight, "format_checks", "  preflight: format sniff"),
        (ledger, "ensure_ledger", "ledger: exists, upgraded, writable"),
        (Load, "run", "load transaction (LOCK, manifest, COPY, ledger, COMMIT, manifests deleted)"),
        (RedshiftSQLHook, "get_conn", "of all the above: opening Redshift connections"),
        (botocore.session.Session, "create_client", "of all the above: creating boto3 clients"),
    ]
    STEP_LABELS[:] = [label for _, _, label in targets]
    saved = []
    for owner, name, label in targets:
        original = owner.__dict__[name]
        function = original.__func__ if isinstance(original, (staticmethod, classmethod)) else original

        def timed(*args: Any, _function: Any = function, _label: str = label, **kwargs: Any) -> Any:
            counts[_label] += 1
            if _function.__name__ == "create_client":
                counts[f"client {kwargs.get('service_name') or args[1]}"] += 1
            start = time.perf_counter()
            try:
                return _function(*args, **kwargs)
            finally:
                totals[_label] += time.perf_counter() - start

        saved.append((owner, name, original))
        setattr(owner, name, functools.wraps(function)(timed))
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def client_creation_ms(endpoint_url: str, repeat: int = 5) -> dict[str, float]:
    """Return the mean ms to create the operator's three boto3 clients (s3, redshift, iam): each from a new
    session (the Amazon provider's AwsBaseHook default: each session's loader reads and parses the service's
    model again), each from a new session sharing one botocore loader (what this package's hooks do), all
    from one new session, and again from that session once it has them."""
    import boto3

    from airflow_redshift_s3.hooks._shared_loader import share_loader

    options = {
        "region_name": "us-east-1",
        "endpoint_url": endpoint_url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    services = ("s3", "redshift", "iam")
    for service in services:
        boto3.session.Session().client(service, **options)  # warm: imports, the OS file cache
    totals = collections.Counter()
    for _ in range(repeat):
        start = time.perf_counter()
        for service in services:
            boto3.session.Session().client(service, **options)
        totals["a new session for each client (AwsBaseHook's default)"] += time.perf_counter() - start
        start = time.perf_counter()
        for service in services:
            share_loader(boto3.session.Session()).client(service, **options)
        totals["a new session each, one shared loader (this package's hooks)"] += time.perf_counter() - start
        start = time.perf_counter()
        session = boto3.session.Session()
        for service in services:
            session.client(service, **options)
        totals["one new session for the three"] += time.perf_counter() - start
        start = time.perf_counter()
        for service in services:
            session.client(service, **options)
        totals["the same session again (a long-lived process)"] += time.perf_counter() - start
    return {name: round(total / repeat * 1000, 1) for name, total in totals.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed runs of each variant (15)")
    parser.add_argument("--profile-runs", type=int, default=5, help="untimed runs with step timers (5)")
    parser.add_argument("--rows", type=int, default=100, help="rows in the small file (100)")
    parser.add_argument(
        "--aws-latency-ms",
        type=float,
        default=0.0,
        help="add this many ms to every AWS call, as a round trip to AWS would (0: the local stack's own)",
    )
    args = parser.parse_args()
    _common.time_limit(600)
    _common.airflow_environment()
    calls = Calls()
    install_counters(calls)  # before any botocore session exists
    if args.aws_latency_ms:
        add_latency(args.aws_latency_ms / 1000)
    result: dict[str, Any] = {"machine": _common.machine_info(), "parameters": vars(args)}
    began = time.monotonic()
    body = gzip.compress(
        "".join(
            f"{i},customer-{i:05d},{i * 1.25:.2f},2026-11-{i % 28 + 1:02d}\n" for i in range(args.rows)
        ).encode()
    )
    with _common.StackProcess() as stack:
        stack.use_environment()
        role_arn = stack.info["role_arn"]
        extra = {
            "endpoint_url": stack.info["aws_endpoint_url"],
            "region_name": "us-east-1",
            "role_arn": role_arn,
        }
        os.environ["AIRFLOW_CONN_AWS_COPY_ROLE"] = json.dumps(
            {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
        )
        _common.allow_execute_outside_task_runner()
        s3 = stack.aws_client("s3")
        s3.create_bucket(Bucket=BUCKET)
        variants = make_variants(role_arn)
        names = list(variants)
        tables = {name: f"overhead_{index}" for index, name in enumerate(names)}
        conn = stack.redshift_connection()
        conn.autocommit = True
        for table in tables.values():
            conn.cursor().execute(f"CREATE TABLE public.{table} {DDL}")
        conn.close()
        counter = iter(range(10**6))

        def run(name: str) -> tuple[float, dict[str, int], dict[str, int]]:
            prefix = f"{tables[name]}/run-{next(counter):05d}/"
            s3.put_object(Bucket=BUCKET, Key=f"{prefix}part-0000.csv.gz", Body=body)
            operator = variants[name](prefix, tables[name])
            calls.reset()
            calls.armed = True
            start = time.perf_counter()
            context = {} if name == names[0] else {"ti": FirstTry()}
            operator.execute(context=getattr(operator, "bench_context", context))
            seconds = time.perf_counter() - start
            calls.armed = False
            return seconds, dict(calls.aws), dict(calls.sql)

        for _ in range(2):  # warm-up: imports, first connections, the ledger's creation
            for name in names:
                run(name)
        seconds: dict[str, list[float]] = {name: [] for name in names}
        aws: dict[str, dict[str, int]] = {}
        sql: dict[str, dict[str, int]] = {}
        for rnd in range(args.rounds):
            for name in names[rnd % len(names) :] + names[: rnd % len(names)]:
                elapsed, aws[name], sql[name] = run(name)
                seconds[name].append(elapsed)
        profile: collections.Counter[str] = collections.Counter()
        profile_counts: collections.Counter[str] = collections.Counter()
        profile_totals: list[float] = []
        with step_timers(profile, profile_counts):
            for _ in range(args.profile_runs):
                profile_totals.append(run(names[1])[0])
        rows = check_rows(stack, tables, args.rows * (args.rounds + 2))
        result["boto3_client_creation"] = client_creation_ms(stack.info["aws_endpoint_url"])
    amazon = _common.median(seconds[names[0]])
    result["variants"] = [
        {
            "variant": name,
            "median_ms": round(_common.median(seconds[name]) * 1000, 1),
            "best_ms": round(min(seconds[name]) * 1000, 1),
            "runs_ms": [round(s * 1000, 1) for s in seconds[name]],
            "ratio_to_amazon": _common.ratio(_common.median(seconds[name]), amazon),
            "aws_api_calls": sum(aws[name].values()),
            "aws_api_calls_by_operation": dict(sorted(aws[name].items())),
            "sql": dict(sorted(sql[name].items())),
        }
        for name in names
    ]
    result["ratio_defaults_to_amazon"] = result["variants"][1]["ratio_to_amazon"]
    result["profile_of_defaults"] = {
        "runs": args.profile_runs,
        "mean_total_ms": round(sum(profile_totals) / len(profile_totals) * 1000, 1),
        "mean_ms_by_step": {k: round(profile[k] / args.profile_runs * 1000, 1) for k in STEP_LABELS},
        "calls_per_run_by_step": {k: profile_counts[k] / args.profile_runs for k in STEP_LABELS},
        "boto3_clients_per_run": {
            k.split(" ", 1)[1]: n / args.profile_runs
            for k, n in profile_counts.items()
            if k.startswith("client ")
        },
    }
    result["rows_check"] = rows
    result["total_seconds"] = round(time.monotonic() - began, 1)
    path = _common.write_result(
        "per_load_overhead" + (f"_latency_{args.aws_latency_ms:g}ms" if args.aws_latency_ms else ""), result
    )

    _common.print_table(
        ("variant", "median ms", "best ms", "x Amazon", "AWS calls", "SQL stmts", "commits", "connections"),
        [
            (
                v["variant"],
                v["median_ms"],
                v["best_ms"],
                v["ratio_to_amazon"],
                v["aws_api_calls"],
                sum(n for k, n in v["sql"].items() if k != "connection opened" and "(driver)" not in k),
                v["sql"].get("COMMIT (driver)", 0) + v["sql"].get("COMMIT", 0),
                v["sql"].get("connection opened", 0),
            )
            for v in result["variants"]
        ],
        title=f"one {len(body)}-byte gzip CSV file ({args.rows} rows), median of {args.rounds} rounds",
    )
    ratios = {v["variant"]: v["ratio_to_amazon"] for v in result["variants"]}
    print(f"ours (defaults) / Amazon: {result['ratio_defaults_to_amazon']}x (target <= 1.5x)")
    print(f"ours after a verification / Amazon: {ratios[names[2]]}x (target <= 1.5x)")
    print(f"ours, preflight_checks=() / Amazon: {ratios[names[3]]}x (target <= 1.2x)")
    amazon_data_api = _common.median(seconds[names[5]])
    for name in names[6:]:
        print(
            f"{name} / Amazon over the Data API: {round(_common.median(seconds[name]) / amazon_data_api, 2)}x"
        )
    ops = sorted({op for v in result["variants"] for op in v["aws_api_calls_by_operation"]})
    _common.print_table(
        ("AWS API call", *(f"#{i}" for i in range(len(names)))),
        [(op, *(v["aws_api_calls_by_operation"].get(op, 0) for v in result["variants"])) for op in ops]
        + [
            ("SQL " + k, *(v["sql"].get(k, 0) for v in result["variants"]))
            for k in sorted({k for v in result["variants"] for k in v["sql"]})
        ],
        title="calls per load, by variant (#0 Amazon, #1 ours defaults, #2 ours after a verification, "
        "#3 no preflight, #4 no preflight/ledger, #5 Amazon over the Data API, #6 ours over the Data API, "
        "#7 ours over the Data API without preflight)",
    )
    steps = result["profile_of_defaults"]
    _common.print_table(
        ("step of ours, defaults", "mean ms", "calls"),
        [(k, v, steps["calls_per_run_by_step"][k]) for k, v in steps["mean_ms_by_step"].items()]
        + [("whole execute()", steps["mean_total_ms"], 1)],
        title=f"where the time goes ({args.profile_runs} runs with step timers); "
        "boto3 clients created per load: "
        + ", ".join(f"{k} x{v:g}" for k, v in steps["boto3_clients_per_run"].items()),
    )
    _common.print_table(
        ("creating the s3, redshift and iam clients", "ms"),
        list(result["boto3_client_creation"].items()),
        title="what the operator's three boto3 clients cost",
    )
    print(f"\nwrote {path.relative_to(_common.ROOT)} in {result['total_seconds']} s")
    return 0


def check_rows(stack: _common.StackProcess, tables: dict[str, str], expected: int) -> dict[str, int]:
    """Return the rows in each table, checking that every load loaded its file."""
    conn = stack.redshift_connection()
    counts = {}
    try:
        cursor = conn.cursor()
        for name, table in tables.items():
            cursor.execute(f"SELECT count(*) FROM public.{table}")
            counts[name] = int(cursor.fetchone()[0])
    finally:
        conn.close()
    for name, count in counts.items():
        assert count >= expected, f"{name}: {count} rows, expected at least {expected}"
    return counts


if __name__ == "__main__":
    sys.exit(main())
