"""``storage.records.in_ids``: one "id in a list" condition, written for each database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from storage.models import Status
from storage.records import in_ids

QUERY = select(Status.id).where(in_ids(Status.actor_id), Status.deleted_at.is_(None))


def test_sqlite_gets_an_expanding_in_used_as_a_condition() -> None:
    sql = str(
        QUERY.params(ids=[3, 4]).compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    )
    assert "statuses.actor_id IN (3, 4)" in sql
    assert "= 1" not in sql  # not "(...) = 1", which no index serves


def test_postgresql_gets_one_array_parameter_whatever_the_length() -> None:
    """One SQL text for every length of list (asyncpg prepares each text once per connection), and
    nothing rendered per id at execution (no post-compile parameter)."""
    compiled = QUERY.compile(dialect=PGDialect_asyncpg())
    assert "WHERE statuses.actor_id = ANY ($1::BIGINT[]) AND" in str(compiled)
    assert compiled.post_compile_params == frozenset()
    for ids in ([1], [1, 2, 3], list(range(100))):
        assert compiled.construct_params({"ids": ids})["ids"] == ids
    literal = QUERY.params(ids=[5, 6]).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    assert "statuses.actor_id = ANY (ARRAY[5, 6])" in str(literal)
