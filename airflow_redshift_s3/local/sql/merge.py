"""Redshift's simplified MERGE: ``MERGE INTO target USING source [[AS] alias] ON cond REMOVE DUPLICATES``.

MERGE page of the Redshift Database Developer Guide: the tables have the same number of columns, with
compatible types, in the same order; target rows that match a source row are updated to the source's
values (several target rows matching one source row become that one row), source rows without a match
are inserted, other target rows stay. That is: delete the matching target rows and insert every source
row, which one PostgreSQL statement does (a data-modifying WITH), inside the client's transaction. The
column count is checked first by ``pg_redshift.merge_columns_match`` (``local/catalog_added.py``);
PostgreSQL reports incompatible types. The regular MERGE form is PostgreSQL's own (15+) and not touched.
"""

from __future__ import annotations

from airflow_redshift_s3.local.sql.show import REDSHIFT_FUNCTION_SCHEMA
from airflow_redshift_s3.local.sql.tokens import Token, qualified_name, quote_literal, render


def rewrite_merge(tokens: list[Token]) -> list[Token]:
    """Return MERGE ... REMOVE DUPLICATES as PostgreSQL's DELETE and INSERT; any other MERGE unchanged."""
    sig = [t for t in tokens if t.significant]
    if len(sig) < 9 or [t.upper for t in sig[-2:]] != ["REMOVE", "DUPLICATES"] or sig[1].upper != "INTO":
        return tokens
    target, pos = qualified_name(sig, 2)
    if not target or pos >= len(sig) or sig[pos].upper != "USING":
        return tokens
    source, pos = qualified_name(sig, pos + 1)
    alias_end = pos
    if alias_end < len(sig) and sig[alias_end].upper == "AS":
        alias_end += 1
    if alias_end < len(sig) and sig[alias_end].upper != "ON" and sig[alias_end].kind in ("word", "qident"):
        alias_end += 1
    if not source or alias_end >= len(sig) or sig[alias_end].upper != "ON":
        return tokens
    source_with_alias = " ".join([source] + [t.text for t in sig[pos:alias_end]])
    condition = _text_between(tokens, sig[alias_end], sig[-2])
    check = (
        f"SELECT {REDSHIFT_FUNCTION_SCHEMA}.merge_columns_match("
        f"{quote_literal(target)}::regclass, {quote_literal(source)}::regclass) AS ok"
    )
    sql = (
        f"WITH rs_merge_check AS MATERIALIZED ({check}), "
        f"rs_merge_matched AS (DELETE FROM {target} USING {source_with_alias} WHERE ({condition})) "
        f"INSERT INTO {target} SELECT * FROM {source} WHERE (SELECT ok FROM rs_merge_check)"
    )
    return [Token("word", sql)]


def _text_between(tokens: list[Token], first: Token, last: Token) -> str:
    """Return the SQL text strictly between two significant tokens (by identity)."""
    start = next(i for i, t in enumerate(tokens) if t is first)
    end = next(i for i, t in enumerate(tokens) if t is last and i > start)
    return render(tokens[start + 1 : end])
