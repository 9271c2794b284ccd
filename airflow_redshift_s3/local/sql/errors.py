"""Statements the local Redshift refuses itself, with Redshift's wording and SQLSTATE."""

from __future__ import annotations


class RefusedStatement(ValueError):
    """A statement Redshift would refuse; the gateway answers it with ``sqlstate`` and the message."""

    sqlstate = "42601"


class UnsupportedColumnType(RefusedStatement):
    """A column of a PostgreSQL type Redshift does not have (CREATE TABLE)."""

    sqlstate = "0A000"

    def __init__(self, table: str, column: str, type_name: str):
        super().__init__(f'Column "{table}.{column}" has unsupported type "{type_name}".')
