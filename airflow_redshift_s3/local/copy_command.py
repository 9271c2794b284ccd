"""Parse a Redshift ``COPY ... FROM 's3://...'`` statement into a typed command.

The grammar is Redshift's (see the AWS COPY reference), not PostgreSQL's: options follow the source without
parentheses or commas, in any order, keywords are case-insensitive and ``AS`` is optional where Redshift
allows it. A COPY that is not from an ``'s3://...'`` string (``COPY t FROM STDIN``, ``COPY (query) TO ...``)
is plain PostgreSQL and is left alone: :func:`parse_copy` returns None for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "AwsKeyCredentials",
    "CopyCommand",
    "CopySyntaxError",
    "datetime_format_parts",
    "parse_copy",
    "redact_sql",
]

FORMATS = ("text", "csv", "json", "parquet", "orc", "avro")
COLUMNAR_FORMATS = ("parquet", "orc")
COMPRESSIONS = ("gzip", "bzip2", "zstd", "lzop")
REDACTED = "'***'"
MAXERROR_LIMIT = 100000

# Redshift options this local stack does not implement: refused by name, never ignored.
_UNSUPPORTED = {
    "acceptanydate": "ACCEPTANYDATE",
    "encrypted": "ENCRYPTED",
    "master_symmetric_key": "MASTER_SYMMETRIC_KEY",
    "fixedwidth": "FIXEDWIDTH",
    "shapefile": "SHAPEFILE",
    "simplify": "SIMPLIFY",
    "noload": "NOLOAD",
    "ignoreallerrors": "IGNOREALLERRORS",
    "readratio": "READRATIO",
    "serializetojson": "SERIALIZETOJSON",
    "ssh": "SSH",
}
_SECRET_KEYWORDS = frozenset(
    {"access_key_id", "secret_access_key", "session_token", "credentials", "master_symmetric_key"}
)
_ON_OFF = {"on": "on", "true": "on", "off": "off", "false": "off"}
_DATETIME_PARTS = ("HH24", "HH12", "YYYY", "MONTH", "MON", "HH", "YY", "MM", "DD", "MI", "SS", "AM", "PM")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/\S+")
# options a columnar (PARQUET / ORC) COPY accepts, per "COPY from columnar data formats"
_COLUMNAR_OPTIONS = frozenset(
    {
        "IAM_ROLE",
        "CREDENTIALS",
        "ACCESS_KEY_ID",
        "SECRET_ACCESS_KEY",
        "SESSION_TOKEN",
        "MANIFEST",
        "FORMAT",
        "STATUPDATE",
        "ACCEPTINVCHARS",
        "FILLRECORD",
        "EXPLICIT_IDS",
    }
)
_JSON_REJECTED = ("DELIMITER", "QUOTE", "ESCAPE", "REMOVEQUOTES", "FILLRECORD", "IGNOREBLANKLINES", "NULL AS")


class CopySyntaxError(Exception):
    """A Redshift COPY statement that Redshift would reject before reading any data."""

    sqlstate = "42601"


@dataclass(frozen=True)
class AwsKeyCredentials:
    """Key-based authorization of a COPY; the secret parts never appear in ``repr``."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CopyCommand:
    """A parsed Redshift ``COPY ... FROM 's3://...'``; option defaults are Redshift's."""

    table: str
    source: str
    schema: str | None = None
    database: str | None = None
    columns: tuple[str, ...] | None = None
    iam_role: str | None = None
    credentials: AwsKeyCredentials | None = None
    region: str | None = None
    manifest: bool = False
    format: str = "text"
    json_spec: str | None = None
    avro_spec: str | None = None
    delimiter: str | None = "|"
    quote: str | None = None
    escape: bool = False
    removequotes: bool = False
    ignoreheader: int = 0
    null_as: str | None = None
    emptyasnull: bool = False
    blanksasnull: bool = False
    trimblanks: bool = False
    fillrecord: bool = False
    ignoreblanklines: bool = False
    truncatecolumns: bool = False
    roundec: bool = False
    explicit_ids: bool = False
    dateformat: str | None = None
    timeformat: str | None = None
    acceptinvchars: str | None = None
    maxerror: int = 0
    compression: str | None = None
    compupdate: str | None = None
    statupdate: str | None = None
    comprows: int | None = None
    encoding: str = "utf8"
    sql: str = field(default="", repr=False, compare=False)
    secret_spans: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    @property
    def bucket(self) -> str:
        """Return the bucket of the source URL."""
        return _split_s3_url(self.source)[0]

    @property
    def key_prefix(self) -> str:
        """Return the key (prefix, object or manifest key) of the source URL."""
        return _split_s3_url(self.source)[1]

    @property
    def qualified_table(self) -> str:
        """Return ``schema.table`` (or ``table``) for messages."""
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def redacted(self) -> str:
        """Return the original statement with every secret literal replaced by ``'***'``."""
        if not self.sql:
            return ""
        out: list[str] = []
        pos = 0
        for start, end in sorted(self.secret_spans):
            out.append(self.sql[pos:start])
            out.append(REDACTED)
            pos = end
        out.append(self.sql[pos:])
        return "".join(out)


def parse_copy(sql: str) -> CopyCommand | None:
    """Parse a Redshift COPY from S3; return None when the statement is anything else.

    :param sql: one SQL statement, optionally ending with ``;``.
    :raises CopySyntaxError: the statement is a COPY from ``'s3://...'`` that Redshift would reject.
    """
    if not _is_copy_from_s3(sql):
        return None
    return _Parser(sql, list(_tokenize(sql))).parse()


def redact_sql(sql: str) -> str:
    """Return ``sql`` with the literals of credential options masked, even when it does not parse."""
    out: list[str] = []
    pos = 0
    pending = False
    try:
        for tok in _tokenize(sql):
            if tok.kind == "WORD" and tok.lower in _SECRET_KEYWORDS:
                pending = True
            elif pending and tok.kind == "STRING":
                pending = False
                if not _is_role_only_credentials(tok.value):
                    out.append(sql[pos : tok.start])
                    out.append(REDACTED)
                    pos = tok.end
            elif not (tok.kind == "WORD" and tok.lower == "as"):
                pending = False
    except _TokenizeError as err:
        out.append(sql[pos : err.position])
        out.append("***")
        return "".join(out)
    out.append(sql[pos:])
    return "".join(out)


def datetime_format_parts(fmt: str) -> list[str]:
    """Split a Redshift DATEFORMAT/TIMEFORMAT string into dateparts and literal separators.

    :raises ValueError: the string holds letters that are not a COPY datepart, or repeats one.
    """
    parts: list[str] = []
    seen: set[str] = set()
    i = 0
    upper = fmt.upper()
    while i < len(fmt):
        for part in _DATETIME_PARTS:
            if upper.startswith(part, i):
                canonical = {"HH": "HH24", "MONTH": "MON", "PM": "AM"}.get(part, part)
                if canonical in seen:
                    raise ValueError(f"{part} appears more than once")
                seen.add(canonical)
                parts.append(part)
                i += len(part)
                break
        else:
            if fmt[i].isalnum() and upper[i] != "T":
                raise ValueError(
                    f"'{fmt[i:]}' is not a datepart (YYYY, YY, MM, MON, DD, HH24, HH12, MI, SS, AM)"
                )
            parts.append(fmt[i])
            i += 1
    if "YYYY" not in seen and "YY" not in seen and seen & {"MM", "MON", "DD"}:
        raise ValueError("a format with a month or day needs YYYY or YY")
    return parts


# -- tokens ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD, QIDENT, STRING, NUMBER, PUNCT, OTHER, EOF
    text: str
    value: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.value.lower() if self.kind == "WORD" else ""


class _TokenizeError(CopySyntaxError):
    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


def _tokenize(sql: str) -> Iterator[_Token]:
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
            yield _Token("EOF", "", "", n, n)
            return
        c = sql[i]
        start = i
        if c == "'":
            value, i = _read_string(sql, i)
            yield _Token("STRING", sql[start:i], value, start, i)
        elif c == '"':
            value, i = _read_quoted_ident(sql, i)
            yield _Token("QIDENT", sql[start:i], value, start, i)
        elif c.isalpha() or c == "_":
            i += 1
            while i < n and (sql[i].isalnum() or sql[i] in "_$"):
                i += 1
            yield _Token("WORD", sql[start:i], sql[start:i], start, i)
        elif c.isdigit():
            while i < n and sql[i].isdigit():
                i += 1
            if i < n and (sql[i].isalpha() or sql[i] in "_."):
                while i < n and not sql[i].isspace() and sql[i] not in "();,'\"":
                    i += 1
                yield _Token("OTHER", sql[start:i], sql[start:i], start, i)
            else:
                yield _Token("NUMBER", sql[start:i], sql[start:i], start, i)
        elif c in "(),.;":
            i += 1
            yield _Token("PUNCT", c, c, start, i)
        else:
            i += 1
            yield _Token("OTHER", c, c, start, i)


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
    raise _TokenizeError(f'unterminated /* comment at or near "{sql[start : start + 20]}"', start)


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
    raise _TokenizeError(f'unterminated quoted string at or near "{sql[start : start + 20]}"', start)


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
                raise _TokenizeError('zero-length delimited identifier at or near """"', start)
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise _TokenizeError(f'unterminated quoted identifier at or near "{sql[start : start + 20]}"', start)


def _is_copy_from_s3(sql: str) -> bool:
    """Tell whether ``sql`` is ``COPY <table> [(cols)] FROM '<s3 url>'``; raise for other Redshift sources."""
    tokens = _tokenize(sql)
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
    except _TokenizeError:
        return False
    return False


def _is_role_only_credentials(value: str) -> bool:
    keys = {part.split("=", 1)[0].strip().lower() for part in value.split(";") if part.strip()}
    return bool(keys) and keys <= {"aws_iam_role"}


def _split_s3_url(url: str) -> tuple[str, str]:
    rest = url.split("://", 1)[1] if "://" in url else url
    bucket, _, key = rest.partition("/")
    return bucket, key


# -- parser ---------------------------------------------------------------------------------------------


class _Parser:
    """Recursive-descent parser over the token list of one COPY statement."""

    def __init__(self, sql: str, tokens: list[_Token]):
        self.sql = sql
        self.tokens = tokens
        self.pos = 0
        self.opts: dict[str, object] = {}
        self.seen: list[str] = []
        self.secret_spans: list[tuple[int, int]] = []
        self.secret_tokens: set[int] = set()

    # token helpers

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        tok = self.peek()
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return tok

    def error(self, tok: _Token | None = None) -> CopySyntaxError:
        tok = tok or self.peek()
        if tok.kind == "EOF":
            return CopySyntaxError("syntax error at end of input")
        shown = REDACTED if tok.start in self.secret_tokens else tok.text
        return CopySyntaxError(f'syntax error at or near "{shown}"')

    def accept_word(self, *words: str) -> _Token | None:
        tok = self.peek()
        if tok.kind == "WORD" and tok.lower in words:
            return self.advance()
        return None

    def expect_word(self, word: str) -> _Token:
        tok = self.accept_word(word)
        if tok is None:
            raise self.error()
        return tok

    def accept_punct(self, char: str) -> bool:
        tok = self.peek()
        if tok.kind == "PUNCT" and tok.value == char:
            self.advance()
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.accept_punct(char):
            raise self.error()

    def string(self, *, optional_as: bool = True, secret: bool = False) -> str:
        if optional_as:
            self.accept_word("as")
        tok = self.peek()
        if secret and tok.kind == "STRING":
            self.secret_tokens.add(tok.start)
        if tok.kind != "STRING":
            raise self.error()
        self.advance()
        if secret:
            self.secret_spans.append((tok.start, tok.end))
        return tok.value

    def number(self) -> int:
        self.accept_word("as")
        tok = self.peek()
        if tok.kind != "NUMBER":
            raise self.error()
        self.advance()
        return int(tok.value)

    def identifier(self) -> str:
        tok = self.peek()
        if tok.kind == "WORD":
            self.advance()
            return tok.value.lower()
        if tok.kind == "QIDENT":
            self.advance()
            return tok.value
        raise self.error()

    # grammar

    def parse(self) -> CopyCommand:
        self.expect_word("copy")
        names = [self.identifier()]
        while self.accept_punct("."):
            names.append(self.identifier())
        if len(names) > 3:
            raise CopySyntaxError(f"improper qualified name (too many dotted names): {'.'.join(names)}")
        columns = self.column_list() if self.peek().kind == "PUNCT" and self.peek().value == "(" else None
        self.expect_word("from")
        source = self.string(optional_as=False)
        while True:
            tok = self.peek()
            if tok.kind == "EOF":
                break
            if tok.kind == "PUNCT" and tok.value == ";":
                self.advance()
                if self.peek().kind != "EOF":
                    raise self.error()
                break
            if tok.kind != "WORD":
                raise self.error()
            self.option()
        table = names[-1]
        schema = names[-2] if len(names) >= 2 else None
        database = names[-3] if len(names) == 3 else None
        return self.build(table, schema, database, columns, source)

    def column_list(self) -> tuple[str, ...]:
        self.expect_punct("(")
        columns = [self.identifier()]
        while self.accept_punct(","):
            columns.append(self.identifier())
        self.expect_punct(")")
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates:
            raise CopySyntaxError(f'column "{duplicates[0]}" specified more than once')
        return tuple(columns)

    def set(self, name: str, key: str, value: object) -> None:
        if key in self.opts:
            raise CopySyntaxError(f"conflicting or redundant options: {name}")
        self.opts[key] = value
        self.seen.append(name)

    def option(self) -> None:
        tok = self.advance()
        word = tok.lower
        if word in _UNSUPPORTED:
            raise _unsupported(_UNSUPPORTED[word])
        if word == "with":
            if self.peek().lower != "credentials":
                raise self.error()
            return
        handler = getattr(self, f"opt_{word}", None)
        if handler is None or word.startswith("_"):
            raise self.error(tok)
        handler()

    # authorization

    def opt_iam_role(self) -> None:
        if self.accept_word("default"):
            self.set("IAM_ROLE", "iam_role", "default")
            return
        role = self.string(optional_as=False).strip()
        for arn in role.split(","):
            if not _ROLE_ARN.fullmatch(arn.strip()):
                raise CopySyntaxError(
                    f"Invalid IAM_ROLE '{role}': expected default or a role ARN such as "
                    "'arn:aws:iam::123456789012:role/MyRedshiftRole'"
                )
        self.set("IAM_ROLE", "iam_role", role)

    def opt_credentials(self) -> None:
        tok_start = len(self.secret_spans)
        value = self.string(secret=True)
        parts: dict[str, str] = {}
        for part in value.split(";"):
            if not part.strip():
                continue
            key, sep, val = part.partition("=")
            key = key.strip().lower()
            if not sep or not val.strip():
                raise CopySyntaxError(f"Invalid credentials: '{key}' has no value in the CREDENTIALS string")
            if key == "master_symmetric_key":
                raise _unsupported("MASTER_SYMMETRIC_KEY")
            if key not in ("aws_iam_role", "aws_access_key_id", "aws_secret_access_key", "token"):
                raise CopySyntaxError(f"Invalid credentials: unknown key '{key}' in the CREDENTIALS string")
            parts[key] = val.strip()
        if "aws_iam_role" in parts:
            if len(parts) > 1:
                raise CopySyntaxError(
                    "aws_iam_role cannot be combined with access keys in the CREDENTIALS string"
                )
            del self.secret_spans[tok_start:]
            self.set("CREDENTIALS", "credentials_role", parts["aws_iam_role"])
            return
        if "aws_access_key_id" not in parts or "aws_secret_access_key" not in parts:
            raise CopySyntaxError(
                "Invalid credentials: the CREDENTIALS string needs aws_iam_role=<arn>, or "
                "aws_access_key_id=<id>;aws_secret_access_key=<secret>[;token=<token>]"
            )
        creds = AwsKeyCredentials(
            parts["aws_access_key_id"], parts["aws_secret_access_key"], parts.get("token")
        )
        self.set("CREDENTIALS", "credentials_keys", creds)

    def opt_access_key_id(self) -> None:
        self.set("ACCESS_KEY_ID", "access_key_id", self.string(secret=True))

    def opt_secret_access_key(self) -> None:
        self.set("SECRET_ACCESS_KEY", "secret_access_key", self.string(secret=True))

    def opt_session_token(self) -> None:
        self.set("SESSION_TOKEN", "session_token", self.string(secret=True))

    def opt_region(self) -> None:
        region = self.string()
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
            raise CopySyntaxError(f"Invalid REGION '{region}': expected an AWS region such as 'us-east-1'")
        self.set("REGION", "region", region)

    def opt_manifest(self) -> None:
        self.set("MANIFEST", "manifest", True)

    # format

    def opt_format(self) -> None:
        self.accept_word("as")
        tok = self.peek()
        if tok.kind != "WORD":
            raise self.error()
        word = tok.lower
        if word in _UNSUPPORTED:
            self.advance()
            raise _unsupported(_UNSUPPORTED[word])
        if word not in ("csv", "json", "parquet", "orc", "avro"):
            raise self.error()
        self.advance()
        getattr(self, f"opt_{word}")(via_format=True)

    def set_format(self, fmt: str, via_format: bool) -> None:
        if "format" in self.opts:
            raise CopySyntaxError("conflicting or redundant options: FORMAT")
        self.opts["format"] = fmt
        self.seen.append("FORMAT" if via_format else fmt.upper())

    def opt_csv(self, via_format: bool = False) -> None:
        self.set_format("csv", via_format)

    def opt_parquet(self, via_format: bool = False) -> None:
        self.set_format("parquet", via_format)

    def opt_orc(self, via_format: bool = False) -> None:
        self.set_format("orc", via_format)

    def opt_json(self, via_format: bool = False) -> None:
        self.set_format("json", via_format)
        self.opts["json_spec"] = self.semistructured_spec("JSON")

    def opt_avro(self, via_format: bool = False) -> None:
        self.set_format("avro", via_format)
        self.opts["avro_spec"] = self.semistructured_spec("AVRO")

    def semistructured_spec(self, name: str) -> str:
        has_as = self.accept_word("as") is not None
        if self.peek().kind != "STRING":
            if has_as:
                raise self.error()
            return "auto"
        spec = self.string(optional_as=False)
        words = spec.split()
        lowered = " ".join(words).lower()
        if lowered in ("auto", "auto ignorecase"):
            return lowered
        if spec.strip().lower().startswith("s3://"):
            url = spec.strip()
            if not _split_s3_url(url)[0] or not _split_s3_url(url)[1] or url.endswith("/"):
                raise CopySyntaxError(
                    f"Invalid {name} option '{spec}': the JSONPaths file must be one S3 object"
                )
            return url
        if lowered == "noshred":
            raise _unsupported("JSON 'noshred'")
        raise CopySyntaxError(
            f"Invalid {name} option '{spec}': expected 'auto', 'auto ignorecase' or 's3://<jsonpaths file>'"
        )

    def opt_delimiter(self) -> None:
        self.set("DELIMITER", "delimiter", _decode_char_escapes(self.string(), "DELIMITER"))

    def opt_quote(self) -> None:
        quote = self.string()
        _check_single_char(quote, "QUOTE")
        self.set("QUOTE", "quote", quote)

    def opt_escape(self) -> None:
        self.set("ESCAPE", "escape", True)

    def opt_removequotes(self) -> None:
        self.set("REMOVEQUOTES", "removequotes", True)

    # compression

    def compression(self, name: str) -> None:
        if "compression" in self.opts:
            raise CopySyntaxError(f"conflicting or redundant options: {name}")
        self.opts["compression"] = name.lower()
        self.seen.append(name)

    def opt_gzip(self) -> None:
        self.compression("GZIP")

    def opt_bzip2(self) -> None:
        self.compression("BZIP2")

    def opt_zstd(self) -> None:
        self.compression("ZSTD")

    def opt_lzop(self) -> None:
        self.compression("LZOP")

    # data conversion

    def opt_ignoreheader(self) -> None:
        self.set("IGNOREHEADER", "ignoreheader", self.number())

    def opt_null(self) -> None:
        value = self.string()
        if "\n" in value or "\r" in value:
            raise CopySyntaxError("NULL AS string cannot contain a newline or carriage return")
        if value in ("\\0", "\\000"):
            raise _unsupported("NULL AS '\\0'")
        self.set("NULL AS", "null_as", value)

    def opt_emptyasnull(self) -> None:
        self.set("EMPTYASNULL", "emptyasnull", True)

    def opt_blanksasnull(self) -> None:
        self.set("BLANKSASNULL", "blanksasnull", True)

    def opt_trimblanks(self) -> None:
        self.set("TRIMBLANKS", "trimblanks", True)

    def opt_fillrecord(self) -> None:
        self.set("FILLRECORD", "fillrecord", True)

    def opt_ignoreblanklines(self) -> None:
        self.set("IGNOREBLANKLINES", "ignoreblanklines", True)

    def opt_truncatecolumns(self) -> None:
        self.set("TRUNCATECOLUMNS", "truncatecolumns", True)

    def opt_roundec(self) -> None:
        self.set("ROUNDEC", "roundec", True)

    def opt_explicit_ids(self) -> None:
        self.set("EXPLICIT_IDS", "explicit_ids", True)

    def opt_dateformat(self) -> None:
        self.set("DATEFORMAT", "dateformat", _check_datetime_format(self.string(), "DATEFORMAT"))

    def opt_timeformat(self) -> None:
        self.set("TIMEFORMAT", "timeformat", _check_datetime_format(self.string(), "TIMEFORMAT"))

    def opt_acceptinvchars(self) -> None:
        has_as = self.accept_word("as") is not None
        char = "?"
        if self.peek().kind == "STRING" or has_as:
            char = self.string(optional_as=False)
            _check_single_char(char, "ACCEPTINVCHARS replacement")
            if char == "\x00":
                raise CopySyntaxError("ACCEPTINVCHARS replacement character cannot be NUL")
        self.set("ACCEPTINVCHARS", "acceptinvchars", char)

    def opt_encoding(self) -> None:
        self.accept_word("as")
        tok = self.peek()
        if tok.kind != "WORD":
            raise self.error()
        self.advance()
        encoding = tok.lower
        if encoding in ("utf16", "utf16le", "utf16be"):
            raise _unsupported(f"ENCODING {tok.value.upper()}")
        if encoding != "utf8":
            raise CopySyntaxError(f"Invalid ENCODING {tok.value}: expected UTF8, UTF16, UTF16LE or UTF16BE")
        self.set("ENCODING", "encoding", "utf8")

    # data load

    def opt_maxerror(self) -> None:
        value = self.number()
        if value > MAXERROR_LIMIT:
            raise CopySyntaxError(f"MAXERROR must be between 0 and {MAXERROR_LIMIT}, got {value}")
        self.set("MAXERROR", "maxerror", value)

    def opt_comprows(self) -> None:
        value = self.number()
        if not 1000 <= value <= 2147483647:
            raise CopySyntaxError(f"COMPROWS must be between 1000 and 2147483647, got {value}")
        self.set("COMPROWS", "comprows", value)

    def opt_compupdate(self) -> None:
        tok = self.accept_word("on", "true", "off", "false", "preset")
        self.set("COMPUPDATE", "compupdate", "preset" if tok and tok.lower == "preset" else _on_off(tok))

    def opt_statupdate(self) -> None:
        self.set("STATUPDATE", "statupdate", _on_off(self.accept_word("on", "true", "off", "false")))

    # validation

    def build(
        self,
        table: str,
        schema: str | None,
        database: str | None,
        columns: tuple[str, ...] | None,
        source: str,
    ) -> CopyCommand:
        bucket, key = _split_s3_url(source.strip())
        source = f"s3://{bucket}/{key}"
        if not bucket:
            raise CopySyntaxError(f"Invalid S3 URL '{source}': expected s3://<bucket>/<key prefix>")
        if self.flag("manifest") and (not key or key.endswith("/")):
            raise CopySyntaxError("COPY with MANIFEST parameter requires full path of an S3 object")
        fmt = self.text("format") or "text"
        iam_role = self.authorization()
        credentials = self.opts.get("credentials_keys")
        if not isinstance(credentials, AwsKeyCredentials) and "access_key_id" in self.opts:
            credentials = AwsKeyCredentials(
                self.text("access_key_id") or "",
                self.text("secret_access_key") or "",
                self.text("session_token"),
            )
        self.check_format_options(fmt)
        delimiter = self.text("delimiter")
        quote = self.text("quote")
        null_as = self.text("null_as")
        if fmt in ("text", "csv"):
            delimiter = delimiter if delimiter is not None else ("," if fmt == "csv" else "|")
            if fmt == "csv":
                quote = quote if quote is not None else '"'
                if delimiter == quote:
                    raise CopySyntaxError("COPY delimiter and quote must be different")
            if null_as and delimiter in null_as:
                raise CopySyntaxError("COPY delimiter must not appear in the NULL AS string")
        compupdate = self.text("compupdate")
        statupdate = self.text("statupdate")
        return CopyCommand(
            table=table,
            source=source,
            schema=schema,
            database=database,
            columns=columns,
            iam_role=iam_role,
            credentials=credentials if isinstance(credentials, AwsKeyCredentials) else None,
            region=self.text("region"),
            manifest=self.flag("manifest"),
            format=fmt,
            json_spec=self.text("json_spec"),
            avro_spec=self.text("avro_spec"),
            delimiter=delimiter,
            quote=quote,
            escape=self.flag("escape"),
            removequotes=self.flag("removequotes"),
            ignoreheader=self.integer("ignoreheader") or 0,
            null_as=null_as,
            emptyasnull=self.flag("emptyasnull"),
            blanksasnull=self.flag("blanksasnull"),
            trimblanks=self.flag("trimblanks"),
            fillrecord=self.flag("fillrecord"),
            ignoreblanklines=self.flag("ignoreblanklines"),
            truncatecolumns=self.flag("truncatecolumns"),
            roundec=self.flag("roundec"),
            explicit_ids=self.flag("explicit_ids"),
            dateformat=self.text("dateformat"),
            timeformat=self.text("timeformat"),
            acceptinvchars=self.text("acceptinvchars"),
            maxerror=self.integer("maxerror") or 0,
            compression=self.text("compression"),
            compupdate=compupdate,
            statupdate=statupdate,
            comprows=self.integer("comprows"),
            encoding=self.text("encoding") or "utf8",
            sql=self.sql,
            secret_spans=tuple(self.secret_spans),
        )

    def text(self, key: str) -> str | None:
        value = self.opts.get(key)
        return value if isinstance(value, str) else None

    def integer(self, key: str) -> int | None:
        value = self.opts.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def flag(self, key: str) -> bool:
        return self.opts.get(key) is True

    def authorization(self) -> str | None:
        o = self.opts
        keys = [name for name in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN") if name in self.seen]
        has_credentials = "credentials_role" in o or "credentials_keys" in o
        if "iam_role" in o and (has_credentials or keys):
            raise CopySyntaxError(
                "IAM_ROLE cannot be combined with CREDENTIALS / ACCESS_KEY_ID / SECRET_ACCESS_KEY / "
                "SESSION_TOKEN"
            )
        if has_credentials and keys:
            raise CopySyntaxError(
                "CREDENTIALS cannot be combined with ACCESS_KEY_ID / SECRET_ACCESS_KEY / SESSION_TOKEN"
            )
        if keys and ("access_key_id" not in o or "secret_access_key" not in o):
            raise CopySyntaxError(
                "ACCESS_KEY_ID and SECRET_ACCESS_KEY must be specified together"
                + (" (SESSION_TOKEN needs both)" if "session_token" in o else "")
            )
        return self.text("iam_role") or self.text("credentials_role")

    def check_format_options(self, fmt: str) -> None:
        seen = [name for name in self.seen if name not in ("CSV", "JSON", "PARQUET", "ORC", "AVRO")]
        if fmt in COLUMNAR_FORMATS:
            for name in seen:
                if name not in _COLUMNAR_OPTIONS:
                    raise CopySyntaxError(f"{name} argument is not supported for {fmt.upper()} based COPY")
            return
        if fmt in ("json", "avro"):
            for name in _JSON_REJECTED:
                if name in seen:
                    raise CopySyntaxError(f"{name} argument is not supported for {fmt.upper()} based COPY")
        if fmt == "csv":
            for name in ("ESCAPE", "REMOVEQUOTES"):
                if name in seen:
                    raise CopySyntaxError(f"{name} argument is not supported for CSV based COPY")
        elif "QUOTE" in seen:
            raise CopySyntaxError("QUOTE argument is only supported with CSV format")


def _unsupported(name: str) -> CopySyntaxError:
    return CopySyntaxError(f"Unsupported COPY option: {name} (not implemented by the local Redshift stack)")


def _on_off(tok: _Token | None) -> str:
    return "on" if tok is None else _ON_OFF[tok.lower]


def _check_single_char(value: str, name: str) -> None:
    if len(value) != 1 or not value.isascii():
        raise CopySyntaxError(f"COPY {name} must be a single ASCII character, got '{value}'")
    if value in "\r\n":
        raise CopySyntaxError(f"COPY {name} cannot be newline or carriage return")


def _decode_char_escapes(value: str, name: str) -> str:
    r"""Decode the ``'\t'`` and octal ``'\ddd'`` forms Redshift accepts for a delimiter character."""
    decoded = value
    if len(value) == 2 and value[0] == "\\":
        decoded = {"t": "\t", "\\": "\\", "'": "'", "|": "|"}.get(value[1], value)
    elif len(value) == 4 and value[0] == "\\" and all(c in "01234567" for c in value[1:]):
        decoded = chr(int(value[1:], 8))
    _check_single_char(decoded, name)
    if decoded == "\x00":
        raise CopySyntaxError(f"COPY {name} cannot be NUL")
    return decoded


def _check_datetime_format(value: str, name: str) -> str:
    if value in ("auto",) or (name == "TIMEFORMAT" and value in ("epochsecs", "epochmillisecs")):
        return value
    try:
        datetime_format_parts(value)
    except ValueError as err:
        raise CopySyntaxError(f"Invalid {name} '{value}': {err}") from None
    return value
