"""The wait for a deferred Data API load: the Amazon provider's ``RedshiftDataTrigger``, carrying the load.

The trigger polls ``DescribeStatement`` of the load's batch until it ends (and cancels it, rolling the
load back, when the task is killed, where the Amazon trigger supports it). Its event also carries what
``S3ToRedshiftCopyOperator.execute_complete`` needs to finish the load, so that the load does not depend on
``next_kwargs`` surviving the deferral (``dag.test()`` replaces them with the event).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.amazon.aws.triggers.redshift_data import RedshiftDataTrigger
from airflow.triggers.base import TriggerEvent


class RedshiftDataLoadTrigger(RedshiftDataTrigger):
    """``RedshiftDataTrigger`` whose event holds ``load``, the state of the load waiting for the batch.

    :param load: JSON-able state handed back in the event (``event["load"]``).
    """

    def __init__(self, *, load: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.load = load

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Serialize the Amazon trigger's arguments, the load, and this class's path."""
        _, kwargs = super().serialize()
        return f"{type(self).__module__}.{type(self).__qualname__}", {**kwargs, "load": self.load}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Yield the Amazon trigger's event, with the load added."""
        async for event in super().run():
            yield TriggerEvent({**event.payload, "load": self.load})
