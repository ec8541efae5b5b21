"""HTML pages for browsers (placeholder list; filled in by the pages module)."""

from __future__ import annotations

from starlette.routing import Route

routes: list[Route] = []
