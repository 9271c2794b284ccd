"""What the package's deferrable sensors share: poke once, then hand the wait to a trigger."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any


def poke_then_defer(sensor: Any, context: Any, trigger: Callable[[float], Any]) -> Any:
    """Return the sensor's XCom if one poke succeeds; otherwise defer to ``trigger(deadline)``.

    :param sensor: a BaseSensorOperator with ``poke``, ``timeout`` and ``poke_interval``.
    :param context: the task context.
    :param trigger: builds the trigger from the wall-clock deadline (now + the sensor's timeout).
    The task's own defer timeout leaves the trigger time to report its timeout event first.
    """
    done = sensor.poke(context)
    if done:
        return done.xcom_value
    timeout, interval = float(sensor.timeout), float(sensor.poke_interval)
    sensor.defer(
        trigger=trigger(time.time() + timeout),
        method_name="execute_complete",
        timeout=timedelta(seconds=timeout + max(60.0, 2 * interval)),
    )
