"""The example DAGs' flow, written once, on the local stack or on real AWS (see conftest.py).

``redshift_s3_setup`` creates a temporary role with read access to the test's prefix and attaches it to the
cluster; ``s3_to_redshift_daily`` loads one day, twice (the rerun replaces the day); ``s3_to_redshift_manual``
loads a second day into its partition. Every run is ``dag.test()``; the rows are read back through the
``redshift_default`` connection. Only provisioned clusters: the daily and manual DAGs take a cluster.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_redshift_s3.demo import load_dag_file

pytestmark = [pytest.mark.integration, pytest.mark.system]

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAY_1, DAY_2 = "2026-11-27", "2026-11-28"
FILES = {DAY_1: b"id,name\n1,a\n2,b\n", DAY_2: b"id,name\n3,c\n4,d\n5,e\n"}


def _states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_setup_then_daily_then_manual(system_target):
    target = system_target
    setup = load_dag_file(DAGS, "redshift_s3_setup")
    conf = {"role_name": target.role_name, "bucket": target.bucket, "prefix": target.prefix,
            "redshift_type": "cluster", "cluster_identifier": target.cluster}  # fmt: skip
    run = setup.test(run_conf=conf)
    iam = target.aws_client("iam")
    role_arn = iam.get_role(RoleName=target.role_name)["Role"]["Arn"]  # created, even if a later task failed
    target.role_arns.append(role_arn)
    assert str(run.state) == "success", _states(run)

    s3 = target.aws_client("s3")
    for day, body in FILES.items():
        s3.put_object(Bucket=target.bucket, Key=f"{target.prefix}{day}/part-0.csv", Body=body)
        s3.put_object(Bucket=target.bucket, Key=f"{target.prefix}{day}/_SUCCESS", Body=b"")
    table = f"{target.schema}.sales"
    target.query(f"create schema {target.schema}")
    target.query(f"create table {table} (id int, name varchar(5), load_date date)")

    def rows() -> list[tuple[Any, ...]]:
        return target.query(f"select id, name, load_date::varchar from {table} order by id")

    daily = load_dag_file(DAGS, "s3_to_redshift_daily")
    conf = {"bucket": target.bucket, "prefix": target.prefix, "table": table, "iam_role_arn": role_arn,
            "cluster_identifier": target.cluster, "compression": "none"}  # fmt: skip
    logical_date = datetime.datetime.fromisoformat(DAY_1).replace(tzinfo=datetime.timezone.utc)
    for _ in range(2):  # the rerun replaces the day's rows
        run = daily.test(logical_date=logical_date, run_conf=conf)
        assert str(run.state) == "success", _states(run)
        assert rows() == [(1, "a", DAY_1), (2, "b", DAY_1)]

    manual = load_dag_file(DAGS, "s3_to_redshift_manual")
    conf = {"bucket": target.bucket, "prefix": f"{target.prefix}{DAY_2}/", "table": table,
            "iam_role_arn": role_arn, "cluster_identifier": target.cluster, "format": "csv",
            "compression": "none", "mode": "replace_partition", "partition_column": "load_date",
            "partition_value": DAY_2}  # fmt: skip
    run = manual.test(run_conf=conf)
    assert str(run.state) == "success", _states(run)
    assert rows() == [(1, "a", DAY_1), (2, "b", DAY_1), (3, "c", DAY_2), (4, "d", DAY_2), (5, "e", DAY_2)]
