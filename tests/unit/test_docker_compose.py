"""docker-compose.yaml and the Dockerfile: valid, consistent, and safe by default.

These are the cheap regression guards; tests/integration/test_compose_processes.py runs the file's services.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA = Path(sys.prefix) / "compose_spec.json"  # extracted by the Makefile from the docker-compose wheel
AIRFLOW_COMPONENTS = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
# What every component must agree on (Airflow's configuration reference): tokens signed by the scheduler
# and checked by the api-server, the key of connections and variables, and the log server's key.
SHARED_SECRETS = (
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API__SECRET_KEY",
)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def _mounts(service: dict) -> dict[str, str]:
    """Return {container path: source} of a service's volumes (short syntax)."""
    return {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}


def test_matches_the_compose_specification(compose):
    import jsonschema

    assert SCHEMA.is_file(), f"{SCHEMA} is missing: run `make venv` (it extracts the Compose schema)"
    jsonschema.validate(compose, json.loads(SCHEMA.read_text()))


def test_airflow_services_are_the_official_set(compose):
    assert {"postgres", "local-redshift", *AIRFLOW_COMPONENTS} <= set(compose["services"])
    for name in AIRFLOW_COMPONENTS:
        assert compose["services"][name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_every_port_is_published_on_loopback_only(compose):
    published = [(name, port) for name, s in compose["services"].items() for port in s.get("ports", [])]
    assert published, "nothing is published: the UI would be unreachable"
    for name, port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), (
            f"{name} publishes {port!r} on every interface of the host; publish it as "
            f"'127.0.0.1:{port}' so only this machine can reach it"
        )
        assert port.split(":")[1] != "5000", f"{name} publishes 5000, where macOS's AirPlay receiver listens"


def test_every_component_has_the_same_secrets_from_a_shared_volume(compose):
    init = compose["services"]["airflow-init"]
    script = init["command"][-1]
    for name in AIRFLOW_COMPONENTS:
        service = compose["services"][name]
        env = service["environment"]
        for secret in SHARED_SECRETS:
            given = {k: v for k, v in env.items() if k in (secret, secret + "_CMD")}
            assert len(given) == 1, f"{name} sets {secret} {len(given)} times (or not at all): {given}"
            ((key, value),) = given.items()
            assert value == compose["services"]["airflow-scheduler"]["environment"][key], (
                f"{name} has another {secret} than the scheduler"
            )
            if key.endswith("_CMD"):
                path = Path(shlex.split(value)[-1])
                source = _mounts(service).get(str(path.parent))
                assert source in compose["volumes"], f"{name} reads {path} from no named volume"
                assert source == _mounts(init).get(str(path.parent)), f"{path} is not the init service's"
                assert f"> {path.name}" in script, f"airflow-init does not write {path.name}"
        assert env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "false").lower() != "true", (
            f"{name}: every visitor would be an admin"
        )


def test_task_logs_are_in_one_volume_for_every_component(compose):
    sources = {_mounts(compose["services"][name]).get("/opt/airflow/logs") for name in AIRFLOW_COMPONENTS}
    assert len(sources) == 1 and next(iter(sources)) in compose["volumes"], sources


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
        for source in _mounts(service).values():
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in compose.get("volumes", {}), f"{name} uses undeclared volume {source}"
    for source in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", DOCKERFILE.read_text(), re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which does not exist"


def test_every_pip_install_in_the_dockerfile_uses_the_constraints():
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    installs = [line for line in text.splitlines() if re.search(r"\bpip install\b", line)]
    assert installs, "the Dockerfile installs nothing"
    copied = " ".join(re.findall(r"^COPY (.+)$", text, re.M))
    assert "constraints.txt" in copied, "the Dockerfile does not copy constraints.txt into the image"
    for line in installs:
        assert re.search(r"(--constraint|-c)[ =]\S*constraints\.txt", line), (
            f"this pip install ignores constraints.txt: {line.strip()}"
        )


def test_local_redshift_command_and_connections_agree(compose):
    from airflow_redshift_s3.cli import build_parser

    service = compose["services"]["local-redshift"]
    args = build_parser().parse_args(service["command"])  # every flag exists in the CLI
    assert (args.bind, args.advertise_host) == ("0.0.0.0", "local-redshift")
    assert args.sample_data, "the example DAGs' defaults need the sample data"
    assert str(args.data_dir).startswith(next(t for t in _mounts(service) if "tls" not in t))
    env = compose["services"]["airflow-scheduler"]["environment"]
    redshift = urlsplit(env["AIRFLOW_CONN_REDSHIFT_DEFAULT"])
    assert (redshift.hostname, redshift.port) == ("local-redshift", args.redshift_port)
    aws = parse_qs(urlsplit(env["AIRFLOW_CONN_AWS_DEFAULT"]).query)
    assert aws["endpoint_url"] == [f"http://local-redshift:{args.aws_port}"]
    assert env["AWS_ENDPOINT_URL"] == f"http://local-redshift:{args.aws_port}"
    published = {p.rsplit(":", 1)[1] for p in service["ports"]}
    assert {str(args.redshift_port), str(args.aws_port)} <= published
    # the CA the gateway writes is the bundle the components trust
    assert env["SSL_CERT_FILE"] == f"{args.tls_dir}/ca-bundle.pem"
    assert (
        _mounts(service)[str(args.tls_dir)]
        == _mounts(compose["services"]["airflow-scheduler"])[str(args.tls_dir)]
    )
