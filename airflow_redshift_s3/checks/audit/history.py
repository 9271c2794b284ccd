"""What the cluster's query history says: COPYs that used access keys, and which roles COPYs used.

The history is ``stl_query`` on a provisioned cluster (about seven days of it) and ``sys_query_history``
on Serverless, which has no STL views; a user who is not a superuser sees only their own queries.
Access keys are masked before any text leaves this module.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_redshift_s3.checks.audit.findings import finding
from airflow_redshift_s3.checks.result import CheckResult, CheckStatus
from airflow_redshift_s3.sql import since_literal

RunSql = Callable[[str], Sequence[Sequence[Any]]]

# The literal after a credential keyword, or a key=value inside a CREDENTIALS string.
_SECRET_LITERAL = re.compile(
    r"\b(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|MASTER_SYMMETRIC_KEY)(\s+(?:AS\s+)?)'(?:[^']|'')*'",
    re.I,
)
_SECRET_PAIR = re.compile(
    r"\b(aws_access_key_id|aws_secret_access_key|token|master_symmetric_key)=[^;']*", re.I
)
_AKIA = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{12,}\b")
_KEY_BASED = re.compile(
    r"\b(ACCESS_KEY_ID|SECRET_ACCESS_KEY)\b|\bCREDENTIALS\s+(?:AS\s+)?'(?!\s*aws_iam_role=)", re.I
)
_ROLE = re.compile(r"\bIAM_ROLE\s+(?:AS\s+)?'([^']+)'|aws_iam_role=(arn:[^;'\s]+)", re.I)
_DEFAULT_ROLE = re.compile(r"\bIAM_ROLE\s+(?:AS\s+)?default\b", re.I)
HISTORY_SQL = (
    "SELECT query, starttime, TRIM(querytext) FROM stl_query "
    "WHERE starttime >= {since} AND LOWER(querytext) LIKE '%copy %' ORDER BY starttime"
)
SERVERLESS_HISTORY_SQL = (
    "SELECT query_id, start_time, TRIM(query_text) FROM sys_query_history "
    "WHERE start_time >= {since} AND LOWER(query_text) LIKE '%copy %' ORDER BY start_time"
)


def mask_secrets(text: str) -> str:
    """Return ``text`` with every access key, secret key and session token replaced by ``***``."""
    text = _SECRET_LITERAL.sub(lambda m: f"{m.group(1)}{m.group(2)}'***'", text)
    text = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}=***", text)
    return _AKIA.sub("***", text)


@dataclass(frozen=True)
class CopyQuery:
    """One COPY of the query history, its text already masked."""

    query_id: int
    started: dt.datetime | None
    text: str

    @property
    def key_based(self) -> bool:
        """Return whether the COPY authorized with access keys instead of a role."""
        return bool(_KEY_BASED.search(self.text))

    def role(self, default_role: str | None) -> str | None:
        """Return the role the COPY used (the default role for ``IAM_ROLE default``), or None."""
        match = _ROLE.search(self.text)
        if match:
            return match.group(1) or match.group(2)
        return default_role if _DEFAULT_ROLE.search(self.text) else None


def read_copies(run_sql: RunSql, days: int, now: dt.datetime, *, serverless: bool = False) -> list[CopyQuery]:
    """Return the COPYs of the last ``days`` days of the query history, masked."""
    since = since_literal(now, days)
    rows = run_sql((SERVERLESS_HISTORY_SQL if serverless else HISTORY_SQL).format(since=since))
    copies = []
    for query_id, started, text in rows:
        masked = mask_secrets(str(text or ""))
        if masked.lstrip().lower().startswith("copy"):
            copies.append(CopyQuery(int(query_id), started, masked))
    return copies


def roles_used(copies: Sequence[CopyQuery], default_role: str | None) -> dict[str, int]:
    """Return how many COPYs used each role."""
    return dict(Counter(role for c in copies if (role := c.role(default_role)) is not None))


def check_key_based(
    resource: str, copies: Sequence[CopyQuery] | None, days: int, error: str = ""
) -> CheckResult:
    """Fail when a COPY of the history authorized with access keys; the keys are never shown."""
    name = "audit.history.access_keys"
    if copies is None:
        return finding(
            CheckStatus.WARNING,
            name,
            "permission",
            resource,
            f"Could not read the query history of {resource} to look for key-based COPYs ({error}).",
            "query history not readable",
            "run the audit with a Redshift connection whose user is a superuser (or has SYSLOG "
            "ACCESS UNRESTRICTED)",
        )
    keyed = [c for c in copies if c.key_based]
    if not keyed:
        return finding(
            CheckStatus.OK,
            name,
            "permission",
            resource,
            f"No COPY of the last {days} day(s) on {resource} used access keys.",
            f"{len(copies)} COPY statement(s) in the query history, none with access keys",
        )
    shown = "\n".join(f"query {c.query_id} at {c.started}: {c.text[:300]}" for c in keyed[:5])
    return finding(
        CheckStatus.FAILURE,
        name,
        "permission",
        resource,
        f"{len(keyed)} COPY(s) of the last {days} day(s) on {resource} authorized with access keys "
        "instead of an IAM role: expected IAM_ROLE (the guide's first practice).",
        shown,
        "load with IAM_ROLE '<role ARN>' (S3ToRedshiftCopyOperator refuses keys unless "
        "allow_key_based_credentials=True), then deactivate the keys those COPYs used "
        "(`aws iam update-access-key --status Inactive`)",
        queries=[c.query_id for c in keyed],
    )
