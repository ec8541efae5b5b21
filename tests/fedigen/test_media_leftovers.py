"""What writes and prunes killed half-way leave in the media and upload folders (hidden, so never
listed) is swept by `fedigen media prune --orphans` and by the worker, once older than its grace period;
a file a killed prune moved aside goes back under its key, and goes for good only as an orphan, once
the rows have been read (the storage side: tests/storage/test_media_leftovers.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fedigen.social import upkeep
from storage.attachments import ingest
from storage.media import LocalMediaStore
from storage.media_leftovers import LEFTOVER_GRACE
from storage.models import utcnow
from tests.conftest import Instance
from tests.generation.standins import png
from tests.storage.test_media_leftovers import files, killed_prune, killed_write


async def test_the_orphan_prune_sweeps_what_killed_writes_and_prunes_left(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = instance.services
    store = svc.media.store
    assert isinstance(store, LocalMediaStore)
    alice = await instance.create_account("alice")
    async with svc.sessions() as session, session.begin():
        upload = await ingest(session, svc.media, png(40, 40, (200, 10, 10)), account_id=alice.id)
    named = upload.original_key
    orphan = await store.aput(b"stored, and its row never committed", "jpg")
    # Both were being pruned when the prune was killed: the named one, say, because it had just been
    # stored again (its time refreshed) when the prune looked; the prune never got to check it again.
    killed_prune(store, named, monkeypatch)
    killed_prune(store, orphan, monkeypatch)
    temp = killed_write(store, orphan[:2])
    later = utcnow() + LEFTOVER_GRACE + timedelta(minutes=1)

    first = await upkeep.prune_orphans(svc, 1)
    assert temp.exists() and not store.exists(named)  # all just left: kept for now
    result = await upkeep.prune_orphans(svc, 1, now=later)
    assert not [name for name in files(store) if name.split("/")[-1].startswith(".")]
    # Back under its key, the named file stays; the orphan goes with the orphans.
    assert store.exists(named) and not store.exists(orphan)
    assert (first.leftovers.files, first.restored) == (0, 0)
    assert (result.leftovers.files, result.restored, result.freed.files) == (1, 2, 1)


async def test_a_dry_run_of_the_orphan_prune_counts_leftovers_only(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = instance.services.media.store
    assert isinstance(store, LocalMediaStore)
    key = await store.aput(b"pruned when the prune was killed", "png")
    killed_prune(store, key, monkeypatch)
    killed_write(store)
    before = files(store)
    result = await upkeep.prune_orphans(instance.services, 1, dry_run=True, now=utcnow() + timedelta(hours=2))
    assert (result.leftovers.files, result.restored) == (1, 1) and files(store) == before
    assert result.as_dict()["leftovers"]["files"] == 1 and result.as_dict()["restored"] == 1


async def test_the_worker_sweeps_the_media_and_upload_folders(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = instance.services
    store, uploads = svc.media.store, svc.media.uploads
    assert isinstance(store, LocalMediaStore) and isinstance(uploads, LocalMediaStore)
    temp = killed_write(store)
    raw = await uploads.aput(b"an upload its prune was killed over", "jpg")
    aside = killed_prune(uploads, raw, monkeypatch)
    later = utcnow() + LEFTOVER_GRACE + timedelta(minutes=1)
    worker = instance.worker

    assert await worker.sweep_media_leftovers(force=True) == 0  # a write or prune may be at work on them
    assert temp.exists() and aside.exists()
    assert await worker.sweep_media_leftovers(force=True, now=later) == 2
    assert not temp.exists() and not aside.exists() and uploads.exists(raw)
    again = killed_write(store)
    assert await worker.sweep_media_leftovers(now=later + timedelta(hours=1)) == 0  # not due yet
    assert again.exists()
