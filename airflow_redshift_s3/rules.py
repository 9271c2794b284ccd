r"""The rules about AWS names and choices, each written once.

The operators, the checks, the CLI and the DAG forms all use these (the form patterns are built from the
same text, so the browser, Airflow's Param validation and the operators accept exactly the same values).
The patterns are written for Python's ``re`` and the browser's JavaScript alike (no ``\w``, no ``\d``:
they differ on non-ASCII text); match them whole (``fullmatch``, or ``^...`` with ``FORM_END``).
"""

from __future__ import annotations

import re

BUCKET_NAME = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
"""An S3 bucket name: 3-63 lower-case letters, digits, '.' and '-'; no '.' or '-' at either end."""

ROLE_NAME = r"[A-Za-z0-9_+=,.@-]{1,64}"
"""An IAM role name."""

ROLE_ARN = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}"
"""An IAM role ARN, in any partition (aws, aws-cn, aws-us-gov), with an optional path."""

REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}"

# A cluster identifier as Redshift accepts it: 1-63 lowercase letters, digits and hyphens, starting with a
# letter, not ending with a hyphen, no two hyphens in a row.
CLUSTER_IDENTIFIER = r"(?!.*--)[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
"""An AWS region such as eu-west-1 or us-gov-west-1."""

REGION_POLICIES = ("set_region", "fail")
"""What to do when the bucket is in another region than Redshift: add REGION to COPY, or fail."""

FORM_END = r"(?![\s\S])"
"""The end of a form pattern: unlike "$", it does not match before a final newline in Python."""

BUCKET_RE = re.compile(BUCKET_NAME)
ROLE_ARN_RE = re.compile(ROLE_ARN)
REGION_RE = re.compile(REGION)
CLUSTER_IDENTIFIER_RE = re.compile(CLUSTER_IDENTIFIER)


def form_pattern(rule: str) -> str:
    """Return ``rule`` as a JSON-schema pattern matching the whole value (for a Param)."""
    return f"^(?:{rule}){FORM_END}"
