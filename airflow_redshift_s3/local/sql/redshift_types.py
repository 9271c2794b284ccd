"""Column types Redshift has and PostgreSQL spells differently: VARBYTE, SUPER and the interval types.

- VARBYTE(n), VARBINARY(n), BINARY VARYING(n) ("VARBYTE type" page of the Redshift Database Developer
  Guide; n from 1 to 16,777,216 bytes, 64,000 when omitted) become the catalog's ``varbyte`` domain over
  ``bytea`` with a CHECK constraint ``rs_varbyte_<n>_<column>`` limiting the bytes; :func:`value_too_long`
  words its violation. ``bytea`` itself stays refused, as Redshift refuses it.
- SUPER is the catalog's ``super`` domain: nothing to rewrite, but the column's name is noted so that
  PartiQL navigation on it is recognised (``super_navigation.py``).
- An interval column needs a qualifier ("Interval data types and literals": ``INTERVAL
  year_to_month_qualifier`` or ``INTERVAL day_to_second_qualifier [(p)]``); a bare ``interval`` column is
  refused as the other types Redshift does not have.
"""

from __future__ import annotations

import re

from airflow_redshift_s3.local.sql.errors import UnsupportedColumnType
from airflow_redshift_s3.local.sql.tokens import Token, quote_ident

VARBYTE_DEFAULT_LENGTH = 64000
VARBYTE_MAX_LENGTH = 16777216
_INTERVAL_FIELDS = frozenset({"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"})
_CONSTRAINT = re.compile(r"rs_varbyte_(\d+)_")
_MAX_NAME = 63  # PostgreSQL's identifier length in bytes


def column_name(token: Token) -> str:
    """Return the name a column token stands for (a quoted one as written, else lower case)."""
    return token.text[1:-1].replace('""', '"') if token.kind == "qident" else token.text.lower()


def refuse_bare_interval(table: str, element: list[Token]) -> None:
    """Refuse a column of type ``interval`` without a qualifier, as Redshift does.

    :raises UnsupportedColumnType: the column's type is a bare ``interval``.
    """
    sig = [t for t in element if t.significant]
    if len(sig) < 2 or sig[0].kind not in ("word", "qident") or sig[1].kind != "word":
        return
    if sig[1].upper != "INTERVAL" or (len(sig) > 2 and sig[2].upper in _INTERVAL_FIELDS):
        return
    raise UnsupportedColumnType(table, column_name(sig[0]), "interval")


def super_column(element: list[Token]) -> str | None:
    """Return the name of the column ``element`` defines if its type is SUPER, else None."""
    sig = [t for t in element if t.significant]
    is_super = len(sig) >= 2 and sig[0].kind in ("word", "qident") and sig[1].upper == "SUPER"
    if is_super and sig[1].kind == "word" and (len(sig) == 2 or sig[2].text != "."):
        return column_name(sig[0])
    return None


def rewrite_varbyte(element: list[Token]) -> list[Token]:
    """Return a column definition with a VARBYTE type as the ``varbyte`` domain and its byte limit.

    :param element: the tokens of one column definition (``name type [constraints]``); returned unchanged
        when its type is not one of VARBYTE's spellings.
    """
    positions = [i for i, t in enumerate(element) if t.significant]
    if len(positions) < 2 or element[positions[0]].kind not in ("word", "qident"):
        return element
    first = element[positions[1]].upper
    type_end = 2
    if first == "BINARY" and len(positions) > 2 and element[positions[2]].upper == "VARYING":
        type_end = 3
    elif first not in ("VARBYTE", "VARBINARY"):
        return element
    length = VARBYTE_DEFAULT_LENGTH
    sig = [element[i] for i in positions]
    if len(sig) >= type_end + 3 and sig[type_end].text == "(" and sig[type_end + 2].text == ")":
        size = sig[type_end + 1]
        length = VARBYTE_MAX_LENGTH if size.upper == "MAX" else int(size.text) if size.kind == "number" else 0
        type_end += 3
    name = element[positions[0]]
    constraint = f"rs_varbyte_{length}_{column_name(name)}".encode()[:_MAX_NAME].decode("utf-8", "ignore")
    rest_start = positions[type_end] if type_end < len(positions) else len(element)
    return [
        *element[: positions[1]],
        Token("word", "pg_catalog.varbyte"),
        Token("ws", " "),
        *element[rest_start:],
        Token("ws", " "),
        Token("word", f"CONSTRAINT {quote_ident(constraint)} CHECK (octet_length({name.text}) <= {length})"),
    ]


def varbyte_too_long(constraint: str) -> str | None:
    """Return the message for a violated VARBYTE byte limit, or None for any other constraint."""
    match = _CONSTRAINT.match(constraint)
    return f"value too long for type varbyte({match.group(1)})" if match else None


__all__ = ["column_name", "refuse_bare_interval", "rewrite_varbyte", "super_column", "varbyte_too_long"]
