"""What Redshift checks before COPY reads S3: the role, the bucket's region and the role's S3 access.

The local gateway calls these against the local AWS endpoint (moto), and raises the exact messages real
Redshift gives, so that code under test sees the failures it would see in production.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_redshift_s3.local.sql.copy_command import CopyCommand

# Messages as Redshift words them in its COPY errors; the tests of the operators and the reliability suite
# match on these texts, as code under test would in production.
NOT_AUTHORIZED = (
    "exception name : UnauthorizedException, error type : 135, message: Not authorized to get credentials of "
    "role {role}, should retry : 0"
)
ACCESS_DENIED = "S3ServiceException:Access Denied,Status 403,Error AccessDenied"
WRONG_REGION = (
    "S3ServiceException:The bucket you are attempting to access must be addressed using the specified "
    "endpoint. Please send all future requests to this endpoint.,Status 301,Error PermanentRedirect"
)
NO_SUCH_BUCKET = "S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket"
NO_DEFAULT_ROLE = (
    "Default IAM role is not set for the cluster. Set a default IAM role or name the role in IAM_ROLE."
)
MANIFEST_PREFIX = "Problem reading manifest file - "
_SERVERLESS_ROLE = re.compile(r"applyStatus=([^,)]+),\s*iamRoleArn=([^,)]+)")
_SIMULATE_BATCH = 100  # SimulatePrincipalPolicy returns at most 100 results a page


class AwsEndpointError(RuntimeError):
    """The local AWS endpoint cannot be used: not running yet (the stack's start), or gone."""


def aws_endpoint_errors() -> tuple[type[BaseException], ...]:
    """Return what a call to the local AWS endpoint raises when the endpoint, not the request, failed."""
    from botocore.exceptions import BotoCoreError

    return (BotoCoreError, AwsEndpointError)


def aws_endpoint_failed(error: BaseException) -> str:
    """Return what a client is told when the local AWS endpoint failed (a COPY, UNLOAD or IAM login)."""
    return str(error) if isinstance(error, AwsEndpointError) else f"the local AWS endpoint failed ({error})"


class CopyAccessError(Exception):
    """Redshift refused the COPY before reading data; the message is Redshift's."""


@dataclass(frozen=True)
class Owner:
    """What a gateway listener serves: a provisioned cluster or a Serverless namespace."""

    kind: str  # "cluster" | "namespace"
    name: str
    region: str = "us-east-1"


class AwsAccess:
    """Boto3 clients for the local AWS endpoint and the checks Redshift makes before a COPY."""

    def __init__(self, endpoint_url: str | None, region: str = "us-east-1"):
        """Make the session; ``endpoint_url`` may be set later, before the first client (the stack does)."""
        import boto3

        self.endpoint_url = endpoint_url
        self.region = region
        self._session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        self._clients: dict[str, Any] = {}
        # a boto3 session is not safe to make clients from in two threads at once (the gateway's, a test's)
        self._session_lock = threading.Lock()

    def warm(self, *services: str) -> None:
        """Make and drop one client per service, before the endpoint is known.

        A session's first client of a service costs 40-130 ms (its model, endpoint rules and client class,
        which botocore then keeps for the session); later ones about 3 ms. The stack's start does this
        while the AWS endpoint's process starts, so that its own calls after it do not wait for it.
        """
        with self._session_lock:
            for service in services:
                self._session.client(service, endpoint_url="http://127.0.0.1")

    def _endpoint(self) -> str:
        if self.endpoint_url is None:
            raise AwsEndpointError("the local AWS endpoint is not running yet: the stack is still starting")
        return self.endpoint_url

    def client(self, service: str) -> Any:
        """Return a cached boto3 client for ``service`` at the local endpoint."""
        if service not in self._clients:
            from botocore.config import Config

            with self._session_lock:
                self._clients[service] = self._session.client(
                    service,
                    endpoint_url=self._endpoint(),
                    config=Config(retries={"max_attempts": 2}, max_pool_connections=50),
                )
        return self._clients[service]

    def new_client(self, service: str, region: str | None = None) -> Any:
        """Return a new boto3 client for ``service`` at the local endpoint, from the same session.

        Clients of one session share the service models botocore read (an IAM or S3 model is megabytes
        once parsed): a stack's own clients and the gateway's hold them once.
        """
        with self._session_lock:
            region_name = region or self.region
            return self._session.client(service, endpoint_url=self._endpoint(), region_name=region_name)

    # -- the role ------------------------------------------------------------------------------------

    def attached_roles(self, owner: Owner) -> tuple[dict[str, str], str | None]:
        """Return ({role ARN: apply status}, default role ARN) of the cluster or namespace."""
        if owner.kind == "cluster":
            cluster = self.client("redshift").describe_clusters(ClusterIdentifier=owner.name)["Clusters"][0]
            roles = {r["IamRoleArn"]: r.get("ApplyStatus", "in-sync") for r in cluster.get("IamRoles", [])}
            return roles, cluster.get("DefaultIamRoleArn")
        namespace = self.client("redshift-serverless").get_namespace(namespaceName=owner.name)["namespace"]
        roles = {}
        for text in namespace.get("iamRoles", []):
            match = _SERVERLESS_ROLE.search(text)
            if match:
                roles[match.group(2).strip()] = match.group(1).strip()
        return roles, namespace.get("defaultIamRoleArn")

    def authorize_role(self, owner: Owner, iam_role: str) -> str:
        """Return the role ARN COPY will use, or raise Redshift's error when it may not use it."""
        roles, default = self.attached_roles(owner)
        role = iam_role
        if iam_role.lower() == "default":
            if not default:
                raise CopyAccessError(NO_DEFAULT_ROLE)
            role = default
        if roles.get(role) != "in-sync":
            raise CopyAccessError(NOT_AUTHORIZED.format(role=role))
        name = role.rsplit("/", 1)[-1]
        try:
            trust = self.client("iam").get_role(RoleName=name)["Role"].get("AssumeRolePolicyDocument", {})
        except Exception as err:  # the role was deleted after it was attached
            raise CopyAccessError(NOT_AUTHORIZED.format(role=role)) from err
        needed = {"redshift.amazonaws.com"}
        if owner.kind == "namespace":
            needed.add("redshift-serverless.amazonaws.com")
        if not needed <= _trusted_services(trust):
            raise CopyAccessError(NOT_AUTHORIZED.format(role=role))
        return role

    # -- the bucket ----------------------------------------------------------------------------------

    def bucket_region(self, bucket: str) -> str:
        """Return the bucket's region, or raise NoSuchBucket like Redshift."""
        from botocore.exceptions import ClientError

        s3 = self.client("s3")
        try:
            response = s3.head_bucket(Bucket=bucket)
        except ClientError as err:
            headers = err.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            if "x-amz-bucket-region" in headers:
                return headers["x-amz-bucket-region"]
            raise CopyAccessError(NO_SUCH_BUCKET) from err
        region = response.get("BucketRegion") or response["ResponseMetadata"]["HTTPHeaders"].get(
            "x-amz-bucket-region"
        )
        if region:
            return region
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)

    def check_region(self, owner: Owner, cmd: CopyCommand) -> None:
        """Raise Redshift's 301 error when the bucket is not where COPY will look for it."""
        expected = cmd.region or owner.region
        if self.bucket_region(cmd.bucket) != expected:
            raise CopyAccessError((MANIFEST_PREFIX if cmd.manifest else "") + WRONG_REGION)

    def check_s3_access(self, role: str, bucket: str, keys: list[str], listing: bool, manifest: bool) -> None:
        """Raise Redshift's Access Denied when the role's policies do not allow reading the objects."""
        iam = self.client("iam")
        pairs: list[tuple[str, str]] = []
        if listing:
            pairs.append(("s3:ListBucket", f"arn:aws:s3:::{bucket}"))
        pairs.extend(("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}") for key in keys)
        for action in {a for a, _ in pairs}:
            resources = [r for a, r in pairs if a == action]
            for start in range(0, len(resources), _SIMULATE_BATCH):
                result = iam.simulate_principal_policy(
                    PolicySourceArn=role,
                    ActionNames=[action],
                    ResourceArns=resources[start : start + _SIMULATE_BATCH],
                )
                if any(r["EvalDecision"] != "allowed" for r in result["EvaluationResults"]):
                    raise CopyAccessError((MANIFEST_PREFIX if manifest else "") + ACCESS_DENIED)

    def open_object(self, bucket: str, key: str) -> Any:
        """Return the streaming body of an object."""
        return self.client("s3").get_object(Bucket=bucket, Key=key)["Body"]


def _trusted_services(document: Any) -> set[str]:
    import json
    from urllib.parse import unquote

    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    trusted: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        services = statement.get("Principal", {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        trusted.update(services)
    return trusted
