r"""The one place where SQL text meets values: identifiers checked and quoted, literals escaped, values bound.

Policy (every SQL statement this provider sends is built with these helpers):

- **Identifiers** (schemas, tables, columns) are checked, then always written double-quoted.

  - *strict* (the default): ASCII letters, digits, ``_`` and ``$``, not starting with a digit or ``$``,
    at most 127 bytes. The name is lower-cased, because Redshift folds identifiers to lower case (quoted
    ones too, unless ``enable_case_sensitive_identifier`` is on): ``Orders`` and ``orders`` are one table
    in Redshift, and quoting must not make them two.
  - *relaxed* (``strict=False``, for existing tables with unusual names): any characters except control
    and format characters (NUL, newlines, zero-width and bidi marks), at most 127 bytes of UTF-8, no
    leading or trailing blank, and unchanged by Unicode NFKC normalisation, which rejects look-alikes
    such as a full-width quote (U+FF02) or semicolon. Double quotes are doubled; the case is kept.

- **Values** go to the server as bound parameters (redshift_connector's ``format`` paramstyle: ``%s``)
  wherever Redshift accepts a parameter. A ``Statement`` keeps the SQL and its parameters together.
- **Literals** are written only where Redshift accepts no parameter (COPY's options): ``quote_literal``
  doubles single quotes and refuses control characters and any backslash that is not followed by a
  letter or digit. Redshift reads backslash escapes in literals, PostgreSQL does not; with that rule a
  literal means the same to both and can never end early (``\'`` or a trailing ``\`` cannot occur).
- **Inlined values**, only where no parameter can travel (the Data API's BatchExecuteStatement takes no
  ``Parameters``): ``Statement.inline()`` writes each bound value with ``sql_literal``, which spells a
  backslash or a control character as ``CHR(n)`` so that the text means the same to Redshift (which
  reads backslash escapes) and to PostgreSQL (which does not).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_redshift_s3.exceptions import ConfigCheckError

IDENTIFIER_MAX_BYTES = 127
_STRICT_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
# A backslash may only start an escape Redshift's COPY knows (\t, \N, \001 ...): never before a quote,
# another backslash or the end of the literal.
_UNSAFE_BACKSLASH = re.compile(r"\\(?![A-Za-z0-9])")
_MASK = "***"
_MARKER = re.compile(r"%[%s]")
# What sql_literal spells as CHR(n): the backslash, and the control characters a literal cannot hold.
_SPELLED = re.compile(r"[\\\x00-\x1f\x7f]")


class SqlInputError(ConfigCheckError):
    """A name or value that cannot be put into SQL safely; raised before any SQL runs."""


def _shown(value: object) -> str:
    # ascii(): a look-alike (U+037E for ';') or an invisible character shows as its escape
    text = ascii(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _has_control(value: str) -> bool:
    # Cc: NUL, newlines, escapes; Cf: zero-width and bidi marks; Cs/Co/Cn: surrogates, private, unassigned.
    return any(unicodedata.category(ch).startswith("C") for ch in value)


def check_identifier(name: object, what: str = "identifier", *, strict: bool = True) -> str:
    """Return ``name`` as Redshift will store it, or raise ``SqlInputError`` saying why it is refused.

    :param name: a schema, table or column name, unquoted.
    :param what: what the name is, for the message (e.g. "column of column_list").
    :param strict: apply the strict policy (see the module docstring) instead of the relaxed one.
    """
    if not isinstance(name, str) or not name:
        raise SqlInputError(
            f"The {what} is {_shown(name)}: expected a non-empty name. Fix: pass the name as a string."
        )
    size = len(name.encode("utf-8"))
    if size > IDENTIFIER_MAX_BYTES:
        raise SqlInputError(
            f"The {what} {_shown(name)} is {size} bytes long: Redshift names are at most "
            f"{IDENTIFIER_MAX_BYTES} bytes. Fix: use a shorter name."
        )
    if strict:
        if not _STRICT_IDENTIFIER.fullmatch(name):
            raise SqlInputError(
                f"The {what} {_shown(name)} is not a plain name: expected ASCII letters, digits, '_' or '$', "
                "not starting with a digit or '$'. Fix: correct the name; for an existing object with other "
                "characters in its name pass strict_identifiers=False."
            )
        return name.lower()
    if _has_control(name):
        raise SqlInputError(
            f"The {what} {_shown(name)} contains a control or invisible character: expected printable "
            "characters only. Fix: remove it (check what the name was copied from)."
        )
    if name != name.strip():
        raise SqlInputError(
            f"The {what} {_shown(name)} starts or ends with a blank: expected none. Fix: strip the name."
        )
    if unicodedata.normalize("NFKC", name) != name:
        raise SqlInputError(
            f"The {what} {_shown(name)} contains look-alike characters (it changes under Unicode NFKC "
            f"normalisation, to {_shown(unicodedata.normalize('NFKC', name))}): expected plain characters. "
            "Fix: use the normalised name."
        )
    return name


def quote_identifier(name: object, what: str = "identifier", *, strict: bool = True) -> str:
    """Return ``name`` checked and double-quoted, e.g. ``"orders"``.

    :param name: a schema, table or column name, unquoted.
    :param what: what the name is, for error messages.
    :param strict: apply the strict policy instead of the relaxed one.
    """
    checked = check_identifier(name, what, strict=strict)
    return '"' + checked.replace('"', '""') + '"'


@dataclass(frozen=True)
class TableName:
    """A table, optionally schema-qualified, with names already checked."""

    name: str
    schema: str | None = None

    @property
    def sql(self) -> str:
        """Return the quoted name for SQL, e.g. ``"sales"."orders"``."""
        table = '"' + self.name.replace('"', '""') + '"'
        if self.schema is None:
            return table
        return '"' + self.schema.replace('"', '""') + '".' + table

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def with_schema(self, schema: str) -> TableName:
        """Return this table in ``schema`` when it has none."""
        return self if self.schema else TableName(self.name, schema)


def parse_table_name(table: object, schema: object = None, *, strict: bool = True) -> TableName:
    """Return the checked ``TableName`` of ``table`` ("table" or "schema.table") and ``schema``.

    :param table: the table name, optionally qualified by its schema.
    :param schema: the schema, when ``table`` is not qualified.
    :param strict: apply the strict identifier policy instead of the relaxed one.
    """
    if not isinstance(table, str) or not table:
        raise SqlInputError(
            f"The table is {_shown(table)}: expected 'table' or 'schema.table'. Fix: pass the table name."
        )
    if schema is not None and schema != "":
        if strict and "." in table:
            raise SqlInputError(
                f"The table {_shown(table)} is qualified and schema {_shown(schema)} is given too: expected "
                "one of the two. Fix: pass table='schema.table' alone, or table and schema separately."
            )
        return TableName(
            check_identifier(table, "table", strict=strict), check_identifier(schema, "schema", strict=strict)
        )
    parts = table.split(".")
    if len(parts) == 1:
        return TableName(check_identifier(table, "table", strict=strict))
    if len(parts) == 2:
        return TableName(
            check_identifier(parts[1], "table", strict=strict),
            check_identifier(parts[0], "schema", strict=strict),
        )
    raise SqlInputError(
        f"The table {_shown(table)} has {len(parts) - 1} dots: expected 'table' or 'schema.table' (a table "
        "of another database cannot be loaded). Fix: pass 'schema.table'; for a name containing a dot pass "
        "the schema separately with strict_identifiers=False."
    )


def quote_literal(value: object, what: str = "value") -> str:
    """Return ``value`` as a single-quoted SQL literal, for the places where no parameter is accepted.

    :param value: the text.
    :param what: what the value is, for error messages.
    """
    if not isinstance(value, str):
        raise SqlInputError(f"The {what} is {_shown(value)}: expected a string. Fix: pass a string.")
    if _has_control(value):
        raise SqlInputError(
            f"The {what} {_shown(value)} contains a control or invisible character: expected printable "
            "characters only. Fix: remove it (write a tab as the two characters \\t where COPY allows it)."
        )
    if _UNSAFE_BACKSLASH.search(value):
        raise SqlInputError(
            f"The {what} {_shown(value)} has a backslash that is not followed by a letter or digit: Redshift "
            "would read it as an escape. Fix: remove the backslash, or use an escape COPY knows (\\t, \\N, "
            "\\ddd octal)."
        )
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, repr=False)
class Statement:
    """One SQL statement and its bound parameters.

    :param sql: the text; ``%s`` marks a parameter when ``params`` is not None (then a literal ``%``
        outside quotes must be written ``%%``).
    :param params: the values bound to the ``%s`` markers, or None for a statement without parameters
        (its text is sent as it is).
    :param secrets: substrings of ``sql`` never to show (key-based credentials, when enabled).
    """

    sql: str
    params: tuple[Any, ...] | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.params is not None and self.sql.count("%s") != len(self.params):
            raise ValueError(
                f"statement has {self.sql.count('%s')} %s markers but {len(self.params)} parameters"
            )

    def __str__(self) -> str:
        text = self.sql
        for secret in self.secrets:
            text = text.replace(secret, _MASK)
        return text

    def __repr__(self) -> str:
        return f"Statement({str(self)!r}, params={self.params!r})"

    def execute(self, cursor: Any) -> Any:
        """Execute on a DB-API ``cursor`` (parameters bound by the driver) and return the cursor."""
        cursor.execute(self.sql, self.params)
        return cursor

    def inline(self) -> str:
        """Return the text with each parameter written as a literal (``sql_literal``), ``%%`` as ``%``.

        For the Data API's BatchExecuteStatement, which takes no parameters. Secrets are kept: mask
        with ``str()`` before logging.
        """
        if self.params is None:
            return self.sql
        values = iter(self.params)
        return _MARKER.sub(lambda m: "%" if m.group() == "%%" else sql_literal(next(values)), self.sql)


def sql_literal(value: object) -> str:
    """Return ``value`` (None, bool, int, float, Decimal, date, datetime, str) as a SQL literal.

    A string is single-quoted with quotes doubled; a backslash or a control character is written
    ``CHR(n)`` outside the quotes, so that no dialect reads an escape in it. A date or a time is its ISO
    text, which Redshift casts to the column's type.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, decimal.Decimal)):
        if isinstance(value, float) and not math.isfinite(value):
            raise SqlInputError(f"The value {value!r} is not a finite number: SQL has no literal for it.")
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return "'" + value.isoformat(sep=" ") + "'" if isinstance(value, dt.datetime) else f"'{value}'"
    if not isinstance(value, str):
        raise SqlInputError(
            f"The value {_shown(value)} has no SQL literal: expected None, a bool, a number, a date or a "
            "string. Fix: convert it before binding it."
        )
    parts: list[str] = []
    start = 0
    for match in _SPELLED.finditer(value):
        parts += [_quoted_text(value[start : match.start()]), f"CHR({ord(match.group())})"]
        start = match.end()
    parts.append(_quoted_text(value[start:]))
    kept = [part for part in parts if part != "''"] or ["''"]
    return kept[0] if len(kept) == 1 else "(" + " || ".join(kept) + ")"


def since_literal(now: dt.datetime, days: int) -> str:
    """Return the literal of the time ``days`` days before ``now`` (to the second), for a history query."""
    return sql_literal((now - dt.timedelta(days=days)).replace(microsecond=0))


def _quoted_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def placeholders(count: int) -> str:
    """Return ``count`` parameter markers separated by commas: ``%s, %s, %s``."""
    return ", ".join(["%s"] * count)


def column_list_sql(columns: Sequence[str]) -> str:
    """Return ``("a", "b")`` for already-checked column names."""
    return "(" + ", ".join('"' + c.replace('"', '""') + '"' for c in columns) + ")"


def quoted(name: str) -> str:
    """Return an already-checked name double-quoted."""
    return '"' + name.replace('"', '""') + '"'
