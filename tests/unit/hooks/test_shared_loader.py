"""The package's AWS hooks share one botocore data loader: service models are read once per process."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.hooks.iam_role import IamRoleHook
from airflow_redshift_s3.hooks.redshift_iam import RedshiftIamRoleHook
from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook


@pytest.fixture(autouse=True)
def _no_connection(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _loader(hook):
    return hook.get_session(region_name="us-east-1")._session.get_component("data_loader")


def test_every_hook_session_gets_the_same_loader_and_the_models_load_once():
    hooks = [
        IamRoleHook(aws_conn_id=None),
        RedshiftIamRoleHook(aws_conn_id=None, cluster_identifier="c"),
        S3InspectHook(aws_conn_id=None),
    ]
    loaders = {id(_loader(hook)) for hook in hooks}
    assert len(loaders) == 1
    loader = _loader(hooks[0])
    first = loader.load_service_model("s3", "service-2")
    assert loader.load_service_model("s3", "service-2") is first  # cached, not read again


def test_clients_keep_their_own_region_and_credentials():
    hook = S3InspectHook(aws_conn_id=None, region_name="eu-west-1")
    other = IamRoleHook(aws_conn_id=None, region_name="us-east-1")
    assert hook.get_session(region_name="eu-west-1") is not other.get_session(region_name="us-east-1")
    assert hook.get_client_type(region_name="eu-west-1").meta.region_name == "eu-west-1"


def test_a_session_without_a_botocore_session_is_left_alone():
    from airflow_redshift_s3.hooks._shared_loader import share_loader

    marker = object()
    assert share_loader(marker) is marker
