"""What the gateway tells its listeners: a client connected, or sent one SQL statement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ClientEvent:
    """What a client did: opened a connection, or sent one SQL text (a simple Query or a Parse).

    A statement counts as soon as the gateway reads it, whether PostgreSQL then runs it or not.
    """

    kind: Literal["connect", "statement"]
    sql: str = ""


ClientListener = Callable[[ClientEvent], None]

__all__ = ["ClientEvent", "ClientListener"]
