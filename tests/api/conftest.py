"""Fixtures of the client API tests: access tokens made directly in the database, and the fake remote
server (remote.test, with bob and carol) on the fake network."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from fedigen.api.grants import digest
from storage.clients import OAuthApp, OAuthToken
from storage.models import Actor
from tests.conftest import Instance

TokenMaker = Callable[..., Awaitable[str]]


async def issue_token(instance: Instance, username: str, scopes: str = "read write follow") -> str:
    """A live token of the local account ``username`` with ``scopes`` (stored hashed, as OAuth does)."""
    raw = secrets.token_urlsafe(32)
    async with instance.services.sessions() as session, session.begin():
        actor = await session.scalar(select(Actor).where(Actor.username == username, Actor.domain.is_(None)))
        assert actor is not None, f"no local account {username}"
        app = OAuthApp(
            client_id=secrets.token_urlsafe(16), client_secret_hash=digest("secret"), name="Test client",
            redirect_uris="urn:ietf:wg:oauth:2.0:oob", scopes="read write follow push profile",
        )  # fmt: skip
        session.add(app)
        await session.flush()
        session.add(OAuthToken(token_hash=digest(raw), app_id=app.id, account_id=actor.id, scopes=scopes))
    return raw


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_token(instance: Instance) -> TokenMaker:
    """``await make_token("alice", "read")``: a token of a local account."""

    async def make(username: str, scopes: str = "read write follow") -> str:
        return await issue_token(instance, username, scopes)

    return make
