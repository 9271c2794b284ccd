"""VARCHAR(n) lengths in bytes, as Redshift counts them, on top of PostgreSQL's, which counts characters.

Redshift's rule is on the "Character types" page of its Database Developer Guide. The column keeps its
type, so ``information_schema``, ``pg_table_def`` and ``format_type`` still show ``character varying(n)``;
a CHECK constraint named ``rs_varchar_<n>_<column>`` adds the byte limit, and :func:`value_too_long`
rewords its violation as Redshift's ``value too long for type character varying(n)`` (SQLSTATE 22001).
"""

from __future__ import annotations

import re

from airflow_redshift_s3.local.sql.tokens import Token, quote_ident

_VARCHAR_WORDS = ("VARCHAR", "NVARCHAR")
_CONSTRAINT = re.compile(r"rs_varchar_(\d+)_")
_MAX_NAME = 63  # PostgreSQL's identifier length in bytes


def byte_limit_check(element: list[Token]) -> list[Token]:
    """Return the tokens of a column constraint limiting a VARCHAR(n) column to n bytes, or nothing.

    :param element: the tokens of one column definition (``name type [constraints]``).
    """
    sig = [t for t in element if t.significant]
    if len(sig) < 5 or sig[0].kind not in ("word", "qident"):
        return []
    rest = sig[2:]
    if sig[1].upper == "CHARACTER" and rest[0].upper == "VARYING":
        rest = rest[1:]
    elif sig[1].upper not in _VARCHAR_WORDS:
        return []
    if len(rest) < 3 or rest[0].text != "(" or rest[1].kind != "number" or rest[2].text != ")":
        return []
    length = int(rest[1].text)
    column = sig[0].text[1:-1].replace('""', '"') if sig[0].kind == "qident" else sig[0].text.lower()
    name = f"rs_varchar_{length}_{column}".encode()[:_MAX_NAME].decode("utf-8", "ignore")
    return [
        Token("ws", " "),
        Token("word", f"CONSTRAINT {quote_ident(name)} CHECK (octet_length({sig[0].text}) <= {length})"),
    ]


def value_too_long(constraint: str) -> str | None:
    """Return Redshift's message for a violated byte-limit constraint, or None for any other constraint."""
    match = _CONSTRAINT.match(constraint)
    return f"value too long for type character varying({match.group(1)})" if match else None


__all__ = ["byte_limit_check", "value_too_long"]
