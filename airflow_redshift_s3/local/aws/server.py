"""The AWS half of the local Redshift: moto's server with the few extensions this project needs.

``LocalAws`` runs ``moto.server.ThreadedMotoServer`` on a local port, serving S3, IAM, STS and the Redshift
control plane from moto's usual global backends (account 123456789012), plus, as small extensions of
moto's own classes (the ``iam``, ``redshift`` and ``serverless`` modules beside this one):
``ModifyClusterIamRoles`` with the ``adding``/``removing`` apply status, ``DefaultIamRoleArn``, IAM
``SimulatePrincipalPolicy``, and the ``redshift-serverless`` service (namespaces, workgroups,
``GetCredentials``). Temporary database passwords issued by ``GetClusterCredentials`` and
``GetCredentials`` are remembered so a local SQL gateway can check the ``IAM:<user>`` logins with
``verify_temporary_credentials``.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import socket
import threading
import time
from types import TracebackType
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID

from airflow_redshift_s3.local.aws.endpoints import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    Provision,
    Remove,
    provisioner,
)
from airflow_redshift_s3.local.aws.extensions import install as install_extensions
from airflow_redshift_s3.local.aws.state import (
    IssuedCredential,
    clear_cluster_provisioner,
    clear_credentials,
    clear_endpoint_overrides,
    find_credential,
    set_cluster_endpoint_override,
    set_cluster_provisioner,
    set_role_apply_delay,
    set_workgroup_endpoint_override,
)

__all__ = [
    "ACCESS_KEY_ID",
    "DEFAULT_ACCOUNT_ID",
    "SECRET_ACCESS_KEY",
    "IssuedCredential",
    "LocalAws",
    "find_temporary_credentials",
    "install_extensions",
    "set_cluster_endpoint",
    "set_workgroup_endpoint",
    "verify_temporary_credentials",
]

_START_TIMEOUT = 15.0


def verify_temporary_credentials(db_user: str, password: str) -> bool:
    """Return whether GetClusterCredentials/GetCredentials issued this live password to ``db_user``."""
    return find_credential(db_user, password) is not None


def find_temporary_credentials(db_user: str, password: str) -> IssuedCredential | None:
    """Return the live credential (cluster or workgroup, expiry) issued for this login, or None."""
    return find_credential(db_user, password)


def set_cluster_endpoint(cluster_identifier: str, address: str, port: int, region: str = "us-east-1") -> None:
    """Make DescribeClusters report ``address:port`` as the cluster's endpoint (before or after creation)."""
    set_cluster_endpoint_override(cluster_identifier, address, port, region)


def set_workgroup_endpoint(workgroup_name: str, address: str, port: int, region: str = "us-east-1") -> None:
    """Make GetWorkgroup report ``address:port`` as the workgroup's endpoint (before or after creation)."""
    set_workgroup_endpoint_override(workgroup_name, address, port, region)


def _server_class() -> type:
    """Return moto's ThreadedMotoServer, made to report a failed bind instead of waiting for ever."""
    from moto.server import ThreadedMotoServer

    class Server(ThreadedMotoServer):
        startup_error: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                super()._server_entry()
            except BaseException as err:  # werkzeug exits when the port is taken; moto's start() would hang
                if not self._server_ready_event.is_set():
                    self.startup_error = err
                    self._server_ready_event.set()
                else:
                    raise

        def stop(self) -> None:
            # werkzeug's serve_forever sees shutdown() at its next poll, up to 0.5 s later (most of a
            # stack's stop): a connection to the port wakes it at once
            stopping = threading.Thread(target=super().stop, name="moto-server-stop", daemon=True)
            stopping.start()
            if self._server is not None and self.startup_error is None:
                host, port = self.get_host_and_port()
                host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
                while stopping.is_alive():
                    with contextlib.suppress(OSError):
                        socket.create_connection((host, port), timeout=0.2).close()
                    stopping.join(0.02)
            stopping.join()

    return Server


class LocalAws:
    """Run moto's server with this project's extensions on a local port; usable as a context manager.

    :param provision: serves each cluster later created through this endpoint (``endpoints.Provision``);
        with ``remove``, which stops serving one deleted (``endpoints.Remove``). None: clusters keep AWS's
        endpoints.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        role_apply_delay: float = 3.0,
        *,
        load_aws_managed_policies: bool = True,
        provision: Provision | None = None,
        remove: Remove | None = None,
    ) -> None:
        if role_apply_delay < 0:
            raise ValueError(f"role_apply_delay must be >= 0, got {role_apply_delay}")
        self.host = host
        self.port = port  # the bound port once started
        self._requested_port = port
        self._role_apply_delay = float(role_apply_delay)
        self._load_aws_managed_policies = load_aws_managed_policies
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._provisioner = provisioner(provision, remove)

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Install the extensions, start the server, wait until it answers and return its endpoint URL."""
        if self._endpoint_url is not None:
            return self._endpoint_url
        from moto.core.config import default_user_config

        install_extensions()
        if self._load_aws_managed_policies:
            # Real accounts have the AWS managed policies (arn:aws:iam::aws:policy/...); moto skips them
            # unless asked (parsed once per process: the iam extension).
            default_user_config.setdefault("iam", {})["load_aws_managed_policies"] = True
            # moto's state is process-wide: an IAM backend an earlier use of moto built without them gets
            # them now (moto's state is not reset here: another stack's may be in use)
            from airflow_redshift_s3.local.aws.iam import add_missing_aws_managed_policies

            add_missing_aws_managed_policies()
        werkzeug_logger = logging.getLogger("werkzeug")
        if werkzeug_logger.level == logging.NOTSET:
            werkzeug_logger.setLevel(logging.WARNING)  # one access-log line per AWS call drowns test output
        server = _server_class()(ip_address=self.host, port=self._requested_port, verbose=False)
        server.start()
        if server.startup_error is not None:
            server.stop()
            # werkzeug prints the bind's error (to standard error) and exits: SystemExit says nothing more
            error = server.startup_error
            detail = "" if isinstance(error, SystemExit) else f": {error!r}"
            where = f"{self.host}:{self._requested_port}"
            raise OSError(f"cannot serve AWS on {where} (is the port in use?){detail}")
        # One delay for the whole process: moto's backends (and so the clusters) are process-global too.
        set_role_apply_delay(self._role_apply_delay)
        bound_host, bound_port = server.get_host_and_port()
        url_host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(bound_host, bound_host)
        if ":" in url_host:
            url_host = f"[{url_host}]"
        self._server = server
        self.port = bound_port
        self._endpoint_url = f"http://{url_host}:{bound_port}"
        try:
            self._wait_until_ready(url_host.strip("[]"), bound_port)
        except BaseException:
            self.stop()
            raise
        if self._provisioner is not None:
            set_cluster_provisioner(bound_port, *self._provisioner)
        return self._endpoint_url

    def stop(self) -> None:
        """Stop the server (moto's state stays in its global backends until reset)."""
        server, self._server, self._endpoint_url = self._server, None, None
        if server is not None:
            clear_cluster_provisioner(self.port)
            server.stop()

    def warm(self, region: str = "us-east-1") -> None:
        """Build now what an account's first calls build: its IAM backends and the region's Redshift backend.

        moto builds IAM for all six partitions on an account's first request (with AWS's managed policies:
        most of that request) and Redshift's backend with EC2's on the first Redshift call.
        """
        from moto.iam.models import iam_backends
        from moto.redshift.models import redshift_backends
        from moto.utilities.utils import PARTITION_NAMES

        for partition in PARTITION_NAMES:
            iam_backends[DEFAULT_ACCOUNT_ID][partition]
        redshift_backends[DEFAULT_ACCOUNT_ID][region]

    def reset(self, clear_endpoints: bool = False) -> None:
        """Forget all AWS state (moto's reset) and issued passwords; keep local endpoints unless asked."""
        _reset_moto()
        clear_credentials()
        if clear_endpoints:
            clear_endpoint_overrides()

    # -- what a stack asks of moto's state (AwsProcess asks its child the same) -------------------------

    @property
    def pid(self) -> int:
        """Return the id of the process moto runs in: this one."""
        return os.getpid()

    def verify_temporary_credentials(self, db_user: str, password: str) -> bool:
        """Return whether GetClusterCredentials/GetCredentials issued this live password to ``db_user``."""
        return verify_temporary_credentials(db_user, password)

    def set_cluster_endpoint(self, cluster_identifier: str, address: str, port: int, region: str) -> None:
        """Make DescribeClusters report ``address:port`` as the cluster's endpoint."""
        set_cluster_endpoint(cluster_identifier, address, port, region)

    def set_workgroup_endpoint(self, workgroup_name: str, address: str, port: int, region: str) -> None:
        """Make GetWorkgroup report ``address:port`` as the workgroup's endpoint."""
        set_workgroup_endpoint(workgroup_name, address, port, region)

    def seed_objects(self, bucket: str, keys: list[str], body: bytes = b"x") -> None:
        """Write objects into the local S3 store at once (no PutObject per key); the bucket must exist."""
        from moto.s3.models import s3_backends

        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for key in keys:
            backend.put_object(bucket, key, body)

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @staticmethod
    def _wait_until_ready(host: str, port: int) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            try:
                connection.request("GET", "/moto-api/config")
                connection.getresponse().read()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                connection.close()

    # ------------------------------------------------------------------------------------------ settings

    @property
    def endpoint_url(self) -> str:
        """Return ``http://host:port`` of the running server."""
        if self._endpoint_url is None:
            raise RuntimeError("LocalAws is not running: call start() first")
        return self._endpoint_url

    @property
    def role_apply_delay(self) -> float:
        """Return the seconds an added/removed IAM role stays ``adding``/``removing``."""
        return self._role_apply_delay

    @role_apply_delay.setter
    def role_apply_delay(self, seconds: float) -> None:
        set_role_apply_delay(seconds)  # validates; applies to later role changes of every LocalAws
        self._role_apply_delay = float(seconds)

    @property
    def account_id(self) -> str:
        """Return the AWS account every resource lives in."""
        return DEFAULT_ACCOUNT_ID

    # ------------------------------------------------------------------------------------------- helpers

    def environment(self, region: str = "us-east-1") -> dict[str, str]:
        """Return environment variables pointing boto3/botocore (and Airflow's AWS hooks) at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
        }

    def client(self, service_name: str, region_name: str = "us-east-1", **kwargs: Any) -> Any:
        """Return a boto3 client for ``service_name`` talking to this server."""
        import boto3

        return boto3.client(
            service_name,
            endpoint_url=self.endpoint_url,
            region_name=region_name,
            aws_access_key_id=kwargs.pop("aws_access_key_id", ACCESS_KEY_ID),
            aws_secret_access_key=kwargs.pop("aws_secret_access_key", SECRET_ACCESS_KEY),
            **kwargs,
        )


def _reset_moto() -> None:
    """Do what moto's reset (``moto_api_backend.reset()``) does, without rebuilding what it then discards.

    moto's ``BackendDict.reset`` calls each backend's ``reset()`` and then empties the dicts, so that every
    backend is built again on first use. A backend that keeps moto's default ``reset`` only re-runs its
    ``__init__`` there, for an object thrown away at once: for IAM, with AWS's managed policies loaded, that
    parses the 1,582 policies once per partition, 1.4 s of every stack's stop. Only the backends that
    override ``reset`` (S3 closes the files its large objects are spooled to) are called.
    """
    from moto.core.base_backend import BackendDict, BaseBackend, backend_lock
    from moto.core.model_instances import reset_model_data
    from moto.moto_api._internal.models import moto_api_backend

    instances: list[Any] = BackendDict._instances  # type: ignore[misc]
    with backend_lock:
        for backend_dict in instances:
            for account_backends in backend_dict.values():
                for backend in account_backends.values():
                    if type(backend).reset is not BaseBackend.reset:
                        backend.reset()
            backend_dict.clear()
        instances.clear()
    reset_model_data()
    moto_api_backend.__init__(moto_api_backend.region_name, moto_api_backend.account_id)  # type: ignore[misc]
