"""Mastodon pagination: ``max_id`` / ``since_id`` / ``min_id`` / ``limit`` in, a Link header out.

``max_id`` pages backwards (older), ``since_id`` returns the newest items newer than it, ``min_id``
returns the items right after it (oldest first, then shown newest first), as
https://docs.joinmastodon.org/api/guidelines/#pagination describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import BigInteger, Integer, Select, bindparam
from starlette.requests import Request

from fedigen.api.params import Params

MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Page:
    """The cursor and size of one page."""

    limit: int
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None

    @classmethod
    def from_params(cls, params: Params, default: int = 20, most: int = 40) -> Page:
        """Read the four parameters; a limit outside 1..most is clamped as Mastodon does."""
        limit = params.get_int("limit", default) or default
        limit = max(1, min(limit, most))
        return cls(
            limit=limit,
            max_id=params.get_int("max_id", low=0, high=MAX_ID),
            since_id=params.get_int("since_id", low=0, high=MAX_ID),
            min_id=params.get_int("min_id", low=0, high=MAX_ID),
        )

    def apply(self, query: Select[Any], column: Any) -> Select[Any]:
        """Filter and order ``query`` on ``column`` (an integer id) for this page."""
        if self.max_id is not None:
            query = query.where(column < self.max_id)
        if self.since_id is not None:
            query = query.where(column > self.since_id)
        if self.min_id is not None:
            return query.where(column > self.min_id).order_by(column.asc()).limit(self.limit)
        return query.order_by(column.desc()).limit(self.limit)

    def shape(self) -> tuple[bool, bool, bool]:
        """Which of max_id, since_id and min_id the page has: what :func:`bound_page` builds on."""
        return self.max_id is not None, self.since_id is not None, self.min_id is not None

    def values(self) -> dict[str, int]:
        """The parameters of a statement built by :func:`bound_page` for this page."""
        given = {"max_id": self.max_id, "since_id": self.since_id, "min_id": self.min_id}
        return {"limit": self.limit, **{k: v for k, v in given.items() if v is not None}}

    def arrange(self, rows: Sequence[Any]) -> list[Any]:
        """Rows newest first (a min_id page is read oldest first)."""
        return list(reversed(rows)) if self.min_id is not None else list(rows)


def bound_page(query: Select[Any], column: Any, shape: tuple[bool, bool, bool]) -> Select[Any]:
    """:meth:`Page.apply` with the cursor and limit as bound parameters (``Page.values``), for a statement
    built once for pages of one ``Page.shape``."""
    has_max, has_since, has_min = shape
    if has_max:
        query = query.where(column < bindparam("max_id", type_=BigInteger))
    if has_since:
        query = query.where(column > bindparam("since_id", type_=BigInteger))
    limit = bindparam("limit", type_=Integer)
    if has_min:
        return query.where(column > bindparam("min_id", type_=BigInteger)).order_by(column.asc()).limit(limit)
    return query.order_by(column.desc()).limit(limit)


def link_header(request: Request, ids: Sequence[int], page: Page) -> dict[str, str]:
    """The Link header naming the next (older) and prev (newer) pages, or nothing for an empty page."""
    if not ids:
        return {}
    base = str(request.url.replace(query=""))
    kept = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("max_id", "since_id", "min_id")
    ]
    older = urlencode([*kept, ("max_id", str(min(ids)))])
    newer = urlencode([*kept, ("min_id", str(max(ids)))])
    return {"Link": f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'}
