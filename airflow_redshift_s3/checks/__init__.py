"""One library of preflight checks, shared by the operators and the ``doctor`` command.

Every check returns a ``CheckResult`` (ok / warning / failure, a category among "permission", "region",
"format" and "config", a message naming the resource, what was expected and what was found, and a fix);
``raise_for_failures`` turns failed results into the exception of their category.
"""

from __future__ import annotations

from airflow_redshift_s3.checks.iam import (
    check_pass_role,
    check_role_attached,
    check_role_s3_access,
    check_role_trust,
)
from airflow_redshift_s3.checks.prefix import check_bucket_name, check_prefix
from airflow_redshift_s3.checks.preflight import BucketVerification, verify_bucket
from airflow_redshift_s3.checks.result import (
    CATEGORIES,
    Category,
    CheckResult,
    CheckStatus,
    failures,
    log_results,
    raise_for_failures,
    warnings,
)
from airflow_redshift_s3.checks.s3 import (
    check_bucket_reachable,
    check_data_format,
    check_objects,
    check_region,
)

__all__ = [
    "CATEGORIES",
    "BucketVerification",
    "Category",
    "CheckResult",
    "CheckStatus",
    "check_bucket_name",
    "check_bucket_reachable",
    "check_data_format",
    "check_objects",
    "check_pass_role",
    "check_prefix",
    "check_region",
    "check_role_attached",
    "check_role_s3_access",
    "check_role_trust",
    "failures",
    "log_results",
    "raise_for_failures",
    "verify_bucket",
    "warnings",
]
