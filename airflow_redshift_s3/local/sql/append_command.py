"""Parse Redshift's ``ALTER TABLE target APPEND FROM source [IGNOREEXTRA | FILLTARGET]``.

The gateway runs it itself (outside a transaction block only, as Redshift does); the catalog function
``pg_redshift.append_rows`` checks the columns and moves the rows (``local/catalog_added.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_redshift_s3.local.sql.errors import RefusedStatement
from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA
from airflow_redshift_s3.local.sql.tokens import Token, qualified_name, quote_literal

APPEND_OPTIONS = ("IGNOREEXTRA", "FILLTARGET")
IN_TRANSACTION_BLOCK = "ALTER TABLE APPEND cannot run inside a transaction block"


@dataclass(frozen=True)
class AppendCommand:
    """One ALTER TABLE APPEND: the two table names as written (after case folding) and the option."""

    target: str
    source: str
    option: str  # "", IGNOREEXTRA or FILLTARGET

    def sql(self) -> str:
        """Return the PostgreSQL statement that checks the columns and moves the rows."""
        return (
            f"SELECT {REDSHIFT_FUNCTION_SCHEMA}.append_rows({quote_literal(self.target)}::regclass, "
            f"{quote_literal(self.source)}::regclass, {quote_literal(self.option)})"
        )


def is_append(tokens: list[Token]) -> bool:
    """Tell whether a statement is ALTER TABLE ... APPEND FROM ..."""
    sig = [t for t in tokens if t.significant]
    if len(sig) < 4 or sig[0].upper != "ALTER" or sig[1].upper != "TABLE":
        return False
    _, after = qualified_name(sig, 2)
    return after < len(sig) and sig[after].kind == "word" and sig[after].upper == "APPEND"


def parse_append(tokens: list[Token]) -> AppendCommand:
    """Parse an ALTER TABLE APPEND statement (``is_append`` said it is one).

    :raises RefusedStatement: a syntax error, at the token Redshift's parser stops at.
    """
    sig = [t for t in tokens if t.significant]
    target, after = qualified_name(sig, 2)
    if after + 1 >= len(sig) or sig[after + 1].upper != "FROM":
        raise _syntax_error(sig, after + 1)
    source, after = qualified_name(sig, after + 2)
    if not source:
        raise _syntax_error(sig, after)
    option = ""
    if after < len(sig) and sig[after].upper in APPEND_OPTIONS:
        option = sig[after].upper
        after += 1
    if after < len(sig):
        raise _syntax_error(sig, after)
    return AppendCommand(target, source, option)


def _syntax_error(sig: list[Token], pos: int) -> RefusedStatement:
    near = sig[pos].text if pos < len(sig) else "end of input"
    return RefusedStatement(
        f'syntax error at or near "{near}"' if pos < len(sig) else f"syntax error at {near}"
    )
