"""``s3_to_redshift_manual``: a valid form loads, a dry run loads nothing, invalid values are refused."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def setup(load_dag, local_redshift_env, s3_bucket, redshift_schema, copy_role_arn, query):
    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="in/a.csv", Body=b"id,name\n1,a\n2,b\n")
    table = f"{redshift_schema}.items"
    query(f"create table {table} (id int, name varchar(5))")
    conf = {"bucket": s3_bucket, "prefix": "in/", "table": table, "iam_role_arn": copy_role_arn,
            "compression": "none", "mode": "append"}  # fmt: skip
    return load_dag("s3_to_redshift_manual"), conf, table


def test_dry_run_then_load(setup, query, task_states):
    dag, conf, table = setup
    run = dag.test(run_conf={**conf, "dry_run": True})
    states = task_states(run)
    assert str(run.state) == "success", states
    assert states["verify_bucket"] == "success"
    assert states["load"] == "skipped"
    assert query(f"select count(*) from {table}") == [(0,)]

    run = dag.test(run_conf={**conf, "dry_run": False, "mode": "upsert", "upsert_keys": ["id"]})
    assert str(run.state) == "success", task_states(run)
    assert query(f"select id, name from {table} order by id") == [(1, "a"), (2, "b")]


def test_the_form_loads_through_the_data_api(setup, local_redshift_env, query, task_states):
    """The "Transport" field: the same load as one BatchExecuteStatement, no connection to the cluster."""
    dag, conf, table = setup
    data_api = local_redshift_env.aws_client("redshift-data")
    before = {s["Id"] for s in data_api.list_statements(MaxResults=100)["Statements"]}
    run = dag.test(run_conf={**conf, "dry_run": False, "transport": "data_api"})
    assert str(run.state) == "success", task_states(run)
    assert query(f"select id, name from {table} order by id") == [(1, "a"), (2, "b")]
    batches = [
        s for s in data_api.list_statements(MaxResults=100)["Statements"]
        if s["Id"] not in before and s.get("IsBatchStatement")
    ]  # fmt: skip
    assert len(batches) == 1 and any(q.startswith("COPY") for q in batches[0]["QueryStrings"])


def test_invalid_param_refused(setup, query):
    from airflow.sdk.definitions.param import ParamValidationError

    dag, conf, table = setup
    with pytest.raises(ParamValidationError, match="format"):
        dag.test(run_conf={**conf, "format": "xml"})
    assert query(f"select count(*) from {table}") == [(0,)]


def test_inconsistent_params_fail_in_first_task(setup, query, task_states):
    dag, conf, table = setup
    run = dag.test(run_conf={**conf, "mode": "upsert"})
    states = task_states(run)
    assert states["validate_request"] == "failed"
    assert states["load"] != "success"
    assert query(f"select count(*) from {table}") == [(0,)]


def test_every_inconsistent_field_is_listed_at_once_fix_first(setup, capfd, task_states):
    dag, conf, _ = setup
    capfd.readouterr()
    run = dag.test(
        run_conf={
            **conf,
            "mode": "replace_partition",
            "partition_column": None,
            "partition_value": "",
            "format": "parquet",
            "compression": "gzip",
        }
    )
    assert task_states(run)["validate_request"] == "failed"
    output = "".join(capfd.readouterr())
    assert "Fix the trigger form (2 field(s)), then trigger again:" in output
    assert "Fix: fill 'Partition column' and fill 'Partition value', or choose another 'Load mode'" in output
    assert "Fix: set 'Compression' to none (format is 'parquet' and compression is 'gzip'" in output


def test_parquet_with_a_compression_is_refused_in_the_first_task(setup, query, task_states):
    dag, conf, table = setup
    run = dag.test(run_conf={**conf, "format": "parquet", "compression": "gzip"})
    states = task_states(run)
    assert states["validate_request"] == "failed"
    assert states["load"] == "upstream_failed"
    assert query(f"select count(*) from {table}") == [(0,)]


def test_gzip_csv(setup, local_redshift_env, s3_bucket, query, task_states):
    import gzip

    dag, conf, table = setup
    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="gz/a.csv.gz", Body=gzip.compress(b"id,name\n7,g\n"))
    run = dag.test(run_conf={**conf, "prefix": "gz/", "compression": "gzip", "dry_run": False})
    assert str(run.state) == "success", task_states(run)
    assert query(f"select id, name from {table}") == [(7, "g")]


def test_a_role_not_set_up_says_to_run_the_setup_dag_first(setup, capfd, task_states):
    dag, conf, _ = setup
    capfd.readouterr()
    run = dag.test(run_conf={**conf, "iam_role_arn": "arn:aws:iam::123456789012:role/never-set-up"})
    assert task_states(run)["verify_bucket"] == "failed"
    output = "".join(capfd.readouterr())
    assert "FAILURE [permission] Fix: run the redshift_s3_setup DAG (it creates role 'never-set-up'" in output


def test_the_form_decides_which_duplicate_row_an_upsert_keeps(setup, local_redshift_env, query, task_states):
    dag, conf, table = setup
    s3 = local_redshift_env.aws_client("s3")
    query(f"alter table {table} add column version int")
    s3.put_object(Bucket=conf["bucket"], Key="in/a.csv", Body=b"id,name,version\n1,new,2\n1,old,1\n")
    upsert = {**conf, "mode": "upsert", "upsert_keys": ["id"]}
    refused = dag.test(run_conf=upsert)  # the default: several rows of key 1, no rule: nothing loaded
    assert task_states(refused)["load"] == "failed"
    assert query(f"select count(*) from {table}") == [(0,)]
    greatest = {**upsert, "on_duplicate_keys": "keep_greatest", "duplicate_order_column": "version"}
    run = dag.test(run_conf=greatest)
    assert str(run.state) == "success", task_states(run)
    assert query(f"select id, name, version from {table}") == [(1, "new", 2)]
    missing = dag.test(run_conf={**greatest, "duplicate_order_column": None})  # keep_greatest, no column
    assert task_states(missing)["validate_request"] == "failed"
