"""Six concurrent replace_partition loads into one table: four dates, and two loads of one more date.

Each load runs ``execute()`` in its own thread with its own run id, as six Airflow task instances would.
A barrier holds every load just before its LOCK, so all six contend for the table at once. The table must
end up with every partition replaced exactly once (the untouched partition kept), the doubly loaded date
holding the files of exactly one of its two loads (the one that committed last, as the ledger says) and
never a mix or a sum of both.
"""

from __future__ import annotations

import threading

import pytest
from reliability_support import task_context

from airflow_redshift_s3.transfers.s3_to_redshift_copy import S3ToRedshiftCopyOperator

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

DATES = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
TWICE = "2026-11-05"
# prefix -> (partition, rows of its file)
LOADS = {
    **{f"day/{d}/": (d, [(i * 100 + n, f"new{n}") for n in range(3)]) for i, d in enumerate(DATES, 1)},
    "twice/x/": (TWICE, [(500, "x0"), (501, "x1")]),
    "twice/y/": (TWICE, [(510, "y0"), (511, "y1"), (512, "y2")]),
}


class BarrierCopy(S3ToRedshiftCopyOperator):
    """Wait at a barrier before LOCK, so that every load asks for the table at the same moment."""

    def __init__(self, *, barrier: threading.Barrier, **kwargs):
        super().__init__(**kwargs)
        self.barrier = barrier

    def _run(self, cursor, step):
        if step.name == "lock":
            self.barrier.wait(timeout=120)
        super()._run(cursor, step)


def test_concurrent_partition_loads_replace_each_partition_exactly_once(
    local_redshift_env, s3_bucket, copy_role_arn, db
):
    table = f"{db.schema}.events"
    db.run(f"create table {table} (id int, name varchar(8), day date)")
    old = [(1, "keep", "2026-10-31"), *((2 + i, "old", d) for i, d in enumerate([*DATES, TWICE]))]
    db.run(f"insert into {table} values " + ", ".join(f"({i}, '{n}', '{d}')" for i, n, d in old))
    s3 = local_redshift_env.aws_client("s3")
    for prefix, (_, rows) in LOADS.items():
        body = "".join(f"{i},{n}\n" for i, n in rows).encode()
        s3.put_object(Bucket=s3_bucket, Key=f"{prefix}part-0.csv", Body=body)
    barrier = threading.Barrier(len(LOADS))
    results: dict[str, object] = {}

    def load(prefix: str, run_id: str) -> None:
        op = BarrierCopy(
            task_id="load",
            bucket=s3_bucket,
            prefix=prefix,
            table=table,
            mode="replace_partition",
            partition_column="day",
            partition_value=LOADS[prefix][0],
            iam_role_arn=copy_role_arn,
            cluster_identifier="local-cluster",
            preflight_checks=(),
            barrier=barrier,
        )
        try:
            results[prefix] = op.execute(task_context(run_id))
        except Exception as error:
            barrier.abort()  # the others must not wait for a load that failed
            results[prefix] = error

    threads = [threading.Thread(target=load, args=(p, f"run_{i}")) for i, p in enumerate(LOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not any(thread.is_alive() for thread in threads)
    assert all(isinstance(r, dict) for r in results.values()), results
    assert {p: (r["files_loaded"], r["rows_loaded"]) for p, r in results.items()} == {
        p: (1, len(rows)) for p, (_, rows) in LOADS.items()
    }

    ledger = db.run(
        f"select object_key, partition_value, run_id from {db.schema}.s3_load_ledger order by loaded_at"
    )
    assert sorted(r[0] for r in ledger) == sorted(f"{p}part-0.csv" for p in LOADS)  # each load once
    last_twice = [r[0] for r in ledger if r[1] == TWICE][-1].removesuffix("part-0.csv")
    expected = [
        old[0],  # the partition no load touched
        *((i, n, d) for p, (d, rows) in LOADS.items() if d != TWICE for i, n in rows),
        *((i, n, TWICE) for i, n in LOADS[last_twice][1]),  # the later of the two loads of one date
    ]
    assert sorted(db.run(f"select id, name, day::text from {table}")) == sorted(expected)
