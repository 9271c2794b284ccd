"""The COPY reuses an upstream S3VerifyBucketOperator's checks of the same run instead of asking AWS again.

Two DAGs, identical but for ``reuse_upstream_checks``: verify ``s3://bucket/day/`` for the role and the
cluster, then load ``day/2026-11-27/``. Every AWS call of each run is counted with a ``before-call`` handler
that every new botocore session registers (``botocore.handlers.BUILTIN_HANDLERS``), so the hooks' own
sessions are counted without patching them. The runs differ by the calls the COPY's preflight saves.
"""

from __future__ import annotations

import collections
import textwrap
from typing import Any

import pytest

from airflow_redshift_s3.transfers.copy.request import build_request
from airflow_redshift_s3.transfers.copy.verdicts import covers

pytestmark = pytest.mark.integration

DAG_FILE = textwrap.dedent(
    """
    from __future__ import annotations

    import datetime

    from airflow.sdk import DAG

    from airflow_redshift_s3.operators.s3_verify import S3VerifyBucketOperator
    from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

    with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        verify = S3VerifyBucketOperator(
            task_id="verify", bucket="{bucket}", prefix="day/", iam_role_arn="{role}",
            cluster_identifier="local-cluster",
        )
        load = S3ToRedshiftCopyOperator(
            task_id="load", bucket="{bucket}", prefix="day/2026-11-27/", table="{schema}.events_{reuse}",
            iam_role_arn="{role}", cluster_identifier="local-cluster",
            input_format={{"type": "csv", "header_rows": 1}}, reuse_upstream_checks={reuse},
        )
        verify >> load
    """
)


def _run_counting(dag: Any, monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    import botocore.handlers

    counts: collections.Counter[str] = collections.Counter()

    def count(model: Any = None, **_: Any) -> None:
        counts[f"{model.service_model.service_name}:{model.name}"] += 1

    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [*botocore.handlers.BUILTIN_HANDLERS])
    botocore.handlers.BUILTIN_HANDLERS.append(("before-call", count))
    run = dag.test()
    monkeypatch.undo()
    assert str(run.state) == "success", {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    return counts


def test_the_load_reuses_the_verification_of_its_run(
    dag_from_file, local_redshift_env, redshift_schema, s3_bucket, copy_role_arn, query, tmp_path, monkeypatch
):
    s3 = local_redshift_env.aws_client("s3")
    s3.put_object(Bucket=s3_bucket, Key="day/2026-11-27/a.csv", Body=b"id,name\n1,a\n2,b\n")
    for reuse in (True, False):  # a table each, so that both runs load the file
        query(f"create table {redshift_schema}.events_{reuse} (id int, name varchar(5))")
    dags = {}
    for reuse in (True, False):
        dag_id = f"verdict_{str(reuse).lower()}_{redshift_schema}"
        path = tmp_path / f"{dag_id}.py"
        path.write_text(DAG_FILE.format(dag_id=dag_id, bucket=s3_bucket, role=copy_role_arn,
                                        schema=redshift_schema, reuse=reuse))  # fmt: skip
        dags[reuse] = dag_from_file(path)
    with monkeypatch.context() as patch:
        reused = _run_counting(dags[True], patch)
    with monkeypatch.context() as patch:
        asked = _run_counting(dags[False], patch)
    saved = {op: asked[op] - reused[op] for op in asked if asked[op] != reused[op]}
    # The COPY's own region and role checks, not made again; the manifest's access is still simulated.
    assert saved == {
        "redshift:DescribeClusters": 1,
        "s3:HeadBucket": 1,
        "s3:GetBucketEncryption": 1,
        "iam:GetRole": 1,
        "iam:SimulatePrincipalPolicy": 1,
    }, (reused, asked)
    for reuse in (True, False):
        assert query(f"select count(*) from {redshift_schema}.events_{reuse}") == [(2,)]


ROLE = "arn:aws:iam::123456789012:role/copy"
VERIFIED = {
    "bucket": "data-bucket",
    "prefix": "day/",
    "iam_role_arn": ROLE,
    "redshift": {"kind": "cluster", "name": "c", "workgroup": None},
    "role_checked": True,
    "region_needed": False,
}


def _request(**kwargs: Any) -> Any:
    args = {"bucket": "data-bucket", "prefix": "day/2026-11-27/", "table": "t", "iam_role_arn": ROLE}
    return build_request(**{**args, **kwargs})


@pytest.mark.parametrize(
    ("change", "request_args", "cluster", "covered"),
    [
        ({}, {}, "c", True),
        ({}, {}, "other-cluster", False),
        ({"role_checked": False}, {}, "c", False),  # verified without the role's checks
        ({"prefix": "other/"}, {}, "c", False),
        ({"bucket": "other-bucket"}, {}, "c", False),
        ({}, {"iam_role_arn": "arn:aws:iam::123456789012:role/another"}, "c", False),
        ({}, {"iam_role_arn": "default"}, "c", False),
        ({"region_needed": True}, {}, "c", True),  # REGION is added, as the verification said
        ({"region_needed": True}, {"on_region_mismatch": "fail"}, "c", False),
        ({"region_needed": True}, {"input_format": "parquet"}, "c", False),
        ({}, {"manifest_bucket": "elsewhere"}, "c", False),
    ],
)
def test_what_a_verification_covers(change, request_args, cluster, covered):
    assert covers({**VERIFIED, **change}, _request(**request_args), cluster, None) is covered
