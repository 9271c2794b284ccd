"""ALTER TABLE APPEND parsing and the MERGE ... REMOVE DUPLICATES rewrite (the SQL text only)."""

from __future__ import annotations

import pytest

from airflow_redshift_s3.local.sql.append_command import AppendCommand, is_append, parse_append
from airflow_redshift_s3.local.sql.errors import RefusedStatement
from airflow_redshift_s3.local.sql.merge import rewrite_merge
from airflow_redshift_s3.local.sql.tokens import render, tokenize


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("alter table t append from s", AppendCommand("t", "s", "")),
        ('ALTER TABLE a."T" APPEND FROM b.s IGNOREEXTRA', AppendCommand('a."T"', "b.s", "IGNOREEXTRA")),
        ("alter table t append from s filltarget", AppendCommand("t", "s", "FILLTARGET")),
    ],
)
def test_append_is_parsed(sql, expected):
    tokens = tokenize(sql)
    assert is_append(tokens)
    assert parse_append(tokens) == expected


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("alter table t append s", 'syntax error at or near "s"'),
        ("alter table t append from", "syntax error at end of input"),
        ("alter table t append from s ignoreextra filltarget", 'syntax error at or near "filltarget"'),
    ],
)
def test_append_syntax_errors(sql, message):
    with pytest.raises(RefusedStatement, match=message):
        parse_append(tokenize(sql))


def test_other_alter_table_is_not_append():
    assert not is_append(tokenize("alter table t add column append int"))
    assert not is_append(tokenize("alter table t rename to append"))


def test_merge_remove_duplicates_becomes_delete_and_insert():
    sql = render(rewrite_merge(tokenize("MERGE INTO s.t USING s.u AS x ON t.id = x.id REMOVE DUPLICATES")))
    assert "DELETE FROM s.t USING s.u AS x WHERE (t.id = x.id)" in sql
    assert "INSERT INTO s.t SELECT * FROM s.u WHERE" in sql
    assert "merge_columns_match('s.t'::regclass, 's.u'::regclass)" in sql


def test_regular_merge_is_untouched():
    sql = "merge into t using u on t.id = u.id when matched then delete"
    assert render(rewrite_merge(tokenize(sql))) == sql
