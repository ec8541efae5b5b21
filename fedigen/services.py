"""The long-lived resources of one process, built once (by the app's lifespan or a CLI command)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from activitypub.delivery import Deliverer, DeliveryPolicy
from activitypub.delivery_http import DeliveryClient, idle_room
from activitypub.domains import DomainPolicies
from activitypub.fetch import Fetcher
from activitypub.inbox_writer import InboxWriter
from activitypub.resolver import Resolver
from activitypub.schemes import SignatureSchemes
from activitypub.signing import SignatureAuth, SigningKey
from activitypub.signing_pool import SigningPool
from activitypub.transport import make_http_client
from activitypub.urls import LocalUrls
from fedigen.config import ConfigError, Settings
from fedigen.events import DOMAINS, PROMPT_RULES, WORK, EventHub, watch
from generation.hub import ModelStore
from generation.jobs import JobRunner, JobSettings
from generation.rules import ModerationClient, PromptRules
from storage import offload
from storage.attachments import MediaContext
from storage.db import SessionFactory, SyncReader, create_engine, read_session_factory, session_factory
from storage.images import ImageLimits
from storage.media import LocalMediaStore, MediaStore, S3MediaStore, s3_client
from storage.models import Actor


class InstanceKeySigner:
    """Signs fetches with the instance actor's key (loaded lazily: it exists once migrations ran)."""

    def __init__(self, sessions: SessionFactory, urls: LocalUrls) -> None:
        self.sessions = sessions
        self.urls = urls
        self.auth = SignatureAuth()

    async def load(self) -> None:
        """Read the instance actor's key from the database."""
        async with self.sessions() as session:
            actor = await session.scalar(select(Actor).where(Actor.ap_id == self.urls.instance_actor))
        if actor is not None and actor.public_key_id and actor.private_key_pem:
            self.auth.key = SigningKey(actor.public_key_id, actor.private_key_pem)


@dataclass
class Services:
    """Engine, sessions, the one pooled HTTP client, and what is built on them."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    # For requests that only read (never the write lock on SQLite); anything that writes uses sessions.
    reads: SessionFactory
    # Runs a synchronous function that reads a whole page (on SQLite on the event loop, no thread).
    reader: SyncReader
    http: httpx.AsyncClient
    urls: LocalUrls
    fetcher: Fetcher
    resolver: Resolver
    deliverer: Deliverer
    # Stores accepted inbox POSTs in groups; each request waits for its row to be committed.
    inbox: InboxWriter
    signer: InstanceKeySigner
    # A plain client for the admin-configured generation backends, which may live on this machine or
    # its network (the federation client refuses private addresses). The classifier uses ``http``.
    backend_http: httpx.AsyncClient
    media: MediaContext
    job_settings: JobSettings
    rules: PromptRules
    moderation: ModerationClient | None
    # Built on first use by fedigen.social.jobs.runner(): a process that never generates loads nothing.
    jobs: JobRunner | None = None
    # Called when this process queued work (a running worker registers its wake-up here).
    wakeups: list[Callable[[], None]] = field(default_factory=list)
    # Per-process copies of what is read from the database and cached (the prompt rules).
    caches: dict[str, Any] = field(default_factory=dict)
    # Writes started for after the current transaction (a refusal recorded while the refused request's
    # own transaction rolls back); awaited before the services close.
    pending: set[asyncio.Task[None]] = field(default_factory=set)
    # What just happened, told to this process and (once started) to the others: fedigen.events.
    events: EventHub = field(default_factory=EventHub)

    def work_queued(self) -> None:
        """Wake this process's worker now, and every other process's worker (a WORK event)."""
        for wake in list(self.wakeups):
            wake()
        self.events.publish(WORK)

    @property
    def clock_window(self) -> timedelta:
        """How far signature times may be from ours."""
        return timedelta(seconds=self.settings.federation.signature_clock_window)


def media_context(settings: Settings) -> MediaContext:
    """The media store and the image pipeline's limits, from [media]."""
    m = settings.media
    offload.configure(m.image_processes)
    limits = ImageLimits(
        max_input_bytes=m.max_upload_bytes, max_pixels=m.max_pixels, original_max_side=m.original_max_side,
        federation_format=m.federation_format, thumbnail_side=m.thumbnail_side,
    )  # fmt: skip
    store, uploads = media_stores(settings, settings.media.store)
    return MediaContext(store=store, limits=limits, uploads=uploads)


def media_stores(settings: Settings, kind: str) -> tuple[MediaStore, MediaStore]:
    """The media store and the store of unprocessed uploads of one kind ("local" or "s3"), from [media]."""
    if kind == "local":
        return LocalMediaStore(settings.media_dir), LocalMediaStore(settings.upload_dir, private=True)
    s3 = settings.media.s3
    if not s3.bucket:
        raise ConfigError("media.s3.bucket: not set, so there is no S3 media store")
    access_key, secret_key = settings.s3_keys()
    client = s3_client(endpoint=s3.endpoint, region=s3.region, access_key=access_key, secret_key=secret_key,
                       addressing=s3.addressing)  # fmt: skip
    return (
        S3MediaStore(s3.bucket, prefix=s3.prefix, client=client),
        S3MediaStore(s3.bucket, prefix=s3.upload_prefix, client=client),
    )


def backend_options(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each backend's [generation.<name>] options; the diffusers backend's model is the one `fedigen
    model use` chose when its table names no model_dir."""
    options = {name: dict(values) for name, values in settings.generation.backends.items()}
    if not options.get("diffusers", {}).get("model_dir"):
        chosen = ModelStore(settings.models_dir).active()
        if chosen is not None:
            options["diffusers"] = {**options.get("diffusers", {}), "model_dir": str(chosen.path)}
    return options


def job_settings(settings: Settings) -> JobSettings:
    """What the generation job runner needs from [generation]."""
    g = settings.generation
    return JobSettings(
        default_backend=g.backend, allowed_backends=g.allowed_backends,
        backend_options=backend_options(settings),
        default_size=g.size, max_images=g.max_images, timeout=g.timeout, max_attempts=g.max_attempts,
        lease=settings.worker.lease_seconds,
    )  # fmt: skip


def moderation_client(settings: Settings, http: httpx.AsyncClient) -> ModerationClient | None:
    """The prompt check of the classifier ([moderation] classifier_url, or its [generation] alias), on
    the one pooled client: a classifier on this machine or network needs private addresses allowed."""
    url, model, api_key = settings.classifier
    if not url or not settings.moderation.check_prompts:
        return None
    return ModerationClient(http, url, api_key=api_key, model=model, timeout=settings.moderation.timeout)


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
    reads = read_session_factory(engine)
    fed = settings.federation
    own_http = http is None
    http = http or make_http_client(
        allow_private_addresses=fed.allow_private_addresses,
        user_agent=settings.user_agent,
        timeout=fed.fetch_timeout,
        # Room for every delivery in flight, and for fetches beside them.
        max_connections=max(fed.http_max_connections, fed.delivery_concurrency + 8),
        keepalive_expiry=fed.http_keepalive_seconds,
        max_per_host=max(8, fed.delivery_per_host + 4),  # deliveries to a host, and fetches beside them
    )
    urls = LocalUrls(settings.base_url)
    signer = InstanceKeySigner(sessions, urls)
    try:
        await signer.load()
    except SQLAlchemyError:  # not migrated yet: `fedigen db migrate` creates the key, then load() again
        pass
    schemes = SignatureSchemes(sessions, reads)
    fetcher = Fetcher(http, auth=signer.auth, max_bytes=1_000_000, timeout=fed.fetch_timeout, schemes=schemes)
    if own_http:  # a client given by the caller (tests route it) carries deliveries too
        fetcher.delivery = DeliveryClient(
            allow_private_addresses=fed.allow_private_addresses, user_agent=settings.user_agent,
            max_idle=idle_room(fed.delivery_connections), keepalive_expiry=fed.http_keepalive_seconds,
        )  # fmt: skip
    schemes.nodeinfo = fetcher.fetch_software
    resolver = Resolver(
        sessions,
        fetcher,
        urls,
        webfinger_scheme=fed.webfinger_scheme,
        allow_private_addresses=fed.allow_private_addresses,
        reads=reads,
        domains=DomainPolicies(reads, mode=fed.mode, local_hosts=[urls.host]),
    )
    fetcher.domains = resolver.domains
    policy = DeliveryPolicy(
        max_attempts=fed.max_delivery_attempts,
        max_age=timedelta(hours=fed.delivery_max_age_hours),
        unavailable_after=timedelta(days=fed.host_unavailable_after_days),
        concurrency=fed.delivery_concurrency,
        per_host=fed.delivery_per_host,
        lease=timedelta(seconds=settings.worker.lease_seconds),
    )
    gen = settings.generation
    backend_http = httpx.AsyncClient(
        timeout=httpx.Timeout(gen.timeout, connect=10.0), headers={"User-Agent": settings.user_agent}
    )
    services = Services(
        settings=settings, engine=engine, sessions=sessions, reads=reads, http=http, urls=urls,
        reader=SyncReader(engine, pool_size=settings.database.pool_size),
        fetcher=fetcher, resolver=resolver, signer=signer,
        deliverer=Deliverer(
            sessions, fetcher, policy, resolver.domains,
            signing=SigningPool(workers=fed.signing_workers, kind=fed.signing_pool),
        ),
        inbox=InboxWriter(engine, resolver.domains, interval=fed.inbox_commit_interval_ms / 1000,
                          max_items=fed.inbox_commit_max_items),
        backend_http=backend_http, media=media_context(settings), job_settings=job_settings(settings),
        rules=PromptRules(max_chars=gen.max_prompt_chars, blocked_terms=gen.blocked_terms,
                          blocked_patterns=gen.blocked_patterns, refusal_message=gen.refusal_message),
        moderation=moderation_client(settings, http),
        events=EventHub(settings.database_url, poll_interval=settings.worker.poll_interval),
    )  # fmt: skip
    watch(sessions, services.events)
    # Rows the inbox writer stores (through its own connection, not a watched session) are work too.
    services.inbox.on_stored = lambda: services.events.publish(WORK)
    # Changes made in any process apply here at once (each check still reads the version counters).
    services.events.on(DOMAINS, lambda _event: resolver.forget_blocklist())
    services.events.on(PROMPT_RULES, lambda _event: services.caches.pop("prompt_rules", None))
    try:
        yield services
    finally:
        await services.inbox.aclose()  # every accepted activity stored before anything closes
        await services.events.close()
        if services.pending:
            await asyncio.wait(list(services.pending), timeout=20)
        try:
            async with asyncio.timeout(5):
                await schemes.flush()  # what was just learned of hosts' signatures
        except TimeoutError:
            pass
        if services.jobs is not None:
            await services.jobs.aclose()
        await services.deliverer.aclose()
        await backend_http.aclose()
        if own_http:
            await http.aclose()
        if fetcher.delivery is not None:
            await fetcher.delivery.aclose()
        await services.reader.aclose()
        if own_engine:
            await engine.dispose()


def settle_heap() -> None:
    """Once a long-running process (``serve``, ``worker``) has started: collect, then move every object
    left (modules, routes, compiled statements, pools; about 120,000 of them) into the collector's
    permanent generation (:func:`gc.freeze`). The full collections that a busy process runs every few
    seconds then walk only what requests made, not all of startup's objects again: measured on a home
    timeline page (SQLite, 1,000,000 statuses, 2 cores), p99 76 ms before, 16.5 ms after, p50 unchanged.
    Startup's objects are never freed afterwards, which they would not be anyway."""
    gc.collect()
    gc.freeze()
    tune_collector()


# How many more container objects (dicts, lists, records, futures) may be made than freed before the
# collector looks at the youngest ones (Python's default: 700). A PostgreSQL home page keeps a few
# thousand alive at its peak (rows, records, the asyncpg futures of a dozen statements), so at 700 it
# started a young collection on nearly every page, which found them all still alive and moved them on,
# feeding the older collections: measured in process on 1,000,000 statuses (2 cores), 558 young, 50
# middle and 4 full collections over 600 pages, 0.45 ms a page on average and up to 6 ms at once, the
# p99's outliers. At 10,000 a page's objects are freed by their reference counts before a collection
# is due: 2 collections over the same 600 pages. Garbage in cycles waits a little longer, at most
# 10,000 objects' worth.
YOUNG_THRESHOLD = 10_000


def tune_collector() -> None:
    """Let the youngest generation grow to :data:`YOUNG_THRESHOLD` objects before it is collected."""
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
