"""Split SQL text into tokens and statements; quote identifiers and literals."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_NUMBER = re.compile(r"\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_PARAM = re.compile(r"\$\d+")
_TEMP_NAME = re.compile(r"#[A-Za-z_][A-Za-z0-9_$]*")


class SqlLexError(ValueError):
    """The SQL text ends inside a string, quoted identifier or comment."""


@dataclass(frozen=True)
class Token:
    """One lexical token; ``kind`` is ws, comment, string, qident, word, number, param, punct or op."""

    kind: str
    text: str

    @property
    def upper(self) -> str:
        """Return the text upper-cased (for keyword comparisons)."""
        return self.text.upper()

    @property
    def significant(self) -> bool:
        """Return whether the token is neither whitespace nor a comment."""
        return self.kind not in ("ws", "comment")


def tokenize(sql: str) -> list[Token]:
    """Split SQL text into tokens, keeping every character (joining the texts gives ``sql`` back)."""
    tokens: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            j = i
            while j < n and sql[j].isspace():
                j += 1
            tokens.append(Token("ws", sql[i:j]))
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            tokens.append(Token("comment", sql[i:j]))
        elif sql.startswith("/*", i):
            j = _end_of_block_comment(sql, i)
            tokens.append(Token("comment", sql[i:j]))
        elif c == "'" or (c in "eE" and sql.startswith("'", i + 1)):
            j = _end_of_string(sql, i + (1 if c != "'" else 0), backslash=c != "'")
            tokens.append(Token("string", sql[i:j]))
        elif c == '"':
            j = _end_of_quoted_ident(sql, i)
            tokens.append(Token("qident", sql[i:j]))
        elif c == "$":
            m = _PARAM.match(sql, i)
            if m:
                tokens.append(Token("param", m.group()))
                j = m.end()
            else:
                m = _DOLLAR_TAG.match(sql, i)
                if not m:
                    tokens.append(Token("op", c))
                    j = i + 1
                else:
                    end = sql.find(m.group(), m.end())
                    if end < 0:
                        raise SqlLexError("unterminated dollar-quoted string")
                    j = end + len(m.group())
                    tokens.append(Token("string", sql[i:j]))
        elif c == "#" and _TEMP_NAME.match(sql, i):
            m = _TEMP_NAME.match(sql, i)
            assert m is not None
            tokens.append(Token("qident", '"' + m.group().lower() + '"'))
            j = m.end()
        elif _WORD.match(sql, i):
            m = _WORD.match(sql, i)
            assert m is not None
            tokens.append(Token("word", m.group()))
            j = m.end()
        elif c.isdigit() or (c == "." and i + 1 < n and sql[i + 1].isdigit()):
            m = _NUMBER.match(sql, i)
            assert m is not None
            tokens.append(Token("number", m.group()))
            j = m.end()
        elif c in "(),;[].":
            tokens.append(Token("punct", c))
            j = i + 1
        else:
            j = i + 1
            while j < n and sql[j] in "+-*/<>=~!@#%^&|`?:":
                if sql.startswith("--", j) or sql.startswith("/*", j):
                    break
                j += 1
            tokens.append(Token("op", sql[i:j]))
        i = j
    return tokens


def _end_of_block_comment(sql: str, start: int) -> int:
    depth, j, n = 1, start + 2, len(sql)
    while j < n and depth:
        if sql.startswith("/*", j):
            depth, j = depth + 1, j + 2
        elif sql.startswith("*/", j):
            depth, j = depth - 1, j + 2
        else:
            j += 1
    if depth:
        raise SqlLexError("unterminated /* comment")
    return j


def _end_of_quoted_ident(sql: str, start: int) -> int:
    j = start + 1
    while True:
        j = sql.find('"', j)
        if j < 0:
            raise SqlLexError("unterminated quoted identifier")
        if sql.startswith('""', j):
            j += 2
            continue
        return j + 1


def _end_of_string(sql: str, start: int, backslash: bool) -> int:
    j = start + 1
    n = len(sql)
    while j < n:
        c = sql[j]
        if backslash and c == "\\":
            j += 2
            continue
        if c == "'":
            if sql.startswith("''", j):
                j += 2
                continue
            return j + 1
        j += 1
    raise SqlLexError("unterminated quoted string")


def split_statements(sql: str) -> list[list[Token]]:
    """Split SQL text into statements (token lists, semicolons dropped); empty statements are skipped."""
    statements: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    for token in tokenize(sql):
        if token.kind == "punct" and token.text == "(":
            depth += 1
        elif token.kind == "punct" and token.text == ")":
            depth = max(0, depth - 1)
        if token.kind == "punct" and token.text == ";" and depth == 0:
            if any(t.significant for t in current):
                statements.append(current)
            current = []
            continue
        current.append(token)
    if any(t.significant for t in current):
        statements.append(current)
    return statements


def render(tokens: list[Token]) -> str:
    """Join tokens back into SQL text."""
    return "".join(t.text for t in tokens).strip()


def qualified_name(sig: list[Token], start: int) -> tuple[str, int]:
    """Return a possibly qualified table name starting at ``start`` and the position after it."""
    parts: list[str] = []
    pos = start
    while pos < len(sig) and sig[pos].kind in ("word", "qident"):
        parts.append(sig[pos].text)
        pos += 1
        if pos < len(sig) and sig[pos].text == "." and len(parts) < 3:
            pos += 1
            continue
        break
    return ".".join(parts), pos


def first_words(tokens: list[Token], count: int = 3) -> list[str]:
    """Return the first ``count`` significant tokens upper-cased."""
    return [t.upper for t in tokens if t.significant][:count]


def quote_literal(value: str) -> str:
    """Quote a string as a standard SQL literal (standard_conforming_strings is on)."""
    return "'" + value.replace("\x00", "").replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace("\x00", "").replace('"', '""') + '"'
