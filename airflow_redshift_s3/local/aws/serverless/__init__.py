"""Redshift Serverless for moto, laid out as moto lays out a service.

moto 5 has no ``redshift-serverless`` service. This package is one, built the way moto builds its own: a
``BaseBackend`` kept in a ``BackendDict`` (``models``), a ``BaseResponse`` whose methods return
``ActionResult`` (``responses``: moto parses the JSON request and serialises the answer from botocore's
service model), the errors (``exceptions``), and ``url_bases`` / ``url_paths`` with ``register()``, which
makes moto's server find it (``urls``).
"""
