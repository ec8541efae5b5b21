"""Rows read with SQLAlchemy Core, their columns as attributes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import BindParameter, bindparam

# An expanding ``IN`` parameter named "ids": statements built once with it take the list at execution.
IDS: BindParameter[Any] = bindparam("ids", expanding=True)


class Record(SimpleNamespace):
    """A row read with SQLAlchemy Core, its columns as attributes: what rendering reads of a Status, an
    Actor, a CustomEmoji or a Poll, without the ORM's identity map and change tracking."""


def record(fields: Any) -> Any:
    """A :class:`Record` of a row's mapping (typed Any: it stands in for the ORM class it mirrors)."""
    return Record(**fields)
