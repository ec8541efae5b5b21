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

from sqlalchemy import Select
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

    def arrange(self, rows: Sequence[Any]) -> list[Any]:
        """Rows newest first (a min_id page is read oldest first)."""
        return list(reversed(rows)) if self.min_id is not None else list(rows)


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
