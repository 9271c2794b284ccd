"""Wait until an S3 prefix holds the data COPY should load."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import PokeReturnValue, conf

from airflow_redshift_s3.hooks._aws_mixin import aws_template_fields
from airflow_redshift_s3.operators._aws_base import AwsSensorBase
from airflow_redshift_s3.sensors._deferral import poke_then_defer
from airflow_redshift_s3.triggers.s3_prefix import PrefixReadiness, S3PrefixTrigger, marker_key, summary_xcom

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_redshift_s3.hooks.s3_inspect import S3InspectHook


class S3PrefixSensor(AwsSensorBase):
    """Wait until ``s3://bucket/prefix`` holds at least ``min_objects`` matching objects.

    With ``success_marker`` (e.g. ``_SUCCESS``, relative to the prefix) that object must exist too; it is
    checked first with one HeadObject, so the prefix is listed only once the writer says it is done, and it
    is not counted. With ``quiet_period`` no counted object may have been modified within that many seconds
    and the listing must not have changed for that long while this sensor watched it (this catches
    deletions and late writes). With ``deadline`` (when the data is due) the wait ends then: a run whose
    deadline has passed (a backfill of past days) checks once and fails at once, without retries, with a
    ``DataOverdueError`` naming what is missing and how to rerun that run alone. The listing is read page
    by page and never kept: the XCom value is a
    bounded dict (``object_count``, ``total_bytes``, ``first_key``, ``last_key``, ``last_modified``,
    ``fingerprint``, ``success_marker``) whatever the number of objects. A malformed prefix (leading '/',
    s3:// inside, a wildcard) fails at once instead of waiting for ever.

    :param bucket: the bucket name. (templated)
    :param prefix: the key prefix. (templated)
    :param min_objects: matching objects needed.
    :param success_marker: key relative to the prefix that must exist, e.g. "_SUCCESS". (templated)
    :param key_pattern: glob the part of each key after the prefix must match (``fnmatch``, case-sensitive,
        ``*`` also matches '/'), e.g. "*.parquet". (templated)
    :param quiet_period: seconds (or a timedelta) without any change, or None.
    :param deadline: when the data is due: a datetime or an ISO 8601 string (naive means UTC), or None to
        wait for ``timeout`` only. The wait is the shorter of ``timeout`` and the time left. (templated)
    :param deferrable: wait in the triggerer instead of a worker slot.
    AWS: ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config`` (see ``AwsSensorBase``).
    """

    template_fields: Sequence[str] = aws_template_fields(
        "bucket",
        "prefix",
        "success_marker",
        "key_pattern",
        "deadline",
    )

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        min_objects: int = 1,
        success_marker: str | None = None,
        key_pattern: str | None = None,
        quiet_period: float | timedelta | None = None,
        deadline: datetime | str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bucket = bucket
        self.prefix = prefix
        self.min_objects = min_objects
        self.success_marker = success_marker
        self.key_pattern = key_pattern
        self.quiet_period = quiet_period
        self.deadline = deadline
        self.deferrable = deferrable

    @property
    def _quiet_seconds(self) -> float | None:
        if isinstance(self.quiet_period, timedelta):
            return self.quiet_period.total_seconds()
        return float(self.quiet_period) if self.quiet_period else None

    @cached_property
    def hook(self) -> S3InspectHook:
        """Return the S3 hook."""
        return self._new_s3_hook()

    @cached_property
    def _readiness(self) -> PrefixReadiness:
        # kept on the instance: in poke mode it remembers when the listing last changed
        return PrefixReadiness(self.min_objects, self._quiet_seconds)

    def _validate(self) -> None:
        """Fail at once on arguments no amount of waiting can fix."""
        from airflow_redshift_s3.checks import (
            check_bucket_name,
            check_prefix,
            log_results,
            raise_for_failures,
        )
        from airflow_redshift_s3.checks.result import CheckResult

        results = [check_bucket_name(self.bucket), *check_prefix(self.prefix, self.bucket)]
        if not isinstance(self.min_objects, int) or self.min_objects < 0:
            results.append(
                CheckResult.failure(
                    "min_objects",
                    "config",
                    f"min_objects is {self.min_objects!r}: expected an integer >= 0.",
                    "pass min_objects=1 (or more)",
                )
            )
        if self.success_marker is not None and (
            not self.success_marker or self.success_marker.startswith(("/", "s3://"))
        ):
            results.append(
                CheckResult.failure(
                    "success_marker",
                    "config",
                    f"success_marker is {self.success_marker!r}: expected a key relative to the prefix, such "
                    "as '_SUCCESS'.",
                    "pass success_marker='_SUCCESS' (it is looked up as <prefix>/_SUCCESS)",
                )
            )
        try:
            self._due()
        except ValueError as error:
            results.append(CheckResult.failure("deadline", "config", str(error), _DEADLINE_FIX))
        log_results([r for r in results if r.status.value != "ok"], self.log)
        raise_for_failures(results)

    def _due(self) -> datetime | None:
        """Return the deadline as an aware datetime (naive means UTC), or None; ValueError when malformed."""
        due = self.deadline
        if isinstance(due, str) and due.strip():
            with contextlib.suppress(ValueError):
                due = datetime.fromisoformat(due.strip().replace("Z", "+00:00"))
        if due is not None and not isinstance(due, datetime):
            raise ValueError(f"deadline is {self.deadline!r}: expected a datetime or an ISO 8601 string.")
        return due.replace(tzinfo=timezone.utc) if due is not None and due.tzinfo is None else due

    def _overdue(self, context: Context, due: datetime, why: str) -> Exception:
        """Return the error of data still missing after its deadline, with how to rerun this run alone."""
        from airflow_redshift_s3.exceptions import DataOverdueError

        marker = marker_key(self.prefix, self.success_marker)
        where = f"s3://{self.bucket}/{self.prefix}"
        what = f"s3://{self.bucket}/{marker}" if marker else f"{self.min_objects} object(s) in {where}"
        late = datetime.now(timezone.utc) - due
        run, logical_date = context.get("dag_run"), context.get("logical_date")
        dag_id = getattr(run, "dag_id", None) or "<dag_id>"
        when = logical_date.isoformat() if isinstance(logical_date, datetime) else "<logical date>"
        fix = (
            f"write the data and {what}, then rerun this run alone: in the UI, Clear the task "
            f"'{self.task_id}' of run {getattr(run, 'run_id', None) or '<run_id>'} with its "
            "downstream tasks; or "
            f"`airflow tasks clear {dag_id} -t {self.task_id} -d -s {when} -e {when} -y`"
        )
        return DataOverdueError(
            f"{what} is missing and was due by {due.isoformat()} ({_age(late)} ago): {why}. Not waiting: "
            f"data that late is not coming by itself. Fix: {fix}.",
            fix=fix,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        """Check the marker (one HeadObject), then list the prefix page by page and decide."""
        marker = marker_key(self.prefix, self.success_marker)
        if marker and not self.hook.object_exists(self.bucket, marker):
            self.log.info("Waiting: success marker s3://%s/%s does not exist yet", self.bucket, marker)
            return PokeReturnValue(False)
        summary = self.hook.summarize_prefix(
            self.bucket, self.prefix, key_pattern=self.key_pattern, exclude_keys=[marker] if marker else []
        )
        ready, why = self._readiness.evaluate(summary)
        if not ready:
            self.log.info("Waiting: %s", why)
            return PokeReturnValue(False)
        self.log.info("Done: %s", why)
        return PokeReturnValue(True, summary_xcom(summary, marker))

    def execute(self, context: Context) -> Any:
        """Validate the arguments, poke once, then wait by poking or in the triggerer when deferrable."""
        from airflow.sdk.exceptions import AirflowSensorTimeout

        self._validate()
        due = self._due()
        if due is not None:
            left = (due - datetime.now(timezone.utc)).total_seconds()
            if left <= 0:
                done = self.poke(context)
                if done:
                    return done.xcom_value
                raise self._overdue(context, due, "checked once, past the deadline")
            self.timeout = min(float(self.timeout), left)
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as error:
                if due is not None and datetime.now(timezone.utc) >= due:
                    raise self._overdue(context, due, str(error)) from error
                raise
        return poke_then_defer(
            self,
            context,
            lambda deadline: S3PrefixTrigger(
                bucket=self.bucket,
                prefix=self.prefix,
                min_objects=self.min_objects,
                success_marker=self.success_marker,
                key_pattern=self.key_pattern,
                quiet_period=self._quiet_seconds,
                poll_interval=float(self.poke_interval),
                deadline=deadline,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the trigger's summary on success; raise AirflowSensorTimeout or the error otherwise."""
        from airflow.sdk.exceptions import AirflowSensorTimeout

        from airflow_redshift_s3.exceptions import ConfigCheckError, RedshiftS3Error

        if not event:
            raise RedshiftS3Error(
                f"Waiting for s3://{self.bucket}/{self.prefix} ended without a trigger event."
            )
        status = event.get("status")
        message = event.get("message") or f"no message (event: {event})"
        if status == "success" and isinstance(event.get("summary"), dict):
            return cast("dict[str, Any]", event["summary"])
        if status == "timeout":
            due = self._due()
            if due is not None and datetime.now(timezone.utc) >= due:
                raise self._overdue(context, due, message)
            raise AirflowSensorTimeout(message)
        if status == "error" and not event.get("retryable", True):
            raise ConfigCheckError(message)
        raise RedshiftS3Error(message)


_DEADLINE_FIX = "pass deadline as an ISO 8601 string such as '2026-11-30T06:00:00+00:00', a datetime, or None"


def _age(delta: timedelta) -> str:
    """Return a duration for people: "3 d 4 h", "5 h 2 min", "40 s"."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{rest // 60} min {rest % 60} s" if rest >= 60 else f"{rest} s"
