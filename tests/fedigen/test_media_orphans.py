"""`fedigen media prune --orphans`: files of the media store no row names are removed once older than the
grace period, never a file any row names (every kind of them), never a recent one; on a real database
(SQLite and PostgreSQL) and the local store here, on a bucket in tests/fedigen/test_media_s3.py."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fedigen.social import upkeep
from fedigen.social.media import media_url
from fedigen.social.media_keys import key_in_url
from fedigen.social.profiles import ProfileChanges, update_profile
from storage.attachments import ingest
from storage.media import LocalMediaStore, media_key
from storage.models import Actor, GenerationJob, MediaAttachment, Status
from tests.conftest import Instance
from tests.fedigen.test_upkeep import OLD, avatar_copy, emoji_copy, keys_of, remote_actor
from tests.generation.standins import png
from tests.support.server import FedigenServer

LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def cli(tmp_path: Path) -> FedigenServer:
    server = FedigenServer(tmp_path)
    server.cli("init", "--url", server.base_url, "--admin", "admin")
    return server


def age_everything(store: LocalMediaStore, *, but: frozenset[str] = frozenset()) -> None:
    """Set every stored file's modification time far in the past (except ``but``)."""
    for key in store.keys():
        if key not in but:
            os.utime(store.path(key), (LONG_AGO, LONG_AGO))


async def test_orphans_go_after_the_grace_period_and_named_files_of_every_kind_stay(
    instance: Instance,
) -> None:
    svc = instance.services
    store = svc.media.store
    assert isinstance(store, LocalMediaStore)
    alice = await instance.create_account("alice")
    named: dict[str, set[str]] = {}
    async with svc.sessions() as session, session.begin():
        upload = await ingest(session, svc.media, png(40, 40, (200, 10, 10)), account_id=alice.id)
        job = GenerationJob(account_id=alice.id, requester_id=alice.id, prompt="a lighthouse",
                            backend="procedural", width=64, height=64)  # fmt: skip
        session.add(job)
        await session.flush()
        made = png(64, 64, (10, 200, 10))
        generated = await ingest(session, svc.media, made, account_id=alice.id, job_id=job.id,
                                 ai_generated=True, generation={"prompt": "a lighthouse"})  # fmt: skip
    named["upload"], named["generated"] = set(keys_of(upload)), set(keys_of(generated))
    async with svc.sessions() as session, session.begin():
        me = await session.get(Actor, alice.id)
        assert me is not None
        changes = ProfileChanges(avatar=png(48, 48, (1, 1, 200)), header=png(90, 30, (90, 1, 90)))
        await update_profile(svc, session, me, changes)
        profile = list(
            await session.scalars(select(MediaAttachment).where(MediaAttachment.state == "profile"))
        )
    named["avatar and header"] = {k for row in profile for k in keys_of(row)}
    assert (
        len(profile) == 2
        and {key_in_url(me.icon_url), key_in_url(me.image_url)} <= named["avatar and header"]
    )
    stranger = await remote_actor(instance, "stranger", "https://remote.test/a/stranger.png")
    copy = await avatar_copy(instance, stranger, str(stranger.icon_url), png(32, 32, (7, 8, 9)), OLD)
    named["remote avatar copy"] = set(keys_of(copy))
    emoji = await emoji_copy(instance, "blob", png(16, 16, (0, 0, 255)), OLD)
    named["emoji"] = {str(emoji.image_key), str(emoji.static_key)}
    # Named by URL alone (no media row): a local post's attachment and a local account's avatar.
    by_post, by_icon = await store.aput(b"post image", "png"), await store.aput(b"avatar image", "jpg")
    bob = await instance.create_account("bob")
    async with svc.sessions() as session, session.begin():
        session.add(Status(ap_id="https://local.test/statuses/x", actor_id=bob.id, local=True,
                           attachments=[{"type": "Image", "url": media_url(svc, by_post)}]))  # fmt: skip
        bob_row = await session.get(Actor, bob.id)
        assert bob_row is not None
        bob_row.icon_url = media_url(svc, by_icon) + "?v=2"
    named["by url"] = {by_post, by_icon}
    assert all(named.values()), named

    old_orphan = await store.aput(b"a file whose row never committed", "jpg")
    fresh_orphan = await store.aput(b"a file whose row is about to commit", "webp")
    age_everything(store, but=frozenset({fresh_orphan}))
    every_named = set().union(*named.values())
    assert set(store.keys()) == every_named | {old_orphan, fresh_orphan}
    usage = await upkeep.media_usage(svc)
    assert usage.unreferenced.files == 2 and usage.missing == 0
    assert usage.unreferenced.bytes == store.keys()[old_orphan] + store.keys()[fresh_orphan]

    before = store.listing()
    dry = await upkeep.prune_orphans(svc, 1, dry_run=True)
    assert dry.dry_run and dry.hours == 1
    assert dry.freed.as_dict() == {"files": 1, "bytes": before[old_orphan].size}
    assert dry.recent.as_dict() == {"files": 1, "bytes": before[fresh_orphan].size}
    assert store.listing() == before  # nothing removed, nothing touched

    done = await upkeep.prune_orphans(svc, 1)
    assert done.freed.as_dict() == dry.freed.as_dict() and done.recent.files == 1
    assert set(store.keys()) == every_named | {fresh_orphan}
    for kind, keys in named.items():
        assert all(store.exists(k) for k in keys), kind
    again = await upkeep.prune_orphans(svc, 1)
    assert again.freed.files == 0 and again.recent.files == 1
    # A day later the fresh one is an orphan past its grace period too.
    later = await upkeep.prune_orphans(svc, 24, now=datetime.now(UTC) + timedelta(days=2))
    assert later.freed.files == 1 and set(store.keys()) == every_named
    after = await upkeep.media_usage(svc)
    assert after.unreferenced.files == 0 and after.missing == 0


async def test_bytes_stored_again_count_as_new(instance: Instance) -> None:
    """An orphan whose bytes are stored again (a retried upload: the same key) is about to be named: its
    time is refreshed, so the grace period starts over."""
    store = instance.services.media.store
    assert isinstance(store, LocalMediaStore)
    key = await store.aput(b"uploaded twice", "png")
    age_everything(store)
    assert await store.aput(b"uploaded twice", "png") == key
    result = await upkeep.prune_orphans(instance.services, 1)
    assert result.freed.files == 0 and result.recent.files == 1 and store.exists(key)


@pytest.mark.parametrize("hours", [0, -1, upkeep.MAX_ORPHAN_HOURS + 1])
async def test_grace_periods_out_of_range_are_refused(instance: Instance, hours: int) -> None:
    with pytest.raises(ValueError, match="--orphan-hours must be from 1 to"):
        await upkeep.prune_orphans(instance.services, hours)


def test_the_command_reports_prunes_and_refuses_bad_hours(cli: FedigenServer, tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "data" / "media")
    old = store.put(b"left by a crash", "jpg")
    fresh = store.put(b"just written", "png")
    os.utime(store.path(old), (LONG_AGO, LONG_AGO))
    assert set(store.keys()) == {old, fresh}  # the instance's own media directory
    size = store.keys()[old]

    plain = json.loads(cli.cli("media", "prune", "--json").stdout)
    assert "orphans" not in plain and set(store.keys()) == {old, fresh}  # without --orphans: as before
    dry = cli.cli("media", "prune", "--orphans", "--dry-run").stdout.splitlines()
    assert dry[0].startswith("dry run: 0 avatar copies")
    assert dry[1] == (f"dry run: orphans (files no row names) older than 24 hours: would free 1 files, "
                      f"{size} B ({size} bytes); 1 newer files kept (grace period)")  # fmt: skip
    shape = json.loads(
        cli.cli("media", "prune", "--orphans", "--orphan-hours", "2", "--dry-run", "--json").stdout
    )
    assert shape["dry_run"] is True and shape["freed"] == {"files": 0, "bytes": 0}
    orphans = shape["orphans"]
    assert set(orphans) == {"orphan_hours", "cutoff", "freed", "kept_recent", "leftovers", "restored"}
    assert orphans["orphan_hours"] == 2 and orphans["leftovers"] == {"files": 0, "bytes": 0}
    assert orphans["freed"] == {"files": 1, "bytes": size} and orphans["kept_recent"]["files"] == 1
    assert datetime.fromisoformat(orphans["cutoff"]) < datetime.now(UTC) - timedelta(hours=1, minutes=59)
    assert set(store.keys()) == {old, fresh}

    for bad, message in (
        (["--orphans", "--orphan-hours", "0"], "--orphan-hours must be from 1 to"),
        (["--orphans", "--orphan-hours", "-3"], "--orphan-hours must be from 1 to"),
        (["--orphans", "--orphan-hours", "99999999999"], "--orphan-hours must be from 1 to"),
        (["--orphans", "--orphan-hours", "1.5"], "--orphan-hours must be a whole number of hours"),
        (["--orphans", "--orphan-hours", "soon"], "--orphan-hours must be a whole number of hours"),
        (["--orphan-hours", "3"], "--orphan-hours goes with --orphans"),
    ):
        proc = cli.cli("media", "prune", *bad, check=False)
        assert proc.returncode == 1 and proc.stderr == f"fedigen: {proc.stderr[9:]}", proc
        assert proc.stderr.startswith(f"fedigen: {message}") and len(proc.stderr.splitlines()) == 1
    assert set(store.keys()) == {old, fresh}

    done = json.loads(cli.cli("media", "prune", "--orphans", "--json").stdout)
    assert done["dry_run"] is False and done["orphans"]["freed"] == {"files": 1, "bytes": size}
    assert set(store.keys()) == {fresh}
    text = cli.cli("media", "prune", "--orphans", "--orphan-hours", "1").stdout.splitlines()
    assert text[1] == ("orphans (files no row names) older than 1 hours: freed 0 files, 0 B (0 bytes); "
                       "1 newer files kept (grace period)")  # fmt: skip
    assert media_key(b"just written", "png") == fresh and set(store.keys()) == {fresh}


async def test_refused_when_the_uploads_share_the_media_store(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting uploads are named by their row's meta, not a key column: sharing the folder, every one
    would look orphaned."""
    svc = instance.services
    waiting = await svc.media.store.aput(b"an upload waiting for the pipeline", "jpg")
    age_everything(svc.media.store)  # type: ignore[arg-type]
    monkeypatch.setattr(svc, "media", replace(svc.media, uploads=svc.media.store))
    with pytest.raises(ValueError, match="the uploads share the media store"):
        await upkeep.prune_orphans(svc, 1)
    assert svc.media.store.exists(waiting)


async def test_deleting_an_account_keeps_a_file_an_emoji_copy_shares(instance: Instance) -> None:
    """Files are named by their content: an emoji copied from another server may be the very bytes
    someone uploaded. Deleting the uploader's media keeps the file the emoji still shows."""
    from fedigen.social import accounts

    svc = instance.services
    alice = await instance.create_account("alice")
    data = png(32, 32, (9, 99, 199))
    async with svc.sessions() as session, session.begin():
        upload = await ingest(session, svc.media, data, account_id=alice.id)
        only_alice = (
            await ingest(session, svc.media, png(33, 33, (1, 2, 3)), account_id=alice.id)
        ).original_key
    emoji = await emoji_copy(
        instance, "same", (await svc.media.store.aread(upload.original_key)), timedelta(0)
    )
    assert emoji.image_key == upload.original_key
    async with svc.sessions() as session, session.begin():
        await session.execute(
            MediaAttachment.__table__.delete().where(MediaAttachment.account_id == alice.id)
        )
    async with svc.reads() as session:
        removed = await accounts.remove_media_files(svc, session, [upload.original_key, only_alice])
    assert removed == 1
    assert await svc.media.store.aexists(emoji.image_key)
    assert not await svc.media.store.aexists(only_alice)
