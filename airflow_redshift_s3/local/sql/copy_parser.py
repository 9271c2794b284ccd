"""Parse a Redshift ``COPY ... FROM 's3://...'`` statement into a :class:`CopyCommand`; mask its secrets."""

from __future__ import annotations

import re

from airflow_redshift_s3.local.sql.copy_command import (
    COLUMNAR_FORMATS,
    MAXERROR_LIMIT,
    REDACTED,
    AwsKeyCredentials,
    CopyCommand,
    CopySyntaxError,
    datetime_format_parts,
    split_s3_url,
)
from airflow_redshift_s3.local.sql.copy_lexer import (
    CopyToken,
    CopyTokenizeError,
    is_copy_from_s3,
    is_role_only_credentials,
    tokenize_copy,
)

# Redshift options this local stack does not implement: refused by name, never ignored.
_UNSUPPORTED = {
    "acceptanydate": "ACCEPTANYDATE",
    "encrypted": "ENCRYPTED",
    "master_symmetric_key": "MASTER_SYMMETRIC_KEY",
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
_JSON_REJECTED = (
    "DELIMITER",
    "FIXEDWIDTH",
    "QUOTE",
    "ESCAPE",
    "REMOVEQUOTES",
    "FILLRECORD",
    "IGNOREBLANKLINES",
    "NULL AS",
)


def parse_copy(sql: str) -> CopyCommand | None:
    """Parse a Redshift COPY from S3; return None when the statement is anything else.

    :param sql: one SQL statement, optionally ending with ``;``.
    :raises CopySyntaxError: the statement is a COPY from ``'s3://...'`` that Redshift would reject.
    """
    if not is_copy_from_s3(sql):
        return None
    return _Parser(sql, list(tokenize_copy(sql))).parse()


def redact_sql(sql: str) -> str:
    """Return ``sql`` with the literals of credential options masked, even when it does not parse."""
    out: list[str] = []
    pos = 0
    pending = False
    try:
        for tok in tokenize_copy(sql):
            if tok.kind == "WORD" and tok.lower in _SECRET_KEYWORDS:
                pending = True
            elif pending and tok.kind == "STRING":
                pending = False
                if not is_role_only_credentials(tok.value):
                    out.append(sql[pos : tok.start])
                    out.append(REDACTED)
                    pos = tok.end
            elif not (tok.kind == "WORD" and tok.lower == "as"):
                pending = False
    except CopyTokenizeError as err:
        out.append(sql[pos : err.position])
        out.append("***")
        return "".join(out)
    out.append(sql[pos:])
    return "".join(out)


class _Parser:
    """Recursive-descent parser over the token list of one COPY statement."""

    def __init__(self, sql: str, tokens: list[CopyToken]):
        self.sql = sql
        self.tokens = tokens
        self.pos = 0
        self.opts: dict[str, object] = {}
        self.seen: list[str] = []
        self.secret_spans: list[tuple[int, int]] = []
        self.secret_tokens: set[int] = set()

    # token helpers

    def peek(self, offset: int = 0) -> CopyToken:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def advance(self) -> CopyToken:
        tok = self.peek()
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return tok

    def error(self, tok: CopyToken | None = None) -> CopySyntaxError:
        tok = tok or self.peek()
        if tok.kind == "EOF":
            return CopySyntaxError("syntax error at end of input")
        shown = REDACTED if tok.start in self.secret_tokens else tok.text
        return CopySyntaxError(f'syntax error at or near "{shown}"')

    def accept_word(self, *words: str) -> CopyToken | None:
        tok = self.peek()
        if tok.kind == "WORD" and tok.lower in words:
            return self.advance()
        return None

    def expect_word(self, word: str) -> CopyToken:
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
        if word == "fixedwidth":
            self.advance()
            self.opt_fixedwidth()
            return
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
        if lowered in ("auto", "auto ignorecase") or (lowered == "noshred" and name == "JSON"):
            return lowered
        if spec.strip().lower().startswith("s3://"):
            url = spec.strip()
            if not split_s3_url(url)[0] or not split_s3_url(url)[1] or url.endswith("/"):
                raise CopySyntaxError(
                    f"Invalid {name} option '{spec}': the JSONPaths file must be one S3 object"
                )
            return url
        if lowered == "noshred":
            raise _unsupported(f"{name} 'noshred'")
        raise CopySyntaxError(
            f"Invalid {name} option '{spec}': expected 'auto', 'auto ignorecase' or 's3://<jsonpaths file>'"
        )

    def opt_delimiter(self) -> None:
        self.set("DELIMITER", "delimiter", _decode_char_escapes(self.string(), "DELIMITER"))

    def opt_fixedwidth(self) -> None:
        spec = self.string()
        pairs: list[tuple[str, int]] = []
        for part in spec.split(","):
            label, sep, width = part.strip().rpartition(":")
            if not sep or not label.strip() or not width.strip().isdigit() or int(width) < 1:
                raise CopySyntaxError(
                    f"Invalid FIXEDWIDTH spec '{spec}': expected 'label1:width1,label2:width2,...' "
                    "with a positive width in bytes for each column"
                )
            pairs.append((label.strip(), int(width)))
        self.set("FIXEDWIDTH", "fixedwidth", tuple(pairs))

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
        bucket, key = split_s3_url(source.strip())
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
            if null_as and delimiter in null_as and "fixedwidth" not in self.opts:
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
            fixedwidth=self.opts.get("fixedwidth"),  # type: ignore[arg-type]
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
        if "FIXEDWIDTH" in seen and "DELIMITER" in seen:
            raise CopySyntaxError("DELIMITER argument is not supported with FIXEDWIDTH")
        if fmt == "csv":
            for name in ("ESCAPE", "REMOVEQUOTES", "FIXEDWIDTH"):
                if name in seen:
                    raise CopySyntaxError(f"{name} argument is not supported for CSV based COPY")
        elif "QUOTE" in seen:
            raise CopySyntaxError("QUOTE argument is only supported with CSV format")


def _unsupported(name: str) -> CopySyntaxError:
    return CopySyntaxError(f"Unsupported COPY option: {name} (not implemented by the local Redshift stack)")


def _on_off(tok: CopyToken | None) -> str:
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
