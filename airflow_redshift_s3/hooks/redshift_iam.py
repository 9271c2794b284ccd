"""IAM roles of a provisioned Redshift cluster or a Redshift Serverless namespace."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, cast

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from airflow_redshift_s3.exceptions import (
    ConfigCheckError,
    PermissionCheckError,
    RedshiftS3Error,
    ResourceNotFoundError,
    RoleApplyTimeoutError,
)
from airflow_redshift_s3.hooks._aws_errors import error_code as _code
from airflow_redshift_s3.hooks._aws_errors import error_message as _message
from airflow_redshift_s3.hooks._shared_loader import SharedLoaderMixin

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

IN_SYNC = "in-sync"
ADDING = "adding"
REMOVING = "removing"

_APPLY_STATUS = re.compile(r"applyStatus=([^,)\s]+)")
_ROLE_ARN = re.compile(r"iamRoleArn=([^,)\s]+)")
# <cluster>.<hash>.<region>.redshift.amazonaws.com and <workgroup>.<account>.<region>.redshift-serverless...
_ENDPOINT_REGION = re.compile(
    r"\.([a-z]{2}(?:-[a-z]+)+-\d+)\.redshift(?:-serverless)?\.amazonaws\.com(?:\.cn)?$"
)
_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}


@dataclass(frozen=True)
class AttachedRole:
    """An IAM role associated with a cluster or namespace, and how far Redshift has applied it."""

    arn: str
    apply_status: str  # "in-sync" | "adding" | "removing"


@dataclass(frozen=True)
class RedshiftTarget:
    """What the roles are attached to: a provisioned cluster or a Serverless namespace."""

    kind: Literal["cluster", "namespace"]
    name: str  # the cluster identifier or the namespace name
    workgroup_name: str | None = None

    @property
    def serverless(self) -> bool:
        """Return whether this is a Redshift Serverless namespace."""
        return self.kind == "namespace"

    def __str__(self) -> str:
        if self.kind == "cluster":
            return f"Redshift cluster '{self.name}'"
        via = f" (workgroup '{self.workgroup_name}')" if self.workgroup_name else ""
        return f"Redshift Serverless namespace '{self.name}'{via}"


@dataclass(frozen=True)
class RedshiftRoles:
    """The IAM roles of a cluster or namespace and its default role."""

    target: RedshiftTarget
    roles: tuple[AttachedRole, ...]
    default_role_arn: str | None

    def status(self, role_arn: str) -> str | None:
        """Return the apply status of ``role_arn``, or None when it is not attached."""
        for role in self.roles:
            if role.arn == role_arn:
                return role.apply_status
        return None

    @property
    def associated(self) -> list[str]:
        """Return the ARNs attached or being attached (not those being removed)."""
        return [role.arn for role in self.roles if role.apply_status != REMOVING]

    def describe(self, role_arn: str) -> str:
        """Return how ``role_arn`` stands, in words, for messages."""
        status = self.status(role_arn)
        found = f"apply status '{status}'" if status else "not attached"
        others = ", ".join(f"{r.arn} ({r.apply_status})" for r in self.roles) or "none"
        return f"role {role_arn} is {found} on {self.target} (roles attached: {others})"


def parse_serverless_role(text: str) -> AttachedRole | None:
    """Parse ``IamRole(applyStatus=in-sync, iamRoleArn=arn:...)``, as GetNamespace reports a role."""
    arn = _ROLE_ARN.search(text)
    if arn is None:
        # A bare ARN is what CreateNamespace takes; treat it as applied if an API ever echoes it back.
        stripped = text.strip()
        return AttachedRole(stripped, IN_SYNC) if stripped.startswith("arn:") else None
    status = _APPLY_STATUS.search(text)
    return AttachedRole(arn.group(1), status.group(1) if status else IN_SYNC)


def roles_from_cluster(target: RedshiftTarget, cluster: dict[str, Any]) -> RedshiftRoles:
    """Return the roles from a DescribeClusters entry."""
    roles = tuple(
        AttachedRole(role["IamRoleArn"], role.get("ApplyStatus") or IN_SYNC)
        for role in cluster.get("IamRoles") or []
    )
    return RedshiftRoles(target, roles, cluster.get("DefaultIamRoleArn") or None)


def roles_from_namespace(target: RedshiftTarget, namespace: dict[str, Any]) -> RedshiftRoles:
    """Return the roles from a GetNamespace ``namespace``, parsing its role strings."""
    parsed = (parse_serverless_role(text) for text in namespace.get("iamRoles") or [])
    roles = tuple(role for role in parsed if role is not None)
    return RedshiftRoles(target, roles, namespace.get("defaultIamRoleArn") or None)


class RedshiftIamRoleHook(SharedLoaderMixin, AwsBaseHook):
    """Read and change the IAM roles of a provisioned cluster or a Redshift Serverless namespace.

    Give exactly one of ``cluster_identifier``, ``workgroup_name`` or ``namespace_name``. The client is
    ``redshift`` for a cluster and ``redshift-serverless`` otherwise; connection, region, endpoint and role
    assumption come from the Airflow AWS connection.

    :param cluster_identifier: a provisioned cluster.
    :param workgroup_name: a Serverless workgroup (its namespace holds the roles).
    :param namespace_name: a Serverless namespace.
    :param conflict_timeout: seconds to keep retrying an update of a namespace that is busy.
    """

    def __init__(
        self,
        *,
        cluster_identifier: str | None = None,
        workgroup_name: str | None = None,
        namespace_name: str | None = None,
        conflict_timeout: float = 120.0,
        **kwargs: Any,
    ) -> None:
        given = [
            n
            for n, v in (
                ("cluster_identifier", cluster_identifier),
                ("workgroup_name", workgroup_name),
                ("namespace_name", namespace_name),
            )
            if v
        ]
        if len(given) != 1:
            raise ConfigCheckError(
                "Expected exactly one of cluster_identifier, workgroup_name or namespace_name to name the "
                f"Redshift cluster or Serverless namespace, found {given or 'none'}. Fix: pass "
                "cluster_identifier for a provisioned cluster, or workgroup_name (or namespace_name) for "
                "Redshift Serverless.",
                fix="pass exactly one of cluster_identifier, workgroup_name, namespace_name",
            )
        self.cluster_identifier = cluster_identifier or None
        self.workgroup_name = workgroup_name or None
        self.namespace_name = namespace_name or None
        self.conflict_timeout = conflict_timeout
        kwargs["client_type"] = "redshift" if cluster_identifier else "redshift-serverless"
        super().__init__(**kwargs)

    # -- the target --------------------------------------------------------------------------------

    @cached_property
    def target(self) -> RedshiftTarget:
        """Return the cluster or namespace; a workgroup is resolved to its namespace (one call)."""
        if self.cluster_identifier:
            return RedshiftTarget("cluster", self.cluster_identifier)
        if self.namespace_name:
            return RedshiftTarget("namespace", self.namespace_name)
        assert self.workgroup_name
        return self._workgroup_target(self._call(self.conn.get_workgroup, workgroupName=self.workgroup_name))

    def _workgroup_target(self, response: dict[str, Any]) -> RedshiftTarget:
        return RedshiftTarget("namespace", response["workgroup"]["namespaceName"], self.workgroup_name)

    def _not_found(self, error: ClientError) -> ResourceNotFoundError:
        if self.cluster_identifier:
            what, name, listing = "cluster", self.cluster_identifier, "aws redshift describe-clusters"
        elif self.workgroup_name:
            what, name = "Serverless workgroup", self.workgroup_name
            listing = "aws redshift-serverless list-workgroups"
        else:
            what, name = "Serverless namespace", str(self.namespace_name)
            listing = "aws redshift-serverless list-namespaces"
        # conn_config is already loaded here (also in a trigger, where building a sync client would block)
        region = self.region_name or "the connection's default region"
        fix = (
            f"check the name and the connection's region ({region}); `{listing} --region {region}` lists them"
        )
        return ResourceNotFoundError(
            f"Redshift {what} '{name}' was not found in region {region} with connection "
            f"'{self.aws_conn_id}' (AWS said: {_message(error)}). Fix: {fix}.",
            fix=fix,
        )

    def _translate(self, error: ClientError, role_arn: str | None = None) -> Exception:
        """Turn a ClientError into the domain exception that says what to fix."""
        code = _code(error)
        if code in ("ClusterNotFound", "ClusterNotFoundFault", "ResourceNotFoundException"):
            return self._not_found(error)
        target = self.__dict__.get("target") or (
            self.cluster_identifier or self.workgroup_name or self.namespace_name
        )
        if code in _ACCESS_DENIED:
            fix = (
                "allow the connection's identity redshift:DescribeClusters/ModifyClusterIamRoles (or "
                "redshift-serverless:GetWorkgroup/GetNamespace/UpdateNamespace) on the target and "
                "iam:PassRole on the role"
            )
            return PermissionCheckError(
                f"The connection '{self.aws_conn_id}' may not manage the IAM roles of {target}"
                f"{f' with role {role_arn}' if role_arn else ''}: AWS said {code}: {_message(error)}. "
                f"Fix: {fix}.",
                fix=fix,
            )
        if code in ("InvalidParameterValue", "ValidationException") and role_arn:
            services = "redshift-serverless.amazonaws.com and redshift.amazonaws.com"
            if self.cluster_identifier:
                services = "redshift.amazonaws.com"
            fix = (
                f"make sure role {role_arn} exists and its trust policy allows {services} to call "
                "sts:AssumeRole"
            )
            return PermissionCheckError(
                f"Redshift refused IAM role {role_arn} for {target}: expected a role Redshift may assume, "
                f"AWS said {code}: {_message(error)}. Fix: {fix}.",
                fix=fix,
            )
        if code in ("InvalidClusterState", "InvalidClusterStateFault", "ConflictException"):
            return RedshiftS3Error(
                f"{target} is busy and cannot change its IAM roles now (AWS said {code}: "
                f"{_message(error)}). Fix: retry when the operation in progress has finished."
            )
        return cast("Exception", error)

    def _call(self, method: Callable[..., Any], role_arn: str | None = None, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return method(**kwargs)
        except ClientError as error:
            translated = self._translate(error, role_arn)
            if translated is error:
                raise
            raise translated from error

    # -- reading -----------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """Return the DescribeClusters entry of the cluster, or the GetNamespace namespace."""
        target = self.target
        if target.kind == "cluster":
            return cast(
                "dict[str, Any]",
                self._call(self.conn.describe_clusters, ClusterIdentifier=target.name)["Clusters"][0],
            )
        return cast(
            "dict[str, Any]", self._call(self.conn.get_namespace, namespaceName=target.name)["namespace"]
        )

    def get_roles(self) -> RedshiftRoles:
        """Return the attached roles with their apply status, and the default role."""
        return self._roles_from(self.describe())

    def _roles_from(self, description: dict[str, Any]) -> RedshiftRoles:
        if self.target.kind == "cluster":
            return roles_from_cluster(self.target, description)
        return roles_from_namespace(self.target, description)

    def get_region(self) -> str:
        """Return the region of the cluster or namespace (from its endpoint or ARN, else the client's)."""
        return self.region_of(self.describe())

    def get_roles_and_region(self) -> tuple[RedshiftRoles, str]:
        """Return the roles and the region with one DescribeClusters (or GetNamespace) call."""
        description = self.describe()
        return self._roles_from(description), self.region_of(description)

    def region_of(self, description: dict[str, Any]) -> str:
        """Return the region from a DescribeClusters entry or a GetNamespace namespace."""
        candidates = [
            (description.get("Endpoint") or {}).get("Address", ""),
            description.get("ClusterNamespaceArn", ""),
            description.get("namespaceArn", ""),
        ]
        for value in candidates:
            match = _ENDPOINT_REGION.search(value or "")
            if match:
                return match.group(1)
            if value and value.startswith("arn:") and value.count(":") >= 5 and value.split(":")[3]:
                return cast("str", value.split(":")[3])
        return self.conn_region_name

    # -- changing ----------------------------------------------------------------------------------

    def attach_role(self, role_arn: str, *, set_as_default: bool = False) -> RedshiftRoles:
        """Attach ``role_arn`` keeping the other roles (and make it the default if asked); return the roles.

        A role already attached is not added again. For Serverless the full role list is sent, as
        UpdateNamespace replaces it; a busy namespace is retried until ``conflict_timeout``.
        """
        if self.target.kind == "cluster":
            current = self.get_roles()
            kwargs: dict[str, Any] = {"ClusterIdentifier": self.target.name}
            if current.status(role_arn) in (None, REMOVING):
                kwargs["AddIamRoles"] = [role_arn]
            if set_as_default and current.default_role_arn != role_arn:
                kwargs["DefaultIamRoleArn"] = role_arn
            if len(kwargs) == 1:
                return current
            response = self._call(self.conn.modify_cluster_iam_roles, role_arn, **kwargs)
            return roles_from_cluster(self.target, response["Cluster"])

        def change(current: RedshiftRoles) -> tuple[list[str], str | None]:
            roles = current.associated
            if role_arn not in roles:
                roles.append(role_arn)
            default = role_arn if set_as_default else current.default_role_arn
            return roles, default

        return self._update_namespace(change, role_arn)

    def detach_role(self, role_arn: str) -> RedshiftRoles:
        """Detach ``role_arn`` (a no-op when it is not attached); return the roles."""
        current = self.get_roles()
        if current.status(role_arn) in (None, REMOVING):
            return current
        if self.target.kind == "cluster":
            response = self._call(
                self.conn.modify_cluster_iam_roles,
                role_arn,
                ClusterIdentifier=self.target.name,
                RemoveIamRoles=[role_arn],
            )
            return roles_from_cluster(self.target, response["Cluster"])

        def change(current: RedshiftRoles) -> tuple[list[str], str | None]:
            roles = [arn for arn in current.associated if arn != role_arn]
            default = current.default_role_arn if current.default_role_arn != role_arn else None
            return roles, default

        return self._update_namespace(change, role_arn)

    def set_default_role(self, role_arn: str) -> RedshiftRoles:
        """Make ``role_arn``, which must be attached, the default role (COPY ... IAM_ROLE default)."""
        current = self.get_roles()
        if current.status(role_arn) in (None, REMOVING):
            fix = (
                f"attach {role_arn} first (RedshiftEnsureIamRoleOperator with set_as_default=True does both)"
            )
            raise ConfigCheckError(
                f"Cannot make {role_arn} the default role of {self.target}: expected an attached role, "
                f"found {current.describe(role_arn)}. Fix: {fix}.",
                fix=fix,
            )
        if current.default_role_arn == role_arn:
            return current
        if self.target.kind == "cluster":
            response = self._call(
                self.conn.modify_cluster_iam_roles,
                role_arn,
                ClusterIdentifier=self.target.name,
                DefaultIamRoleArn=role_arn,
            )
            return roles_from_cluster(self.target, response["Cluster"])
        return self._update_namespace(lambda current: (current.associated, role_arn), role_arn)

    def _update_namespace(
        self, change: Callable[[RedshiftRoles], tuple[list[str], str | None]], role_arn: str
    ) -> RedshiftRoles:
        """Send UpdateNamespace with the full role list ``change`` computes from the current one.

        The list is recomputed from fresh state on each attempt, so a concurrent change made while the
        namespace was busy is not lost.
        """
        from botocore.exceptions import ClientError

        deadline = time.monotonic() + self.conflict_timeout
        delay = 0.2
        while True:
            roles, default = change(self.get_roles())
            params: dict[str, Any] = {"namespaceName": self.target.name, "iamRoles": roles}
            if default and default in roles:
                params["defaultIamRoleArn"] = default
            try:
                response = self.conn.update_namespace(**params)
            except ClientError as error:
                if _code(error) == "ConflictException" and time.monotonic() < deadline:
                    self.log.info("%s is busy (%s); retrying in %.1f s", self.target, _message(error), delay)
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                translated = self._translate(error, role_arn)
                if translated is error:
                    raise
                raise translated from error
            return roles_from_namespace(self.target, response["namespace"])

    # -- waiting -----------------------------------------------------------------------------------

    def wait_for_role(
        self,
        role_arn: str,
        *,
        poll_interval: float = 5.0,
        timeout: float = 600.0,
        fail_if_absent: bool = True,
    ) -> RedshiftRoles:
        """Poll until ``role_arn`` is in-sync; return the roles.

        :param role_arn: the role to wait for.
        :param poll_interval: seconds between two DescribeClusters/GetNamespace calls.
        :param timeout: seconds before giving up with ``RoleApplyTimeoutError``.
        :param fail_if_absent: raise at once when the role is not attached at all (someone detached it),
            instead of waiting for somebody to attach it.
        """
        deadline = time.monotonic() + timeout
        while True:
            roles = self.get_roles()
            status = roles.status(role_arn)
            if status == IN_SYNC:
                return roles
            if status is None and fail_if_absent:
                fix = "attach the role again (RedshiftEnsureIamRoleOperator) and find what detached it"
                raise ConfigCheckError(
                    f"Expected IAM role {role_arn} to become in-sync on {self.target}, found "
                    f"{roles.describe(role_arn)}. Fix: {fix}.",
                    fix=fix,
                )
            if time.monotonic() >= deadline:
                raise role_timeout(roles, role_arn, timeout)
            self.log.info(
                "IAM role %s on %s is %s; checking again in %s s",
                role_arn,
                self.target,
                status or "not attached",
                poll_interval,
            )
            time.sleep(poll_interval)

    # -- async, for triggers -----------------------------------------------------------------------

    async def get_roles_async(self, client: Any) -> RedshiftRoles:
        """Return the roles using an aiobotocore client from ``get_async_conn()``."""
        from botocore.exceptions import ClientError

        try:
            if self.cluster_identifier:
                target = RedshiftTarget("cluster", self.cluster_identifier)
                response = await client.describe_clusters(ClusterIdentifier=self.cluster_identifier)
                return roles_from_cluster(target, response["Clusters"][0])
            if "target" in self.__dict__:
                target = self.target
            elif self.namespace_name:
                target = RedshiftTarget("namespace", self.namespace_name)
            else:
                target = self._workgroup_target(await client.get_workgroup(workgroupName=self.workgroup_name))
            self.__dict__["target"] = target
            response = await client.get_namespace(namespaceName=target.name)
            return roles_from_namespace(target, response["namespace"])
        except ClientError as error:
            translated = self._translate(error)
            if translated is error:
                raise
            raise translated from error


def role_timeout(roles: RedshiftRoles, role_arn: str, timeout: float | None) -> RoleApplyTimeoutError:
    """Return the error for a role still not in-sync after ``timeout`` seconds (None: by the deadline)."""
    within = f"within {timeout:g} s" if timeout is not None else "by the deadline"
    return RoleApplyTimeoutError(
        f"Expected IAM role {role_arn} to be in-sync on {roles.target} {within}, found "
        f"{roles.describe(role_arn)}. Fix: Redshift usually applies a role within minutes; wait longer "
        "(raise the timeout) or look for a change in progress on the cluster or namespace."
    )
