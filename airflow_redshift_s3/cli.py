"""Command line: ``airflow-redshift-s3``."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="airflow-redshift-s3", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the end-to-end demo on the local Redshift stack")
    local = sub.add_parser("local", help="the local Redshift stack (S3, IAM, Redshift on this machine)")
    local_sub = local.add_subparsers(dest="local_command", required=True)
    up = local_sub.add_parser("up", help="run the stack in the foreground until SIGINT or SIGTERM")
    up.add_argument("--redshift-port", type=int, default=5439, help="gateway port of local-cluster (5439)")
    up.add_argument(
        "--serverless-port", type=int, default=0, help="gateway port of local-workgroup (default: a free one)"
    )
    up.add_argument("--aws-port", type=int, default=5000, help="port of the AWS endpoint (5000)")
    up.add_argument("--bind", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    up.add_argument("--advertise-host", help="host name clients use (default: the bind address)")
    up.add_argument("--data-dir", type=Path, help="keep the database here across runs (default: temporary)")
    up.add_argument("--env-file", type=Path, help="write AIRFLOW_CONN_* and AWS_ENDPOINT_URL lines here")
    up.add_argument("--role-apply-delay", type=float, default=3.0, help="seconds a new role stays 'adding'")
    return parser


def _local_up(args: argparse.Namespace) -> int:
    from airflow_redshift_s3.local.stack import LocalRedshift

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = LocalRedshift(
        redshift_port=args.redshift_port,
        serverless_port=args.serverless_port,
        aws_port=args.aws_port,
        data_dir=args.data_dir,
        role_apply_delay=args.role_apply_delay,
        bind_host=args.bind,
        advertise_host=args.advertise_host,
    )
    with stack:
        env = stack.environment()
        if args.env_file:
            args.env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))
        print(
            f"local-cluster    redshift://{stack.host}:{stack.redshift_port}/dev (user awsuser)", flush=True
        )
        print(
            f"local-workgroup  redshift://{stack.host}:{stack.serverless_port}/dev (user awsuser)", flush=True
        )
        print(f"AWS endpoint     {stack.aws_endpoint_url} (region us-east-1)", flush=True)
        print(f"started in {stack.startup_seconds:.2f} s", flush=True)
        print("READY", flush=True)
        stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from airflow_redshift_s3.demo import run_demo

        return run_demo()
    if args.command == "local" and args.local_command == "up":
        return _local_up(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
