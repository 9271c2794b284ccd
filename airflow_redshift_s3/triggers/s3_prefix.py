"""Wait, in the triggerer, until an S3 prefix holds the expected data (async S3 calls only)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_redshift_s3.exceptions import RedshiftS3FailError
from airflow_redshift_s3.hooks._aws_mixin import AwsHookFactoryMixin

if TYPE_CHECKING:
    # the hook pulls in boto3: only the triggerer (in run) and the sensor's worker need it
    from airflow_redshift_s3.hooks.s3_inspect import PrefixSummary, S3InspectHook


def marker_key(prefix: str, success_marker: str | None) -> str | None:
    """Return the full key of ``success_marker`` under ``prefix`` (``data/`` + ``_SUCCESS``)."""
    if not success_marker:
        return None
    if not prefix or prefix.endswith("/"):
        return f"{prefix}{success_marker}"
    return f"{prefix}/{success_marker}"


@dataclass
class PrefixReadiness:
    """Decide whether a prefix is ready; shared by S3PrefixSensor's poke and S3PrefixTrigger.

    Ready means: the success marker (if any) exists, at least ``min_objects`` objects match, and, with a
    ``quiet_period``, no counted object was modified within it and the listing (its fingerprint) has not
    changed within it since this waiter started watching (which also catches deletions).

    :param min_objects: objects needed (the marker is not counted).
    :param quiet_period: seconds without change needed, or None.
    """

    min_objects: int = 1
    quiet_period: float | None = None
    last_fingerprint: str | None = None
    changed_at: float | None = None

    def evaluate(self, summary: PrefixSummary, now: float | None = None) -> tuple[bool, str]:
        """Return (ready, why) for one observation of the prefix; remember when the listing changed."""
        now = time.time() if now is None else now
        fingerprint = summary.fingerprint
        if self.last_fingerprint is not None and fingerprint != self.last_fingerprint:
            self.changed_at = now
        self.last_fingerprint = fingerprint
        where = f"s3://{summary.bucket}/{summary.prefix}"
        pattern = f" matching '{summary.key_pattern}'" if summary.key_pattern else ""
        if summary.object_count < self.min_objects:
            return (
                False,
                f"{where} holds {summary.object_count} object(s){pattern}, waiting for {self.min_objects}",
            )
        if self.quiet_period:
            if summary.last_modified is not None:
                age = now - summary.last_modified.timestamp()
                if age < self.quiet_period:
                    return False, (
                        f"newest object under {where} was modified {age:.0f} s ago, waiting for "
                        f"{self.quiet_period:g} s without change"
                    )
            if self.changed_at is not None and now - self.changed_at < self.quiet_period:
                return False, (
                    f"the listing of {where} changed {now - self.changed_at:.0f} s ago, waiting for "
                    f"{self.quiet_period:g} s without change"
                )
        return True, f"{where} holds {summary.object_count} object(s){pattern}, {summary.total_bytes} bytes"


def summary_xcom(summary: PrefixSummary, success_marker_key: str | None) -> dict[str, Any]:
    """Return the sensor's bounded XCom value: counts, bytes, first and last key, fingerprint, marker."""
    return {**summary.to_dict(), "success_marker": success_marker_key}


class S3PrefixTrigger(AwsHookFactoryMixin, BaseTrigger):
    """Fire when an S3 prefix holds at least ``min_objects`` matching objects (and its marker, quiet period).

    Every S3 call is async (aiobotocore through the Amazon provider's ``get_async_conn``). The event is
    ``{"status": "success" | "timeout" | "error", "message": str, "summary": dict | None,
    "retryable": bool}``, where ``summary`` is bounded whatever the number of objects, and ``retryable``
    is False for errors no retry can fix (a missing bucket).

    :param bucket: the bucket.
    :param prefix: the key prefix.
    :param min_objects: matching objects needed.
    :param success_marker: a key relative to the prefix (e.g. ``_SUCCESS``) that must exist; not counted.
    :param key_pattern: glob the part of the key after the prefix must match (``fnmatch``).
    :param quiet_period: seconds during which nothing may change, or None.
    :param poll_interval: seconds between two checks.
    :param deadline: UNIX time after which a "timeout" event is sent (kept across triggerer restarts).
    :param aws_conn_id: the Airflow AWS connection.
    :param region_name: AWS region, else the connection's.
    :param verify: SSL verification for the AWS client.
    :param botocore_config: botocore client configuration.
    """

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        min_objects: int = 1,
        success_marker: str | None = None,
        key_pattern: str | None = None,
        quiet_period: float | None = None,
        poll_interval: float = 60.0,
        deadline: float | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow leaves it unannotated
        self.bucket = bucket
        self.prefix = prefix
        self.min_objects = min_objects
        self.success_marker = success_marker
        self.key_pattern = key_pattern
        self.quiet_period = quiet_period
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and exactly the ``__init__`` arguments."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "bucket": self.bucket,
                "prefix": self.prefix,
                "min_objects": self.min_objects,
                "success_marker": self.success_marker,
                "key_pattern": self.key_pattern,
                "quiet_period": self.quiet_period,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
            },
        )

    def _hook(self) -> S3InspectHook:
        return self._new_s3_hook()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the prefix until it is ready, the deadline passes or an error occurs; yield one event."""
        summary: PrefixSummary | None = None
        try:
            hook = self._hook()
            marker = marker_key(self.prefix, self.success_marker)
            readiness = PrefixReadiness(self.min_objects, self.quiet_period)
            async with await hook.get_async_conn() as client:  # type: ignore[no-untyped-call]  # Airflow leaves it unannotated
                while True:
                    if marker and not await hook.object_exists_async(client, self.bucket, marker):
                        why = f"success marker s3://{self.bucket}/{marker} does not exist yet"
                    else:
                        summary = await hook.summarize_prefix_async(
                            client,
                            self.bucket,
                            self.prefix,
                            key_pattern=self.key_pattern,
                            exclude_keys=[marker] if marker else [],
                        )
                        ready, why = readiness.evaluate(summary)
                        if ready:
                            yield TriggerEvent(
                                {
                                    "status": "success",
                                    "message": why,
                                    "summary": summary_xcom(summary, marker),
                                    "retryable": False,
                                }
                            )
                            return
                    now = time.time()
                    if self.deadline is not None and now >= self.deadline:
                        yield TriggerEvent(
                            {
                                "status": "timeout",
                                "message": f"Timed out waiting for s3://{self.bucket}/{self.prefix}: {why}.",
                                "summary": summary_xcom(summary, marker) if summary else None,
                                "retryable": False,
                            }
                        )
                        return
                    self.log.info("%s; checking again in %s s", why, self.poll_interval)
                    delay = self.poll_interval
                    if self.deadline is not None:
                        delay = max(0.0, min(delay, self.deadline - now))
                    await asyncio.sleep(delay)
        except Exception as error:
            yield TriggerEvent(
                {
                    "status": "error",
                    "message": f"Error while waiting for s3://{self.bucket}/{self.prefix}: "
                    f"{type(error).__name__}: {error}",
                    "summary": None,
                    "retryable": not isinstance(error, RedshiftS3FailError),
                }
            )
