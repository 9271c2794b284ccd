"""The gateway's boto3 session (``local.copy.access.AwsAccess``) before its endpoint is known.

The stack makes it, warms it and hands it to the gateway while moto's process still starts; the endpoint's
URL is filled in once that process answers. No AWS call is made here: the clients are only built.
"""

from __future__ import annotations

import pytest

from airflow_redshift_s3.local.copy.access import AwsAccess


def test_no_client_is_made_before_the_endpoint_is_known():
    access = AwsAccess(None)
    access.warm("redshift", "redshift-serverless")  # builds and drops clients: no endpoint needed
    with pytest.raises(RuntimeError, match="the local AWS endpoint is not running yet"):
        access.client("redshift")
    with pytest.raises(RuntimeError, match="the local AWS endpoint is not running yet"):
        access.new_client("s3")


def test_clients_made_once_the_endpoint_is_set_go_to_it():
    access = AwsAccess(None)
    access.warm("redshift")
    access.endpoint_url = "http://127.0.0.1:49999"
    assert access.client("redshift").meta.endpoint_url == "http://127.0.0.1:49999"
    assert access.client("redshift") is access.client("redshift")  # cached
    assert access.new_client("s3", "eu-west-1").meta.region_name == "eu-west-1"
