"""docker-compose.yaml: valid against the Compose Specification, and everything it names exists."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
SCHEMA = Path(sys.prefix) / "compose_spec.json"  # extracted by the Makefile from the docker-compose wheel


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_matches_the_compose_specification(compose):
    import jsonschema

    assert SCHEMA.is_file(), f"{SCHEMA} is missing: run `make venv` (it extracts the Compose schema)"
    jsonschema.validate(compose, json.loads(SCHEMA.read_text()))


def test_airflow_services_are_the_official_set(compose):
    assert {
        "postgres",
        "local-redshift",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    } <= set(compose["services"])
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        assert compose["services"][name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_every_dependency_and_referenced_file_exists(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        build = service.get("build")
        if build is not None:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = context / (
                "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            )
            assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in compose.get("volumes", {}), f"{name} uses undeclared volume {source}"
    for source in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which does not exist"


def test_local_redshift_command_and_connections_agree(compose):
    from airflow_redshift_s3.cli import build_parser

    service = compose["services"]["local-redshift"]
    args = build_parser().parse_args(service["command"])  # every flag exists in the CLI
    assert (args.bind, args.advertise_host) == ("0.0.0.0", "local-redshift")
    env = compose["services"]["airflow-scheduler"]["environment"]
    redshift = json.loads(env["AIRFLOW_CONN_REDSHIFT_DEFAULT"])
    assert (redshift["host"], redshift["port"]) == ("local-redshift", args.redshift_port)
    assert f"local-redshift%3A{args.aws_port}" in env["AIRFLOW_CONN_AWS_DEFAULT"]
    assert env["AWS_ENDPOINT_URL"] == f"http://local-redshift:{args.aws_port}"
    assert f"{args.redshift_port}:{args.redshift_port}" in service["ports"]
