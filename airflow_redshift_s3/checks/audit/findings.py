"""The audit's findings: ``CheckResult``s that also name the resource and the evidence."""

from __future__ import annotations

import difflib
import json
from typing import Any

from airflow_redshift_s3.checks.result import Category, CheckResult, CheckStatus


def finding(
    status: CheckStatus,
    name: str,
    category: Category,
    resource: str,
    message: str,
    evidence: str,
    fix: str | None = None,
    **details: Any,
) -> CheckResult:
    """Return a ``CheckResult`` whose details carry ``resource`` and ``evidence`` (what was read, verbatim).

    :param status: ok, warning or failure.
    :param name: the check's stable identifier, e.g. ``"audit.role.trust"``.
    :param category: "permission" for roles, keys and public access; "config" for encryption and transport.
    :param resource: the ARN or name of what was checked.
    :param message: what was expected and what was found.
    :param evidence: the facts read from AWS or the cluster that support the finding (never a secret).
    :param fix: what to do (None when ok).
    """
    return CheckResult(
        name, status, category, message, fix, {"resource": resource, "evidence": evidence, **details}
    )


def resource_of(result: CheckResult) -> str:
    """Return the resource a finding is about ('' for a result that is not an audit finding)."""
    return str(result.details.get("resource", ""))


def evidence_of(result: CheckResult) -> str:
    """Return the evidence of a finding ('' for a result that is not an audit finding)."""
    return str(result.details.get("evidence", ""))


def compact(document: Any) -> str:
    """Return ``document`` as one line of JSON (evidence and statements to paste)."""
    return json.dumps(document, separators=(",", ":"), sort_keys=False)


def policy_diff(current: Any, wanted: Any, current_label: str, wanted_label: str) -> str:
    """Return the unified diff that turns the policy ``current`` into ``wanted`` (both JSON documents)."""
    before = json.dumps(current, indent=2, sort_keys=True).splitlines()
    after = json.dumps(wanted, indent=2, sort_keys=True).splitlines()
    lines = difflib.unified_diff(before, after, fromfile=current_label, tofile=wanted_label, lineterm="")
    return "\n".join(lines)
