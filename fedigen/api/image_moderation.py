"""Admin API for the prompt rules and the instance's refusals (fedigen's own, beside Mastodon's admin API).

- ``GET /api/fedigen/admin/prompt_rules``: the blocked terms and patterns in force (MANAGE_SETTINGS,
  ``admin:read``);
- ``POST /api/fedigen/admin/prompt_rules`` with ``kind`` ("term" or "pattern") and ``value``: add one,
  in force at once in every process (MANAGE_SETTINGS, ``admin:write``); 422 when it is bad;
- ``DELETE /api/fedigen/admin/prompt_rules/:id``: remove one (404 when there is none);
- ``GET /api/fedigen/admin/refusals``: prompts and images the instance refused, newest first, paged by
  ``max_id`` / ``since_id`` / ``min_id`` / ``limit`` (Link header), filtered by ``since`` (an ISO 8601
  time), ``kind`` ("prompt" or "image") and ``account_id`` (MANAGE_REPORTS, ``admin:read``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api import entities
from fedigen.api.auth import authenticate_staff
from fedigen.api.pagination import Page, link_header
from fedigen.api.params import read_params
from fedigen.api.statuses import path_id
from fedigen.errors import ValidationError
from fedigen.http import services
from fedigen.social import prompt_rules, refusals
from fedigen.social.refusals import parse_since
from fedigen.social.roles import Permission
from storage.models import Actor, PromptRule, Refusal


def rule_entity(row: PromptRule) -> dict[str, Any]:
    """A prompt rule as the admin API shows it."""
    return {
        "id": str(row.id), "kind": row.kind, "value": row.value, "source": row.source,
        "created_at": entities.iso(row.created_at),
    }  # fmt: skip


def refusal_entity(row: Refusal, actor: Actor | None) -> dict[str, Any]:
    """A refusal as the admin API shows it (the account as id, username and acct)."""
    account = (
        {"id": str(actor.id), "username": actor.username, "acct": entities.acct(actor)} if actor else None
    )
    return {
        "id": str(row.id), "created_at": entities.iso(row.created_at), "kind": row.kind,
        "origin": row.origin, "reason": row.reason, "prompt": row.prompt, "account": account,
        "job_id": str(row.job_id) if row.job_id else None, "details": row.details or {},
    }  # fmt: skip


async def list_rules(request: Request) -> Response:
    """GET /api/fedigen/admin/prompt_rules."""
    await authenticate_staff(request, "admin:read", Permission.MANAGE_SETTINGS)
    await prompt_rules.seed(services(request))  # the config's rules get their ids
    async with services(request).reads() as session:
        rows = await prompt_rules.active(session)
    return JSONResponse([rule_entity(row) for row in rows])


async def add_rule(request: Request) -> Response:
    """POST /api/fedigen/admin/prompt_rules."""
    auth, _ = await authenticate_staff(request, "admin:write", Permission.MANAGE_SETTINGS)
    params = await read_params(request)
    kind = params.get_str("kind", prompt_rules.TERM) or prompt_rules.TERM
    value = params.required("value", max_chars=prompt_rules.MAX_VALUE_CHARS)
    assert auth.account is not None
    await prompt_rules.seed(services(request))
    async with services(request).sessions() as session, session.begin():
        row = await prompt_rules.add(session, kind, value, by=auth.account.id)
    return JSONResponse(rule_entity(row))


async def remove_rule(request: Request) -> Response:
    """DELETE /api/fedigen/admin/prompt_rules/:id."""
    await authenticate_staff(request, "admin:write", Permission.MANAGE_SETTINGS)
    await prompt_rules.seed(services(request))
    async with services(request).sessions() as session, session.begin():
        await prompt_rules.remove(session, path_id(request))
    return JSONResponse({})


async def list_refusals(request: Request) -> Response:
    """GET /api/fedigen/admin/refusals."""
    await authenticate_staff(request, "admin:read", Permission.MANAGE_REPORTS)
    params = await read_params(request)
    page = Page.from_params(params, default=40, most=200)
    query: Any = select(Refusal, Actor).outerjoin(Actor, Actor.id == Refusal.account_id)
    if since := params.get_str("since"):
        try:
            query = query.where(Refusal.created_at >= parse_since(since))
        except ValueError:
            raise ValidationError("since", "must be an ISO 8601 date or time") from None
    if kind := params.get_str("kind"):
        if kind not in (refusals.PROMPT, refusals.IMAGE):
            raise ValidationError("kind", "must be prompt or image")
        query = query.where(Refusal.kind == kind)
    if (account_id := params.get_int("account_id", low=0)) is not None:
        query = query.where(Refusal.account_id == account_id)
    async with services(request).reads() as session:
        rows = page.arrange(
            [(row, actor) for row, actor in await session.execute(page.apply(query, Refusal.id))]
        )
    return JSONResponse(
        [refusal_entity(row, actor) for row, actor in rows],
        headers=link_header(request, [row.id for row, _ in rows], page),
    )


routes: list[BaseRoute] = [
    Route("/api/fedigen/admin/prompt_rules", list_rules, methods=["GET"]),
    Route("/api/fedigen/admin/prompt_rules", add_rule, methods=["POST"]),
    Route("/api/fedigen/admin/prompt_rules/{id}", remove_rule, methods=["DELETE"]),
    Route("/api/fedigen/admin/refusals", list_refusals, methods=["GET"]),
]
