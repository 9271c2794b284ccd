"""State the moto extensions share: the role apply delay, issued database passwords, local endpoints."""

from __future__ import annotations

import hmac
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.access_control import IAMPolicyStatement
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.utilities.utils import get_partition

from airflow_redshift_s3.local.aws.endpoints import EndpointOverride, NewCluster, Provision, Remove

# Seconds an added IAM role stays "adding" (and a removed one "removing") before AWS reports it settled.
_role_apply_delay = 3.0


def get_role_apply_delay() -> float:
    """Return the seconds a role association takes to settle."""
    return _role_apply_delay


def set_role_apply_delay(seconds: float) -> None:
    """Set the seconds a role association takes to settle (0 settles at once)."""
    global _role_apply_delay
    if seconds < 0:
        raise ValueError(f"role_apply_delay must be >= 0, got {seconds}")
    _role_apply_delay = float(seconds)


# --------------------------------------------------------------------------------------------- role states


@dataclass
class _RoleState:
    status: str  # "adding" | "in-sync" | "removing"
    settles_at: float  # time.monotonic() when "adding" becomes "in-sync" or "removing" disappears


class RoleAssociations:
    """IAM roles attached to a cluster or a namespace, settling lazily like AWS's apply status."""

    def __init__(self, arns: list[str] | None = None) -> None:
        self._roles: dict[str, _RoleState] = {arn: _RoleState("in-sync", 0.0) for arn in arns or []}
        self._lock = threading.Lock()

    def _settle(self) -> None:
        now = time.monotonic()
        for arn, state in list(self._roles.items()):
            if state.status == "adding" and now >= state.settles_at:
                state.status = "in-sync"
            elif state.status == "removing" and now >= state.settles_at:
                del self._roles[arn]

    def add(self, arn: str) -> None:
        """Associate ``arn``; it reports ``adding`` until the apply delay has passed."""
        delay = get_role_apply_delay()
        with self._lock:
            self._settle()
            current = self._roles.get(arn)
            if current is not None and current.status != "removing":
                return
            self._roles[arn] = _RoleState("adding" if delay > 0 else "in-sync", time.monotonic() + delay)

    def remove(self, arn: str) -> None:
        """Disassociate ``arn``; it reports ``removing`` until the apply delay has passed."""
        delay = get_role_apply_delay()
        with self._lock:
            self._settle()
            current = self._roles.get(arn)
            if current is None or current.status == "removing":
                return
            if delay > 0:
                self._roles[arn] = _RoleState("removing", time.monotonic() + delay)
            else:
                del self._roles[arn]

    def statuses(self) -> list[tuple[str, str]]:
        """Return ``(role_arn, apply_status)`` for every role, removing ones included."""
        with self._lock:
            self._settle()
            return [(arn, state.status) for arn, state in self._roles.items()]

    def associated(self) -> list[str]:
        """Return the ARNs associated now (adding and in-sync, not removing)."""
        return [arn for arn, status in self.statuses() if status != "removing"]

    def pending(self) -> bool:
        """Return whether some role is still adding or removing."""
        return any(status != "in-sync" for _, status in self.statuses())


# ------------------------------------------------------------------------------------------ trust checks


def find_role(account_id: str, region: str, arn: str) -> Any | None:
    """Return moto's IAM role with this ARN, or None."""
    backend = iam_backends[account_id][get_partition(region)]
    try:
        return backend.get_role_by_arn(arn)
    except NotFoundException:
        return None


def role_trusts_service(role: Any, services: tuple[str, ...]) -> bool:
    """Return whether the role's trust policy lets one of ``services`` call sts:AssumeRole."""
    document = role.assume_role_policy_document
    policy = json.loads(document) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            continue
        # moto's own statement matcher decides whether sts:AssumeRole is among the actions.
        if not IAMPolicyStatement(statement)._check_element_matches("Action", "sts:AssumeRole"):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, dict):
            trusted = principal.get("Service", [])
            trusted = [trusted] if isinstance(trusted, str) else trusted
            if any(service in trusted for service in services):
                return True
    return False


# ------------------------------------------------------------------------------- temporary db credentials


@dataclass(frozen=True)
class IssuedCredential:
    """A temporary database password handed out by GetClusterCredentials or GetCredentials."""

    db_user: str
    password: str
    expiration: datetime
    service: str  # "redshift" | "redshift-serverless"
    resource: str  # the cluster identifier or the workgroup name
    region: str
    account_id: str
    db_name: str | None = None

    def is_valid(self, now: datetime | None = None) -> bool:
        """Return whether the password has not expired yet."""
        return (now or datetime.now(timezone.utc)) < self.expiration


_credentials: dict[str, IssuedCredential] = {}
_credentials_lock = threading.Lock()


def record_credential(credential: IssuedCredential) -> None:
    """Remember an issued password until it expires."""
    now = datetime.now(timezone.utc)
    with _credentials_lock:
        for password, old in list(_credentials.items()):
            if not old.is_valid(now):
                del _credentials[password]
        _credentials[credential.password] = credential


def find_credential(db_user: str, password: str) -> IssuedCredential | None:
    """Return the unexpired credential issued for this user and password, or None."""
    with _credentials_lock:
        credential = _credentials.get(password)
    if credential is None or not credential.is_valid():
        return None
    if not hmac.compare_digest(credential.db_user.encode(), db_user.encode()):
        return None
    return credential


def clear_credentials() -> None:
    """Forget every issued password."""
    with _credentials_lock:
        _credentials.clear()


# ----------------------------------------------------------------------------------------- local endpoints


_cluster_endpoints: dict[tuple[str, str, str], EndpointOverride] = {}
_workgroup_endpoints: dict[tuple[str, str, str], EndpointOverride] = {}


def set_cluster_endpoint_override(
    cluster_identifier: str, address: str, port: int, region: str, account_id: str = DEFAULT_ACCOUNT_ID
) -> None:
    """Make DescribeClusters report ``address:port`` for this cluster."""
    _cluster_endpoints[(account_id, region, cluster_identifier)] = EndpointOverride(address, int(port))


def cluster_endpoint_override(
    account_id: str, region: str, cluster_identifier: str
) -> EndpointOverride | None:
    """Return the local endpoint set for this cluster, or None."""
    return _cluster_endpoints.get((account_id, region, cluster_identifier))


def set_workgroup_endpoint_override(
    workgroup_name: str, address: str, port: int, region: str, account_id: str = DEFAULT_ACCOUNT_ID
) -> None:
    """Make GetWorkgroup report ``address:port`` for this workgroup."""
    _workgroup_endpoints[(account_id, region, workgroup_name)] = EndpointOverride(address, int(port))


def workgroup_endpoint_override(account_id: str, region: str, workgroup_name: str) -> EndpointOverride | None:
    """Return the local endpoint set for this workgroup, or None."""
    return _workgroup_endpoints.get((account_id, region, workgroup_name))


def clear_endpoint_overrides() -> None:
    """Forget every local endpoint."""
    _cluster_endpoints.clear()
    _workgroup_endpoints.clear()
    _provisioned.clear()


# ------------------------------------------------------------------------------ clusters created later


_provisioners: dict[int, tuple[Provision, Remove]] = {}
_provisioned: dict[tuple[str, str, str], int] = {}


def set_cluster_provisioner(aws_port: int, provision: Provision, remove: Remove) -> None:
    """Give every cluster later created through the AWS endpoint on ``aws_port`` a local endpoint.

    The stack registers itself here: moto's state is process-wide, but only the clusters created through
    the stack's own endpoint get a database (another LocalAws in the process keeps AWS's endpoints).
    """
    _provisioners[int(aws_port)] = (provision, remove)


def clear_cluster_provisioner(aws_port: int) -> None:
    """Stop provisioning clusters created through ``aws_port``."""
    _provisioners.pop(int(aws_port), None)


def provision_cluster(aws_port: int, cluster: NewCluster) -> EndpointOverride | None:
    """Serve ``cluster`` locally if the endpoint on ``aws_port`` provisions clusters; return its endpoint.

    A cluster that already has a local endpoint (the stack's own, or one set with set_cluster_endpoint)
    keeps it.
    """
    key = (cluster.account_id, cluster.region, cluster.cluster_identifier)
    entry = _provisioners.get(int(aws_port))
    if entry is None or key in _cluster_endpoints:
        return None
    endpoint = entry[0](cluster)
    _cluster_endpoints[key] = endpoint
    _provisioned[key] = int(aws_port)
    return endpoint


def unprovision_cluster(account_id: str, region: str, cluster_identifier: str) -> None:
    """Close the local endpoint provision_cluster gave a deleted cluster (others are left alone)."""
    key = (account_id, region, cluster_identifier)
    aws_port = _provisioned.pop(key, None)
    if aws_port is None:
        return
    _cluster_endpoints.pop(key, None)
    entry = _provisioners.get(aws_port)
    if entry is not None:
        entry[1](account_id, region, cluster_identifier)
