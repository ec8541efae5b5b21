"""Rows read with SQLAlchemy Core, their columns as attributes, and the "id in a list" condition their
statements are built with."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import BindParameter, Boolean, ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

# An expanding ``IN`` parameter named "ids": statements built once with it take the list at execution.
IDS: BindParameter[Any] = bindparam("ids", expanding=True)


class InIds(ColumnElement[bool]):
    """``column IN (:ids)``, the list bound at execution as "ids", written for each database:

    - SQLite: an expanding ``IN`` (one placeholder per id);
    - PostgreSQL: ``column = ANY(:ids)``, one array parameter. An expanding ``IN`` there is rendered
      anew for every execution (one ``$n::BIGINT`` per id: 4 ms of CPU for a home timeline page's dozen
      statements), and every length of list is another SQL text, so asyncpg prepares it again; one
      array parameter keeps one text, prepared once per connection."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is, not "(...) = 1" on SQLite
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], ids: BindParameter[Any] = IDS) -> None:
        self.column = column
        self.ids = ids  # an element of the statement, so ``statement.params(ids=[...])`` reaches it


def in_ids(column: Any, name: str = "ids") -> ColumnElement[bool]:
    """The condition ``column IN (:name)`` (see :class:`InIds`); the list is bound as ``name``."""
    return InIds(column, IDS if name == "ids" else bindparam(name, expanding=True))


@compiles(InIds)
def _expanding_in(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.ids), **kw)


@compiles(InIds, "postgresql")
def _any_array(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    ids = element.ids
    array = bindparam(ids.key, ids.value, type_=ARRAY(element.column.type), unique=ids.unique)
    return compiler.process(element.column == any_(array), **kw)


class Record(SimpleNamespace):
    """A row read with SQLAlchemy Core, its columns as attributes: what rendering reads of a Status, an
    Actor, a CustomEmoji or a Poll, without the ORM's identity map and change tracking."""


def record(fields: Any) -> Any:
    """A :class:`Record` of a row's mapping (typed Any: it stands in for the ORM class it mirrors)."""
    return Record(**fields)
