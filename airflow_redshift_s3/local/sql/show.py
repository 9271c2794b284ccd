"""Redshift's catalog SHOW commands, as a SELECT from the catalog's functions that answer them.

The forms are those of the Redshift SQL reference (SHOW DATABASES, SHOW SCHEMAS, SHOW TABLES,
SHOW COLUMNS, SHOW CONSTRAINTS, SHOW PROCEDURES, SHOW FUNCTIONS, SHOW PARAMETERS) that
redshift_connector's metadata API issues; names may be identifiers or, as the driver sends them, bind
parameters.
"""

from __future__ import annotations

from airflow_redshift_s3.local.sql.errors import RefusedStatement
from airflow_redshift_s3.local.sql.tokens import Token, quote_literal

# Where the catalog keeps the functions that answer Redshift-only statements or shadow a PostgreSQL built-in.
REDSHIFT_FUNCTION_SCHEMA = "pg_redshift"

# The word after SHOW, the words that follow it up to the name, the answering function, how many name parts.
_FORMS: dict[str, tuple[tuple[str, ...], str, int]] = {
    "DATABASES": ((), "show_databases", 0),
    "SCHEMAS": (("FROM", "DATABASE"), "show_schemas", 1),
    "TABLES": (("FROM", "SCHEMA"), "show_tables", 2),
    "COLUMNS": (("FROM", "TABLE"), "show_columns", 3),
    "CONSTRAINTS": (("PRIMARY", "KEYS", "FROM", "TABLE"), "show_primary_keys", 3),
    "PROCEDURES": (("FROM", "SCHEMA"), "show_procedures", 2),
    "FUNCTIONS": (("FROM", "SCHEMA"), "show_functions", 2),
}
SHOW_OBJECTS = frozenset({*_FORMS, "PARAMETERS"})
_PARAMETERS_USAGE = (
    "SHOW PARAMETERS has the form: SHOW PARAMETERS OF {FUNCTION | PROCEDURE} "
    "[database_name.]schema_name.routine_name(argtype [, ...]) [LIKE 'filter_pattern']"
)


class ShowSyntaxError(RefusedStatement):
    """A catalog SHOW command that does not have one of Redshift's forms."""


def rewrite_show(sig: list[Token]) -> str:
    """Return the SELECT that answers one catalog SHOW command (``sig``: its significant tokens).

    :raises ShowSyntaxError: the command is not one of the forms above.
    """
    if sig[1].upper == "PARAMETERS":
        return _rewrite_parameters(sig)
    words, function, parts = _FORMS[sig[1].upper]
    pos = 2
    for word in words:
        if pos >= len(sig) or sig[pos].upper != word:
            raise ShowSyntaxError(_usage(sig[1].upper))
        pos += 1
    args: list[str] = []
    for index in range(parts):
        if index:
            if pos >= len(sig) or sig[pos].text != ".":
                raise ShowSyntaxError(_usage(sig[1].upper))
            pos += 1
        if pos >= len(sig):
            raise ShowSyntaxError(_usage(sig[1].upper))
        args.append(_name_argument(sig[pos]))
        pos += 1
    pattern, limit = "NULL::text", ""
    if function != "show_primary_keys" and pos < len(sig) and sig[pos].upper == "LIKE":
        if pos + 1 >= len(sig) or sig[pos + 1].kind not in ("string", "param"):
            raise ShowSyntaxError(_usage(sig[1].upper))
        pattern = sig[pos + 1].text + ("::text" if sig[pos + 1].kind == "param" else "")
        pos += 2
    if pos + 1 < len(sig) and sig[pos].upper == "LIMIT" and sig[pos + 1].kind in ("number", "param"):
        limit = f" LIMIT {sig[pos + 1].text}"
        pos += 2
    if pos != len(sig):
        raise ShowSyntaxError(_usage(sig[1].upper))
    if function != "show_primary_keys":
        args.append(pattern)
    return f"SELECT * FROM {REDSHIFT_FUNCTION_SCHEMA}.{function}({', '.join(args)}){limit}"


def _rewrite_parameters(sig: list[Token]) -> str:
    """SHOW PARAMETERS OF {FUNCTION | PROCEDURE} [db.]schema.name(argtype, ...) [LIKE 'pattern'].

    The argument types pick one routine among its overloads; each goes to the answering function as text
    (a bind parameter, as the driver sends them, or the words written), which it resolves as a type name.
    """
    if len(sig) < 4 or sig[2].upper != "OF" or sig[3].upper not in ("FUNCTION", "PROCEDURE"):
        raise ShowSyntaxError(_PARAMETERS_USAGE)
    function = "show_function_parameters" if sig[3].upper == "FUNCTION" else "show_procedure_parameters"
    names: list[str] = []
    pos = 4
    while pos < len(sig) and sig[pos].text != "(":
        if names and sig[pos].text == ".":
            pos += 1
        if pos >= len(sig) or len(names) == 3:
            raise ShowSyntaxError(_PARAMETERS_USAGE)
        names.append(_name_argument(sig[pos]))
        pos += 1
    if len(names) < 2 or pos >= len(sig):
        raise ShowSyntaxError(_PARAMETERS_USAGE)
    if len(names) == 2:
        names.insert(0, "current_database()::text")
    types, pos = _argument_types(sig, pos + 1)
    pattern = "NULL::text"
    if pos < len(sig) and sig[pos].upper == "LIKE":
        if pos + 1 >= len(sig) or sig[pos + 1].kind not in ("string", "param"):
            raise ShowSyntaxError(_PARAMETERS_USAGE)
        pattern = sig[pos + 1].text + ("::text" if sig[pos + 1].kind == "param" else "")
        pos += 2
    if pos != len(sig):
        raise ShowSyntaxError(_PARAMETERS_USAGE)
    arguments = f"ARRAY[{', '.join(types)}]::text[]"
    return f"SELECT * FROM {REDSHIFT_FUNCTION_SCHEMA}.{function}({', '.join(names)}, {arguments}, {pattern})"


def _argument_types(sig: list[Token], pos: int) -> tuple[list[str], int]:
    """Read ``argtype [, ...] )`` from ``pos``: each type as a text expression, and the position after."""
    types: list[str] = []
    current: list[Token] = []
    depth = 0
    while pos < len(sig):
        token = sig[pos]
        pos += 1
        if depth == 0 and token.text in (",", ")"):
            if current:
                types.append(_type_argument(current))
            elif token.text == "," or types:
                raise ShowSyntaxError(f"{_PARAMETERS_USAGE} (an argument type is missing)")
            if token.text == ")":
                return types, pos
            current = []
            continue
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        current.append(token)
    raise ShowSyntaxError(_PARAMETERS_USAGE)


def _type_argument(tokens: list[Token]) -> str:
    if len(tokens) == 1 and tokens[0].kind == "param":
        return f"{tokens[0].text}::text"
    for token in tokens:
        if token.kind not in ("word", "qident", "number", "punct"):
            raise ShowSyntaxError(f"{_PARAMETERS_USAGE} (not a type: {token.text!r})")
    return quote_literal(" ".join(token.text for token in tokens))


def _name_argument(token: Token) -> str:
    if token.kind == "param":
        return f"{token.text}::text"
    if token.kind == "word":
        return quote_literal(token.text.lower())
    if token.kind == "qident":
        return quote_literal(token.text[1:-1].replace('""', '"'))
    raise ShowSyntaxError(f"expected a name, found {token.text!r}")


def _usage(obj: str) -> str:
    words, _, parts = _FORMS[obj]
    name = ".".join(["database_name", "schema_name", "table_name"][:parts])
    tail = " [LIKE 'filter_pattern'] [LIMIT row_limit]" if obj != "CONSTRAINTS" else ""
    form = " ".join(["SHOW", obj, *words, name]).strip()
    return f"SHOW {obj} has the form: {form}{tail}"
