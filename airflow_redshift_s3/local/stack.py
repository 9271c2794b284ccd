"""``LocalRedshift``: PostgreSQL, the gateway and moto started together, with Airflow connections for them."""

from __future__ import annotations

import concurrent.futures
import os
import pwd
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from airflow_redshift_s3.local.catalog import (
    DATABASE_PRIVILEGES_SQL,
    SYSTEM_TABLES_SQL,
    login_roles_sql,
    slices_sql,
)
from airflow_redshift_s3.local.catalog_views import CATALOG_VIEWS_SQL
from airflow_redshift_s3.local.copy.access import AwsAccess, Owner
from airflow_redshift_s3.local.gateway.server import GatewayConfig, GatewayThread
from airflow_redshift_s3.local.postgres import SUPERUSER, LocalPostgres
from airflow_redshift_s3.local.sql.tokens import quote_ident, quote_literal
from airflow_redshift_s3.local.tls import LocalTls, create_local_tls
from airflow_redshift_s3.local.workdir import Workdir

CLUSTER_IDENTIFIER = "local-cluster"
NAMESPACE_NAME = "local-namespace"
WORKGROUP_NAME = "local-workgroup"
DATABASE = "dev"
MASTER_USER = "awsuser"
# A local-only password for a database that listens on 127.0.0.1 and dies with the stack.
MASTER_PASSWORD = "Local-Redshift-1"
REGION = "us-east-1"
HOST = "127.0.0.1"


def _postgres_access() -> tuple[list[str], list[str]]:
    """Return the pg_hba.conf and pg_ident.conf lines of the stack's PostgreSQL (a Unix socket only).

    The socket sits in a directory only the stack's accounts can enter. On it, the superuser and the
    roles of IAM logins (whose temporary password the gateway has checked) are let in without a password
    only when the connecting process runs as this process's account (peer authentication); every other
    role gives its password.
    """
    try:
        account = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # an account without a name (a container's arbitrary uid): PostgreSQL cannot peer it
        gateway_only = "trust"
        ident: list[str] = []
    else:
        gateway_only = "peer map=gateway"
        ident = [f"gateway {account} {SUPERUSER}", f"gateway {account} /^IAM[AR]?:"]
    hba = [
        f"local all {SUPERUSER} {gateway_only}",
        f"local all /^IAM[AR]?: {gateway_only}",
        "local all all md5",
    ]
    return hba, ident


class LocalRedshift:
    """S3, IAM, STS, Redshift and Redshift Serverless control planes, and a Redshift-speaking database.

    :param redshift_port: the gateway port of the provisioned cluster (0: a free port).
    :param serverless_port: the gateway port of the Serverless workgroup (0: a free port).
    :param aws_port: the port of the AWS endpoint (0: a free port).
    :param data_dir: keep the database there (default: a temporary directory removed on stop).
    :param role_apply_delay: seconds an attached IAM role stays ``adding`` before ``in-sync``.
    :param slices: how many slices ``stv_slices`` reports.
    :param bind_host: the address every endpoint listens on (``0.0.0.0`` inside a container).
    :param advertise_host: the host name clients use, in URIs, cluster endpoints and the TLS certificate
        (default: ``bind_host``, or 127.0.0.1 when binding every address).
    :param tls_dir: write the TLS CA, certificate and CA bundle there and keep them after stop, for clients
        in other processes or containers (default: a temporary directory removed on stop). A new CA is
        made at every start: clients read the bundle when they connect.
    :param aws_in_process: serve AWS (moto) from this process instead of a child process of its own. The
        child keeps moto's memory (about 150 MB) out of this process and its state out of this process's
        moto; in this process, moto's state is process-wide: run one such stack per process at a time.
    """

    def __init__(
        self,
        redshift_port: int = 0,
        serverless_port: int = 0,
        aws_port: int = 0,
        data_dir: str | Path | None = None,
        role_apply_delay: float = 3.0,
        slices: int = 2,
        bind_host: str = HOST,
        advertise_host: str | None = None,
        tls_dir: str | Path | None = None,
        aws_in_process: bool = False,
    ):
        ports = {"redshift_port": redshift_port, "serverless_port": serverless_port, "aws_port": aws_port}
        for name, port in ports.items():
            # a bind takes a port modulo 65536 in some layers (99999 served on 34463): refuse it instead
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
                raise ValueError(
                    f"{name} must be a port number from 0 to 65535 (0 picks a free one), got {port!r}"
                )
        self._requested = (redshift_port, serverless_port, aws_port)
        self._data_dir = Path(data_dir) if data_dir else None
        self._role_apply_delay = role_apply_delay
        self._slices = slices
        self.bind_host = bind_host
        self.host = advertise_host or (HOST if bind_host in ("0.0.0.0", "") else bind_host)
        self.postgres: LocalPostgres | None = None
        self.aws: Any = None
        self.gateway_thread: GatewayThread | None = None
        self.redshift_port = 0
        self.serverless_port = 0
        self.aws_endpoint_url = ""
        self.startup_seconds = 0.0
        self._kept_tls_dir = Path(tls_dir) if tls_dir else None
        self._tls_workdir: Workdir | None = None  # made for this start when no tls_dir is given
        self.tls: LocalTls | None = None
        self._cluster_ports: dict[tuple[str, str, str], int] = {}  # clusters created later: their listeners
        self._aws_in_process = aws_in_process
        self._access: AwsAccess | None = None  # the gateway's boto3 session, shared with aws_client
        self._gateway_started = threading.Event()  # set once the listeners' ports are known (start)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> LocalRedshift:
        """Start everything and return once both endpoints accept connections."""
        from airflow_redshift_s3.local.extra import require_local_extra

        require_local_extra()

        began = time.monotonic()
        self._gateway_started = threading.Event()
        try:
            hba_lines, ident_lines = _postgres_access()
            self.postgres = LocalPostgres(
                data_dir=self._data_dir,
                hba_lines=hba_lines,
                ident_lines=ident_lines,
                unix_socket_only=True,
                settings={
                    "password_encryption": "md5",
                    "max_prepared_transactions": "0",
                    # a backend whose client (the gateway's session) has gone stops, even in a lock wait
                    "client_connection_check_interval": "500ms",
                    # the master user acts on the objects of the users it creates, as Redshift's does
                    "createrole_self_grant": "set, inherit",
                },
            )
            # What runs side by side: moto's process starts (its imports are most of a start) while this
            # process copies the data directory, starts PostgreSQL and bootstraps its database through the
            # gateway, whose AWS endpoint is filled in once the child answers; the cluster and workgroup
            # are then made at moto. PostgreSQL's server is started from this thread, whose end is what
            # its parent-death signal watches.
            self.postgres.create_workdir()  # its socket's path is the gateway's upstream, given below
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                self.aws = self._make_aws()
                aws_side = pool.submit(self._start_aws)  # first: the longest part of a start
                initdb = pool.submit(self.postgres.prepare)
                try:
                    access = self._access = AwsAccess(None, REGION)
                    access.warm("redshift", "redshift-serverless")  # while moto's process imports
                    redshift_port, serverless_port, _ = self._requested
                    tls_dir = self._kept_tls_dir
                    if tls_dir is None:
                        self._tls_workdir = Workdir("local-redshift-tls-")
                        tls_dir = self._tls_workdir.path
                    tls_hosts = tuple(dict.fromkeys((self.host, HOST, "localhost")))
                    self.tls = create_local_tls(tls_dir, hosts=tls_hosts)
                    config = GatewayConfig(
                        upstream_host=self.postgres.host,
                        upstream_port=self.postgres.port,
                        admin_user=SUPERUSER,
                        listeners=[
                            (self.bind_host, redshift_port, Owner("cluster", CLUSTER_IDENTIFIER, REGION)),
                            (self.bind_host, serverless_port, Owner("namespace", NAMESPACE_NAME, REGION)),
                        ],
                        aws=access,
                        verify_temporary_credentials=self.aws.verify_temporary_credentials,
                        ssl_context=self.tls.server_context(),
                    )
                    self.gateway_thread = GatewayThread(config)
                    self.redshift_port, self.serverless_port = self.gateway_thread.start()
                finally:
                    self._gateway_started.set()  # on a failure too: the AWS side stops waiting
                initdb.result()
                self.postgres.start()
                self.gateway_thread.call(self._bootstrap_database())
                aws_side.result()
            self._wait_accepting()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop the gateway, the AWS endpoint and PostgreSQL; safe to call more than once."""
        if self.gateway_thread is not None:
            self.gateway_thread.stop()
            self.gateway_thread = None
        if self.aws is not None:
            self.aws.stop()
            if self._aws_in_process:  # moto's state is process-global: the next stack starts clean
                self.aws.reset(clear_endpoints=True)
            self.aws = None
        self._access = None
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
        if self._tls_workdir is not None:
            self._tls_workdir.remove()
            self._tls_workdir = None

    def __enter__(self) -> LocalRedshift:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_aws(self) -> None:
        """Start the AWS endpoint, give the gateway its URL, then make the cluster and workgroup there."""
        local_endpoint = self.aws.start()
        self.aws_endpoint_url = f"http://{self.host}:{self.aws.port}"
        self._gateway_started.wait()  # the gateway's AwsAccess and the listeners' ports, used below
        access = self._access
        if access is None or self.gateway_thread is None:
            return  # the start failed on the other side, which reports it
        access.endpoint_url = local_endpoint
        self.aws.set_cluster_endpoint(CLUSTER_IDENTIFIER, self.host, self.redshift_port, REGION)
        self.aws.set_workgroup_endpoint(WORKGROUP_NAME, self.host, self.serverless_port, REGION)
        self._create_control_plane(access)

    def _make_aws(self) -> Any:
        """Return the AWS endpoint (not started): moto in a child process, or in this one if asked."""
        _, _, aws_port = self._requested
        if self._aws_in_process:
            from airflow_redshift_s3.local.aws import LocalAws

            endpoint: Any = LocalAws
        else:
            from airflow_redshift_s3.local.aws.process import AwsProcess

            endpoint = AwsProcess
        return endpoint(
            host=self.bind_host,
            port=aws_port,
            role_apply_delay=self._role_apply_delay,
            provision=self._provision_cluster,
            remove=self._remove_cluster,
        )

    async def _bootstrap_database(self) -> None:
        assert self.gateway_thread is not None
        gateway = self.gateway_thread.gateway
        existing = await gateway.admin("postgres").query(
            f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(DATABASE)}"
        )
        if not existing:
            template = (
                SYSTEM_TABLES_SQL + CATALOG_VIEWS_SQL + slices_sql(self._slices) + DATABASE_PRIVILEGES_SQL
            )
            await gateway.admin("template1").query(template)
            await gateway.admin("template1").close()
            password = quote_literal(MASTER_PASSWORD)
            await gateway.admin("postgres").query(
                f"CREATE ROLE {quote_ident(MASTER_USER)} LOGIN PASSWORD {password}"
            )
            await gateway.admin("postgres").query(
                f"CREATE DATABASE {quote_ident(DATABASE)} OWNER {quote_ident(MASTER_USER)}"
            )
        # every start: a data directory kept from an older version gets the same privileges
        await gateway.admin("postgres").query(login_roles_sql(MASTER_USER))
        if existing:
            await gateway.admin(DATABASE).query(DATABASE_PRIVILEGES_SQL)

    # -- clusters created through CreateCluster --------------------------------------------------------

    def _provision_cluster(self, cluster: Any) -> Any:
        """Serve a cluster CreateCluster made: a gateway listener of its own on the one PostgreSQL.

        Its database is created if missing and its master user, if new, with its password, as Redshift
        creates them; both are shared with every other cluster (one PostgreSQL serves them all).
        """
        from airflow_redshift_s3.local.aws.endpoints import EndpointOverride

        assert self.gateway_thread is not None
        name = cluster.master_username.lower()
        if name in self.gateway.config.refused_users or name.startswith("pg_"):
            raise ValueError(
                f"MasterUsername {cluster.master_username!r} is reserved for the system; choose another name."
            )
        self.gateway_thread.call(self._bootstrap_cluster(cluster.master_username, cluster.master_password,
                                                         cluster.db_name))  # fmt: skip
        owner = Owner("cluster", cluster.cluster_identifier, cluster.region)
        port = self.gateway_thread.call(self.gateway.add_listener(self.bind_host, 0, owner))
        self._cluster_ports[(cluster.account_id, cluster.region, cluster.cluster_identifier)] = port
        return EndpointOverride(self.host, port)

    def _remove_cluster(self, account_id: str, region: str, cluster_identifier: str) -> None:
        """Close the listener of a deleted cluster (its database and users stay: they are shared)."""
        port = self._cluster_ports.pop((account_id, region, cluster_identifier), None)
        if port is not None and self.gateway_thread is not None:
            self.gateway_thread.call(self.gateway.remove_listener(port))

    async def _bootstrap_cluster(self, master_user: str, password: str, database: str) -> None:
        admin = self.gateway.admin("postgres")
        user = quote_literal(master_user)
        if not await admin.query(f"SELECT 1 FROM pg_roles WHERE rolname = {user}"):
            secret = quote_literal(password)
            await admin.query(f"CREATE ROLE {quote_ident(master_user)} LOGIN PASSWORD {secret}")
        await admin.query(login_roles_sql(master_user))
        if not await admin.query(f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(database)}"):
            await admin.query(f"CREATE DATABASE {quote_ident(database)} OWNER {quote_ident(master_user)}")

    def _create_control_plane(self, access: AwsAccess) -> None:
        redshift = access.client("redshift")
        existing = {c["ClusterIdentifier"] for c in redshift.describe_clusters()["Clusters"]}
        if CLUSTER_IDENTIFIER not in existing:
            redshift.create_cluster(
                ClusterIdentifier=CLUSTER_IDENTIFIER,
                NodeType="ra3.large",
                ClusterType="single-node",
                MasterUsername=MASTER_USER,
                MasterUserPassword=MASTER_PASSWORD,
                DBName=DATABASE,
                Port=self.redshift_port,
            )
        serverless = access.client("redshift-serverless")
        try:
            serverless.get_namespace(namespaceName=NAMESPACE_NAME)
        except serverless.exceptions.ResourceNotFoundException:
            serverless.create_namespace(
                namespaceName=NAMESPACE_NAME, dbName=DATABASE, adminUsername=MASTER_USER
            )
            serverless.create_workgroup(workgroupName=WORKGROUP_NAME, namespaceName=NAMESPACE_NAME)

    def _wait_accepting(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for port in (self.redshift_port, self.serverless_port, int(self.aws_endpoint_url.rsplit(":", 1)[1])):
            while True:
                try:
                    with socket.create_connection((self._probe_host, port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    # -- what clients need --------------------------------------------------------------------------

    @property
    def gateway(self) -> Any:
        """Return the running Gateway (for fault injection in tests)."""
        assert self.gateway_thread is not None
        return self.gateway_thread.gateway

    @property
    def _probe_host(self) -> str:
        return HOST if self.bind_host in ("0.0.0.0", "") else self.bind_host

    def aws_client(self, service: str, region: str = REGION) -> Any:
        """Return a boto3 client for ``service`` at the local AWS endpoint (the gateway's boto3 session)."""
        return self._running_access().new_client(service, region)

    def _running_access(self) -> AwsAccess:
        if self._access is None:
            raise RuntimeError("the local Redshift is not running: call start() first")
        return self._access

    def create_copy_role(self, name: str, resources: list[str], attach: bool = True) -> str:
        """Create (or adopt) a role Redshift trusts that may read ``resources``; attach it if asked."""
        from airflow_redshift_s3.local.aws.roles import create_read_role

        arn = create_read_role(self.aws_client("iam"), name, resources)
        if attach:
            self.attach_role(arn)
        return arn

    def attach_role(self, arn: str, wait: bool = True, timeout: float = 30.0) -> None:
        """Attach ``arn`` to local-cluster and local-namespace, and wait until both report it in-sync."""
        access = self._running_access()
        redshift, serverless = access.client("redshift"), access.client("redshift-serverless")
        cluster_roles, _ = access.attached_roles(Owner("cluster", CLUSTER_IDENTIFIER))
        if arn not in cluster_roles:
            redshift.modify_cluster_iam_roles(ClusterIdentifier=CLUSTER_IDENTIFIER, AddIamRoles=[arn])
        namespace_roles, _ = access.attached_roles(Owner("namespace", NAMESPACE_NAME))
        if arn not in namespace_roles:
            serverless.update_namespace(namespaceName=NAMESPACE_NAME, iamRoles=[*namespace_roles, arn])
        deadline = time.monotonic() + timeout
        while wait:
            statuses = [
                access.attached_roles(Owner(kind, name))[0].get(arn)
                for kind, name in (("cluster", CLUSTER_IDENTIFIER), ("namespace", NAMESPACE_NAME))
            ]
            if statuses == ["in-sync", "in-sync"]:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"role {arn} still {statuses} after {timeout} s")
            time.sleep(0.1)

    def aws_conn_uri(self) -> str:
        """Return an Airflow connection URI for the local AWS endpoint (moto's dummy credentials)."""
        extra = urlencode({"region_name": REGION, "endpoint_url": self.aws_endpoint_url})
        return f"aws://testing:testing@/?{extra}"

    def redshift_conn_uri(self, serverless: bool = False, **extra: Any) -> str:
        """Return an Airflow connection (JSON form) for the cluster's (or the workgroup's) gateway endpoint.

        JSON rather than a URI because the gateway has no TLS and ``ssl`` must reach redshift_connector as a
        boolean ``false``; a URI query would pass the string "false".
        """
        import json

        port = self.serverless_port if serverless else self.redshift_port
        return json.dumps(
            {
                "conn_type": "redshift",
                "host": self.host,
                "port": port,
                "schema": DATABASE,
                "login": MASTER_USER,
                "password": MASTER_PASSWORD,
                "extra": {"ssl": False, **extra},
            }
        )

    def connect_kwargs(self, serverless: bool = False) -> dict[str, Any]:
        """Return keyword arguments for ``redshift_connector.connect``."""
        return {
            "host": self.host,
            "port": self.serverless_port if serverless else self.redshift_port,
            "database": DATABASE,
            "user": MASTER_USER,
            "password": MASTER_PASSWORD,
            "ssl": False,
        }

    def data_api_kwargs(self, serverless: bool = False) -> dict[str, str]:
        """Return the Redshift Data API arguments that address this stack's database.

        ``ClusterIdentifier``, ``Database`` and ``DbUser`` (the master user, so the statements run as
        ``IAM:awsuser`` with its privileges), or ``WorkgroupName`` and ``Database`` (as the caller).
        Pass them to ``aws_client("redshift-data").execute_statement(Sql=..., **kwargs)``.
        """
        if serverless:
            return {"WorkgroupName": WORKGROUP_NAME, "Database": DATABASE}
        return {"ClusterIdentifier": CLUSTER_IDENTIFIER, "Database": DATABASE, "DbUser": MASTER_USER}

    def environment(self) -> dict[str, str]:
        """Return the environment variables that point Airflow and boto3 at this stack."""
        env = {
            "AIRFLOW_CONN_AWS_DEFAULT": self.aws_conn_uri(),
            "AIRFLOW_CONN_REDSHIFT_DEFAULT": self.redshift_conn_uri(),
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
        }
        if self.tls is not None:
            # lets redshift_connector verify the gateway's TLS (required with IAM logins)
            env["SSL_CERT_FILE"] = str(self.tls.bundle)
        return env
