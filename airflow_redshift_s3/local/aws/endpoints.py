"""What the AWS half and the stack exchange about local endpoints, without importing moto.

The stack runs moto in a process of its own (``process``) or in its own (``server``); either way it reads
these: where a cluster or workgroup is served, and the cluster CreateCluster has just made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # moto accepts any key pair; these are the conventional test values


@dataclass(frozen=True)
class EndpointOverride:
    """Where a cluster or workgroup is reachable locally."""

    address: str
    port: int


@dataclass(frozen=True)
class NewCluster:
    """A cluster CreateCluster has just made, as a provisioner needs it to serve the cluster's database."""

    account_id: str
    region: str
    cluster_identifier: str
    master_username: str
    master_password: str = field(repr=False)
    db_name: str


# provision(cluster) -> its endpoint (raises ValueError to refuse); remove(account_id, region, identifier)
Provision = Callable[[NewCluster], EndpointOverride]
Remove = Callable[[str, str, str], None]


def provisioner(provision: Provision | None, remove: Remove | None) -> tuple[Provision, Remove] | None:
    """Return the pair that serves clusters made later, or None; one without the other is refused."""
    if (provision is None) != (remove is None):
        raise ValueError("provision and remove go together: give both (clusters served locally) or neither")
    return None if provision is None or remove is None else (provision, remove)
