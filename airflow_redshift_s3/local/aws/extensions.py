"""Small extensions of moto's own backends and responses that the local Redshift stack needs."""

from __future__ import annotations

import threading

_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Install every extension into moto (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from airflow_redshift_s3.local.aws import iam, redshift, redshift_data
        from airflow_redshift_s3.local.aws.serverless import urls as serverless

        redshift.install()
        iam.install()
        serverless.register()
        redshift_data.install()
        _installed = True
