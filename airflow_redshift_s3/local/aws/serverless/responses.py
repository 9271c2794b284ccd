"""JSON-protocol handlers of the local Redshift Serverless API (moto dispatches each action here)."""

from __future__ import annotations

from moto.core.responses import ActionResult, BaseResponse
from moto.sts.models import sts_backends

from airflow_redshift_s3.local.aws.serverless.models import (
    SERVICE_NAME,
    RedshiftServerlessBackend,
    redshiftserverless_backends,
)


class RedshiftServerlessResponse(BaseResponse):
    """JSON-protocol handlers; moto dispatches ``RedshiftServerless.<Action>`` to the snake_case method."""

    RESPONSE_KEY_PATH_TO_TRANSFORMER = {
        "CreateWorkgroupResponse.workgroup.status": lambda _: "CREATING",
    }

    def __init__(self) -> None:
        super().__init__(service_name=SERVICE_NAME)
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> RedshiftServerlessBackend:
        """Return the backend of the caller's account and region."""
        return redshiftserverless_backends[self.current_account][self.region]

    def create_namespace(self) -> ActionResult:
        """Handle CreateNamespace."""
        namespace = self.backend.create_namespace(
            namespace_name=self._get_param("namespaceName"),
            admin_username=self._get_param("adminUsername"),
            admin_user_password=self._get_param("adminUserPassword"),
            db_name=self._get_param("dbName"),
            iam_roles=self._get_param("iamRoles", []),
            default_iam_role_arn=self._get_param("defaultIamRoleArn"),
            kms_key_id=self._get_param("kmsKeyId"),
            log_exports=self._get_param("logExports", []),
            tags=self._get_param("tags", []),
        )
        return ActionResult({"namespace": namespace})

    def get_namespace(self) -> ActionResult:
        """Handle GetNamespace."""
        return ActionResult({"namespace": self.backend.get_namespace(self._get_param("namespaceName"))})

    def list_namespaces(self) -> ActionResult:
        """Handle ListNamespaces (one page)."""
        return ActionResult({"namespaces": self.backend.list_namespaces()})

    def update_namespace(self) -> ActionResult:
        """Handle UpdateNamespace."""
        namespace = self.backend.update_namespace(
            namespace_name=self._get_param("namespaceName"),
            iam_roles=self._get_param("iamRoles"),
            default_iam_role_arn=self._get_param("defaultIamRoleArn"),
            admin_username=self._get_param("adminUsername"),
            admin_user_password=self._get_param("adminUserPassword"),
            kms_key_id=self._get_param("kmsKeyId"),
            log_exports=self._get_param("logExports"),
        )
        return ActionResult({"namespace": namespace})

    def delete_namespace(self) -> ActionResult:
        """Handle DeleteNamespace."""
        return ActionResult({"namespace": self.backend.delete_namespace(self._get_param("namespaceName"))})

    def create_workgroup(self) -> ActionResult:
        """Handle CreateWorkgroup."""
        workgroup = self.backend.create_workgroup(
            workgroup_name=self._get_param("workgroupName"),
            namespace_name=self._get_param("namespaceName"),
            base_capacity=self._get_param("baseCapacity"),
            max_capacity=self._get_param("maxCapacity"),
            port=self._get_param("port"),
            publicly_accessible=bool(self._get_param("publiclyAccessible", False)),
            enhanced_vpc_routing=bool(self._get_param("enhancedVpcRouting", False)),
            security_group_ids=self._get_param("securityGroupIds", []),
            subnet_ids=self._get_param("subnetIds", []),
            config_parameters=self._get_param("configParameters", []),
            tags=self._get_param("tags", []),
        )
        return ActionResult({"workgroup": workgroup})

    def get_workgroup(self) -> ActionResult:
        """Handle GetWorkgroup."""
        return ActionResult({"workgroup": self.backend.get_workgroup(self._get_param("workgroupName"))})

    def list_workgroups(self) -> ActionResult:
        """Handle ListWorkgroups (one page)."""
        return ActionResult({"workgroups": self.backend.list_workgroups()})

    def delete_workgroup(self) -> ActionResult:
        """Handle DeleteWorkgroup."""
        return ActionResult({"workgroup": self.backend.delete_workgroup(self._get_param("workgroupName"))})

    def get_credentials(self) -> ActionResult:
        """Handle GetCredentials for the calling IAM identity."""
        _, caller_arn, _ = sts_backends[self.current_account][self.partition].get_caller_identity(
            self.get_access_key(), self.region
        )
        credentials = self.backend.get_credentials(
            workgroup_name=self._get_param("workgroupName"),
            db_name=self._get_param("dbName"),
            duration_seconds=self._get_param("durationSeconds"),
            caller_arn=caller_arn,
        )
        return ActionResult(credentials)
