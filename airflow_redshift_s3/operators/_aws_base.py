"""The AWS arguments of every operator and sensor here, taken once, the Amazon provider's way.

Like the Amazon provider's ``AwsBaseOperator`` and ``AwsBaseSensor``: ``aws_conn_id``, ``region_name``,
``verify`` and ``botocore_config`` are arguments of a base class whose ``__init__`` Airflow wraps (so
``default_args`` reach them), and ``aws_template_fields`` adds the templated ones. Those classes are not
used directly because their module imports boto3 on import (every DAG file would pay for it) and they
build a single hook, while these operators use up to three (S3, IAM, Redshift): see ``AwsHookFactoryMixin``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator, BaseSensorOperator

from airflow_redshift_s3.hooks._aws_mixin import AwsHookFactoryMixin


class AwsOperatorBase(AwsHookFactoryMixin, BaseOperator):
    """An operator that calls AWS through this package's hooks.

    :param aws_conn_id: the Airflow AWS connection (templated).
    :param region_name: AWS region, else the connection's (templated).
    :param verify: SSL verification for the AWS clients (templated).
    :param botocore_config: botocore client configuration.
    """

    def __init__(
        self,
        *,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config


class AwsSensorBase(AwsOperatorBase, BaseSensorOperator):
    """A sensor that calls AWS through this package's hooks (the parameters of ``AwsOperatorBase``).

    ``AwsOperatorBase.__init__`` takes the AWS arguments and hands the rest to ``BaseSensorOperator``.
    """
