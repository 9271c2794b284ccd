"""What the AWS half and the stack exchange about local endpoints, without importing moto.

The stack runs moto in a process of its own (``process``) or in its own (``server``); either way it reads
these: where a cluster or workgroup is served, and the cluster CreateCluster has just made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


def local_client(endpoint_url: str, service_name: str, region_name: str, **kwargs: Any) -> Any:
    """Return a boto3 client for ``service_name`` at a local AWS endpoint, with the test keys by default."""
    import boto3

    return boto3.client(
        service_name,
        endpoint_url=endpoint_url,
        region_name=region_name,
        aws_access_key_id=kwargs.pop("aws_access_key_id", ACCESS_KEY_ID),
        aws_secret_access_key=kwargs.pop("aws_secret_access_key", SECRET_ACCESS_KEY),
        **kwargs,
    )
