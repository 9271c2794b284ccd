"""Redshift Serverless for moto: the namespaces, workgroups and GetCredentials of its backend.

moto 5 has no ``redshift-serverless`` service. This module is one, built the way moto builds its own: a
``BaseBackend`` kept in a ``BackendDict``, a ``BaseResponse`` whose methods return ``ActionResult`` (moto
parses the JSON request and serialises the answer from botocore's service model), and ``url_bases`` /
``url_paths``. ``register()`` makes moto's server find it (see there).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.common_models import BaseModel
from moto.core.utils import utcnow
from moto.utilities.utils import get_partition

from airflow_redshift_s3.local.aws.serverless.exceptions import (
    ConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from airflow_redshift_s3.local.aws.state import (
    IssuedCredential,
    RoleAssociations,
    find_role,
    record_credential,
    role_trusts_service,
    workgroup_endpoint_override,
)

SERVICE_NAME = "redshift-serverless"
# Roles a namespace uses must trust one of these service principals.
SERVERLESS_PRINCIPALS = ("redshift-serverless.amazonaws.com", "redshift.amazonaws.com")
_NAME_PATTERN = re.compile(r"^[a-z0-9-]+$")
_DEFAULT_PORT = 5439
DEFAULT_ROLE_NOT_LISTED = "The default IAM role must be one of the IAM roles of the namespace."
_VALID_PORTS = (*range(5431, 5456), *range(8191, 8216))


def _validate_name(value: Any, member: str) -> str:
    if not isinstance(value, str) or not 3 <= len(value) <= 64 or not _NAME_PATTERN.match(value):
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-z0-9-]+$ and have length between 3 and 64"
        )
    return value


class Namespace(BaseModel):
    """A Redshift Serverless namespace; IAM roles report their apply status like the real API."""

    def __init__(
        self,
        backend: RedshiftServerlessBackend,
        namespace_name: str,
        admin_username: str | None,
        admin_user_password: str | None,
        db_name: str | None,
        iam_roles: list[str],
        default_iam_role_arn: str | None,
        kms_key_id: str | None,
        log_exports: list[str],
        tags: list[dict[str, str]],
    ) -> None:
        self.namespace_name = namespace_name
        self.namespace_id = str(uuid.uuid4())
        self.namespace_arn = (
            f"arn:{get_partition(backend.region_name)}:redshift-serverless:{backend.region_name}:"
            f"{backend.account_id}:namespace/{self.namespace_id}"
        )
        self.admin_username = admin_username
        self.admin_user_password = admin_user_password
        self.db_name = db_name or "dev"
        self.role_associations = RoleAssociations(iam_roles)  # given at creation: in-sync at once
        self.default_iam_role_arn = default_iam_role_arn
        self.kms_key_id = kms_key_id or "AWS_OWNED_KMS_KEY"
        self.log_exports = log_exports
        self.tags = tags
        self.creation_date = utcnow()
        self.deleting = False

    @property
    def iam_roles(self) -> list[str]:
        """Return the roles as the API reports them: ``IamRole(applyStatus=..., iamRoleArn=...)``."""
        return [
            f"IamRole(applyStatus={status}, iamRoleArn={arn})"
            for arn, status in self.role_associations.statuses()
        ]

    @property
    def status(self) -> str:
        """Return DELETING, MODIFYING while roles are being applied, else AVAILABLE."""
        if self.deleting:
            return "DELETING"
        return "MODIFYING" if self.role_associations.pending() else "AVAILABLE"


class Workgroup(BaseModel):
    """A Redshift Serverless workgroup bound to one namespace."""

    def __init__(
        self,
        backend: RedshiftServerlessBackend,
        workgroup_name: str,
        namespace_name: str,
        base_capacity: int | None,
        max_capacity: int | None,
        port: int | None,
        publicly_accessible: bool,
        enhanced_vpc_routing: bool,
        security_group_ids: list[str],
        subnet_ids: list[str],
        config_parameters: list[dict[str, str]],
        tags: list[dict[str, str]],
    ) -> None:
        self.account_id = backend.account_id
        self.region = backend.region_name
        self.workgroup_name = workgroup_name
        self.workgroup_id = str(uuid.uuid4())
        self.workgroup_arn = (
            f"arn:{get_partition(self.region)}:redshift-serverless:{self.region}:{self.account_id}:"
            f"workgroup/{self.workgroup_id}"
        )
        self.namespace_name = namespace_name
        self.base_capacity = base_capacity or 128
        self.max_capacity = max_capacity
        self.port = port or _DEFAULT_PORT
        self.publicly_accessible = publicly_accessible
        self.enhanced_vpc_routing = enhanced_vpc_routing
        self.security_group_ids = security_group_ids
        self.subnet_ids = subnet_ids
        self.config_parameters = config_parameters
        self.tags = tags
        self.creation_date = utcnow()
        self.ip_address_type = "ipv4"
        self.workgroup_version = "1.0"
        self.status = "AVAILABLE"

    @property
    def address(self) -> str:
        """Return the host name AWS gives a workgroup."""
        return f"{self.workgroup_name}.{self.account_id}.{self.region}.redshift-serverless.amazonaws.com"

    @property
    def endpoint(self) -> dict[str, Any]:
        """Return the endpoint, or the local one set with set_workgroup_endpoint."""
        override = workgroup_endpoint_override(self.account_id, self.region, self.workgroup_name)
        if override is not None:
            return {"address": override.address, "port": override.port, "vpcEndpoints": []}
        return {"address": self.address, "port": self.port, "vpcEndpoints": []}


class RedshiftServerlessBackend(BaseBackend):
    """Namespaces and workgroups of one account and region."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.namespaces: dict[str, Namespace] = {}
        self.workgroups: dict[str, Workgroup] = {}

    # moto derives the URL module from the backend's module name (moto.<svc>.models -> moto.<svc>.urls);
    # ``urls.register()`` sets it instead.
    url_module: Any = None

    @property
    def _url_module(self) -> Any:
        return self.url_module

    def _validate_roles(self, arns: list[str]) -> None:
        for arn in arns:
            role = find_role(self.account_id, self.region_name, arn)
            if role is None or not role_trusts_service(role, SERVERLESS_PRINCIPALS):
                raise ValidationException(
                    f"The IAM role {arn} is not valid. The IAM role must exist and trust "
                    "redshift-serverless.amazonaws.com or redshift.amazonaws.com."
                )

    def create_namespace(
        self,
        namespace_name: str,
        admin_username: str | None = None,
        admin_user_password: str | None = None,
        db_name: str | None = None,
        iam_roles: list[str] | None = None,
        default_iam_role_arn: str | None = None,
        kms_key_id: str | None = None,
        log_exports: list[str] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> Namespace:
        """Create a namespace; roles given here are in-sync at once."""
        _validate_name(namespace_name, "namespaceName")
        if namespace_name in self.namespaces:
            raise ConflictException(f"Namespace with the name {namespace_name} already exists.")
        roles = list(dict.fromkeys(iam_roles or []))
        self._validate_roles(roles)
        if default_iam_role_arn and default_iam_role_arn not in roles:
            raise ValidationException(DEFAULT_ROLE_NOT_LISTED)
        namespace = Namespace(
            self,
            namespace_name,
            admin_username,
            admin_user_password,
            db_name,
            roles,
            default_iam_role_arn,
            kms_key_id,
            log_exports or [],
            tags or [],
        )
        self.namespaces[namespace_name] = namespace
        return namespace

    def get_namespace(self, namespace_name: str) -> Namespace:
        """Return the namespace or raise ResourceNotFoundException."""
        namespace = self.namespaces.get(namespace_name)
        if namespace is None:
            raise ResourceNotFoundException(f"Namespace {namespace_name} not found.", namespace_name)
        return namespace

    def list_namespaces(self) -> list[Namespace]:
        """Return every namespace."""
        return list(self.namespaces.values())

    def update_namespace(
        self,
        namespace_name: str,
        iam_roles: list[str] | None = None,
        default_iam_role_arn: str | None = None,
        admin_username: str | None = None,
        admin_user_password: str | None = None,
        kms_key_id: str | None = None,
        log_exports: list[str] | None = None,
    ) -> Namespace:
        """Replace the role list (``iamRoles`` is the full new list) and the default role, like AWS."""
        namespace = self.get_namespace(namespace_name)
        if namespace.status != "AVAILABLE":
            raise ConflictException(
                f"There is an operation running on the namespace {namespace_name}. Try again later."
            )
        if default_iam_role_arn is not None and iam_roles is None:
            raise ValidationException("defaultIamRoleArn must be updated together with iamRoles.")
        if (admin_username is None) != (admin_user_password is None):
            raise ValidationException("adminUsername and adminUserPassword must be updated together.")
        if iam_roles is not None:
            roles = list(dict.fromkeys(iam_roles))
            self._validate_roles(
                [arn for arn in roles if arn not in namespace.role_associations.associated()]
            )
            if default_iam_role_arn and default_iam_role_arn not in roles:
                raise ValidationException(DEFAULT_ROLE_NOT_LISTED)
            for arn in namespace.role_associations.associated():
                if arn not in roles:
                    namespace.role_associations.remove(arn)
            for arn in roles:
                namespace.role_associations.add(arn)
            if default_iam_role_arn is not None:
                namespace.default_iam_role_arn = default_iam_role_arn or None
            elif namespace.default_iam_role_arn not in roles:
                namespace.default_iam_role_arn = None
        if admin_username is not None:
            namespace.admin_username = admin_username
            namespace.admin_user_password = admin_user_password
        if kms_key_id is not None:
            namespace.kms_key_id = kms_key_id
        if log_exports is not None:
            namespace.log_exports = log_exports
        return namespace

    def delete_namespace(self, namespace_name: str) -> Namespace:
        """Delete a namespace that no workgroup uses."""
        namespace = self.get_namespace(namespace_name)
        if any(workgroup.namespace_name == namespace_name for workgroup in self.workgroups.values()):
            raise ConflictException(
                f"Namespace {namespace_name} is associated with a workgroup. Delete the workgroup first."
            )
        del self.namespaces[namespace_name]
        namespace.deleting = True
        return namespace

    def create_workgroup(
        self,
        workgroup_name: str,
        namespace_name: str,
        base_capacity: int | None = None,
        max_capacity: int | None = None,
        port: int | None = None,
        publicly_accessible: bool = False,
        enhanced_vpc_routing: bool = False,
        security_group_ids: list[str] | None = None,
        subnet_ids: list[str] | None = None,
        config_parameters: list[dict[str, str]] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> Workgroup:
        """Create a workgroup for an existing namespace that has none yet."""
        _validate_name(workgroup_name, "workgroupName")
        _validate_name(namespace_name, "namespaceName")
        if workgroup_name in self.workgroups:
            raise ConflictException(f"Workgroup with the name {workgroup_name} already exists.")
        self.get_namespace(namespace_name)
        if any(workgroup.namespace_name == namespace_name for workgroup in self.workgroups.values()):
            raise ConflictException(f"Namespace {namespace_name} is already associated with a workgroup.")
        if port is not None and port not in _VALID_PORTS:
            raise ValidationException("The port must be in the range 5431-5455 or 8191-8215.")
        workgroup = Workgroup(
            self,
            workgroup_name,
            namespace_name,
            base_capacity,
            max_capacity,
            port,
            publicly_accessible,
            enhanced_vpc_routing,
            security_group_ids or [],
            subnet_ids or [],
            config_parameters or [],
            tags or [],
        )
        self.workgroups[workgroup_name] = workgroup
        return workgroup

    def get_workgroup(self, workgroup_name: str) -> Workgroup:
        """Return the workgroup or raise ResourceNotFoundException."""
        workgroup = self.workgroups.get(workgroup_name)
        if workgroup is None:
            raise ResourceNotFoundException(f"Workgroup {workgroup_name} not found.", workgroup_name)
        return workgroup

    def list_workgroups(self) -> list[Workgroup]:
        """Return every workgroup."""
        return list(self.workgroups.values())

    def delete_workgroup(self, workgroup_name: str) -> Workgroup:
        """Delete a workgroup."""
        workgroup = self.get_workgroup(workgroup_name)
        del self.workgroups[workgroup_name]
        workgroup.status = "DELETING"
        return workgroup

    def get_credentials(
        self, workgroup_name: str | None, db_name: str | None, duration_seconds: int | None, caller_arn: str
    ) -> dict[str, Any]:
        """Issue a temporary database user and password for the caller, and remember them."""
        if not workgroup_name:
            raise ValidationException("Either workgroupName or customDomainName must be specified.")
        workgroup = self.get_workgroup(workgroup_name)
        duration = 900 if duration_seconds is None else duration_seconds
        if not 900 <= duration <= 3600:
            raise ValidationException("durationSeconds must be between 900 and 3600 seconds.")
        now = datetime.now(timezone.utc)
        expiration = now + timedelta(seconds=duration)
        credential = IssuedCredential(
            db_user=db_user_for(caller_arn),
            password=secrets.token_urlsafe(48),
            expiration=expiration,
            service=SERVICE_NAME,
            resource=workgroup.workgroup_name,
            region=self.region_name,
            account_id=self.account_id,
            db_name=db_name,
        )
        record_credential(credential)
        return {
            "dbUser": credential.db_user,
            "dbPassword": credential.password,
            "expiration": expiration,
            "nextRefreshTime": expiration,
        }


def db_user_for(caller_arn: str) -> str:
    """Return the database user AWS derives from the caller: ``IAM:<user>`` or ``IAMR:<role>``."""
    assumed = re.match(r"arn:[^:]+:sts::\d+:assumed-role/([^/]+)/", caller_arn)
    if assumed:
        return f"IAMR:{assumed.group(1)}"
    return f"IAM:{caller_arn.rsplit('/', 1)[-1]}"


# moto's get_backend("redshift-serverless") imports moto.redshiftserverless and reads this attribute.
redshiftserverless_backends = BackendDict(RedshiftServerlessBackend, SERVICE_NAME)
