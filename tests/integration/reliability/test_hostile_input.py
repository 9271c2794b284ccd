"""Hostile and malformed values never reach SQL unquoted: they are refused before any SQL, or bound/quoted.

Most values go through the trigger form of ``dags/s3_to_redshift_manual.py`` as Params of a real
``dag.test(run_conf=...)``. The form (JSON schema) refuses most of them at once
(``ParamValidationError``, no run). The ones it lets through (no pattern on the partition value, names
that do not exist) must be refused by a task before any SQL reaches the gateway, or be bound and quoted
so that they only ever mean data. The column list and the schema are not Params of the manual DAG: they
are covered by running ``S3ToRedshiftCopyOperator`` directly with a minimal context.

"Before any SQL" is observed at the local gateway itself (``gateway_sql``: every connection and statement
it receives), and "the database is unchanged" by comparing every table of the test's schema, rows
included, before and after.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from reliability_support import task_context

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

MANUAL_DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / "s3_to_redshift_manual.py"
LONG = 2000  # characters: far past every limit (127-byte names, 256-character values, 1024-byte keys)

# -- refused by the form: {Param: [values]}; each costs a dag.test() call that stops before creating a run --
FORM_REFUSED = {
    "table": [
        "items; DROP TABLE victim; --",
        'items"; DELETE FROM "victim',
        "items' OR '1'='1",
        "items/**/",
        "items -- comment",
        "items\u037e DROP TABLE victim",  # GREEK QUESTION MARK, looks like ';'
        "\uff49\uff54\uff45\uff4d\uff53",  # full-width 'items'
        "it\u0435ms",  # Cyrillic small ie
        "items\u200b",  # zero-width space
        "",
        "t" * LONG,
        "a.b.items",
        " items",
        "1items",
        "items\x00",
        'sch."items"',
        "items\n",  # "$" would match before it in Python's re: the patterns end with a lookahead
    ],
    "prefix": [
        "",
        "/in/",
        "s3://other-bucket/in/",
        "in/*.csv",
        "in/?",
        "in/[ab]/",
        "in/\x00",
        "in/\r\nDROP TABLE victim",
        "in/\t",
        "in/\x1b[31m",
        "in/\n",
    ],
    "partition_column": [
        "load_date; DROP TABLE victim",
        'load_date"',
        "load_date--",
        "l\u043ead_date",  # Cyrillic small o
        "",
        "c" * LONG,
        "load date",
        "load_date\n",
    ],
    "upsert_keys": [
        ["id; DROP TABLE victim"],
        ['id"'],
        ["id --"],
        [""],
        ["\uff49\uff44"],  # full-width 'id'
        ["id", "id) OR (1=1"],
        ["k" * LONG],
        "id",  # not a list
        [1],
        ["id\n"],
    ],
    "partition_value": [20261127, ["2026-11-27"], {"$gt": ""}, True],
    "bucket": ["bucket; drop", "Upper_Case", "s3://bucket", "b", "bucket/../x", "demo-bucket\n"],
    "iam_role_arn": [
        "arn:aws:iam::123456789012:role/x' CREDENTIALS 'aws_access_key_id=AKIA",
        "default; DROP TABLE victim",
        "arn:aws:iam::123456789012:role/redshift-copy-role\n",
        "arn:aws:iam::123456789012:role/r;--",
        "",
    ],
    "mode": ["append; DROP TABLE victim", "APPEND", ""],
    "format": ["csv' DELIMITER '|", "xml"],
    "cluster_identifier": [""],
}

# -- accepted by the form, refused by a task before any SQL: (Param overrides, refusing task, message part) --
# "{schema}", "{bucket}" and "{role}" are filled in per test.
TASK_REFUSED = [
    pytest.param(
        {"mode": "upsert", "partition_column": None, "partition_value": None, "upsert_keys": []},
        "validate_request",
        "upsert_keys is empty",
        id="upsert-keys-empty",
    ),
    pytest.param(
        {"cluster_identifier": "local-cluster'; DROP TABLE victim; --"},
        "verify_bucket",
        "Redshift cluster 'local-cluster'; DROP TABLE victim; --' was not found",
        id="cluster-injection",
    ),
    pytest.param({"prefix": "p" * LONG}, "verify_bucket", "No object under s3://", id="prefix-very-long"),
    pytest.param(
        {"prefix": "in/s3://other-bucket/"},
        "verify_bucket",
        "contains an s3:// URI",
        id="prefix-s3-url-inside",
    ),
    pytest.param(
        {"partition_value": ""},
        "validate_request",
        "partition column or value is empty",
        id="partition-empty",
    ),
    pytest.param(
        {"partition_value": "2026-11-27'; DELETE FROM {schema}.victim; --"},
        "load",
        "partition_value",
        id="partition-quote-injection",
    ),
    pytest.param(
        {"partition_value": "2026-11-27\nDROP TABLE victim"},
        "load",
        "partition_value",
        id="partition-newline",
    ),
    pytest.param(
        {"partition_value": "2026-11-27 /* c */"}, "load", "partition_value is", id="partition-comment"
    ),
    pytest.param(
        {"partition_value": '2026-11-27"'}, "load", "partition_value is", id="partition-double-quote"
    ),
    pytest.param({"partition_value": "2026-11-27\\"}, "load", "partition_value is", id="partition-backslash"),
    pytest.param(
        {"partition_value": " 2026-11-27"}, "load", "partition_value is", id="partition-leading-blank"
    ),
    pytest.param({"partition_value": "v" * LONG}, "load", "partition_value is", id="partition-very-long"),
    pytest.param(
        {"partition_value": "2026-11-27\u037e DROP TABLE victim"},
        "load",
        "partition_value",
        id="partition-greek-question-mark",
    ),
    pytest.param(
        {"partition_value": "2026\u201011\u201027"},
        "load",
        "partition_value is",
        id="partition-unicode-hyphens",
    ),
]

# A key prefix S3 allows and SQL would choke on: it only ever travels in the manifest and as a bound value.
HOSTILE_PREFIX = 'in/it\'s "q"; DROP TABLE victim; -- \u210c\u00e9 (c) %s $1 \\ /'
# A partition value the operator accepts (letters in any script, digits, '-', space): always bound.
HOSTILE_PARTITION = "\u00fcn\u00efc\u00f6d\u00e9-2026 -- DROP TABLE victim"

BEFORE_ITEMS = [(7, "kept", "2026-11-26"), (8, "old", "2026-11-27")]


@pytest.fixture
def manual(load_dag_source, local_redshift_env, s3_bucket, copy_role_arn, db, monkeypatch):
    """The manual DAG, a table with rows, an innocent bystander table, one file, and a form that loads it.

    The DAG file is read from dags/ and put alone in its bundle: every dag.test() parses and serialises
    every DAG of the bundle, and the other example DAGs would triple the cost of each of the ~85 calls.
    """
    monkeypatch.setenv("REDSHIFT_S3_WAITER_DELAY", "0.2")
    dag = load_dag_source(MANUAL_DAG_FILE.read_text(), "s3_to_redshift_manual").dag
    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="in/a.csv", Body=b"id,name\n1,a\n2,b\n")
    db.run(f"create table {db.schema}.items (id int, name varchar(64), load_date varchar(256))")
    db.run(f"insert into {db.schema}.items values (7, 'kept', '2026-11-26'), (8, 'old', '2026-11-27')")
    db.run(f"create table {db.schema}.victim (id int)")
    db.run(f"insert into {db.schema}.victim values (1)")
    conf = {
        "bucket": s3_bucket,
        "prefix": "in/",
        "table": f"{db.schema}.items",
        "iam_role_arn": copy_role_arn,
        "cluster_identifier": "local-cluster",
        "mode": "replace_partition",
        "partition_column": "load_date",
        "partition_value": "2026-11-27",
    }
    if "compression" in dag.params:  # a newer form: the test files are not compressed
        conf["compression"] = "none"
    fill = {"schema": db.schema, "bucket": s3_bucket, "role": copy_role_arn}
    return SimpleNamespace(dag=dag, conf=conf, fill=fill, s3=s3)


def _states(run) -> dict[str, tuple[str, int]]:
    return {ti.task_id: (str(ti.state), int(ti.try_number)) for ti in run.get_task_instances()}


@pytest.mark.parametrize("param", sorted(FORM_REFUSED))
def test_the_form_refuses_hostile_params(manual, db, gateway_sql, param):
    from airflow.sdk.definitions.param import ParamValidationError

    before = db.snapshot()
    mark = gateway_sql.mark()
    accepted = []
    for value in FORM_REFUSED[param]:
        try:
            manual.dag.test(run_conf={**manual.conf, param: value})
        except ParamValidationError:
            continue
        accepted.append(value)
    assert accepted == []
    assert gateway_sql.since(mark) == []
    assert db.snapshot() == before


@pytest.mark.parametrize(("overrides", "refused_by", "message"), TASK_REFUSED)
def test_a_task_refuses_hostile_params_before_any_sql(
    manual, db, gateway_sql, capfd, overrides, refused_by, message
):
    overrides = {k: v.format(**manual.fill) if isinstance(v, str) else v for k, v in overrides.items()}
    before = db.snapshot()
    mark = gateway_sql.mark()
    capfd.readouterr()
    run = manual.dag.test(run_conf={**manual.conf, **overrides})
    reached = gateway_sql.since(mark)
    output = "".join(capfd.readouterr())
    states = _states(run)
    assert str(run.state) == "failed", states
    assert states[refused_by] == ("failed", 1), states  # failed at once: no retry despite retries=1
    if refused_by != "load":
        assert states["load"][0] == "upstream_failed", states
    assert reached == []  # not even a connection to Redshift
    assert db.snapshot() == before
    assert message.format(**manual.fill) in output  # the refusal names what is wrong


def test_a_very_long_number_as_partition_value_is_refused_before_any_sql(manual, db, gateway_sql):
    manual.dag.task_dict["load"].retries = 0  # today's failure is retryable: do not wait out the retry delay
    before = db.snapshot()
    mark = gateway_sql.mark()
    run = manual.dag.test(run_conf={**manual.conf, "partition_value": "9" * 300})
    reached = gateway_sql.since(mark)
    assert _states(run)["load"] == ("failed", 1)
    assert db.snapshot() == before
    assert reached == []


def test_a_hostile_prefix_is_only_ever_data(manual, db, gateway_sql):
    manual.s3.put_object(
        Bucket=manual.conf["bucket"], Key=f"{HOSTILE_PREFIX}a.csv", Body=b"id,name,day\n3,c,d\n"
    )
    mark = gateway_sql.mark()
    run = manual.dag.test(
        run_conf={
            **manual.conf,
            "prefix": HOSTILE_PREFIX,
            "mode": "append",
            "partition_column": None,
            "partition_value": None,
        }
    )
    statements = gateway_sql.since(mark)
    assert str(run.state) == "success", _states(run)
    assert statements and not any(HOSTILE_PREFIX in sql for sql in statements)  # data, never SQL text
    assert db.tables() == {"items", "victim", "s3_load_ledger"}
    assert db.run(f"select id from {db.schema}.victim") == [(1,)]
    assert sorted(db.run(f"select * from {db.schema}.items")) == [(3, "c", "d"), *BEFORE_ITEMS]
    assert [row[0] for row in db.ledger()] == [f"{HOSTILE_PREFIX}a.csv"]


def test_a_hostile_partition_value_is_bound_not_spliced(manual, db, gateway_sql):
    mark = gateway_sql.mark()
    run = manual.dag.test(run_conf={**manual.conf, "partition_value": HOSTILE_PARTITION})
    statements = gateway_sql.since(mark)
    assert str(run.state) == "success", _states(run)
    assert statements and not any(HOSTILE_PARTITION in sql for sql in statements)  # a parameter, not text
    assert db.tables() == {"items", "victim", "s3_load_ledger"}
    assert db.run(f"select id from {db.schema}.victim") == [(1,)]
    assert sorted(db.run(f"select * from {db.schema}.items")) == sorted(
        [*BEFORE_ITEMS, (1, "a", HOSTILE_PARTITION), (2, "b", HOSTILE_PARTITION)]
    )
    assert [row[2] for row in db.ledger()] == [HOSTILE_PARTITION]


# -- the column list and the schema: not Params of the manual DAG, so through the operator itself ----------

COLUMN_LISTS = [
    ["id; DROP TABLE victim"],
    ['id"'],
    ["id -- c"],
    ["id/*"],
    ["\uff49\uff44"],  # full-width
    ["\u0456d"],  # Cyrillic small i
    [""],
    ["x" * LONG],
    ["id", "id"],
    "id, name",  # a string, not a list
    [],
    ["id\n"],
    ["id\u200b"],
    [None],
    ["1id"],
]
# what the relaxed policy (strict_identifiers=False, for existing odd names) still refuses
RELAXED_COLUMN_LISTS = [["id\u200b"], ["\uff49\uff44"], [" id"], ["id\n"], ["x" * LONG], ["id\x00"]]
# a Cyrillic dze for s; a right-to-left override. (An empty schema is no schema: the current one.)
SCHEMAS = [
    "victim; --",
    'rel"',
    "\u0455chema",
    "a.b",
    "s" * LONG,
    "sch\u202eema",
]
RELAXED_SCHEMAS = ["s" * LONG, "sch\u202eema", " rel", "\uff52el", "rel\n"]


@pytest.fixture
def operator_env(local_redshift_env, s3_bucket, copy_role_arn, db):
    local_redshift_env.aws_client("s3").put_object(Bucket=s3_bucket, Key="in/a.csv", Body=b"1,a\n")
    db.run(f"create table {db.schema}.items (id int, name varchar(64))")
    db.run(f"create table {db.schema}.victim (id int)")
    db.run(f"insert into {db.schema}.victim values (1)")

    def run(**kwargs):
        from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

        args = {
            "task_id": "load",
            "bucket": s3_bucket,
            "prefix": "in/",
            "table": f"{db.schema}.items",
            "iam_role_arn": copy_role_arn,
            "cluster_identifier": "local-cluster",
            "preflight_checks": (),
        }
        return S3ToRedshiftCopyOperator(**{**args, **kwargs}).execute(task_context())

    return run


def _refused(run, cases: list[dict]) -> list[dict]:
    """Return the cases the operator did not refuse with a ConfigCheckError (an AirflowFailException)."""
    from airflow_redshift_s3.exceptions import ConfigCheckError

    accepted = []
    for kwargs in cases:
        try:
            run(**kwargs)
        except ConfigCheckError:
            continue
        accepted.append(kwargs)
    return accepted


def test_the_operator_refuses_hostile_column_lists_and_schemas(operator_env, db, gateway_sql):
    before = db.snapshot()
    mark = gateway_sql.mark()
    cases = [
        *({"column_list": c} for c in COLUMN_LISTS),
        *({"column_list": c, "strict_identifiers": False} for c in RELAXED_COLUMN_LISTS),
        *({"table": "items", "schema": s} for s in SCHEMAS),
        *({"table": "items", "schema": s, "strict_identifiers": False} for s in RELAXED_SCHEMAS),
    ]
    assert _refused(operator_env, cases) == []
    assert gateway_sql.since(mark) == []
    assert db.snapshot() == before


def test_an_odd_existing_column_name_is_quoted_when_allowed(operator_env, db):
    odd = 'na"me; drop table victim; --'  # lower case: Redshift folds quoted identifiers too
    quoted = '"' + odd.replace('"', '""') + '"'
    db.run(f"create table {db.schema}.odd (id int, {quoted} varchar(8))")
    summary = operator_env(table=f"{db.schema}.odd", column_list=["id", odd], strict_identifiers=False)
    assert summary["rows_loaded"] == 1
    assert db.run(f"select * from {db.schema}.odd") == [(1, "a")]
    assert db.tables() == {"items", "victim", "odd", "s3_load_ledger"}
    assert db.run(f"select id from {db.schema}.victim") == [(1,)]
