"""The signed-in account's filters (``/filters``, Mastodon's paths): list, add, edit and delete, each
through the same use-cases as the client API's filters v2 (``fedigen.social.filters``); errors come
back on the form and nothing is stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from fedigen.errors import ValidationError
from fedigen.http import services
from fedigen.social import filters
from fedigen.social.filters import KeywordChange
from fedigen.web.forms import (
    account_route,
    done,
    field_error,
    flag,
    private_page,
    text,
    viewer,
)
from fedigen.web.session import checked_form
from storage.clients import CustomFilter, CustomFilterKeyword

FILTER_CONTEXTS = {
    "home": "Home and lists",
    "notifications": "Notifications",
    "public": "Public timelines",
    "thread": "Conversations",
    "account": "Profiles",
}
FILTER_ACTIONS = {"warn": "Hide behind a warning", "hide": "Hide completely", "blur": "Blur the images"}
EXPIRIES = {
    "": "Never",
    "1800": "30 minutes",
    "3600": "1 hour",
    "21600": "6 hours",
    "43200": "12 hours",
    "86400": "1 day",
    "604800": "1 week",
}


async def _keywords(session: AsyncSession, filter_ids: list[int]) -> dict[int, list[CustomFilterKeyword]]:
    found: dict[int, list[CustomFilterKeyword]] = {i: [] for i in filter_ids}
    if filter_ids:
        rows = await session.scalars(
            select(CustomFilterKeyword)
            .where(CustomFilterKeyword.filter_id.in_(filter_ids))
            .order_by(CustomFilterKeyword.id)
        )
        for row in rows:
            found[row.filter_id].append(row)
    return found


async def filters_page(request: Request) -> Response:
    """GET /filters: the account's filters with their keywords."""
    me = viewer(request)
    async with services(request).reads() as session:
        rows = list(
            await session.scalars(
                select(CustomFilter).where(CustomFilter.account_id == me.account.id).order_by(CustomFilter.id)
            )
        )
        keywords = await _keywords(session, [r.id for r in rows])
    context = {"filters": rows, "keywords": keywords, "contexts": FILTER_CONTEXTS, "actions": FILTER_ACTIONS}
    return private_page(request, "settings/filters.html", context)


def _filter_form(values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "values": values,
        "contexts": FILTER_CONTEXTS,
        "actions": FILTER_ACTIONS,
        "expiries": EXPIRIES,
        "filter_id": None,
        **extra,
    }


async def filter_new(request: Request) -> Response:
    """GET /filters/new."""
    values = {
        "title": "",
        "context": ["home", "public"],
        "filter_action": "warn",
        "keywords": "",
        "whole_word": True,
        "expires_in": "",
    }
    return private_page(request, "settings/filter_form.html", _filter_form(values))


def _filter_values(form: FormData) -> dict[str, Any]:
    return {
        "title": text(form, "title", 1000),
        "context": [v for v in form.getlist("context") if isinstance(v, str)],
        "filter_action": text(form, "filter_action", 20),
        "keywords": text(form, "keywords", 60_000),
        "whole_word": flag(form, "whole_word"),
        "expires_in": text(form, "expires_in", 20),
        "expires_at": None,
    }


def _keyword_lines(values: dict[str, Any]) -> list[str]:
    lines = [line.strip() for line in str(values["keywords"]).splitlines()]
    return list(dict.fromkeys(line for line in lines if line))


def _expires_in(values: dict[str, Any]) -> int | None:
    raw = str(values["expires_in"])
    if raw not in EXPIRIES:
        raise ValidationError("expires_in", "choose one of the offered durations")
    return int(raw) if raw else None


async def filter_create(request: Request) -> Response:
    """POST /filters."""
    form = await checked_form(request)
    values = _filter_values(form)
    try:
        async with services(request).sessions() as session, session.begin():
            await filters.create_filter(
                session,
                viewer(request).account.id,
                title=values["title"],
                context=values["context"],
                action=values["filter_action"],
                expires_in=_expires_in(values),
                keywords=[
                    KeywordChange(keyword=k, whole_word=values["whole_word"]) for k in _keyword_lines(values)
                ],
            )
    except ValidationError as exc:
        return private_page(
            request,
            "settings/filter_form.html",
            _filter_form(values, errors=field_error(exc)),
            status_code=422,
        )
    return done("/filters", "filter")


async def filter_edit(request: Request) -> Response:
    """GET /filters/ID/edit."""
    me = viewer(request)
    async with services(request).reads() as session:
        row = await filters.own_filter(session, me.account.id, request.path_params["filter_id"])
        keywords = (await _keywords(session, [row.id]))[row.id]
    values = {
        "title": row.title,
        "context": list(row.context or []),
        "filter_action": row.action,
        "keywords": "\n".join(k.keyword for k in keywords),
        "whole_word": all(k.whole_word for k in keywords) if keywords else True,
        "expires_in": "",
        "expires_at": row.expires_at,
    }
    return private_page(request, "settings/filter_form.html", _filter_form(values, filter_id=row.id))


async def filter_update(request: Request) -> Response:
    """POST /filters/ID: title, contexts, action and the keywords (one per line) as given."""
    form = await checked_form(request)
    values = _filter_values(form)
    filter_id = request.path_params["filter_id"]
    try:
        async with services(request).sessions() as session, session.begin():
            row = await filters.own_filter(session, viewer(request).account.id, filter_id)
            existing = (await _keywords(session, [row.id]))[row.id]
            wanted = _keyword_lines(values)
            changes = [KeywordChange(id=k.id, destroy=True) for k in existing if k.keyword not in wanted]
            changes += [
                KeywordChange(id=k.id, whole_word=values["whole_word"])
                for k in existing
                if k.keyword in wanted
            ]
            kept = {k.keyword for k in existing}
            changes += [
                KeywordChange(keyword=k, whole_word=values["whole_word"]) for k in wanted if k not in kept
            ]
            given = values["expires_in"] != "keep"
            await filters.update_filter(
                session,
                row,
                title=values["title"],
                context=values["context"],
                action=values["filter_action"],
                expires_in=_expires_in(values) if given else None,
                expires_given=given,
                keywords=changes,
            )
    except ValidationError as exc:
        context = _filter_form(values, filter_id=filter_id, errors=field_error(exc))
        return private_page(request, "settings/filter_form.html", context, status_code=422)
    return done("/filters", "filter")


async def filter_delete(request: Request) -> Response:
    """POST /filters/ID/delete."""
    await checked_form(request)
    async with services(request).sessions() as session, session.begin():
        row = await filters.own_filter(session, viewer(request).account.id, request.path_params["filter_id"])
        await filters.delete_filter(session, row)
    return done("/filters", "filter_deleted")


routes: list[BaseRoute] = [
    account_route("/filters", filters_page),
    account_route("/filters", filter_create, "POST"),
    account_route("/filters/new", filter_new),
    account_route("/filters/{filter_id:int}/edit", filter_edit),
    account_route("/filters/{filter_id:int}", filter_update, "POST"),
    account_route("/filters/{filter_id:int}/delete", filter_delete, "POST"),
]
