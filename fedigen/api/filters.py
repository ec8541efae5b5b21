"""Mastodon's filters (https://docs.joinmastodon.org/methods/filters/): v2 filters with their keywords
and statuses, and the v1 endpoints as Mastodon 4 still serves them (one v1 filter per keyword).

Mastodon routes single keywords and statuses as ``/api/v2/filters/keywords/:id`` and
``/api/v2/filters/statuses/:id``; ``/api/v2/filter_keywords/:id`` and ``/api/v2/filter_statuses/:id``
are served too.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api import entities, status_entities
from fedigen.api.auth import authenticate
from fedigen.api.params import Params, read_params
from fedigen.api.statuses import path_id
from fedigen.errors import NotFoundError, ValidationError
from fedigen.http import services
from fedigen.social import filters
from fedigen.social.filters import KeywordChange
from fedigen.social.visibility import can_see
from storage.clients import CustomFilter, CustomFilterKeyword
from storage.models import Status

READ, WRITE = "read:filters", "write:filters"
ATTRIBUTE = re.compile(r"keywords_attributes\[(\d*)\]\[(\w+)\]")


def _bool(value: Any, name: str) -> bool | None:
    if value is None or value == "":
        return None
    holder = Params()
    holder.add(name, value)
    return holder.get_bool(name)


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit() or len(str(value).strip()) > 18:
        raise ValidationError(name, "must be an id")
    return int(value)


def keyword_changes(params: Params) -> list[KeywordChange]:
    """``keywords_attributes`` as apps send it: a JSON array of objects, a JSON object keyed by index,
    or form fields ``keywords_attributes[][keyword]`` / ``keywords_attributes[0][keyword]``."""
    items: list[dict[str, Any]] = []
    for value in params.values.get("keywords_attributes", []):
        if isinstance(value, dict) and all(str(k).isdigit() for k in value):
            items += [v for _, v in sorted(value.items(), key=lambda kv: int(kv[0])) if isinstance(v, dict)]
        elif isinstance(value, dict):
            items.append(value)
        else:
            raise ValidationError("keywords_attributes", "must be a list of objects with a keyword")
    indexed: dict[int, dict[str, Any]] = {}
    columns: dict[str, list[Any]] = {}
    for key, values in params.values.items():
        found = ATTRIBUTE.fullmatch(key)
        if found and found.group(1):
            indexed.setdefault(int(found.group(1)), {})[found.group(2)] = values[0]
        elif found:
            columns[found.group(2)] = list(values)
    # Unindexed form fields (keywords_attributes[][keyword]): the n-th value of each belongs together.
    for i in range(max((len(c) for c in columns.values()), default=0)):
        items.append({name: col[i] for name, col in columns.items() if i < len(col)})
    items += [indexed[i] for i in sorted(indexed)]
    if len(items) > filters.MAX_KEYWORDS:
        raise ValidationError("keywords_attributes", f"at most {filters.MAX_KEYWORDS} keywords")
    out = []
    for item in items:
        keyword = item.get("keyword")
        if keyword is not None and not isinstance(keyword, str):
            raise ValidationError("keywords_attributes", "keyword must be a text")
        out.append(KeywordChange(
            keyword=keyword,
            whole_word=_bool(item.get("whole_word"), "whole_word"),
            id=_int(item.get("id"), "keywords_attributes[id]"),
            destroy=bool(_bool(item.get("_destroy"), "_destroy")),
        ))  # fmt: skip
    return out


async def _render(session: Any, rows: list[CustomFilter]) -> list[dict[str, Any]]:
    keywords, statuses = await filters.rules(session, [r.id for r in rows])
    return [status_entities.filter_entity(r, keywords[r.id], statuses[r.id]) for r in rows]


def _viewer_id(auth: Any) -> int:
    assert auth.account is not None
    return int(auth.account.id)


async def index(request: Request) -> Response:
    """GET /api/v2/filters."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        mine = CustomFilter.account_id == _viewer_id(auth)
        rows = list(await session.scalars(select(CustomFilter).where(mine).order_by(CustomFilter.id)))
        return JSONResponse(await _render(session, rows))


async def show(request: Request) -> Response:
    """GET /api/v2/filters/:id."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        row = await filters.own_filter(session, _viewer_id(auth), path_id(request))
        return JSONResponse((await _render(session, [row]))[0])


def _expires(params: Params) -> tuple[int | None, bool]:
    given = "expires_in" in params
    if given and params.values["expires_in"][0] in (None, ""):
        return None, True
    return params.get_int("expires_in"), given


async def create(request: Request) -> Response:
    """POST /api/v2/filters: title, context[], filter_action, expires_in, keywords_attributes[]."""
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    expires_in, _ = _expires(params)
    changes = keyword_changes(params)
    async with services(request).sessions() as session, session.begin():
        row = await filters.create_filter(
            session, _viewer_id(auth), title=params.get_str("title"), context=params.get_list("context"),
            action=params.get_str("filter_action"), expires_in=expires_in, keywords=changes,
        )  # fmt: skip
        body = (await _render(session, [row]))[0]
    return JSONResponse(body)


async def update(request: Request) -> Response:
    """PUT /api/v2/filters/:id: what is given changes; keywords_attributes[] add, change or _destroy."""
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    expires_in, expires_given = _expires(params)
    changes = keyword_changes(params)
    async with services(request).sessions() as session, session.begin():
        row = await filters.own_filter(session, _viewer_id(auth), path_id(request))
        await filters.update_filter(
            session, row, title=params.get_str("title"),
            context=params.get_list("context") if "context" in params else None,
            action=params.get_str("filter_action"), expires_in=expires_in, expires_given=expires_given,
            keywords=changes,
        )  # fmt: skip
        body = (await _render(session, [row]))[0]
    return JSONResponse(body)


async def destroy(request: Request) -> Response:
    """DELETE /api/v2/filters/:id: an empty object."""
    auth = await authenticate(request, WRITE)
    async with services(request).sessions() as session, session.begin():
        row = await filters.own_filter(session, _viewer_id(auth), path_id(request))
        await filters.delete_filter(session, row)
    return JSONResponse({})


async def keywords_index(request: Request) -> Response:
    """GET /api/v2/filters/:id/keywords."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        row = await filters.own_filter(session, _viewer_id(auth), path_id(request))
        keywords, _ = await filters.rules(session, [row.id])
        return JSONResponse([status_entities.filter_keyword(k) for k in keywords[row.id]])


async def keywords_create(request: Request) -> Response:
    """POST /api/v2/filters/:id/keywords: keyword, whole_word."""
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    async with services(request).sessions() as session, session.begin():
        row = await filters.own_filter(session, _viewer_id(auth), path_id(request))
        item = await filters.add_keyword(
            session, row, params.get_str("keyword"), params.get_bool("whole_word", True)
        )
        body = status_entities.filter_keyword(item)
    return JSONResponse(body)


async def keyword_show(request: Request) -> Response:
    """GET /api/v2/filters/keywords/:id."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        item, _ = await filters.own_keyword(session, _viewer_id(auth), path_id(request))
        return JSONResponse(status_entities.filter_keyword(item))


async def keyword_update(request: Request) -> Response:
    """PUT /api/v2/filters/keywords/:id: keyword, whole_word."""
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    whole_word = params.get_bool("whole_word") if "whole_word" in params else None
    async with services(request).sessions() as session, session.begin():
        item, _ = await filters.own_keyword(session, _viewer_id(auth), path_id(request))
        await filters.update_keyword(session, item, params.get_str("keyword"), whole_word)
        body = status_entities.filter_keyword(item)
    return JSONResponse(body)


async def keyword_destroy(request: Request) -> Response:
    """DELETE /api/v2/filters/keywords/:id: an empty object."""
    auth = await authenticate(request, WRITE)
    async with services(request).sessions() as session, session.begin():
        item, _ = await filters.own_keyword(session, _viewer_id(auth), path_id(request))
        await session.delete(item)
    return JSONResponse({})


async def statuses_index(request: Request) -> Response:
    """GET /api/v2/filters/:id/statuses."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        row = await filters.own_filter(session, _viewer_id(auth), path_id(request))
        _, statuses = await filters.rules(session, [row.id])
        return JSONResponse([status_entities.filter_status(s) for s in statuses[row.id]])


async def statuses_create(request: Request) -> Response:
    """POST /api/v2/filters/:id/statuses: status_id (one the viewer may see)."""
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    raw = params.get_str("status_id") or ""
    async with services(request).sessions() as session, session.begin():
        row = await filters.own_filter(session, _viewer_id(auth), path_id(request))
        status = await session.get(Status, int(raw)) if raw.isdigit() and len(raw) < 19 else None
        if status is None or not await can_see(session, status, _viewer_id(auth)):
            raise NotFoundError("Record not found")
        item = await filters.add_status(session, row, status)
        body = status_entities.filter_status(item)
    return JSONResponse(body)


async def status_show(request: Request) -> Response:
    """GET /api/v2/filters/statuses/:id."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        item, _ = await filters.own_status(session, _viewer_id(auth), path_id(request))
        return JSONResponse(status_entities.filter_status(item))


async def status_destroy(request: Request) -> Response:
    """DELETE /api/v2/filters/statuses/:id: an empty object."""
    auth = await authenticate(request, WRITE)
    async with services(request).sessions() as session, session.begin():
        item, _ = await filters.own_status(session, _viewer_id(auth), path_id(request))
        await session.delete(item)
    return JSONResponse({})


# v1: one filter per keyword (https://docs.joinmastodon.org/entities/V1_Filter/).


def v1_entity(item: CustomFilterKeyword, row: CustomFilter) -> dict[str, Any]:
    """The V1::Filter entity of a keyword."""
    return {
        "id": str(item.id), "phrase": item.keyword, "context": list(row.context or []),
        "whole_word": item.whole_word, "expires_at": entities.iso(row.expires_at),
        "irreversible": row.action == "hide",
    }  # fmt: skip


async def v1_index(request: Request) -> Response:
    """GET /api/v1/filters: every keyword of every filter, as v1 filters."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        rows = await session.execute(
            select(CustomFilterKeyword, CustomFilter)
            .join(CustomFilter, CustomFilter.id == CustomFilterKeyword.filter_id)
            .where(CustomFilter.account_id == _viewer_id(auth))
            .order_by(CustomFilterKeyword.id)
        )
        return JSONResponse([v1_entity(k, f) for k, f in rows.all()])


async def v1_show(request: Request) -> Response:
    """GET /api/v1/filters/:id."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        item, row = await filters.own_keyword(session, _viewer_id(auth), path_id(request))
        return JSONResponse(v1_entity(item, row))


async def v1_create(request: Request) -> Response:
    """POST /api/v1/filters: phrase, context[], irreversible, whole_word, expires_in; a v2 filter titled
    with the phrase, holding it as its one keyword."""
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    phrase = params.get_str("phrase")
    if phrase is None or not phrase.strip():
        raise ValidationError("phrase", "can't be blank")
    expires_in, _ = _expires(params)
    async with services(request).sessions() as session, session.begin():
        row = await filters.create_filter(
            session, _viewer_id(auth), title=phrase, context=params.get_list("context"),
            action="hide" if params.get_bool("irreversible") else "warn", expires_in=expires_in,
            keywords=[KeywordChange(keyword=phrase, whole_word=params.get_bool("whole_word", True))],
        )  # fmt: skip
        keywords, _ = await filters.rules(session, [row.id])
        body = v1_entity(keywords[row.id][0], row)
    return JSONResponse(body)


async def v1_update(request: Request) -> Response:
    """PUT /api/v1/filters/:id: the keyword's phrase and whole_word, its filter's context, action and
    expiry."""
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    expires_in, expires_given = _expires(params)
    async with services(request).sessions() as session, session.begin():
        item, row = await filters.own_keyword(session, _viewer_id(auth), path_id(request))
        irreversible = params.get_bool("irreversible") if "irreversible" in params else None
        await filters.update_filter(
            session, row, context=params.get_list("context") if "context" in params else None,
            action=None if irreversible is None else ("hide" if irreversible else "warn"),
            expires_in=expires_in, expires_given=expires_given,
        )  # fmt: skip
        whole_word = params.get_bool("whole_word") if "whole_word" in params else None
        await filters.update_keyword(session, item, params.get_str("phrase"), whole_word)
        body = v1_entity(item, row)
    return JSONResponse(body)


async def v1_destroy(request: Request) -> Response:
    """DELETE /api/v1/filters/:id: the keyword goes, and its filter with it when nothing is left."""
    auth = await authenticate(request, WRITE)
    async with services(request).sessions() as session, session.begin():
        item, row = await filters.own_keyword(session, _viewer_id(auth), path_id(request))
        await session.delete(item)
        await session.flush()
        keywords, statuses = await filters.rules(session, [row.id])
        if not keywords[row.id] and not statuses[row.id]:
            await filters.delete_filter(session, row)
    return JSONResponse({})


routes: list[BaseRoute] = [
    Route("/api/v2/filters", index, methods=["GET"]),
    Route("/api/v2/filters", create, methods=["POST"]),
    # Literal paths before /api/v2/filters/{id}/...
    Route("/api/v2/filters/keywords/{id}", keyword_show, methods=["GET"]),
    Route("/api/v2/filters/keywords/{id}", keyword_update, methods=["PUT"]),
    Route("/api/v2/filters/keywords/{id}", keyword_destroy, methods=["DELETE"]),
    Route("/api/v2/filters/statuses/{id}", status_show, methods=["GET"]),
    Route("/api/v2/filters/statuses/{id}", status_destroy, methods=["DELETE"]),
    Route("/api/v2/filter_keywords/{id}", keyword_show, methods=["GET"]),
    Route("/api/v2/filter_keywords/{id}", keyword_update, methods=["PUT"]),
    Route("/api/v2/filter_keywords/{id}", keyword_destroy, methods=["DELETE"]),
    Route("/api/v2/filter_statuses/{id}", status_show, methods=["GET"]),
    Route("/api/v2/filter_statuses/{id}", status_destroy, methods=["DELETE"]),
    Route("/api/v2/filters/{id}", show, methods=["GET"]),
    Route("/api/v2/filters/{id}", update, methods=["PUT"]),
    Route("/api/v2/filters/{id}", destroy, methods=["DELETE"]),
    Route("/api/v2/filters/{id}/keywords", keywords_index, methods=["GET"]),
    Route("/api/v2/filters/{id}/keywords", keywords_create, methods=["POST"]),
    Route("/api/v2/filters/{id}/statuses", statuses_index, methods=["GET"]),
    Route("/api/v2/filters/{id}/statuses", statuses_create, methods=["POST"]),
    Route("/api/v1/filters", v1_index, methods=["GET"]),
    Route("/api/v1/filters", v1_create, methods=["POST"]),
    Route("/api/v1/filters/{id}", v1_show, methods=["GET"]),
    Route("/api/v1/filters/{id}", v1_update, methods=["PUT"]),
    Route("/api/v1/filters/{id}", v1_destroy, methods=["DELETE"]),
]
