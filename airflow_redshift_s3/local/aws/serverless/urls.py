"""Registration of the local Redshift Serverless service with moto's server: hosts, paths, backend lookup."""

from __future__ import annotations

import re
import sys
from types import SimpleNamespace

from moto import backend_index

from airflow_redshift_s3.local.aws.serverless.models import (
    RedshiftServerlessBackend,
    redshiftserverless_backends,
)
from airflow_redshift_s3.local.aws.serverless.responses import RedshiftServerlessResponse

# What moto's urls.py modules define: the hosts this service answers and the paths it routes.
url_bases = [r"https?://redshift-serverless\.(.+)\.amazonaws\.com"]
url_paths = {"{0}/$": RedshiftServerlessResponse.dispatch}

# moto's get_backend("redshift-serverless") imports moto.redshiftserverless (this module, aliased by
# register()) and reads its ``redshiftserverless_backends``.
_MOTO_MODULE = "moto.redshiftserverless"
_URL_PATTERN = ("redshiftserverless", re.compile(r"https?://redshift-serverless\.(.+)\.amazonaws\.com"))


def register() -> None:
    """Make moto's server dispatch ``redshift-serverless`` requests here (idempotent).

    moto's dispatcher infers the host ``redshift-serverless.<region>.amazonaws.com`` from the SigV4 scope,
    matches it against ``moto.backend_index.backend_url_patterns`` (a generated list, so we append our
    pattern to it), and then loads the backend with ``moto.backends.get_backend``, which imports the
    module ``moto.<name>``: we alias this module under that name instead of writing into moto's package.
    """
    RedshiftServerlessBackend.url_module = SimpleNamespace(url_bases=url_bases, url_paths=url_paths)
    sys.modules.setdefault(_MOTO_MODULE, sys.modules[__name__])
    if all(name != _URL_PATTERN[0] for name, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append(_URL_PATTERN)


__all__ = ["redshiftserverless_backends", "register", "url_bases", "url_paths"]
