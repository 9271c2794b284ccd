"""IAM roles as Redshift needs them: their trust policy, and what their policies allow (simulated)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from airflow_redshift_s3.exceptions import PermissionCheckError, SimulationUnavailableError
from airflow_redshift_s3.hooks._aws_errors import error_code as _code
from airflow_redshift_s3.hooks._shared_loader import SharedLoaderMixin
from airflow_redshift_s3.rules import ROLE_ARN_RE

if TYPE_CHECKING:
    pass

REDSHIFT_SERVICE = "redshift.amazonaws.com"
SERVERLESS_SERVICE = "redshift-serverless.amazonaws.com"
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.+$")
_USER = re.compile(r"^arn:(aws[a-z-]*):(?:iam|sts)::(\d{12}):user/(.+)$")
_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


def role_name(role_arn: str) -> str:
    """Return the role name of a role ARN (the last path segment)."""
    return role_arn.rsplit("/", 1)[-1]


def parse_role_arn(role_arn: str) -> tuple[str, str, str] | None:
    """Return (partition, account, name) of an IAM role ARN, or None if it is not one."""
    if not isinstance(role_arn, str) or not ROLE_ARN_RE.fullmatch(role_arn):
        return None
    _, partition, _, _, account, resource = role_arn.split(":", 5)
    return partition, account, resource.rsplit("/", 1)[-1]


def trusted_services(document: Any) -> set[str]:
    """Return the service principals an assume-role policy lets call sts:AssumeRole ("*" for anyone)."""
    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    trusted: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a.lower() in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
            trusted.add("*")
            continue
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        trusted.update([services] if isinstance(services, str) else services)
    return trusted


@dataclass(frozen=True)
class RoleInfo:
    """An IAM role and the services its trust policy lets assume it."""

    arn: str
    name: str
    trusted_services: frozenset[str]

    def trusts(self, service: str) -> bool:
        """Return whether ``service`` may assume the role."""
        return service in self.trusted_services or "*" in self.trusted_services


@dataclass(frozen=True)
class SimulationResult:
    """One (action, resource) decision of SimulatePrincipalPolicy."""

    action: str
    resource: str
    decision: str  # "allowed" | "implicitDeny" | "explicitDeny"
    missing_context: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """Return whether the action is allowed on the resource."""
        return self.decision == "allowed"


class IamRoleHook(SharedLoaderMixin, AwsBaseHook):
    """Read IAM roles and simulate what a role's (or the caller's) policies allow.

    Nothing here assumes the role: SimulatePrincipalPolicy evaluates its policies from the outside, which
    needs ``iam:SimulatePrincipalPolicy`` for the caller (a ``SimulationUnavailableError`` otherwise).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["client_type"] = "iam"
        super().__init__(**kwargs)

    def get_role(self, role_arn: str) -> RoleInfo:
        """Return the role and its trusted services; raise ``PermissionCheckError`` if it does not exist."""
        from botocore.exceptions import ClientError

        name = role_name(role_arn)
        try:
            role = self.conn.get_role(RoleName=name)["Role"]
        except ClientError as error:
            if _code(error) == "NoSuchEntity":
                fix = (
                    f"run the redshift_s3_setup DAG (it creates role '{name}' and attaches it), or create "
                    f"it with a trust policy for {REDSHIFT_SERVICE}, or correct the ARN "
                    "(`aws iam list-roles` lists them)"
                )
                raise PermissionCheckError(
                    f"IAM role {role_arn} does not exist: expected an existing role for COPY to assume, "
                    f"IAM answered NoSuchEntity. Fix: {fix}.",
                    fix=fix,
                ) from error
            raise
        if role.get("Arn") and role["Arn"] != role_arn:
            # Same name, different path or account: Redshift matches the ARN exactly.
            fix = f"use the role's ARN {role['Arn']}"
            raise PermissionCheckError(
                f"IAM role {role_arn} does not exist: expected that ARN, found a role named '{name}' with "
                f"ARN {role['Arn']}. Fix: {fix}.",
                fix=fix,
            )
        services = trusted_services(role.get("AssumeRolePolicyDocument") or {})
        return RoleInfo(role.get("Arn", role_arn), name, frozenset(services))

    def simulate(
        self,
        policy_source_arn: str,
        actions: Sequence[str],
        resources: Sequence[str],
        context: dict[str, str] | None = None,
    ) -> list[SimulationResult]:
        """Return one decision per (action, resource), reading every page of SimulatePrincipalPolicy.

        :param policy_source_arn: the role (or user) whose identity policies are evaluated.
        :param actions: e.g. ``["s3:GetObject"]``.
        :param resources: resource ARNs.
        :param context: condition keys and their (string) values, e.g. ``{"s3:prefix": "data/"}``.
        """
        from botocore.exceptions import ClientError

        entries = [
            {"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
            for key, value in (context or {}).items()
        ]
        paginator = self.conn.get_paginator("simulate_principal_policy")
        kwargs: dict[str, Any] = {
            "PolicySourceArn": policy_source_arn,
            "ActionNames": list(actions),
            "ResourceArns": list(resources),
        }
        if entries:
            kwargs["ContextEntries"] = entries
        results: list[SimulationResult] = []
        try:
            for page in paginator.paginate(**kwargs):
                results.extend(
                    SimulationResult(
                        r["EvalActionName"],
                        r.get("EvalResourceName", "*"),
                        r["EvalDecision"],
                        tuple(r.get("MissingContextValues") or ()),
                    )
                    for r in page.get("EvaluationResults", [])
                )
        except ClientError as error:
            code = _code(error)
            if code in _ACCESS_DENIED or code in ("NoSuchEntity", "InvalidInput"):
                raise SimulationUnavailableError(
                    f"Cannot simulate the policies of {policy_source_arn} with connection "
                    f"'{self.aws_conn_id}': IAM answered {code}: "
                    f"{error.response.get('Error', {}).get('Message', '')}"
                ) from error
            raise
        return results

    @cached_property
    def caller_arn(self) -> str:
        """Return the ARN of the identity the connection acts as (STS GetCallerIdentity)."""
        sts = self.get_session(region_name=self.region_name).client(
            "sts",
            endpoint_url=self.conn_config.get_service_endpoint_url("sts"),
            config=self.config,
            verify=self.verify,
        )
        return cast("str", sts.get_caller_identity()["Arn"])

    def caller_principal_arn(self) -> str | None:
        """Return the IAM user or role ARN of the caller, as SimulatePrincipalPolicy takes it, or None.

        An assumed-role session ``arn:aws:sts::123:assumed-role/name/session`` maps to the role (looked up,
        since a role may have a path); the account root cannot be simulated (None).
        """
        arn = self.caller_arn
        assumed = _ASSUMED_ROLE.match(arn)
        if assumed:
            from botocore.exceptions import ClientError

            try:
                return cast("str | None", self.conn.get_role(RoleName=assumed.group(3))["Role"]["Arn"])
            except ClientError:
                return f"arn:{assumed.group(1)}:iam::{assumed.group(2)}:role/{assumed.group(3)}"
        user = _USER.match(arn)
        if user:
            return f"arn:{user.group(1)}:iam::{user.group(2)}:user/{user.group(3)}"
        return None
