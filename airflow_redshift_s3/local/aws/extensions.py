"""Small extensions of moto's own backends and responses that the local Redshift stack needs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_installed = False
_install_lock = threading.Lock()


@contextlib.contextmanager
def _sessions_share_one_loader() -> Iterator[None]:
    """Let the boto3 sessions moto creates while its models are imported share one botocore loader.

    moto's EC2 model (which its Redshift model imports) builds its region table at import time from three
    new boto3 sessions, and its backends list regions from a fourth: each read botocore's endpoint data and
    EC2's service model from disk again, 0.3-0.6 s of a stack's start. The loader only caches static model
    data (as the operators' hooks share theirs); credentials and regions stay per session.
    """
    import boto3
    import moto.core.base_backend as base_backend
    from botocore.loaders import create_loader

    loader = create_loader()
    plain = boto3.Session

    def shared(*args: Any, **kwargs: Any) -> Any:
        session = plain(*args, **kwargs)
        session._session.register_component("data_loader", loader)  # botocore's own extension point
        return session

    boto3.Session = shared  # type: ignore[misc,assignment]
    base_backend.Session = shared  # type: ignore[attr-defined]  # its get_session(), called later
    try:
        yield
    finally:
        boto3.Session = plain  # type: ignore[misc]


def install() -> None:
    """Install every extension into moto (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        with _sessions_share_one_loader():
            from airflow_redshift_s3.local.aws import iam, redshift, redshift_data
            from airflow_redshift_s3.local.aws.serverless import urls as serverless

        redshift.install()
        iam.install()
        serverless.register()
        redshift_data.install()
        _installed = True
