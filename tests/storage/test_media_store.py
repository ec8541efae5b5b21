"""The content-addressed media store: stable keys, atomic idempotent writes, strict key validation, and
the modification times the orphan prune goes by."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import MediaError
from storage.image_decoding import ALLOWED_TYPES
from storage.images import EXT_BY_MEDIA_TYPE
from storage.media import MEDIA_TYPES_BY_EXT, media_key
from storage.media import LocalMediaStore as MediaStore

DATA = b"\xff\xd8\xff not really a jpeg, the store does not care"
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def test_put_names_the_file_by_its_hash_and_reads_it_back(store: MediaStore) -> None:
    key = store.put(DATA, "jpg")
    assert key == f"{DIGEST[:2]}/{DIGEST}.jpg" == media_key(DATA, "jpg")
    assert store.path(key) == store.root / DIGEST[:2] / f"{DIGEST}.jpg"
    assert store.exists(key)
    assert store.read(key) == DATA
    assert stat.S_IMODE(store.path(key).stat().st_mode) == 0o644  # public, servable by another user


def test_put_is_idempotent_and_leaves_no_temporary_files(store: MediaStore) -> None:
    first = store.put(DATA, "jpg")
    assert store.put(DATA, "jpg") == first
    assert store.put(DATA, "png") != first  # the extension is part of the key
    files = sorted(p.name for p in store.root.rglob("*") if p.is_file())
    assert files == sorted([f"{DIGEST}.jpg", f"{DIGEST}.png"])


def test_delete_removes_and_tolerates_missing(store: MediaStore) -> None:
    key = store.put(DATA, "webp")
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # missing is fine
    with pytest.raises(MediaError):
        store.read(key)


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "/etc/passwd",
        f"/{DIGEST[:2]}/{DIGEST}.jpg",  # absolute
        f"{DIGEST[:2]}/../{DIGEST}.jpg",
        f"../{DIGEST[:2]}/{DIGEST}.jpg",
        f"{DIGEST[:2]}/{DIGEST[:-1]}.jpg",  # one hex digit short
        f"{DIGEST[:2]}/{DIGEST}0.jpg",  # one too many
        f"{DIGEST[:2]}/{DIGEST.upper()}.jpg",  # only lower-case hex
        f"{DIGEST[:2]}/{'g' * 64}.jpg",  # not hex
        f"{'ff' if DIGEST[:2] != 'ff' else 'ee'}/{DIGEST}.jpg",  # prefix not the hash's first two digits
        f"{DIGEST[:2]}/{DIGEST}.exe",  # unknown extension
        f"{DIGEST[:2]}/{DIGEST}.jpg/",
        f"{DIGEST[:2]}/{DIGEST}.jpg\n",
        f"{DIGEST[:2]}\\{DIGEST}.jpg",
        f"{DIGEST}.jpg",
        "",
    ],
)
def test_malformed_keys_are_refused_everywhere(store: MediaStore, key: str) -> None:
    for operation in (store.path, store.exists, store.read, store.delete):
        with pytest.raises(MediaError):
            operation(key)


def test_unknown_extensions_are_refused_on_put(store: MediaStore) -> None:
    for ext in ("exe", "svg", "JPG", ".jpg", "jpg/../x", ""):
        with pytest.raises(MediaError):
            store.put(DATA, ext)
    assert not store.root.exists()  # nothing written


def test_every_variant_extension_is_servable_with_its_type() -> None:
    assert set(EXT_BY_MEDIA_TYPE) == set(ALLOWED_TYPES.values())
    for media_type, ext in EXT_BY_MEDIA_TYPE.items():
        assert MEDIA_TYPES_BY_EXT[ext] == media_type


async def test_async_wrappers(store: MediaStore) -> None:
    key = await store.aput(DATA, "gif")
    assert await store.aread(key) == DATA
    await store.adelete(key)
    assert not store.exists(key)


def test_listing_gives_size_and_modification_time(store: MediaStore) -> None:
    key = store.put(DATA, "jpg")
    os.utime(store.path(key), (1_000_000_000, 1_000_000_000))
    (store.root / DIGEST[:2] / ".left.tmp").write_bytes(b"partial")
    listing = store.listing()
    assert set(listing) == {key} and store.keys() == {key: len(DATA)}
    assert listing[key].size == len(DATA)
    assert listing[key].modified == datetime.fromtimestamp(1_000_000_000, UTC)


def test_storing_bytes_that_are_there_refreshes_their_time(store: MediaStore) -> None:
    key = store.put(DATA, "jpg")
    os.utime(store.path(key), (1_000_000_000, 1_000_000_000))
    assert store.put(DATA, "jpg") == key
    assert store.listing()[key].modified > datetime.now(UTC) - timedelta(minutes=1)


def test_delete_older_removes_only_what_was_written_before(store: MediaStore) -> None:
    old, fresh = store.put(DATA, "jpg"), store.put(DATA, "png")
    os.utime(store.path(old), (1_000_000_000, 1_000_000_000))
    cutoff = datetime.now(UTC) - timedelta(hours=1)
    assert store.delete_older(fresh, cutoff) is None and store.exists(fresh)
    assert store.delete_older(old, cutoff) == len(DATA) and not store.exists(old)
    assert store.delete_older(old, cutoff) is None  # gone already
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == [f"{DIGEST}.png"]


def test_delete_older_puts_back_a_file_refreshed_meanwhile(
    store: MediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = store.put(DATA, "jpg")
    os.utime(store.path(key), (1_000_000_000, 1_000_000_000))
    real_replace = os.replace

    def refreshed_as_it_is_moved(source: Any, target: Any) -> None:
        if str(source) == str(store.path(key)):
            os.utime(source)  # a put of the same bytes, just after the prune looked
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", refreshed_as_it_is_moved)
    assert store.delete_older(key, datetime.now(UTC) - timedelta(hours=1)) is None
    assert store.read(key) == DATA
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == [f"{DIGEST}.jpg"]


def test_a_file_whose_time_cannot_be_set_is_written_anew(
    store: MediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = store.put(DATA, "jpg")
    os.utime(store.path(key), (1_000_000_000, 1_000_000_000))

    def not_yours(path: Any, *args: Any) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(os, "utime", not_yours)  # another user's file
    assert store.put(DATA, "jpg") == key and store.read(key) == DATA
    assert store.listing()[key].modified > datetime.now(UTC) - timedelta(minutes=1)
