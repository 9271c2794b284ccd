"""Parse a Redshift ``UNLOAD ('select ...') TO 's3://...'`` statement into a typed :class:`UnloadCommand`.

The grammar and the option rules are the ones of the UNLOAD page of the Redshift Database Developer Guide:
options follow the target without commas, in any order, keywords case-insensitive, ``AS`` optional. The
query is a quoted string (``''`` for a quote inside it) or, as the Amazon provider's RedshiftToS3Operator
writes it, a dollar-quoted one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from airflow_redshift_s3.local.sql.tokens import SqlLexError, Token, split_statements, tokenize

MIB = 1024 * 1024
MIN_FILE_SIZE = 5 * MIB
MAX_FILE_SIZE = int(6.2 * 1024 * MIB)  # 6.2 GB, UNLOAD's default and largest file size
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/\S+")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
# Options of the UNLOAD page this local stack does not implement: refused by name, never ignored.
_UNSUPPORTED = {
    "fixedwidth": "FIXEDWIDTH",
    "json": "JSON",
    "partition": "PARTITION BY",
    "encrypted": "ENCRYPTED",
    "kms_key_id": "KMS_KEY_ID",
    "master_symmetric_key": "MASTER_SYMMETRIC_KEY",
    "rowgroupsize": "ROWGROUPSIZE",
}
# "You can't use PARQUET with DELIMITER, FIXEDWIDTH, ADDQUOTES, ESCAPE, NULL AS, HEADER, GZIP, BZIP2, or ZSTD"
_NOT_WITH_PARQUET = ("DELIMITER", "ADDQUOTES", "ESCAPE", "NULL AS", "HEADER", "GZIP", "BZIP2", "ZSTD")
_ON_OFF = {"on": True, "true": True, "off": False, "false": False}


class UnloadSyntaxError(Exception):
    """An UNLOAD statement that Redshift would reject before running its query."""

    sqlstate = "42601"


@dataclass(frozen=True)
class UnloadCommand:
    """A parsed Redshift UNLOAD; option defaults are Redshift's."""

    query: str  # the SELECT, as written (Redshift SQL)
    target: str  # s3://bucket/name-prefix
    iam_role: str | None = None
    key_credentials: bool = field(default=False, repr=False)  # CREDENTIALS/ACCESS_KEY_ID: not checked
    region: str | None = None
    format: str = "text"  # text | csv | parquet
    delimiter: str = "|"
    header: bool = False
    null_as: str = ""
    escape: bool = False
    addquotes: bool = False
    compression: str | None = None  # gzip | bzip2 | zstd
    extension: str | None = None
    manifest: bool = False
    verbose: bool = False
    allowoverwrite: bool = False
    cleanpath: bool = False
    parallel: bool = True
    maxfilesize: int = MAX_FILE_SIZE

    @property
    def bucket(self) -> str:
        """Return the bucket of the target."""
        return self.target[5:].partition("/")[0]

    @property
    def prefix(self) -> str:
        """Return the object name prefix of the target (may be empty)."""
        return self.target[5:].partition("/")[2]


def parse_unload(tokens: list[Token]) -> UnloadCommand:
    """Parse the tokens of one UNLOAD statement (as ``split_statements`` gives them).

    :raises UnloadSyntaxError: Redshift would refuse the statement.
    """
    return _Parser([t for t in tokens if t.significant]).parse()


def string_value(token: Token) -> str:
    """Return the value of a string literal token ('...', E'...' or dollar-quoted)."""
    text = token.text
    if text.startswith("$"):
        tag_end = text.index("$", 1) + 1
        return text[tag_end:-tag_end]
    if text[:1] in "eE":
        body = text[2:-1].replace("''", "'")
        return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m[1], m[1]), body)
    return text[1:-1].replace("''", "'")


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.pos = 0
        self.opts: dict[str, object] = {}

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def advance(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise UnloadSyntaxError("syntax error at end of input")
        self.pos += 1
        return tok

    def error(self, tok: Token | None) -> UnloadSyntaxError:
        if tok is None:
            return UnloadSyntaxError("syntax error at end of input")
        return UnloadSyntaxError(f'syntax error at or near "{tok.text[:60]}"')

    def word(self, *words: str) -> Token | None:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() in words:
            self.pos += 1
            return tok
        return None

    def punct(self, char: str) -> None:
        tok = self.advance()
        if tok.kind != "punct" or tok.text != char:
            raise self.error(tok)

    def string(self, optional_as: bool = True) -> str:
        if optional_as:
            self.word("as")
        tok = self.advance()
        if tok.kind != "string":
            raise self.error(tok)
        return string_value(tok)

    def set(self, name: str, value: object) -> None:
        if name in self.opts:
            raise UnloadSyntaxError(f"conflicting or redundant options: {name}")
        self.opts[name] = value

    def parse(self) -> UnloadCommand:
        self.advance()  # UNLOAD
        self.punct("(")
        query = self.string(optional_as=False)
        self.punct(")")
        if not self.word("to"):
            raise self.error(self.peek())
        target = self.string(optional_as=False).strip()
        while (tok := self.peek()) is not None:
            if tok.kind != "word":
                raise self.error(tok)
            self.option(self.advance())
        return self.build(query, target)

    def option(self, tok: Token) -> None:
        word = tok.text.lower()
        if word in _UNSUPPORTED:
            raise _unsupported(_UNSUPPORTED[word])
        if word == "iam_role":
            role = "default" if self.word("default") else self.string(optional_as=False).strip()
            if role != "default" and not all(_ROLE_ARN.fullmatch(a.strip()) for a in role.split(",")):
                raise UnloadSyntaxError(
                    f"Invalid IAM_ROLE '{role}': expected default or a role ARN such as "
                    "'arn:aws:iam::123456789012:role/MyRedshiftRole'"
                )
            self.set("IAM_ROLE", role)
        elif word == "credentials":
            self.set("CREDENTIALS", self.string())
        elif word in ("access_key_id", "secret_access_key", "session_token"):
            self.string()
            self.set(word.upper(), True)
        elif word == "format":
            self.word("as")
            fmt = self.advance()
            if fmt.kind != "word" or fmt.text.lower() not in ("csv", "parquet", "json"):
                raise self.error(fmt)
            self.option(fmt)
        elif word in ("csv", "parquet"):
            self.set("FORMAT", word)
        elif word == "manifest":
            self.set("MANIFEST", "verbose" if self.word("verbose") else "plain")
        elif word in ("header", "escape", "addquotes", "allowoverwrite", "cleanpath"):
            self.set(word.upper(), True)
        elif word == "delimiter":
            self.set("DELIMITER", _delimiter(self.string()))
        elif word == "null":
            self.set("NULL AS", self.string())
        elif word in ("gzip", "bzip2", "zstd"):
            if "compression" in self.opts:
                raise UnloadSyntaxError(f"conflicting or redundant options: {word.upper()}")
            self.opts["compression"] = word
            self.opts[word.upper()] = True
        elif word == "extension":
            self.set("EXTENSION", self.string().strip().lstrip("."))
        elif word == "parallel":
            value = self.word("on", "true", "off", "false")
            self.set("PARALLEL", _ON_OFF[value.text.lower()] if value else True)
        elif word == "maxfilesize":
            self.set("MAXFILESIZE", self.size())
        elif word == "region":
            region = self.string()
            if not _REGION.fullmatch(region):
                raise UnloadSyntaxError(
                    f"Invalid REGION '{region}': expected an AWS region such as 'us-east-1'"
                )
            self.set("REGION", region)
        else:
            raise self.error(tok)

    def size(self) -> int:
        self.word("as")
        tok = self.advance()
        if tok.kind != "number":
            raise self.error(tok)
        unit = self.word("mb", "gb")
        size = int(float(tok.text) * MIB * (1024 if unit is not None and unit.text.lower() == "gb" else 1))
        if not MIN_FILE_SIZE <= size <= MAX_FILE_SIZE:
            raise UnloadSyntaxError(
                f"MAXFILESIZE {tok.text} {unit.text.upper() if unit else 'MB'} is out of range: "
                "specify a size between 5 MB and 6.2 GB"
            )
        return size

    def build(self, query: str, target: str) -> UnloadCommand:
        o = self.opts
        if not target.lower().startswith("s3://") or not target[5:].partition("/")[0]:
            raise UnloadSyntaxError(f"Invalid S3 URL '{target}': expected s3://<bucket>/<name prefix>")
        key_options = [n for n in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN") if n in o]
        if "IAM_ROLE" in o and ("CREDENTIALS" in o or key_options):
            raise UnloadSyntaxError(
                "IAM_ROLE cannot be combined with CREDENTIALS / ACCESS_KEY_ID / SECRET_ACCESS_KEY / "
                "SESSION_TOKEN"
            )
        role = o.get("IAM_ROLE")
        credentials = str(o.get("CREDENTIALS", ""))
        match = re.fullmatch(r"\s*aws_iam_role\s*=\s*(\S+?)\s*;?\s*", credentials)
        if match:
            role = match.group(1)
        elif credentials and "aws_access_key_id=" not in credentials.replace(" ", ""):
            raise UnloadSyntaxError(
                "Invalid credentials: the CREDENTIALS string needs aws_iam_role=<arn>, or "
                "aws_access_key_id=<id>;aws_secret_access_key=<secret>[;token=<token>]"
            )
        fmt = str(o.get("FORMAT", "text"))
        if fmt == "parquet":
            for name in _NOT_WITH_PARQUET:
                if name in o:
                    raise UnloadSyntaxError(f"{name} argument is not supported for PARQUET based UNLOAD")
        if o.get("ALLOWOVERWRITE") and o.get("CLEANPATH"):
            raise UnloadSyntaxError("CLEANPATH cannot be combined with ALLOWOVERWRITE")
        _refuse_outer_limit(query)
        return UnloadCommand(
            query=query,
            target=target,
            iam_role=str(role) if role else None,
            key_credentials=bool(credentials and not match) or bool(key_options),
            region=_text(o.get("REGION")),
            format=fmt,
            delimiter=str(o.get("DELIMITER", "," if fmt == "csv" else "|")),
            header=bool(o.get("HEADER")),
            null_as=str(o.get("NULL AS", "")),
            escape=bool(o.get("ESCAPE")),
            addquotes=bool(o.get("ADDQUOTES")),
            compression=_text(o.get("compression")),
            extension=_text(o.get("EXTENSION")),
            manifest="MANIFEST" in o,
            verbose=o.get("MANIFEST") == "verbose",
            allowoverwrite=bool(o.get("ALLOWOVERWRITE")),
            cleanpath=bool(o.get("CLEANPATH")),
            parallel=bool(o.get("PARALLEL", True)),
            maxfilesize=int(o.get("MAXFILESIZE", MAX_FILE_SIZE)),  # type: ignore[call-overload]
        )


def _refuse_outer_limit(query: str) -> None:
    """Refuse a LIMIT in the outer SELECT (the UNLOAD page's "Limit clause" usage note)."""
    try:
        statements = split_statements(query)
    except SqlLexError as err:
        raise UnloadSyntaxError(f"Invalid UNLOAD query: {err}") from None
    if len(statements) != 1:
        raise UnloadSyntaxError("the UNLOAD query must be one SELECT statement")
    depth = 0
    for tok in tokenize(query):
        if tok.kind == "punct" and tok.text in "()":
            depth += 1 if tok.text == "(" else -1
        elif depth == 0 and tok.kind == "word" and tok.upper == "LIMIT":
            raise UnloadSyntaxError(
                "Limit clause is not supported in the outer SELECT of an UNLOAD: put the LIMIT in a subquery "
                "(select * from t where id in (select id from t order by id limit 10))"
            )


def _delimiter(value: str) -> str:
    decoded = {"\\t": "\t", "\\|": "|", "\\\\": "\\"}.get(value, value)
    if len(decoded) != 1 or not decoded.isascii() or decoded in "\r\n":
        raise UnloadSyntaxError(f"UNLOAD DELIMITER must be a single ASCII character, got '{value}'")
    return decoded


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _unsupported(name: str) -> UnloadSyntaxError:
    return UnloadSyntaxError(
        f"Unsupported UNLOAD option: {name} (not implemented by the local Redshift stack)"
    )


__all__ = ["UnloadCommand", "UnloadSyntaxError", "parse_unload", "string_value"]
