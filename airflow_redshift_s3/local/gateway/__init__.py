"""The gateway that makes a PostgreSQL look like Redshift on the wire: server, sessions, local statements."""

from __future__ import annotations

from airflow_redshift_s3.local.gateway.events import ClientEvent
from airflow_redshift_s3.local.gateway.server import Gateway, GatewayConfig, GatewayThread
from airflow_redshift_s3.local.gateway.session import Session

__all__ = ["ClientEvent", "Gateway", "GatewayConfig", "GatewayThread", "Session"]
