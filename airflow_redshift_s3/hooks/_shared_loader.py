"""One botocore data loader for every AWS client this package creates in a process.

The Amazon provider's ``AwsBaseHook.get_session()`` builds a new boto3 session for each hook, and a new
session reads the service models (JSON) from disk again: about 150 ms per client, most of a small load's
preflight (``bench/bench_per_load_overhead.py``). botocore lets a session use a given loader (its
``data_loader`` component); the loader caches what it read, and the models never change in a process.
Credentials, regions and endpoints stay per session: only the static model data is shared.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_loader: Any = None


def _shared_loader() -> Any:
    global _loader
    with _lock:
        if _loader is None:
            from botocore.loaders import create_loader

            _loader = create_loader()
        return _loader


def share_loader(session: Any) -> Any:
    """Give ``session`` (a boto3 session) the process-wide loader and return it; other kinds unchanged."""
    botocore_session = getattr(session, "_session", None)  # boto3.Session keeps its botocore session here
    if botocore_session is not None and hasattr(botocore_session, "register_component"):
        botocore_session.register_component("data_loader", _shared_loader())
    return session


class SharedLoaderMixin:
    """Put before ``AwsBaseHook`` (or ``S3Hook``) in a hook's bases: its sessions share the loader."""

    def get_session(self, region_name: str | None = None, deferrable: bool = False) -> Any:
        """Return the Amazon provider's session for this hook, with the shared botocore loader."""
        session = super().get_session(region_name=region_name, deferrable=deferrable)  # type: ignore[misc]
        return share_loader(session)
