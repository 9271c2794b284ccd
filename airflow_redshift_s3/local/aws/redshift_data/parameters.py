"""The Data API's named parameters: ``:name`` placeholders in the SQL, string values from ``Parameters``.

As the Data API guide describes, every value is passed as a string and Redshift converts it to the type
the statement needs (here: each value is bound as a parameter of unknown type, which PostgreSQL types
from its use, as Redshift does). A placeholder inside a string, a quoted identifier, a comment or a
``::`` cast is not one.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_redshift_s3.local.aws.redshift_data.exceptions import ValidationException

_NAME = re.compile(r"^[0-9a-zA-Z_]+$")  # the ParameterName pattern of the Data API reference


# Skipped as a whole: strings (E'' with backslashes, $tag$ ones), quoted identifiers, comments, casts.
_SCAN = re.compile(
    r"[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/"
    r"|\$(?P<tag>[A-Za-z_][A-Za-z0-9_]*|)\$.*?\$(?P=tag)\$|::|:(?P<name>[0-9A-Za-z_]+)|[A-Za-z0-9_]+|.",
    re.DOTALL,
)


def _placeholders(sql: str) -> list[tuple[int, int, str]]:
    """Return (start, end, name) of every ``:name`` placeholder in ``sql``."""
    return [(m.start(), m.end(), m.group("name")) for m in _SCAN.finditer(sql) if m.group("name")]


def validate(sql_texts: list[str], parameters: list[dict[str, Any]] | None) -> None:
    """Raise ValidationException for a malformed parameter or a placeholder without a value."""
    given: dict[str, Any] = {}
    for parameter in parameters or []:
        name, value = parameter.get("name"), parameter.get("value")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationException(
                f"Parameter name {name!r} must match ^[0-9a-zA-Z_]+$ (it is written :name in the SQL)."
            )
        if not isinstance(value, str) or not value:
            raise ValidationException(
                f"Parameter {name} needs a non-empty string value: the Data API passes every value as a "
                "string and Redshift converts it; for NULL write NULL in the SQL instead of a parameter."
            )
        given[name] = value
    if not given:
        return
    for sql in sql_texts:
        for _, _, name in _placeholders(sql):
            if name not in given:
                raise ValidationException(
                    f"The SQL uses :{name} but Parameters has no value named {name!r}: add "
                    f'{{"name": "{name}", "value": "..."}} to Parameters.'
                )


def bind(sql: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """Return ``sql`` with ``$1, $2, ...`` for its placeholders, and the values they take in order."""
    order: list[str] = []
    pieces = []
    last = 0
    for start, end, name in _placeholders(sql):
        if name not in values:
            continue
        if name not in order:
            order.append(name)
        pieces.append(sql[last:start])
        pieces.append(f"${order.index(name) + 1}")
        last = end
    pieces.append(sql[last:])
    return "".join(pieces), [values[name] for name in order]
