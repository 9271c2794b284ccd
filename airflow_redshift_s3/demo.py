"""The demo behind ``make demo``.

Until the example DAGs exist it runs the smallest end-to-end thing there is: it starts the local
Redshift, writes a gzip CSV to S3, attaches an IAM role to the cluster, loads the files with COPY
through redshift_connector, shows the load-error report of a bad file, and stops everything.
"""

from __future__ import annotations

import gzip
import time


def run_demo() -> int:
    """Run the demo and return the exit code."""
    import redshift_connector

    from airflow_redshift_s3.local import LocalRedshift

    print("Starting the local Redshift (PostgreSQL + gateway, moto for S3/IAM/Redshift)...", flush=True)
    with LocalRedshift(role_apply_delay=1.0) as stack:
        print(
            f"  up in {stack.startup_seconds:.1f} s: cluster at 127.0.0.1:{stack.redshift_port}, "
            f"AWS at {stack.aws_endpoint_url}"
        )
        s3 = stack.aws_client("s3")
        s3.create_bucket(Bucket="demo-bucket")
        for day, rows in (("2026-11-26", 3), ("2026-11-27", 4)):
            body = "id,customer,amount\n" + "".join(f"{i},c{i},{i * 1.5:.2f}\n" for i in range(rows))
            s3.put_object(
                Bucket="demo-bucket", Key=f"sales/{day}/part-0.csv.gz", Body=gzip.compress(body.encode())
            )
        s3.put_object(
            Bucket="demo-bucket", Key="bad/part-0.csv", Body=b"id,customer,amount\n1,ok,2.50\ntwo,bad,x\n"
        )
        print("Creating IAM role 'demo-copy-role' and attaching it to local-cluster (waits for in-sync)...")
        began = time.monotonic()
        role = stack.create_copy_role("demo-copy-role", resources=["*"])
        print(f"  {role} in-sync after {time.monotonic() - began:.1f} s")
        conn = redshift_connector.connect(**stack.connect_kwargs())
        cur = conn.cursor()
        cur.execute("create table sales (id int, customer varchar(20), amount numeric(10,2))")
        conn.commit()
        for day in ("2026-11-26", "2026-11-27"):
            cur.execute(
                f"copy sales from 's3://demo-bucket/sales/{day}/' iam_role '{role}' csv ignoreheader 1 gzip"
            )
            cur.execute("select pg_last_copy_count()")
            print(f"  COPY s3://demo-bucket/sales/{day}/ -> {cur.fetchall()[0][0]} rows")
            conn.commit()
        cur.execute("select count(*), sum(amount) from sales")
        count, total = cur.fetchall()[0]
        print(f"  table sales: {count} rows, sum(amount) = {total}")
        try:
            cur.execute(f"copy sales from 's3://demo-bucket/bad/' iam_role '{role}' csv ignoreheader 1")
        except redshift_connector.ProgrammingError as err:
            conn.rollback()
            print(f"  bad file refused as Redshift would: {err.args[0]['M']}")
            cur.execute(
                "select trim(filename), line_number, trim(colname), err_code, trim(err_reason) "
                "from stl_load_errors order by starttime desc limit 1"
            )
            print("  stl_load_errors: {} line {} column {}: {} {}".format(*cur.fetchall()[0]))
        conn.close()
    print("The local stack is stopped. The operators and example DAGs build on this; see README.md.")
    return 0
