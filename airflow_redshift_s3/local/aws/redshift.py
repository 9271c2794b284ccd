"""Redshift control-plane extensions to moto: IAM roles, default role, endpoints, parameter values.

A cluster created through a local stack's AWS endpoint gets a database on that stack (``state``'s
cluster provisioner), and DeleteCluster closes it again.

ModifyClusterParameterGroup sets a custom group's values, which DescribeClusterParameters then reports.

moto 5 models a cluster's IAM roles as a plain list that is always ``in-sync`` and has no
``ModifyClusterIamRoles`` at all. These patches add what is missing onto moto's own ``Cluster``,
``RedshiftBackend`` and ``RedshiftResponse`` classes, so the usual ``redshift_backends`` keep all state.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.redshift.exceptions import ClusterParameterGroupNotFoundError, InvalidParameterValueError
from moto.redshift.models import Cluster, ParameterGroup, RedshiftBackend
from moto.redshift.responses import RedshiftResponse

from airflow_redshift_s3.local.aws.endpoints import NewCluster
from airflow_redshift_s3.local.aws.state import (
    IssuedCredential,
    RoleAssociations,
    cluster_endpoint_override,
    find_role,
    provision_cluster,
    record_credential,
    role_trusts_service,
    unprovision_cluster,
)

# The service principal Redshift assumes a cluster's roles as.
REDSHIFT_PRINCIPALS = ("redshift.amazonaws.com",)
DEFAULT_ROLE_NOT_LISTED = (
    "The list of Amazon Resource Names (ARNs) for customer roles should contain the ARN of the default "
    "IAM role when a default is specified."
)


def _validate_role(backend: RedshiftBackend, arn: str) -> None:
    """Raise InvalidParameterValue unless ``arn`` is an IAM role Redshift may assume, like AWS does."""
    role = find_role(backend.account_id, backend.region_name, arn)
    if role is None or not role_trusts_service(role, REDSHIFT_PRINCIPALS):
        raise InvalidParameterValueError(
            f"The IAM role {arn} is not valid. "
            "The IAM role must delegate access to an Amazon Redshift account."
        )


def _associations(cluster: Cluster) -> RoleAssociations:
    """Return the cluster's role associations, seeding them from moto's ``iam_roles_arn`` (in-sync)."""
    associations = cluster.__dict__.get("_role_associations")
    if associations is None:
        associations = RoleAssociations(list(cluster.iam_roles_arn))
        cluster._role_associations = associations  # type: ignore[attr-defined]
    return associations


def _cluster_iam_roles(self: Any) -> list[dict[str, str]]:  # moto's Cluster; default_iam_role_arn is ours
    """Return ClusterIamRole entries with their lazily computed ApplyStatus."""
    associations = _associations(self)
    statuses = associations.statuses()
    # Keep moto's list (snapshots copy it) equal to the roles associated right now.
    self.iam_roles_arn = [arn for arn, status in statuses if status != "removing"]
    if self.default_iam_role_arn and self.default_iam_role_arn not in self.iam_roles_arn:
        self.default_iam_role_arn = None
    return [{"IamRoleArn": arn, "ApplyStatus": status} for arn, status in statuses]


def _cluster_endpoint(self: Cluster) -> dict[str, str | int]:
    """Return the cluster endpoint, or the local one set with set_cluster_endpoint."""
    override = cluster_endpoint_override(self.account_id, self.region, self.cluster_identifier)
    if override is not None:
        return {"Address": override.address, "Port": override.port}
    return {"Address": self.address, "Port": self.port}


def modify_cluster_iam_roles(
    self: RedshiftBackend,
    cluster_identifier: str,
    add_iam_roles: list[str] | None = None,
    remove_iam_roles: list[str] | None = None,
    default_iam_role_arn: str | None = None,
) -> Cluster:
    """Add and remove cluster IAM roles and set the default role, as ModifyClusterIamRoles does."""
    cluster: Any = self.describe_clusters(cluster_identifier)[0]  # with default_iam_role_arn, set here
    add = list(dict.fromkeys(add_iam_roles or []))
    remove = list(dict.fromkeys(remove_iam_roles or []))
    for arn in add:
        _validate_role(self, arn)
    associations = _associations(cluster)
    if default_iam_role_arn:
        # AWS wants the default among the roles this request adds when it also changes the role list
        # (aws/aws-sdk-go#4462), and otherwise among the roles the cluster already has.
        candidates = add if (add or remove) else associations.associated()
        if default_iam_role_arn not in candidates:
            raise InvalidParameterValueError(DEFAULT_ROLE_NOT_LISTED)
    for arn in remove:
        associations.remove(arn)
    for arn in add:
        associations.add(arn)
    if default_iam_role_arn:
        cluster.default_iam_role_arn = default_iam_role_arn
    elif cluster.default_iam_role_arn in remove:
        cluster.default_iam_role_arn = None
    cluster.iam_roles_arn = associations.associated()
    return cluster


def _response_modify_cluster_iam_roles(self: RedshiftResponse) -> ActionResult:
    """Handle the ModifyClusterIamRoles action."""
    backend: Any = self.redshift_backend  # modify_cluster_iam_roles is installed by this module
    cluster = backend.modify_cluster_iam_roles(
        cluster_identifier=self._get_param("ClusterIdentifier"),
        add_iam_roles=self._get_param("AddIamRoles", []),
        remove_iam_roles=self._get_param("RemoveIamRoles", []),
        default_iam_role_arn=self._get_param("DefaultIamRoleArn"),
    )
    return ActionResult({"Cluster": cluster})


def _wrap_create_cluster(original: Any) -> Any:
    def create_cluster(self: RedshiftResponse) -> ActionResult:
        """Validate IamRoles like AWS, create the cluster with moto, then record DefaultIamRoleArn."""
        roles = self._get_param("IamRoles", []) or []
        default_role = self._get_param("DefaultIamRoleArn")
        for arn in roles:
            _validate_role(self.redshift_backend, arn)
        if default_role and default_role not in roles:
            raise InvalidParameterValueError(DEFAULT_ROLE_NOT_LISTED)
        result = original(self)
        cluster = result.result["Cluster"]
        cluster.default_iam_role_arn = default_role or None
        _provision(self, cluster)
        return result

    create_cluster.__wrapped__ = original  # type: ignore[attr-defined]
    return create_cluster


def _provision(response: RedshiftResponse, cluster: Any) -> None:
    """Give the new cluster a database on the local stack whose AWS endpoint received the request."""
    port = response.normalized_request.environ.get("SERVER_PORT")
    if not port or not str(port).isdigit():
        return
    new = NewCluster(
        account_id=cluster.account_id,
        region=cluster.region,
        cluster_identifier=cluster.cluster_identifier,
        master_username=cluster.master_username,
        master_password=cluster.master_user_password,
        db_name=cluster.db_name,
    )
    try:
        provision_cluster(int(port), new)
    except Exception as err:  # refused (a reserved user name) or failed: the cluster is not created
        response.redshift_backend.clusters.pop(cluster.cluster_identifier, None)
        detail = str(err) if isinstance(err, ValueError) else f"its local database failed: {err}"
        raise InvalidParameterValueError(f"Cluster {cluster.cluster_identifier}: {detail}") from err


def _wrap_delete_cluster(original: Any) -> Any:
    def delete_cluster(self: RedshiftResponse) -> ActionResult:
        """Delete the cluster with moto, then close the local endpoint it was given when created."""
        result = original(self)
        cluster = result.result["Cluster"]
        unprovision_cluster(cluster.account_id, cluster.region, cluster.cluster_identifier)
        return result

    delete_cluster.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_cluster


def _wrap_get_cluster_credentials(original: Any) -> Any:
    def get_cluster_credentials(
        self: RedshiftBackend, cluster_identifier: str, db_user: str, auto_create: bool, duration_seconds: int
    ) -> dict[str, Any]:
        """Issue credentials with moto and remember the password for the local SQL gateway."""
        credentials = original(self, cluster_identifier, db_user, auto_create, duration_seconds)
        record_credential(
            IssuedCredential(
                db_user=credentials["DbUser"],
                password=credentials["DbPassword"],
                expiration=credentials["Expiration"],
                service="redshift",
                resource=cluster_identifier,
                region=self.region_name,
                account_id=self.account_id,
            )
        )
        return credentials

    get_cluster_credentials.__wrapped__ = original  # type: ignore[attr-defined]
    return get_cluster_credentials


def modify_cluster_parameter_group(
    self: RedshiftBackend, parameter_group_name: str, parameters: list[dict[str, str]]
) -> ParameterGroup:
    """Set parameter values of a custom group, as ModifyClusterParameterGroup does (default groups refuse)."""
    if parameter_group_name not in self.parameter_groups:
        raise ClusterParameterGroupNotFoundError(parameter_group_name)
    if parameter_group_name.startswith("default."):
        raise InvalidParameterValueError(
            f"Cannot modify the default parameter group {parameter_group_name}: create a custom one."
        )
    group: Any = self.parameter_groups[parameter_group_name]
    known = set(self.default_params)
    for parameter in parameters:
        name = parameter.get("ParameterName", "")
        if name not in known:
            raise InvalidParameterValueError(f"Could not find parameter with name: {name}")
        group.__dict__.setdefault("values", {})[name] = str(parameter.get("ParameterValue", ""))
    return group


def _wrap_describe_cluster_parameters(original: Any) -> Any:
    def describe_cluster_parameters(self: RedshiftBackend, parameter_group_name: str) -> list[dict[str, Any]]:
        """Return moto's engine defaults with the values the group set (Source "user")."""
        parameters = original(self, parameter_group_name)
        values = self.parameter_groups[parameter_group_name].__dict__.get("values", {})
        for parameter in parameters:
            if parameter["ParameterName"] in values:
                parameter.update(ParameterValue=values[parameter["ParameterName"]], Source="user")
        return list(parameters)

    describe_cluster_parameters.__wrapped__ = original  # type: ignore[attr-defined]
    return describe_cluster_parameters


def _response_modify_cluster_parameter_group(self: RedshiftResponse) -> ActionResult:
    """Handle the ModifyClusterParameterGroup action."""
    backend: Any = self.redshift_backend
    name = self._get_param("ParameterGroupName")
    backend.modify_cluster_parameter_group(name, self._get_param("Parameters", []) or [])
    return ActionResult(
        {"ParameterGroupName": name, "ParameterGroupStatus": "Your parameter group has been updated."}
    )


def install() -> None:
    """Patch moto's Redshift classes (idempotent)."""
    if getattr(RedshiftBackend, "_airflow_redshift_s3_patched", False):
        return
    # Cluster: DefaultIamRoleArn is serialised from this attribute; IamRoles/Endpoint become lazy views.
    Cluster.default_iam_role_arn = None  # type: ignore[attr-defined]
    Cluster.iam_roles = property(_cluster_iam_roles)  # type: ignore[assignment,method-assign]
    Cluster.endpoint = property(_cluster_endpoint)  # type: ignore[assignment,method-assign]
    # Backend: the new operation, and GetClusterCredentials remembering what it issued.
    RedshiftBackend.modify_cluster_iam_roles = modify_cluster_iam_roles  # type: ignore[attr-defined]
    RedshiftBackend.modify_cluster_parameter_group = modify_cluster_parameter_group  # type: ignore[attr-defined]
    RedshiftBackend.describe_cluster_parameters = _wrap_describe_cluster_parameters(  # type: ignore[method-assign]
        RedshiftBackend.describe_cluster_parameters
    )
    RedshiftBackend.get_cluster_credentials = _wrap_get_cluster_credentials(  # type: ignore[method-assign]
        RedshiftBackend.get_cluster_credentials
    )
    # Response: moto dispatches an action to the method of the same (snake_case) name.
    RedshiftResponse.modify_cluster_iam_roles = _response_modify_cluster_iam_roles  # type: ignore[attr-defined]
    RedshiftResponse.modify_cluster_parameter_group = _response_modify_cluster_parameter_group  # type: ignore[attr-defined]
    RedshiftResponse.create_cluster = _wrap_create_cluster(RedshiftResponse.create_cluster)  # type: ignore[method-assign]
    RedshiftResponse.delete_cluster = _wrap_delete_cluster(RedshiftResponse.delete_cluster)  # type: ignore[method-assign]
    RedshiftBackend._airflow_redshift_s3_patched = True  # type: ignore[attr-defined]
