"""IAM SimulatePrincipalPolicy for moto, evaluated with moto's own ``IAMPolicyStatement``.

moto evaluates identity policies when it enforces IAM (``access_control.py``) but does not expose the
simulator. This adds ``SimulatePrincipalPolicy`` to moto's ``IamResponse`` for roles, users and groups:
each statement is matched by moto's ``IAMPolicyStatement`` (Effect, Action, Resource, StringEquals
conditions), extended only where an identity-policy simulation needs more than moto's enforcement does:
``NotResource``, IAM globs (``*`` and ``?``, actions case-insensitive), and conditions whose context key was
not supplied (reported in ``MissingContextValues``, the statement does not apply).

It also makes AWS's managed policies cheap to load: moto builds every IAM backend (one per partition, all
six on an account's first request) from its 1,582-policy JSON, parsed again each time; here it is parsed
once per process.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from moto.core.responses import ActionResult
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from moto.iam.exceptions import InvalidInput, NotFoundException
from moto.iam.models import AWSManagedPolicy, IAMBackend
from moto.iam.responses import IamResponse


@lru_cache(maxsize=1024)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """Compile an IAM wildcard pattern (``*`` any run, ``?`` one character)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL)


class SimulatedStatement(IAMPolicyStatement):
    """moto's policy statement, completed for identity-policy simulation."""

    def _check_element_matches(self, statement_element: Any, value: str) -> bool:
        patterns = self._statement[statement_element]
        patterns = [patterns] if isinstance(patterns, str) else patterns
        ignore_case = statement_element in ("Action", "NotAction")  # action names are case-insensitive
        return any(_glob(pattern, ignore_case).match(value) for pattern in patterns)

    def _concerns_action(self, action: str) -> bool:
        if "NotAction" in self._statement:
            return not self._check_element_matches("NotAction", action)
        return "Action" in self._statement and self._check_element_matches("Action", action)

    def _missing_context_keys(self, context: dict[str, str]) -> list[str]:
        missing = []
        for operator, conditions in (self._statement.get("Condition") or {}).items():
            if operator.endswith("IfExists") or operator == "Null":
                continue
            missing += [key for key in conditions if key.lower() not in context]
        return missing

    def evaluate(
        self, action: str, resource: str, context: dict[str, str]
    ) -> tuple[PermissionResult, list[str]]:
        """Return moto's verdict for this statement and the condition keys missing from ``context``."""
        if not self._concerns_action(action):
            return PermissionResult.NEUTRAL, []
        missing = self._missing_context_keys(context)
        if missing:
            return PermissionResult.NEUTRAL, missing
        # moto looks context keys up verbatim; condition keys are case-insensitive in IAM.
        keys = {key for conditions in (self._statement.get("Condition") or {}).values() for key in conditions}
        incoming = {key: context[key.lower()] for key in keys if key.lower() in context}
        if not self._check_conditions(incoming):
            return PermissionResult.NEUTRAL, []  # a condition that does not hold means "does not apply"
        statement: IAMPolicyStatement = self
        if "NotResource" in self._statement:
            if self._check_element_matches("NotResource", resource):
                return PermissionResult.NEUTRAL, []
            rest = {k: v for k, v in self._statement.items() if k != "NotResource"}
            statement = SimulatedStatement({**rest, "Resource": "*"})
        return IAMPolicyStatement.is_action_permitted(statement, action, resource, None, incoming), []


@dataclass
class _SourcePolicy:
    policy_id: str
    policy_type: str  # PolicySourceType: user | group | role | aws-managed | user-managed | none
    document: dict[str, Any]

    def statements(self) -> list[dict[str, Any]]:
        statements = self.document.get("Statement", [])
        return [statements] if isinstance(statements, dict) else list(statements)


@dataclass
class _Evaluation:
    decision: str = "implicitDeny"
    matched: list[dict[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _managed(policy: Any) -> _SourcePolicy:
    kind = "aws-managed" if isinstance(policy, AWSManagedPolicy) else "user-managed"
    # moto's IAMPolicy picks the default version's document of a managed policy.
    return _SourcePolicy(policy.name, kind, IAMPolicy(policy)._policy_json)


def _inline(name: str, document: str, kind: str) -> _SourcePolicy:
    return _SourcePolicy(name, kind, json.loads(document))


def _principal_policies(backend: IAMBackend, arn: str) -> tuple[list[_SourcePolicy], str | None]:
    """Return the identity policies of the role, user or group ``arn`` and its permissions boundary ARN."""
    match = re.fullmatch(r"arn:[^:]+:iam::\d{12}:(role|user|group)/(?:.*/)?([^/]+)", arn or "")
    if match is None:
        raise InvalidInput(f"Invalid ARN: {arn}; PolicySourceArn must be the ARN of a user, group or role.")
    kind, name = match.groups()
    policies: list[_SourcePolicy] = []
    if kind == "role":
        role = backend.get_role_by_arn(arn)
        policies += [_inline(n, d, "role") for n, d in role.policies.items()]
        policies += [_managed(p) for p in role.managed_policies.values()]
        return policies, role.permissions_boundary_arn
    if kind == "user":
        user = backend.get_user(name)
        if user.arn != arn:
            raise NotFoundException(f"The user with name {name} cannot be found.")
        policies += [_inline(n, d, "user") for n, d in user.policies.items()]
        policies += [_managed(p) for p in user.managed_policies.values()]
        for group in backend.get_groups_for_user(name):
            policies += [_inline(n, d, "group") for n, d in group.policies.items()]
            policies += [_managed(p) for p in group.managed_policies.values()]
        return policies, None  # moto keeps no permissions boundary for users
    group = backend.get_group(name)
    policies += [_inline(n, d, "group") for n, d in group.policies.items()]
    policies += [_managed(p) for p in group.managed_policies.values()]
    return policies, None


def _evaluate(
    policies: list[_SourcePolicy], action: str, resource: str, context: dict[str, str]
) -> _Evaluation:
    """Combine statement verdicts the IAM way: an explicit deny wins, else any allow, else implicit deny."""
    allows: list[dict[str, str]] = []
    denies: list[dict[str, str]] = []
    missing: list[str] = []
    for policy in policies:
        for statement in policy.statements():
            verdict, absent = SimulatedStatement(statement).evaluate(action, resource, context)
            missing += [key for key in absent if key not in missing]
            source = {"SourcePolicyId": policy.policy_id, "SourcePolicyType": policy.policy_type}
            if verdict == PermissionResult.DENIED:
                denies.append(source)
            elif verdict == PermissionResult.PERMITTED:
                allows.append(source)
    if denies:
        return _Evaluation("explicitDeny", denies, missing)
    if allows:
        return _Evaluation("allowed", allows, missing)
    return _Evaluation("implicitDeny", [], missing)


def simulate_principal_policy(
    backend: IAMBackend,
    policy_source_arn: str,
    action_names: list[str],
    resource_arns: list[str] | None = None,
    policy_input_list: list[str] | None = None,
    context_entries: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Return one EvaluationResult per (action, resource) pair for the principal's policies."""
    if not action_names:
        raise InvalidInput("ActionNames must contain at least one action.")
    policies, boundary_arn = _principal_policies(backend, policy_source_arn)
    for index, document in enumerate(policy_input_list or [], start=1):
        policies.append(_inline(f"PolicyInputList.{index}", document, "none"))
    boundary = [_managed(backend.get_policy(boundary_arn))] if boundary_arn else None
    context = {
        entry["ContextKeyName"].lower(): (entry.get("ContextKeyValues") or [""])[0]
        for entry in context_entries or []
    }
    results = []
    for action in action_names:
        for resource in resource_arns or ["*"]:
            evaluation = _evaluate(policies, action, resource, context)
            result: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": evaluation.decision,
                "MatchedStatements": evaluation.matched,
                "MissingContextValues": evaluation.missing,
            }
            if boundary is not None:
                bounded = _evaluate(boundary, action, resource, context)
                allowed = bounded.decision == "allowed"
                result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed}
                if evaluation.decision == "allowed" and not allowed:
                    result["EvalDecision"] = bounded.decision
                    result["MatchedStatements"] = bounded.matched
            results.append(result)
    return results


def _response_simulate_principal_policy(self: IamResponse) -> ActionResult:
    """Handle the SimulatePrincipalPolicy action, paginated with MaxItems and Marker."""
    results = simulate_principal_policy(
        self.backend,
        policy_source_arn=self._get_param("PolicySourceArn"),
        action_names=self._get_param("ActionNames", []) or [],
        resource_arns=self._get_param("ResourceArns", []) or [],
        policy_input_list=self._get_param("PolicyInputList", []) or [],
        context_entries=self._get_param("ContextEntries", []) or [],
    )
    start = int(self._get_param("Marker") or 0)
    max_items = int(self._get_param("MaxItems") or 100)  # AWS's default page size
    page = results[start : start + max_items]
    truncated = start + max_items < len(results)
    body: dict[str, Any] = {"EvaluationResults": page, "IsTruncated": truncated}
    if truncated:
        body["Marker"] = str(start + max_items)
    return ActionResult(body)


@cache
def _aws_managed_policy_data() -> tuple[tuple[str, dict[str, Any], str, dt.datetime, dt.datetime], ...]:
    """Return moto's AWS managed policies as (name, data, document as JSON, created, updated), parsed once."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    parsed = []
    for name, data in json.loads(aws_managed_policies_data).items():
        created = dt.datetime.fromisoformat(data["CreateDate"])
        updated = dt.datetime.fromisoformat(data["UpdateDate"])
        parsed.append((name, data, json.dumps(data.get("Document")), created, updated))
    return tuple(parsed)


def _init_aws_policies(self: IAMBackend) -> list[Any]:
    """Return what moto's ``IAMBackend._init_aws_policies`` does (``AWSManagedPolicy.from_data``), cached."""
    from moto.settings import load_iam_aws_managed_policies

    if not load_iam_aws_managed_policies():
        return []
    return [
        AWSManagedPolicy(  # type: ignore[abstract]  # moto's own from_data builds it the same way
            name,
            account_id=self.account_id,
            region=self.region_name,
            default_version_id=data.get("DefaultVersionId"),
            path=data.get("Path"),
            document=document,
            create_date=created,
            update_date=updated,
        )
        for name, data, document, created, updated in _aws_managed_policy_data()
    ]


def add_missing_aws_managed_policies() -> None:
    """Give the IAM backends built without AWS's managed policies (before they were asked for) those policies.

    Backends built later get them from ``_init_aws_policies``; the account's own policies are kept.
    """
    from moto.iam.models import iam_backends

    for account_backends in list(iam_backends.values()):
        for backend in list(account_backends.values()):
            if backend.aws_managed_policies:
                continue
            backend.aws_managed_policies = _init_aws_policies(backend)
            for policy in backend.aws_managed_policies:
                backend.managed_policies.setdefault(policy.arn, policy)


def install() -> None:
    """Add SimulatePrincipalPolicy to moto's IamResponse and the parsed-once managed policies (idempotent)."""
    IamResponse.simulate_principal_policy = _response_simulate_principal_policy  # type: ignore[attr-defined]
    IAMBackend._init_aws_policies = _init_aws_policies  # type: ignore[method-assign]
