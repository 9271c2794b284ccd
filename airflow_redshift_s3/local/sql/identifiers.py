"""Redshift's case folding of identifiers: quoted ones too, unless the session turns it off.

"Names and identifiers" and the ``enable_case_sensitive_identifier`` configuration reference of the
Redshift Database Developer Guide: by default Redshift folds every identifier to lower case, delimited
(double-quoted) ones included; with ``enable_case_sensitive_identifier`` true, a quoted identifier keeps
its case. PostgreSQL keeps the case of quoted identifiers, so the gateway lower-cases them itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_redshift_s3.local.sql.tokens import Token

CASE_SETTING = "enable_case_sensitive_identifier"
_TRUE = frozenset({"true", "on", "1", "t", "yes"})


@dataclass
class IdentifierCase:
    """One session's ``enable_case_sensitive_identifier``, followed through its SET and RESET statements."""

    sensitive: bool = False

    def note(self, tokens: list[Token]) -> None:
        """Follow ``SET [SESSION|LOCAL] enable_case_sensitive_identifier {TO|=} v``, RESET and RESET ALL."""
        sig = [
            t.text.lower() if t.kind != "string" else t.text[1:-1].lower() for t in tokens if t.significant
        ]
        if not sig:
            return
        if sig[0] == "reset" and sig[1:] in ([CASE_SETTING], ["all"]):
            self.sensitive = False
        elif sig[0] == "set":
            rest = sig[2:] if sig[1:2] in (["session"], ["local"]) else sig[1:]
            if len(rest) >= 3 and rest[0] == CASE_SETTING and rest[1] in ("to", "="):
                self.sensitive = rest[2] in _TRUE

    def fold(self, tokens: list[Token]) -> list[Token]:
        """Return the tokens with quoted identifiers lower-cased, unless the session is case-sensitive."""
        if self.sensitive:
            return tokens
        return [Token("qident", t.text.lower()) if t.kind == "qident" else t for t in tokens]


__all__ = ["CASE_SETTING", "IdentifierCase"]
