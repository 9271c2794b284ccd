"""Tokens of a Redshift COPY statement, and the test whether a statement is a COPY from Amazon S3."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from airflow_redshift_s3.local.sql.copy_command import CopySyntaxError


@dataclass(frozen=True)
class CopyToken:
    """One token of a COPY statement, with its span in the text."""

    kind: str  # WORD, QIDENT, STRING, NUMBER, PUNCT, OTHER, EOF
    text: str
    value: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        """Return the lower-cased text of a word (keywords), else an empty string."""
        return self.value.lower() if self.kind == "WORD" else ""


class CopyTokenizeError(CopySyntaxError):
    """The COPY text cannot be split into tokens (an unterminated string or comment)."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


def tokenize_copy(sql: str) -> Iterator[CopyToken]:
    """Yield the tokens of ``sql``, skipping whitespace and comments, ending with an EOF token."""
    i = 0
    n = len(sql)
    while True:
        while i < n:
            c = sql[i]
            if c.isspace():
                i += 1
            elif sql.startswith("--", i):
                end = sql.find("\n", i)
                i = n if end < 0 else end + 1
            elif sql.startswith("/*", i):
                i = _skip_block_comment(sql, i)
            else:
                break
        if i >= n:
            yield CopyToken("EOF", "", "", n, n)
            return
        c = sql[i]
        start = i
        if c == "'":
            value, i = _read_string(sql, i)
            yield CopyToken("STRING", sql[start:i], value, start, i)
        elif c == '"':
            value, i = _read_quoted_ident(sql, i)
            yield CopyToken("QIDENT", sql[start:i], value, start, i)
        elif c.isalpha() or c == "_":
            i += 1
            while i < n and (sql[i].isalnum() or sql[i] in "_$"):
                i += 1
            yield CopyToken("WORD", sql[start:i], sql[start:i], start, i)
        elif c.isdigit():
            while i < n and sql[i].isdigit():
                i += 1
            if i < n and (sql[i].isalpha() or sql[i] in "_."):
                while i < n and not sql[i].isspace() and sql[i] not in "();,'\"":
                    i += 1
                yield CopyToken("OTHER", sql[start:i], sql[start:i], start, i)
            else:
                yield CopyToken("NUMBER", sql[start:i], sql[start:i], start, i)
        elif c in "(),.;":
            i += 1
            yield CopyToken("PUNCT", c, c, start, i)
        else:
            i += 1
            yield CopyToken("OTHER", c, c, start, i)


def _skip_block_comment(sql: str, i: int) -> int:
    depth = 0
    start = i
    while i < len(sql):
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise CopyTokenizeError(f'unterminated /* comment at or near "{sql[start : start + 20]}"', start)


def _read_string(sql: str, i: int) -> tuple[str, int]:
    r"""Read a single-quoted literal: ``''`` and ``\'`` are a quote, other backslash pairs stay as written."""
    start = i
    i += 1
    out: list[str] = []
    while i < len(sql):
        c = sql[i]
        if c == "'":
            if sql.startswith("''", i):
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        if c == "\\" and i + 1 < len(sql):
            nxt = sql[i + 1]
            out.append("'" if nxt == "'" else c + nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    raise CopyTokenizeError(f'unterminated quoted string at or near "{sql[start : start + 20]}"', start)


def _read_quoted_ident(sql: str, i: int) -> tuple[str, int]:
    start = i
    i += 1
    out: list[str] = []
    while i < len(sql):
        c = sql[i]
        if c == '"':
            if sql.startswith('""', i):
                out.append('"')
                i += 2
                continue
            if not out:
                raise CopyTokenizeError('zero-length delimited identifier at or near """"', start)
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise CopyTokenizeError(f'unterminated quoted identifier at or near "{sql[start : start + 20]}"', start)


def is_copy_from_s3(sql: str) -> bool:
    """Tell whether ``sql`` is ``COPY <table> [(cols)] FROM '<s3 url>'``; raise for other Redshift sources."""
    tokens = tokenize_copy(sql)
    try:
        first = next(tokens)
        if first.lower != "copy":
            return False
        depth = 0
        previous = first
        for tok in tokens:
            if tok.kind == "EOF" or (tok.kind == "PUNCT" and tok.value == ";"):
                return False
            if tok.kind == "PUNCT" and tok.value == "(":
                if previous is first:
                    return False  # COPY (query) TO ...
                depth += 1
            elif tok.kind == "PUNCT" and tok.value == ")":
                depth -= 1
            elif depth == 0 and tok.lower == "to":
                return False
            elif depth == 0 and tok.lower == "from":
                source = next(tokens)
                if source.kind != "STRING":
                    return False
                scheme = source.value.split("://", 1)[0].lower() if "://" in source.value else ""
                if scheme == "s3":
                    return True
                if scheme in ("dynamodb", "emr"):
                    raise CopySyntaxError(
                        f"COPY from {'DynamoDB' if scheme == 'dynamodb' else 'Amazon EMR'} is not supported "
                        "by the local Redshift stack; load from Amazon S3"
                    )
                return False
            previous = tok
    except CopyTokenizeError:
        return False
    return False


def is_role_only_credentials(value: str) -> bool:
    """Tell whether a CREDENTIALS string names only an IAM role (nothing secret to mask)."""
    keys = {part.split("=", 1)[0].strip().lower() for part in value.split(";") if part.strip()}
    return bool(keys) and keys <= {"aws_iam_role"}


# -- parser ---------------------------------------------------------------------------------------------
