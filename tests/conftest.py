"""Shared fixtures: real databases (SQLite always, PostgreSQL when FEDIGEN_TEST_POSTGRES_URL is set),
fedigen apps in-process, and a transport that routes requests to in-process apps by host."""

from __future__ import annotations

import asyncio
import enum
import functools
import gc
import json
import os
import shutil
import sqlite3
import threading
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, MutableMapping
from contextlib import AsyncExitStack, asynccontextmanager, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from httpx._config import create_ssl_context
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapper
from sqlalchemy.util import LRUCache
from starlette.applications import Starlette

import storage.migrate
from activitypub import signing
from fedigen.app import create_app
from fedigen.config import Settings, settings_from_mapping
from fedigen.services import Services, open_services, tune_collector
from fedigen.social import accounts, bot
from fedigen.worker import Worker
from storage import clients, signup  # noqa: F401 - the client-side tables, emptied with the rest
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Base
from tests.remote_actor import RemoteActor, RemoteServer, keypair

PG_URL = os.environ.get("FEDIGEN_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
if os.environ.get("CI") == "true" and not PG_URL:
    raise RuntimeError("CI runs the suite on PostgreSQL too: set FEDIGEN_TEST_POSTGRES_URL (see .ci/run)")
# Each pytest-xdist worker empties and refills its own database: fedigen_test_gw0, fedigen_test_gw1, ...
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if PG_URL and XDIST_WORKER:
    _shared = make_url(PG_URL)
    PG_URL = _shared.set(database=f"{_shared.database}_{XDIST_WORKER}").render_as_string(hide_password=False)
KEY_POOL = Path(__file__).parent / "support" / "key_pool.json"
FILE_SECONDS = Path(__file__).parent / "support" / "file_seconds.json"  # see pytest_collection_modifyitems
_pg_migrated = False
_sqlite_template: Path | None = None
_template_dir: Path | None = None
T = TypeVar("T")


def make_settings(
    tmp_path: Path, backend: str, url: str = "http://fedigen.test", **sections: Any
) -> Settings:
    """Settings for a test instance at ``url`` on the given database backend."""
    db_url = PG_URL if backend == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/{url.split('//')[1]}.db"
    data: dict[str, Any] = {
        "instance": {"url": url, "name": "Test"},
        "database": {"url": db_url},
        # Image work in threads for in-process instances: an image process per test worker costs the
        # pickling and a spawn after each idle minute (about 20% on the generation-heavy tests).
        # tests/storage/test_offload.py and the procedural backend's test run the processes, and every
        # real `fedigen serve` the tests start uses them (the default).
        "media": {"dir": str(tmp_path / "media"), "image_processes": 0},
        "federation": {"allow_private_addresses": True, "webfinger_scheme": url.split(":")[0]},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return settings_from_mapping(data, {}, base_dir=str(tmp_path))


async def prepare_database(settings: Settings) -> None:
    """A migrated, empty database: SQLite copies a template migrated once per session; PostgreSQL (one
    database shared by the tests of a process) is migrated once and emptied before each test."""
    if _on_postgres(settings):
        await _empty_postgres(settings.database_url)
    elif not _copy_unless_exists(await _migrated_sqlite_template(), settings.database_url):
        await _upgrade_existing(settings.database_url)


async def _upgrade_existing(url: str) -> None:
    # A restarted instance keeps its data; bring it up to date as `fedigen serve` would.
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def _copy_unless_exists(template: Path, url: str) -> bool:
    """Copy the template to the SQLite database file of ``url`` unless it exists; True if copied."""
    path = Path(str(make_url(url).database))
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return True


async def _migrated_sqlite_template() -> Path:
    """The session's migrated SQLite database, made on first use."""
    global _sqlite_template
    if _sqlite_template is None:
        assert _template_dir is not None, "the database_templates fixture sets the directory"
        path = _template_dir / "migrated.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        _one_file_in_wal_mode(path)
        _sqlite_template = path
    return _sqlite_template


def _one_file_in_wal_mode(path: Path) -> None:
    """Leave the template at ``path`` one self-contained file to copy, in WAL mode as each copy's engine
    sets it: switching a copy from a rollback journal to WAL costs 3-7 ms (it syncs the file), on every
    test's first connection."""
    # Nothing may stay in a write-ahead log beside the file: the last connection to close (this one)
    # writes the log back into it and deletes it.
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
    if Path(f"{path}-wal").exists():
        raise RuntimeError(f"{path} is still open elsewhere: its write-ahead log was not written back")


async def _empty_postgres(url: str, script: str | None = None) -> None:
    """Migrate the shared PostgreSQL database once per session, then empty its tables (``script``: the
    emptying script and what follows it, from ``_restore_script``)."""
    global _pg_migrated
    if not _pg_migrated:
        await _create_database_unless_exists(url)
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await upgrade(engine)
        finally:
            await engine.dispose()
        _pg_migrated = True
    await _on_cleaner(_delete_all(url, script or _EMPTY_SCRIPT))


# DELETE (children first) and resetting the sequences take ~2 ms on these small tables, where TRUNCATE ...
# RESTART IDENTITY takes ~30 ms; a bare asyncpg connection, without an engine's set-up queries, runs it
# as one script in one round trip. The connection is kept for the whole process, on an event loop of its
# own in a thread (each test runs on a new loop): a new connection costs a server process and, before its
# first DELETE, the loading of every table's catalog entries (~20 ms a test, measured).
_EMPTY_SCRIPT = "; ".join(f"DELETE FROM {t.name}" for t in reversed(Base.metadata.sorted_tables)) + (
    "; SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace"
    " WHERE s.relkind = 'S' AND n.nspname = current_schema()"
)
_cleaner: dict[str, asyncpg.Connection] = {}


@functools.cache
def _cleaner_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="postgres-cleaner", daemon=True).start()
    return loop


async def _on_cleaner(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` (which uses the kept connection) on the cleaner's event loop."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, _cleaner_loop()))


async def _delete_all(url: str, script: str) -> None:
    for attempt in (1, 2):
        connection = await _cleaner_connection(url)
        try:
            await connection.execute(script)
            return
        except (asyncpg.InterfaceError, asyncpg.PostgresConnectionError, OSError):
            # The kept connection was closed under it (a test's pg_terminate_backend): once on a new one.
            _cleaner.pop(url, None)
            if attempt == 2:
                raise


async def _cleaner_connection(url: str) -> asyncpg.Connection:
    connection = _cleaner.get(url)
    if connection is None or connection.is_closed():
        connection = _cleaner[url] = await asyncpg.connect(_asyncpg_dsn(make_url(url)))
    return connection


def _asyncpg_dsn(url: URL) -> str:
    """The URL of a ``postgresql+asyncpg`` engine as a DSN asyncpg itself takes."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_database_unless_exists(url: str) -> None:
    """Create the database of ``url`` (an xdist worker's own) from the server's maintenance database."""
    target = make_url(url)
    connection = await asyncpg.connect(_asyncpg_dsn(target.set(database="postgres")))
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", target.database):
            try:
                await connection.execute(f'CREATE DATABASE "{target.database}"')
            except asyncpg.DuplicateDatabaseError:  # another session made it meanwhile
                pass
    finally:
        await connection.close()


class KeyPool:
    """The pre-generated RSA key pairs of tests/support/key_pool.json, handed to accounts and fake remote
    actors instead of new ones (tens of ms each; the ``pooled_keys`` fixture).

    The keys go round in turn, so a test gets distinct keys while it draws fewer than the rotation holds
    (the most a test draws is about 30). Some are kept out of the rotation for the instance actors and
    bots that ``StartupRows`` puts in each test's database from the start: a key of theirs drawn again
    would be another account's too."""

    MIN_ROTATION = 48

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        self._rotation = keys
        self._turn = 0
        self._kept: dict[str, list[tuple[str, str]]] = {}
        self._first: list[tuple[str, str]] = []
        self.drawn = 0

    def draw(self) -> tuple[str, str]:
        self.drawn += 1
        if self._first:
            return self._first.pop(0)
        key = self._rotation[self._turn % len(self._rotation)]
        self._turn += 1
        return key

    def kept_for(self, owner: str, count: int) -> list[tuple[str, str]] | None:
        """``count`` keys for ``owner`` alone, the same ones each time, out of the rotation from the first
        asking; None when that would leave fewer than MIN_ROTATION keys in it."""
        kept = self._kept.get(owner)
        if kept is None:
            if len(self._rotation) - count < self.MIN_ROTATION:
                return None
            kept = self._kept[owner] = [self._rotation.pop() for _ in range(count)]
        return kept

    @contextmanager
    def drawing_first(self, keys: list[tuple[str, str]]) -> Iterator[None]:
        """The draws inside get ``keys`` first, in order, then keys of the rotation."""
        self._first = list(keys)
        try:
            yield
        finally:
            self._first = []


_key_pool: KeyPool | None = None  # while the pooled_keys fixture is active
# The accounts an instance's start-up creates: its instance actor and its generation bot.
STARTUP_ACCOUNTS = 2


class Prepared(enum.Enum):
    """What a test's database holds once ``StartupRows.prepare`` made it ready for an instance's start."""

    EMPTY = "migrated, no rows"
    STARTED = "the rows an earlier start of an instance set up alike committed"
    EXISTING = "what an instance of this test left in its SQLite file (a restart)"


class StartupRows:
    """The rows an instance's start-up writes (its instance actor and generation bot, each with an RSA
    key), kept after the first start of its kind and put in place with the emptied database for the later
    ones, which then skip the creation (measured, median instance set-up on a shared 2-core machine:
    SQLite 38-41 -> 17 ms, PostgreSQL 46-60 -> 28 ms, with the templates in WAL mode).

    The first start of a kind runs the creation for real (``accounts.ensure_instance_actor`` and
    ``bot.ensure_bot``) on an empty database, with keys the pool keeps out of the rotation for its host
    (two instances of one test have different hosts, so different keys). What it committed is then kept:
    on SQLite a copy of the database file, copied for the later starts instead of the migrated template;
    on PostgreSQL a script that empties the database, inserts the same rows and sets the sequences where
    they were, in the one round trip of the emptying alone. The rows depend on the instance's URL and its
    [bot] settings only (all that the creation reads); with the database they make the kind. Run again on
    them, the creation would find the rows and change nothing (tests/test_startup_rows.py checks that,
    and that the rows are those of a real start). Databases that a test prepares with
    ``prepare_database`` stay empty."""

    def __init__(self) -> None:
        self._sqlite: dict[tuple[Any, ...], Path] = {}
        self._postgres: dict[tuple[Any, ...], str] = {}

    @staticmethod
    def _kind(settings: Settings) -> tuple[Any, ...]:
        database = settings.database_url if _on_postgres(settings) else "sqlite"
        return (database, settings.base_url, settings.bot)

    async def prepare(self, settings: Settings) -> Prepared:
        """``prepare_database``, with the rows of an earlier start of the same kind when there is one."""
        kind = self._kind(settings)
        if _on_postgres(settings):
            script = self._postgres.get(kind)
            await _empty_postgres(settings.database_url, script)
            return Prepared.EMPTY if script is None else Prepared.STARTED
        template = self._sqlite.get(kind)
        if _copy_unless_exists(template or await _migrated_sqlite_template(), settings.database_url):
            return Prepared.EMPTY if template is None else Prepared.STARTED
        await _upgrade_existing(settings.database_url)
        return Prepared.EXISTING

    @asynccontextmanager
    async def creating(self, settings: Settings, prepared: Prepared) -> AsyncIterator[None]:
        """Around the start-up's creation of its accounts (committed inside): the first of its kind on an
        empty database gets the kept keys, and what it committed is kept."""
        keys = None
        if prepared is Prepared.EMPTY and _key_pool is not None:
            keys = _key_pool.kept_for(settings.host, STARTUP_ACCOUNTS)
        if keys is None:
            yield
            return
        assert _key_pool is not None
        before = _key_pool.drawn
        with _key_pool.drawing_first(keys):
            yield
        if _key_pool.drawn - before > len(keys):
            # An account of the start-up got a key of the rotation, which kept rows would hold while the
            # rotation handed it to another account too: nothing is kept.
            return
        kind = self._kind(settings)
        if _on_postgres(settings):
            self._postgres[kind] = await _on_cleaner(_restore_script(settings.database_url))
        else:
            assert _template_dir is not None, "the database_templates fixture sets the directory"
            template = _template_dir / f"started-{len(self._sqlite)}.db"
            _copy_live_sqlite(Path(str(make_url(settings.database_url).database)), template)
            self._sqlite[kind] = template


_startup_rows = StartupRows()


def _on_postgres(settings: Settings) -> bool:
    return settings.database_url.startswith("postgresql")


def _copy_live_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database that an engine has open into one file (in WAL mode)."""
    # The backup API reads one consistent state, the write-ahead log's pages included.
    with closing(sqlite3.connect(source)) as db, closing(sqlite3.connect(target)) as copy:
        db.backup(copy)
    _one_file_in_wal_mode(target)


async def _restore_script(url: str) -> str:
    """The script that empties the database, then puts back the rows it holds now and the positions of
    its sequences."""
    connection = await _cleaner_connection(url)
    tables = [t.name for t in Base.metadata.sorted_tables]  # parents first, for the foreign keys
    # Each non-empty table's rows as a statement that inserts them again, quoted by the server (%L).
    inserts = await connection.fetchrow(
        "SELECT "
        + ", ".join(
            f"(SELECT format('INSERT INTO %1$I SELECT * FROM json_populate_recordset(NULL::%1$I, %2$L)',"
            f" '{name}', json_agg(t)) FROM {name} t HAVING count(*) > 0)"
            for name in tables
        )
    )
    # Sequences never used have no last_value: the emptying script has set them back already.
    positions = await connection.fetch(
        "SELECT format('SELECT setval(%L, %s)', format('%I.%I', schemaname, sequencename), last_value)"
        " FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
    )
    statements = [insert for insert in inserts if insert is not None] + [row[0] for row in positions]
    return "; ".join([_EMPTY_SCRIPT, *statements])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-file-seconds", action="store_true",
        help="write each test file's total duration to tests/support/file_seconds.json (the order in"
        " which -n runs the files)",
    )  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With -n (--dist loadfile, --no-loadscope-reorder: the files go out in collection order), the
    files that took longest in a stored run go out first, so that no long file starts near the end
    while the other worker has nothing left (the scale-out test alone takes close to a minute). A file
    not in the store is guessed at a quarter of a second a test. The order within a file is kept."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    stored: dict[str, float] = json.loads(FILE_SECONDS.read_text()) if FILE_SECONDS.exists() else {}
    counts = Counter(_file_of(item.nodeid) for item in items)
    cost = {path: stored.get(path, 0.25 * count) for path, count in counts.items()}
    items.sort(key=lambda item: (-cost[_file_of(item.nodeid)], _file_of(item.nodeid)))


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


_file_seconds: Counter[str] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _file_seconds[_file_of(report.nodeid)] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With --store-file-seconds, the files that ran update the store (the others keep theirs)."""
    if session.config.getoption("store_file_seconds") and not os.environ.get("PYTEST_XDIST_WORKER"):
        seconds = json.loads(FILE_SECONDS.read_text()) if FILE_SECONDS.exists() else {}
        seconds.update({path: round(total, 1) for path, total in _file_seconds.items()})
        FILE_SECONDS.write_text(json.dumps(dict(sorted(seconds.items())), indent=0) + "\n", encoding="utf-8")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move everything alive after collection (the imported modules of fedigen, SQLAlchemy, Starlette,
    ... and the collected tests: about 200,000 objects) out of the collector's sight: they live until the
    process ends, and every full collection during the run would walk them again. Then the young
    generation is collected as in ``fedigen serve`` (``fedigen.services.tune_collector``): a test makes
    and drops thousands of short-lived objects, and at Python's threshold of 700 most of its young
    collections found them still alive (about 7% of a test process's CPU, measured on three API and flow
    files: 30.6 and 29.2 s of user CPU before, 27.7 and 27.5 s after)."""
    gc.collect()
    gc.freeze()
    tune_collector()


@pytest.fixture(scope="session", autouse=True)
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Where the migrated SQLite template is made (lazily, by the first test that needs a database)."""
    global _template_dir
    _template_dir = tmp_path_factory.mktemp("database-template")


async def upgrade_or_copy(engine: AsyncEngine, revision: str = "head") -> None:
    """``storage.migrate.upgrade`` for the commands run in this process (`fedigen init`, `fedigen db
    migrate`): a SQLite database with no tables yet becomes a copy of the session's migrated template
    instead of running every migration (~0.8 s each time); anything else is migrated for real."""
    database = engine.url.database
    path = Path(str(database))
    on_file = engine.url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
    if revision == "head" and on_file and _has_no_tables(path):
        await engine.dispose()  # its connections to the empty file are closed; new ones open the copy
        for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(await _migrated_sqlite_template(), path)
        return
    await upgrade(engine, revision)


def _has_no_tables(path: Path) -> bool:
    if not path.exists():
        return True
    db = sqlite3.connect(path)
    try:
        return bool(db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)
    finally:
        db.close()


@pytest.fixture(scope="session", autouse=True)
def migrations_copied(database_templates: None) -> Iterator[None]:
    """New SQLite databases of commands run in this process are copies of the template (above). Tests
    marked ``real_migrations`` (and the `fedigen serve` and `fedigen db migrate` processes, and
    tests/storage/test_migrations.py) run the migrations themselves."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(storage.migrate, "upgrade", upgrade_or_copy)
        yield


@pytest.fixture(autouse=True)
def real_migrations(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_migrations"):
        monkeypatch.setattr(storage.migrate, "upgrade", upgrade)


@pytest.fixture(scope="session", autouse=True)
def pooled_keys() -> Iterator[None]:
    """Accounts and fake remote actors take RSA keys from a pre-generated pool (KeyPool) instead of
    making one. Tests of key generation import ``generate_rsa_keypair`` directly and get real keys."""
    global _key_pool
    pool = [(key["private"], key["public"]) for key in json.loads(KEY_POOL.read_text(encoding="ascii"))]
    _key_pool = KeyPool(pool)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(signing, "generate_rsa_keypair", _key_pool.draw)
            yield
    finally:
        _key_pool = None


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Passwords are hashed with argon2id at its lowest cost (one pass over 8 KiB) instead of the
    production default (three passes over 64 MiB in four lanes, ~150 ms for each hash and each check).
    The hashes are still argon2id and carry their parameters, so a `fedigen serve` process checks
    them as cheaply; only the cost differs."""
    with pytest.MonkeyPatch.context() as patch:
        cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        patch.setattr(accounts, "_hasher", lambda: cheap)
        yield


@pytest.fixture(autouse=True)
def fresh_remote_keys() -> None:
    """Fake remote actors draw their keys in each test: tests/remote_actor.py keeps a key per name for
    the whole process, and a key kept from an earlier test could come round the pool again and be
    another actor's in this one (a "rogue" key that is bob's would sign for bob)."""
    keypair.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def shared_tls_contexts() -> Iterator[None]:
    """httpx clients made with the same TLS settings share one context. Each new context loads the CA
    bundle (~25 ms, and every in-process instance opens a client for generation backends); no test
    speaks TLS, and a context is safe to share."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("httpx._transports.default.create_ssl_context", functools.cache(create_ssl_context))
        yield


class SharedCompiledCache(MutableMapping[Any, Any]):
    """One cache of compiled SQL for every engine of the test process. SQLAlchemy keeps compiled
    statements per engine, keyed by the engine's dialect object; each test builds new engines (three or
    four per instance), so each test compiled again every statement it ran (measured: a fifth to a
    quarter of the CPU time of tests/api and tests/flows). Here the dialect in a key is replaced by its
    configuration: its class and its plain settings (paramstyle, server version, identifier lengths, ...),
    so an engine reuses what an engine configured alike compiled. The compiled statements are immutable
    once made, as SQLAlchemy's own cache relies on."""

    def __init__(self, size: int) -> None:
        self._cache: LRUCache[Any, Any] = LRUCache(size)
        self._signatures: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = weakref.WeakKeyDictionary()

    def _key(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect = key[0]
        signature = self._signatures.get(dialect)
        if signature is None:
            plain = (str, int, float, bool, tuple, type(None))
            settings = sorted((k, repr(v)) for k, v in vars(dialect).items() if isinstance(v, plain))
            signature = self._signatures[dialect] = (type(dialect), tuple(settings))
        return (signature, *key[1:])

    def __getitem__(self, key: Any) -> Any:
        return self._cache[self._key(key)]

    def get(self, key: Any, default: Any = None) -> Any:
        return self._cache.get(self._key(key), default)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._cache[self._key(key)] = value

    def __delitem__(self, key: Any) -> None:
        del self._cache[self._key(key)]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)


@pytest.fixture(scope="session", autouse=True)
def shared_compiled_sql() -> Iterator[None]:
    """Every engine made in this process uses one SharedCompiledCache (above)."""
    shared = SharedCompiledCache(20_000)

    def get(engine: Engine) -> Any:
        # An engine made with query_cache_size=0 has no cache, and keeps none.
        return None if engine.__dict__.get("_no_compiled_cache") else shared

    def set(engine: Engine, value: Any) -> None:
        engine.__dict__["_no_compiled_cache"] = value is None

    mappers: dict[Mapper[Any], SharedCompiledCache] = {}

    def mapper_cache(mapper: Mapper[Any]) -> SharedCompiledCache:
        cache = mappers.get(mapper)
        if cache is None:
            cache = mappers[mapper] = SharedCompiledCache(1_000)
        return cache

    with pytest.MonkeyPatch.context() as patch:
        # A property of the class: Engine.__init__ (and each engine with other execution options, which
        # copies its cache) sets the attribute, and every engine reads the shared cache.
        patch.setattr(Engine, "_compiled_cache", property(get, set), raising=False)
        # The ORM's flushes (INSERT, UPDATE, DELETE of mapped rows) use a cache of each mapper's own.
        patch.setattr(Mapper, "_compiled_cache", property(mapper_cache))
        yield


class HostRouter(httpx.AsyncBaseTransport):
    """Routes each request to the in-process ASGI app registered for its host (fake network)."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.requests: list[httpx.Request] = []

    def add(self, host: str, app: Any) -> None:
        self.apps[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        transport = self.apps.get(request.url.netloc.decode())
        if transport is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        return await transport.handle_async_request(request)


@dataclass
class Instance:
    """One in-process fedigen instance under test."""

    settings: Settings
    services: Services
    app: Starlette
    client: httpx.AsyncClient

    @property
    def worker(self) -> Worker:
        return Worker(self.services)

    async def drain(self, rounds: int = 10) -> None:
        """Run the worker until the queues are empty (or rounds run out): one worker for all the rounds,
        as a running worker passes over its queues again and again (a new worker each round repeated its
        housekeeping, each once an hour at most in a running worker, in every round; a new one each call
        still does it once)."""
        worker = self.worker
        for _ in range(rounds):
            if await worker.run_once() == 0:
                return

    async def create_account(self, name: str, **kwargs: Any) -> Any:
        async with self.services.sessions() as session, session.begin():
            return await accounts.create_account(session, self.services.urls, name, **kwargs)


@asynccontextmanager
async def start_instance(settings: Settings, router: HostRouter) -> AsyncIterator[Instance]:
    """Migrate, open services whose HTTP client goes through ``router``, create the instance actor and
    the bot as `fedigen init` does unless the database has them from the start (StartupRows), and
    register the app on the router."""
    prepared = await _startup_rows.prepare(settings)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(transport=router, timeout=10))
        svc = await stack.enter_async_context(open_services(settings, http=http))
        if prepared is not Prepared.STARTED:
            async with _startup_rows.creating(settings, prepared):
                async with svc.sessions() as session, session.begin():
                    await accounts.ensure_instance_actor(session, svc.urls)
                    await bot.ensure_bot(session, svc.settings, svc.urls)
        if svc.signer.auth.key is None:  # open_services found no instance actor yet
            await svc.signer.load()
        app = create_app(settings, run_worker=False, services=svc)
        await stack.enter_async_context(app.router.lifespan_context(app))
        router.add(settings.host, app)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.base_url)
        )
        yield Instance(settings, svc, app, client)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def router() -> HostRouter:
    return HostRouter()


@pytest.fixture
async def instance(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    async with start_instance(make_settings(tmp_path, backend), router) as inst:
        yield inst


@pytest.fixture
def make_instance(tmp_path: Path, router: HostRouter) -> Callable[..., Any]:
    """Start further instances (always SQLite) on other hosts of the same fake network."""

    async def factory(stack: AsyncExitStack, url: str, **sections: Any) -> Instance:
        return await stack.enter_async_context(
            start_instance(make_settings(tmp_path, "sqlite", url, **sections), router)
        )

    return factory


@pytest.fixture
def remote(router: HostRouter) -> RemoteServer:
    """A fake Mastodon-like server at remote.test on the fake network."""
    server = RemoteServer("remote.test")
    router.add(server.host, server.app)
    return server


@pytest.fixture
def bob(remote: RemoteServer) -> RemoteActor:
    return remote.add_actor("bob")


@pytest.fixture
def carol(remote: RemoteServer) -> RemoteActor:
    return remote.add_actor("carol")
