"""`fedigen media prune|usage`, `fedigen stats` and `fedigen db backup`: the use-cases on a real database
and media store, then the commands as an operator runs them (errors one line, non-zero exits)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from fedigen.social import account_moderation, upkeep
from fedigen.social import emoji as emojis
from fedigen.social.media import avatar_url, cache_remote_avatars
from fedigen.social.roles import Role
from storage.attachments import ingest
from storage.models import (
    Actor,
    CustomEmoji,
    Delivery,
    Follow,
    GenerationJob,
    MediaAttachment,
    Status,
    StatusEmoji,
    utcnow,
)
from storage.signup import Signup
from storage.vocabulary import FollowState
from tests.conftest import Instance
from tests.generation.standins import png
from tests.support.server import FedigenServer

OLD = timedelta(days=30)


async def remote_actor(inst: Instance, name: str, icon: str | None) -> Actor:
    async with inst.services.sessions() as session, session.begin():
        actor = Actor(
            ap_id=f"https://remote.test/users/{name}", username=name, domain="remote.test", icon_url=icon,
            inbox_url=f"https://remote.test/users/{name}/inbox",
        )  # fmt: skip
        session.add(actor)
    return actor


async def avatar_copy(inst: Instance, actor: Actor, url: str, data: bytes, age: timedelta) -> MediaAttachment:
    async with inst.services.sessions() as session, session.begin():
        row = await ingest(session, inst.services.media, data, account_id=actor.id, remote_url=url)
        row.created_at = utcnow() - age
    return row


async def emoji_copy(inst: Instance, code: str, data: bytes, age: timedelta) -> CustomEmoji:
    store = inst.services.media.store
    async with inst.services.sessions() as session, session.begin():
        row = CustomEmoji(
            shortcode=code, domain="remote.test", remote_url=f"https://remote.test/emoji/{code}.png",
            state="ready", image_key=await store.aput(data, "png"),
            static_key=await store.aput(data + b"static", "png"), media_type="image/png",
            fetched_at=utcnow() - age,
        )  # fmt: skip
        session.add(row)
    return row


def keys_of(row: MediaAttachment) -> list[str]:
    return [k for k in (row.original_key, row.federation_key, row.thumbnail_key) if k]


async def test_prune_removes_old_unfollowed_copies_and_never_local_media(instance: Instance) -> None:
    svc = instance.services
    store = svc.media.store
    alice = await instance.create_account("alice")
    local_bytes = png(64, 64, (200, 10, 10))
    async with svc.sessions() as session, session.begin():
        local = await ingest(session, svc.media, local_bytes, account_id=alice.id)
        local.created_at = utcnow() - OLD * 10  # however old, local media stays

    stranger = await remote_actor(instance, "stranger", "https://remote.test/a/stranger.png")
    friend = await remote_actor(instance, "friend", "https://remote.test/a/friend.png")
    newcomer = await remote_actor(instance, "newcomer", "https://remote.test/a/newcomer.png")
    twin = await remote_actor(instance, "twin", "https://remote.test/a/twin.png")
    changed = await remote_actor(instance, "changed", "https://remote.test/a/changed-new.png")
    async with svc.sessions() as session, session.begin():
        session.add(Follow(follower_id=alice.id, followee_id=friend.id, state=FollowState.ACCEPTED))
    stranger_copy = await avatar_copy(instance, stranger, str(stranger.icon_url), png(64, 64, (1, 2, 3)), OLD)
    friend_copy = await avatar_copy(instance, friend, str(friend.icon_url), png(64, 64, (4, 5, 6)), OLD)
    newcomer_copy = await avatar_copy(
        instance, newcomer, str(newcomer.icon_url), png(64, 64, (7, 8, 9)), timedelta(0)
    )
    # The same bytes as alice's upload: one file, which must stay.
    twin_copy = await avatar_copy(instance, twin, str(twin.icon_url), local_bytes, OLD)
    # A copy of an avatar the account no longer uses (it follows alice: pruned all the same).
    async with svc.sessions() as session, session.begin():
        session.add(Follow(follower_id=changed.id, followee_id=alice.id, state=FollowState.ACCEPTED))
    stale_copy = await avatar_copy(
        instance, changed, "https://remote.test/a/changed-old.png", png(64, 64, (9, 9, 9)), OLD
    )

    unused = await emoji_copy(instance, "unused", png(16, 16, (0, 0, 255)), OLD)
    in_use = await emoji_copy(instance, "in_use", png(16, 16, (0, 255, 0)), OLD)
    fresh = await emoji_copy(instance, "fresh", png(16, 16, (255, 0, 255)), timedelta(0))
    async with svc.sessions() as session, session.begin():
        post = Status(
            ap_id="https://remote.test/notes/1", actor_id=stranger.id, local=False, content=":in_use:"
        )
        session.add(post)
        await session.flush()
        session.add(StatusEmoji(status_id=post.id, emoji_id=in_use.id))

    doomed = [*keys_of(stranger_copy), *keys_of(stale_copy), str(unused.image_key), str(unused.static_key)]
    doomed_bytes = sum(store.path(k).stat().st_size for k in set(doomed))
    kept = [
        *keys_of(local), *keys_of(friend_copy), *keys_of(newcomer_copy), *keys_of(twin_copy),
        str(in_use.image_key), str(fresh.image_key),
    ]  # fmt: skip

    usage_before = await upkeep.media_usage(svc)
    assert usage_before.kinds[upkeep.LOCAL_ORIGINALS].files == 1
    assert usage_before.kinds[upkeep.LOCAL_VARIANTS].files == len(set(keys_of(local))) - 1
    # twin's copy shares alice's files: counted once, as hers.
    remote_keys = {k for r in (stranger_copy, friend_copy, newcomer_copy, stale_copy) for k in keys_of(r)}
    assert usage_before.kinds[upkeep.REMOTE_AVATARS].files == len(remote_keys)
    assert usage_before.kinds[upkeep.EMOJI].files == 6
    assert usage_before.missing == 0 and usage_before.unreferenced.files == 0

    dry = await upkeep.prune_media(svc, 7, dry_run=True)
    assert (dry.avatars, dry.emojis) == (3, 1)
    assert dry.freed.files == len(set(doomed)) and dry.freed.bytes == doomed_bytes
    assert all(store.exists(k) for k in doomed)  # a dry run touches nothing
    async with svc.reads() as session:
        assert await session.scalar(select(CustomEmoji.state).where(CustomEmoji.id == unused.id)) == "ready"
        assert await session.get(MediaAttachment, stale_copy.id) is not None

    done = await upkeep.prune_media(svc, 7)
    assert (done.avatars, done.emojis) == (3, 1)
    assert done.freed.files == len(set(doomed)) and done.freed.bytes == doomed_bytes
    assert done.shared == len(set(keys_of(twin_copy)))
    assert not any(store.exists(k) for k in doomed)
    assert all(store.exists(k) for k in kept)
    async with svc.sessions() as session:
        pruned = await session.get(MediaAttachment, stranger_copy.id)
        assert pruned is not None and pruned.state == "pruned" and pruned.original_key is None
        assert await session.get(MediaAttachment, stale_copy.id) is None
        assert (await session.get(MediaAttachment, friend_copy.id)).state == "ready"  # type: ignore[union-attr]
        assert (await session.get(MediaAttachment, local.id)).original_key == local.original_key  # type: ignore[union-attr]
        # A pruned avatar is shown from its server, and the worker does not fetch it again.
        assert await avatar_url(svc, session, stranger) == stranger.icon_url
        unused_row = await session.get(CustomEmoji, unused.id)
        assert unused_row is not None and unused_row.state == "pruned"
        image = emojis.image_of(svc, unused_row)
        assert image is not None and image.url == unused.remote_url and not image.cached
        assert (await session.get(CustomEmoji, in_use.id)).state == "ready"  # type: ignore[union-attr]
    # Only the avatar never copied ("changed"'s new one) is fetched, not the pruned one.
    requests = instance.services.http._transport.requests  # type: ignore[attr-defined]
    seen = len(requests)
    assert await cache_remote_avatars(svc) == 1
    assert [str(r.url) for r in requests[seen:]] == [changed.icon_url]

    again = await upkeep.prune_media(svc, 7)
    assert (again.avatars, again.emojis, again.freed.files) == (0, 0, 0)
    after = await upkeep.media_usage(svc)
    assert after.total.bytes == usage_before.total.bytes - doomed_bytes
    for days in (0, 10**9):
        with pytest.raises(ValueError, match="from 1 to 36500"):
            await upkeep.prune_media(svc, days)


async def test_stats_count_users_posts_domains_and_queues(instance: Instance) -> None:
    svc = instance.services
    alice = await instance.create_account("alice")
    await instance.create_account("mod", role=Role.MODERATOR)
    bob = await remote_actor(instance, "bob", None)
    async with svc.sessions() as session, session.begin():
        session.add(Actor(ap_id="https://other.test/u/x", username="x", domain="other.test"))
        session.add(Status(ap_id="https://local/1", actor_id=alice.id, local=True))
        session.add(Status(ap_id="https://remote.test/n/1", actor_id=bob.id))
        session.add(Status(ap_id="https://remote.test/n/2", actor_id=bob.id))
    async with svc.sessions() as session, session.begin():
        session.add(GenerationJob(account_id=alice.id, requester_id=alice.id, prompt="a", backend="x",
                                  width=8, height=8))  # fmt: skip
        await session.flush()
        await session.execute(update(GenerationJob).values(state="failed"))
        session.add(GenerationJob(account_id=alice.id, requester_id=alice.id, prompt="b", backend="x",
                                  width=8, height=8))  # fmt: skip
    numbers = await upkeep.instance_stats(svc)
    # fedigen's own bot account is a local user as well.
    assert numbers["users"]["by_role"]["moderator"] == 1
    assert numbers["users"]["by_role"]["member"] == numbers["users"]["total"] - 1
    assert numbers["users"]["by_state"] == {"active": numbers["users"]["total"]}
    assert numbers["statuses"]["local"] >= 1 and numbers["statuses"]["remote"] == 2
    assert numbers["domains"]["known"] == 2
    assert numbers["queues"]["generation_jobs"] == {"failed": 1, "queued": 1}
    assert numbers["queues"]["deliveries"] == {}
    assert numbers["database"]["bytes"] > 0
    assert Delivery.__tablename__ in numbers["queues"]


@pytest.fixture
def cli(tmp_path: Path) -> FedigenServer:
    server = FedigenServer(tmp_path)
    server.cli("init", "--url", server.base_url, "--admin", "admin")
    return server


def test_commands_report_and_refuse_bad_input(cli: FedigenServer) -> None:
    stats = json.loads(cli.cli("stats", "--json").stdout)
    assert stats["users"]["by_role"]["owner"] == 1 and stats["database"]["dialect"] == "sqlite"
    text = cli.cli("stats").stdout
    assert "users:" in text and "queue inbox_items:" in text and "database: sqlite" in text
    usage = cli.cli("media", "usage").stdout
    assert "local originals:" in usage and "emoji copies:" in usage and "total:" in usage
    assert "dry run: 0 avatar copies" in cli.cli("media", "prune", "--dry-run").stdout
    assert json.loads(cli.cli("media", "prune", "--days", "3", "--json").stdout)["freed"]["files"] == 0
    for bad in (["--days", "0"], ["--days", "-2"], ["--days", "soon"], ["--days", "99999999999"]):
        proc = cli.cli("media", "prune", *bad, check=False)
        assert (
            proc.returncode == 1
            and proc.stderr.startswith("fedigen: --days")
            and len(proc.stderr.splitlines()) == 1
        )


def test_backup_and_restore(cli: FedigenServer, tmp_path: Path) -> None:
    backup = tmp_path / "backups" / "fedigen.db"
    missing_dir = cli.cli("db", "backup", str(backup), check=False)
    assert missing_dir.returncode == 1 and "no directory" in missing_dir.stderr
    backup.parent.mkdir()
    cli.cli("account", "create", "carol", "--password-stdin", stdin="a long password\n")
    out = cli.cli("db", "backup", str(backup)).stdout
    assert "backed up" in out and backup.stat().st_mode & 0o077 == 0
    exists = cli.cli("db", "backup", str(backup), check=False)
    assert exists.returncode == 1 and "exists" in exists.stderr
    assert cli.cli("db", "backup", str(backup), "--force").returncode == 0

    # Changes after the backup, then the restore of docs/operating.md: stop, copy back, start.
    cli.cli("account", "create", "dave", "--password-stdin", stdin="a long password\n")
    database = cli.directory / "data" / "fedigen.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, database)
    listed = cli.cli("account", "list").stdout
    assert "@carol@" in listed and "@admin@" in listed and "@dave@" not in listed
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert cli.cli("db", "migrate").returncode == 0

    cli.config.write_text(cli.config.read_text().replace("sqlite+aiosqlite:///data/fedigen.db",
                                                         "postgresql+asyncpg://u@127.0.0.1:1/x"))  # fmt: skip
    pg = cli.cli("db", "backup", str(tmp_path / "x.db"), check=False)
    assert pg.returncode == 1 and "pg_dump" in pg.stderr


def test_backup_while_serving_includes_what_is_in_the_write_ahead_log(tmp_path: Path) -> None:
    with FedigenServer(tmp_path) as server:
        server.cli("account", "create", "erin", "--password-stdin", stdin="a long password\n")
        database = server.directory / "data" / "fedigen.db"
        assert Path(f"{database}-wal").exists()  # the running server keeps the log open
        backup = tmp_path / "online.db"
        server.cli("db", "backup", str(backup))
        with sqlite3.connect(backup) as db:
            assert db.execute("SELECT 1 FROM actors WHERE username = 'erin' AND domain IS NULL").fetchone()
            assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert not Path(f"{backup}-wal").exists()


async def test_stats_count_users_by_state_pending_suspended_disabled(instance: Instance) -> None:
    svc = instance.services
    before = (await upkeep.instance_stats(svc))["users"]
    for name in ("sus", "dis", "unconfirmed", "unapproved", "welcomed"):
        await instance.create_account(name)
    async with svc.sessions() as session, session.begin():
        people = {a.username: a for a in await session.scalars(select(Actor).where(Actor.domain.is_(None)))}
        await account_moderation.act(svc, session, people["sus"], "suspend")
        await account_moderation.act(svc, session, people["dis"], "disable")
        now = utcnow()
        session.add(Signup(actor_id=people["unconfirmed"].id, approved_at=now))
        session.add(Signup(actor_id=people["unapproved"].id, confirmed_at=now))
        session.add(Signup(actor_id=people["welcomed"].id, confirmed_at=now, approved_at=now))
        # A suspended sign-up that was never approved counts once, as suspended.
        session.add(Signup(actor_id=people["sus"].id))
    users = (await upkeep.instance_stats(svc))["users"]
    assert users["total"] == before["total"] + 5
    assert users["by_state"] == {
        "active": before["by_state"]["active"] + 1, "disabled": 1, "pending": 2, "suspended": 1,
    }  # fmt: skip
