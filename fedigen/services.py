"""The long-lived resources of one process, built once (by the app's lifespan or a CLI command)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from activitypub.delivery import Deliverer, DeliveryPolicy
from activitypub.fetch import Fetcher
from activitypub.resolver import Resolver
from activitypub.signatures import sign_request
from activitypub.transport import make_http_client
from activitypub.urls import LocalUrls
from fedigen.config import Settings
from storage.db import SessionFactory, create_engine, session_factory
from storage.models import Actor


class InstanceKeySigner:
    """Signs fetches with the instance actor's key (loaded lazily: it exists once migrations ran)."""

    def __init__(self, sessions: SessionFactory, urls: LocalUrls) -> None:
        self.sessions = sessions
        self.urls = urls
        self.key_id: str | None = None
        self.private_key_pem: str | None = None

    async def load(self) -> None:
        """Read the instance actor's key from the database."""
        async with self.sessions() as session:
            actor = await session.scalar(select(Actor).where(Actor.ap_id == self.urls.instance_actor))
        if actor is not None and actor.private_key_pem:
            self.key_id, self.private_key_pem = actor.public_key_id, actor.private_key_pem

    def __call__(self, method: str, url: str, body: bytes | None) -> Mapping[str, str]:
        if not self.key_id or not self.private_key_pem:
            return {}
        return sign_request(
            method=method, url=url, key_id=self.key_id, private_key_pem=self.private_key_pem, body=body
        )


@dataclass
class Services:
    """Engine, sessions, the one pooled HTTP client, and what is built on them."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    http: httpx.AsyncClient
    urls: LocalUrls
    fetcher: Fetcher
    resolver: Resolver
    deliverer: Deliverer
    signer: InstanceKeySigner

    @property
    def clock_window(self) -> timedelta:
        """How far signature times may be from ours."""
        return timedelta(seconds=self.settings.federation.signature_clock_window)


@asynccontextmanager
async def open_services(
    settings: Settings, *, engine: AsyncEngine | None = None, http: httpx.AsyncClient | None = None
) -> AsyncIterator[Services]:
    """Build every long-lived resource and close them all on exit."""
    own_engine = engine is None
    engine = engine or create_engine(
        settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    sessions = session_factory(engine)
    fed = settings.federation
    own_http = http is None
    http = http or make_http_client(
        allow_private_addresses=fed.allow_private_addresses,
        user_agent=settings.user_agent,
        timeout=fed.fetch_timeout,
        max_connections=max(100, fed.delivery_concurrency * 2),
    )
    urls = LocalUrls(settings.base_url)
    signer = InstanceKeySigner(sessions, urls)
    try:
        await signer.load()
    except SQLAlchemyError:  # not migrated yet: `fedigen db migrate` creates the key, then load() again
        pass
    fetcher = Fetcher(http, signer=signer, max_bytes=1_000_000, timeout=fed.fetch_timeout)
    resolver = Resolver(
        sessions,
        fetcher,
        urls,
        webfinger_scheme=fed.webfinger_scheme,
        allow_private_addresses=fed.allow_private_addresses,
    )
    policy = DeliveryPolicy(
        max_attempts=fed.max_delivery_attempts,
        max_age=timedelta(hours=fed.delivery_max_age_hours),
        unavailable_after=timedelta(days=fed.host_unavailable_after_days),
        concurrency=fed.delivery_concurrency,
    )
    services = Services(
        settings=settings, engine=engine, sessions=sessions, http=http, urls=urls, fetcher=fetcher,
        resolver=resolver, deliverer=Deliverer(sessions, fetcher, policy), signer=signer,
    )  # fmt: skip
    try:
        yield services
    finally:
        if own_http:
            await http.aclose()
        if own_engine:
            await engine.dispose()
