"""Rewrite the Redshift-only parts of a statement (DDL attributes, functions, settings) for PostgreSQL."""

from __future__ import annotations

from airflow_redshift_s3.local.sql.dialect import QUERY_HEADS, needs_translation, translate
from airflow_redshift_s3.local.sql.errors import UnsupportedColumnType
from airflow_redshift_s3.local.sql.merge import rewrite_merge
from airflow_redshift_s3.local.sql.redshift_types import (
    column_name,
    refuse_bare_interval,
    rewrite_varbyte,
    super_column,
)
from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA, SHOW_OBJECTS, rewrite_show
from airflow_redshift_s3.local.sql.super_navigation import SUPER_COLUMNS, navigate
from airflow_redshift_s3.local.sql.tokens import Token, render
from airflow_redshift_s3.local.sql.varchar_bytes import byte_limit_check

# Redshift session settings PostgreSQL does not know: kept under a custom prefix so SET/SHOW still work.
REDSHIFT_ONLY_SETTINGS = frozenset(
    {
        "query_group",
        "enable_case_sensitive_identifier",
        "analyze_threshold_percent",
        "wlm_query_slot_count",
        "enable_result_cache_for_session",
        "json_parse_truncate_strings",
        "describe_field_name_in_uppercase",
        "auto_analyze",
        "spectrum_enable_pseudo_columns",
    }
)

# Functions written without a schema that must resolve to the catalog's (GETDATE also keeps sqlglot,
# which reads it as CURRENT_TIMESTAMP, a timestamp with time zone, away from it).
# JSON_SERIALIZE too: PostgreSQL's grammar has its own (with blanks after ':' and ',').
_QUALIFIED_FUNCTIONS = {
    "VERSION": f"{REDSHIFT_FUNCTION_SCHEMA}.version",
    "GETDATE": "pg_catalog.getdate",
    "JSON_SERIALIZE": f"{REDSHIFT_FUNCTION_SCHEMA}.json_serialize",
}


def rewrite_for_postgres(tokens: list[Token]) -> list[Token]:
    """Rewrite one Redshift statement so that PostgreSQL runs it with Redshift's meaning.

    :raises RefusedStatement: a statement Redshift refuses (a malformed catalog SHOW, a PostgreSQL-only
        column type in CREATE TABLE).
    """
    sig = [t for t in tokens if t.significant]
    if not sig:
        return tokens
    head = sig[0].upper
    if head == "SHOW" and len(sig) > 1 and sig[1].upper in SHOW_OBJECTS:
        return [Token("word", rewrite_show(sig))]
    if head == "SHOW" and len(sig) == 2 and sig[1].text.lower() == "search_path":
        return [Token("word", _SHOW_SEARCH_PATH)]
    if head == "MERGE":
        return rewrite_merge(tokens)
    if head == "ALTER" and len(sig) > 5 and sig[1].upper == "TABLE":
        tokens = _rewrite_added_column(tokens)
    if head == "CREATE" and _is_create_table(sig):
        tokens = _rewrite_create_table(tokens)
    elif head in ("SET", "RESET", "SHOW") and len(sig) > 1 and sig[1].text.lower() in REDSHIFT_ONLY_SETTINGS:
        tokens = [Token("word", "redshift." + t.text.lower()) if t is sig[1] else t for t in tokens]
    tokens = _rewrite_functions(tokens)
    if head in QUERY_HEADS:
        text = render(tokens)
        if SUPER_COLUMNS.mentioned(text):
            navigated = navigate(text, SUPER_COLUMNS.names)  # also translates the functions
            if navigated != text:
                return [Token("word", navigated)]
        if needs_translation(head, text):
            return [Token("word", translate(text))]
    return tokens


def _rewrite_functions(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    sig_index = [i for i, t in enumerate(tokens) if t.significant]
    for pos, i in enumerate(sig_index):
        t = tokens[i]
        nxt = tokens[sig_index[pos + 1]] if pos + 1 < len(sig_index) else None
        prev = tokens[sig_index[pos - 1]] if pos > 0 else None
        if t.kind == "word" and t.upper == "SYSDATE" and not (nxt and nxt.text == "("):
            tokens[i] = Token("word", "pg_catalog.getdate()")
        elif (
            t.kind == "word"
            and t.upper in _QUALIFIED_FUNCTIONS
            and nxt is not None
            and nxt.text == "("
            and not (prev is not None and prev.text == ".")
        ):
            tokens[i] = Token("word", _QUALIFIED_FUNCTIONS[t.upper])
        elif (
            t.kind == "word"
            and t.upper == "MAX"
            and prev is not None
            and prev.text == "("
            and nxt is not None
            and nxt.text == ")"
            and pos >= 2
            and tokens[sig_index[pos - 2]].upper
            in ("VARCHAR", "CHAR", "VARYING", "CHARACTER", "NVARCHAR", "VARBYTE")
        ):
            tokens[i] = Token("number", "65535")
    out.extend(tokens)
    return out


def _is_create_table(sig: list[Token]) -> bool:
    words = [t.upper for t in sig[1:5]]
    for word in words:
        if word == "TABLE":
            return True
        if word not in ("TEMP", "TEMPORARY", "LOCAL", "GLOBAL", "UNLOGGED"):
            return False
    return False


_TABLE_ATTRIBUTE_WORDS = frozenset(
    {"DISTSTYLE", "DISTKEY", "SORTKEY", "COMPOUND", "INTERLEAVED", "BACKUP", "ENCODE"}
)


def _rewrite_create_table(tokens: list[Token]) -> list[Token]:
    sig_positions = [i for i, t in enumerate(tokens) if t.significant]
    # locate the table name (the first significant token after TABLE [IF NOT EXISTS])
    k = next(p for p, i in enumerate(sig_positions) if tokens[i].upper == "TABLE")
    name_pos = k + 1
    if [tokens[sig_positions[p]].upper for p in range(name_pos, min(name_pos + 3, len(sig_positions)))] == [
        "IF",
        "NOT",
        "EXISTS",
    ]:
        name_pos += 3
    name_token = tokens[sig_positions[name_pos]]
    is_hash_temp = name_token.kind == "qident" and name_token.text.startswith('"#')
    out: list[Token] = []
    i = 0
    n = len(tokens)
    depth = 0
    element: list[Token] = []
    while i < n:
        t = tokens[i]
        if depth == 0 and t.kind == "punct" and t.text == "(" and i > sig_positions[name_pos]:
            # the column/constraint list
            depth = 1
            out.append(t)
            i += 1
            elements: list[list[Token]] = []
            element = []
            inner_depth = 0
            while i < n:
                t = tokens[i]
                if t.kind == "punct" and t.text == "(":
                    inner_depth += 1
                elif t.kind == "punct" and t.text == ")":
                    if inner_depth == 0:
                        break
                    inner_depth -= 1
                if t.kind == "punct" and t.text == "," and inner_depth == 0:
                    elements.append(element)
                    element = []
                else:
                    element.append(t)
                i += 1
            elements.append(element)
            table = _table_name(tokens, sig_positions, name_pos)
            for e in elements:
                _refuse_postgres_only_type(table, e)
                refuse_bare_interval(table, e)
            SUPER_COLUMNS.add(*(name for name in map(super_column, elements) if name))
            kept = [e for e in (_rewrite_table_element(e) for e in elements) if e is not None]
            for idx, e in enumerate(kept):
                if idx:
                    out.append(Token("punct", ","))
                out.extend(e)
            if i < n:
                out.append(tokens[i])  # the closing parenthesis
                i += 1
            depth = 0
            continue
        if (
            depth == 0
            and t.kind == "word"
            and t.upper in _TABLE_ATTRIBUTE_WORDS
            and i > sig_positions[name_pos]
        ):
            i = _skip_table_attribute(tokens, i)
            continue
        if depth == 0 and t.kind == "word" and t.upper == "AS" and i > sig_positions[name_pos]:
            out.extend(tokens[i:])
            break
        out.append(t)
        i += 1
    if is_hash_temp and not any(t.upper in ("TEMP", "TEMPORARY") for t in out[:8] if t.significant):
        create_index = next(j for j, t in enumerate(out) if t.significant)
        out[create_index + 1 : create_index + 1] = [Token("ws", " "), Token("word", "TEMPORARY")]
    return out


# PostgreSQL types Redshift does not have ("Data types" page of the Redshift Database Developer Guide);
# Redshift refuses a column of one with: Column "<table>.<column>" has unsupported type "<type>".
_POSTGRES_ONLY_TYPES = frozenset(
    {
        "BYTEA", "JSON", "JSONB", "UUID", "SERIAL", "SMALLSERIAL", "BIGSERIAL", "SERIAL2", "SERIAL4",
        "SERIAL8", "MONEY", "INET", "CIDR", "MACADDR", "MACADDR8", "XML", "TSVECTOR", "TSQUERY",
    }
)  # fmt: skip


# Redshift prints the search path without PostgreSQL's quotes around $user ("search_path" page).
_SHOW_SEARCH_PATH = (
    "SELECT replace(pg_catalog.current_setting('search_path'), '\"$user\"', '$user') AS search_path"
)


def _rewrite_added_column(tokens: list[Token]) -> list[Token]:
    """Check ALTER TABLE t ADD [COLUMN] c <type> as CREATE TABLE checks a column, and rewrite its type.

    :return: the statement, with a VARBYTE type rewritten and the byte-limit constraint of a VARCHAR(n)
        column appended.
    :raises RefusedStatement: a type Redshift does not have.
    """
    positions = [i for i, t in enumerate(tokens) if t.significant]
    sig = [tokens[i] for i in positions]
    add = next((p for p in range(3, len(sig)) if sig[p].upper == "ADD"), None)
    if add is None:
        return tokens
    start = add + 2 if add + 1 < len(sig) and sig[add + 1].upper == "COLUMN" else add + 1
    if start >= len(sig):
        return tokens
    table = _table_name(sig, list(range(len(sig))), 2)
    _refuse_postgres_only_type(table, sig[start:])
    refuse_bare_interval(table, sig[start:])
    name = super_column(sig[start:])
    if name:
        SUPER_COLUMNS.add(name)
    column = tokens[positions[start] :]
    return tokens[: positions[start]] + rewrite_varbyte(column) + byte_limit_check(column)


def _table_name(tokens: list[Token], sig_positions: list[int], name_pos: int) -> str:
    """Return the last part of the (possibly qualified) table name starting at ``name_pos``."""
    pos = name_pos
    while pos + 2 < len(sig_positions) and tokens[sig_positions[pos + 1]].text == ".":
        pos += 2
    token = tokens[sig_positions[pos]]
    return token.text[1:-1].replace('""', '"') if token.kind == "qident" else token.text.lower()


def _refuse_postgres_only_type(table: str, element: list[Token]) -> None:
    sig = [t for t in element if t.significant]
    if len(sig) < 2 or sig[0].upper in ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "LIKE", "CHECK"):
        return
    type_token = sig[1]
    if type_token.kind == "word" and type_token.upper in _POSTGRES_ONLY_TYPES:
        if len(sig) > 2 and sig[2].text == ".":
            return  # a schema-qualified type of the user's
        raise UnsupportedColumnType(table, column_name(sig[0]), type_token.text.lower())


def _skip_table_attribute(tokens: list[Token], i: int) -> int:
    """Return the index after one Redshift table attribute starting at ``i``."""
    word = tokens[i].upper
    i += 1

    def next_sig(j: int) -> int:
        while j < len(tokens) and not tokens[j].significant:
            j += 1
        return j

    if word in ("COMPOUND", "INTERLEAVED"):
        return i  # the SORTKEY that follows is skipped on its own
    j = next_sig(i)
    if j < len(tokens) and tokens[j].kind == "punct" and tokens[j].text == "(":
        depth = 0
        while j < len(tokens):
            if tokens[j].text == "(" and tokens[j].kind == "punct":
                depth += 1
            elif tokens[j].text == ")" and tokens[j].kind == "punct":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        return j
    if word in ("DISTSTYLE", "BACKUP", "ENCODE") or (
        word in ("SORTKEY", "DISTKEY") and j < len(tokens) and tokens[j].upper == "AUTO"
    ):
        return j + 1  # the value word
    return i


def _rewrite_table_element(element: list[Token]) -> list[Token] | None:
    sig = [t for t in element if t.significant]
    if not sig:
        return element
    head = sig[0].upper
    # PRIMARY KEY and UNIQUE stay: they are recorded, and the catalog's event trigger makes their indexes
    # non-unique (Redshift records them without enforcing them). A foreign key goes: PostgreSQL would
    # enforce it, and cannot reference a key whose index is not unique.
    if head == "FOREIGN":
        return None
    if head == "CONSTRAINT" and len(sig) > 2 and sig[2].upper == "FOREIGN":
        return None
    if head in ("DISTKEY", "SORTKEY"):
        return None
    if head == "LIKE":
        return element
    return rewrite_varbyte(_rewrite_column(element)) + byte_limit_check(element)


def _rewrite_column(element: list[Token]) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(element)

    def next_sig(j: int) -> int:
        while j < n and not element[j].significant:
            j += 1
        return j

    while i < n:
        t = element[i]
        u = t.upper if t.kind == "word" else ""
        if u == "ENCODE" or u == "COLLATE":
            i = next_sig(i + 1) + 1
            continue
        if u in ("DISTKEY", "SORTKEY"):
            i += 1
            continue
        if u == "REFERENCES":
            j = next_sig(i + 1) + 1  # table name
            k = next_sig(j)
            if k < n and element[k].text == "(":
                while k < n and element[k].text != ")":
                    k += 1
                j = k + 1
            i = j
            continue
        if u == "IDENTITY":
            j = next_sig(i + 1)
            seed, step = "1", "1"
            if j < n and element[j].text == "(":
                args = []
                k = j + 1
                while k < n and element[k].text != ")":
                    if element[k].kind == "number" or (element[k].kind == "op" and element[k].text == "-"):
                        args.append(element[k].text)
                    k += 1
                nums = _join_signed(args)
                if len(nums) >= 1:
                    seed = nums[0]
                if len(nums) >= 2:
                    step = nums[1]
                j = k + 1
            else:
                j = i + 1
            if out and any(x.upper == "AS" for x in out[-6:] if x.significant):
                # "GENERATED BY DEFAULT AS IDENTITY(seed, step)": keep the PostgreSQL words, fix the options
                out.append(Token("word", f"IDENTITY (START WITH {seed} INCREMENT BY {step})"))
            else:
                out.append(
                    Token("word", f"GENERATED BY DEFAULT AS IDENTITY (START WITH {seed} INCREMENT BY {step})")
                )
            i = j
            continue
        out.append(t)
        i += 1
    return out


def _join_signed(parts: list[str]) -> list[str]:
    nums: list[str] = []
    sign = ""
    for p in parts:
        if p == "-":
            sign = "-"
        else:
            nums.append(sign + p)
            sign = ""
    return nums
