"""What a write or a prune of a media folder killed half-way leaves (a hidden temporary file, a file moved
aside) is swept once older than its grace period: temporary files go, a file moved aside goes back under
its key (or goes, when its key was written anew); nothing young is touched, nor anything the store did
not name."""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.media import LocalMediaStore
from storage.media_leftovers import LEFTOVER_GRACE, Leftovers, sweep_leftovers

DATA = b"\xff\xd8\xff not really a jpeg, the store does not care"
DIGEST = hashlib.sha256(DATA).hexdigest()
LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media")


def now() -> datetime:
    return datetime.now(UTC)


def graced(at: datetime) -> datetime:
    """The ``before`` of a sweep at ``at``."""
    return at - LEFTOVER_GRACE


def files(store: LocalMediaStore) -> list[str]:
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())


def killed_write(store: LocalMediaStore, prefix: str = DIGEST[:2]) -> Path:
    """What a put killed before its rename leaves: the temporary file, made as put makes it (with an old
    modification time, as if it had hung there for years)."""
    (store.root / prefix).mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=store.root / prefix, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "wb") as out:
        out.write(b"half a jpe")
    os.utime(name, (LONG_AGO, LONG_AGO))
    return Path(name)


def killed_prune(store: LocalMediaStore, key: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Prune ``key`` (an old file) and kill the prune after the move aside, before the delete."""
    os.utime(store.path(key), (LONG_AGO, LONG_AGO))
    real_unlink = Path.unlink

    def killed(path: Path, *args: Any, **kwargs: Any) -> None:
        if path.name.endswith(".prune"):
            raise SystemExit("killed")
        real_unlink(path, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(Path, "unlink", killed)
        with pytest.raises(SystemExit):
            store.delete_older(key, now() - timedelta(hours=1))
    aside = store.path(key).with_name(f".{store.path(key).name}.prune")
    assert aside.is_file() and not store.exists(key) and key not in store.listing()
    return aside


def test_temporary_files_of_killed_writes_go_once_old(store: LocalMediaStore) -> None:
    key = store.put(DATA, "jpg")
    left = killed_write(store)
    other = killed_write(store, "0f")
    size = left.stat().st_size + other.stat().st_size
    # Not ours to touch: a hidden file of another name, and a folder that is not a key prefix.
    (store.root / DIGEST[:2] / ".keep").write_bytes(b"")
    (store.root / "uploads").mkdir()
    (store.root / "uploads" / ".abc.tmp").write_bytes(b"")
    before = files(store)

    # Just made (their change time is now, whatever their modification time says): a write in progress.
    assert sweep_leftovers(store, graced(now())) == Leftovers()
    assert files(store) == before

    swept = sweep_leftovers(store, graced(now() + LEFTOVER_GRACE + timedelta(seconds=1)))
    assert (swept.files, swept.bytes, swept.restored) == (2, size, 0)
    assert files(store) == sorted([f"{DIGEST[:2]}/.keep", f"{DIGEST[:2]}/{DIGEST}.jpg", "uploads/.abc.tmp"])
    assert store.read(key) == DATA


def test_a_write_in_progress_is_left_alone(store: LocalMediaStore) -> None:
    """Its temporary file is being written: last changed now, by any of its times."""
    (store.root / "ab").mkdir(parents=True)
    with tempfile.NamedTemporaryFile(dir=store.root / "ab", prefix=".", suffix=".tmp") as writing:
        writing.write(b"the first bytes")
        writing.flush()
        assert sweep_leftovers(store, graced(now())).files == 0
        assert Path(writing.name).is_file()


def test_a_file_a_killed_prune_moved_aside_goes_back_under_its_key(
    store: LocalMediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = store.put(DATA, "jpg")
    aside = killed_prune(store, key, monkeypatch)
    # Moved just now (its modification time is the old one of the file): a prune may be at work on it.
    assert sweep_leftovers(store, graced(now())).restored == 0 and aside.is_file()

    swept = sweep_leftovers(store, graced(now() + LEFTOVER_GRACE + timedelta(seconds=1)))
    assert (swept.files, swept.restored) == (0, 1)
    # Back as it was, its time too: an orphan after all is the orphan prune's to remove, rows read.
    assert store.read(key) == DATA and files(store) == [key]
    assert store.listing()[key].modified == datetime.fromtimestamp(LONG_AGO, UTC)


def test_a_copy_moved_aside_goes_when_its_key_was_written_anew(
    store: LocalMediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = store.put(DATA, "jpg")
    aside = killed_prune(store, key, monkeypatch)
    assert store.put(DATA, "jpg") == key  # the same bytes stored again: written anew, fresh
    swept = sweep_leftovers(store, graced(now() + LEFTOVER_GRACE + timedelta(seconds=1)))
    assert (swept.files, swept.bytes, swept.restored) == (1, len(DATA), 0)
    assert not aside.exists() and files(store) == [key]
    assert store.listing()[key].modified > now() - timedelta(minutes=1)  # the new file's time, kept


def test_a_dry_run_counts_and_changes_nothing(
    store: LocalMediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = store.put(DATA, "jpg")
    killed_prune(store, key, monkeypatch)
    killed_write(store)
    before = files(store)
    swept = sweep_leftovers(store, graced(now() + LEFTOVER_GRACE + timedelta(seconds=1)), dry_run=True)
    assert (swept.files, swept.restored) == (1, 1) and files(store) == before


def test_a_prune_whose_file_a_sweep_put_back_keeps_it(
    store: LocalMediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a filesystem whose renames left the change time alone, a sweep could take a file a live prune
    has just moved aside: the prune then deletes nothing."""
    key = store.put(DATA, "jpg")
    os.utime(store.path(key), (LONG_AGO, LONG_AGO))
    real_replace = os.replace

    def swept_as_it_is_moved(source: Any, target: Any) -> None:
        real_replace(source, target)
        if str(target).endswith(".prune"):
            assert sweep_leftovers(store, now() + timedelta(hours=1)).restored == 1

    monkeypatch.setattr(os, "replace", swept_as_it_is_moved)
    assert store.delete_older(key, now() - timedelta(hours=1)) is None
    assert store.read(key) == DATA and files(store) == [key]


def test_a_leftover_that_cannot_be_removed_stops_no_other(
    store: LocalMediaStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stuck, other = killed_write(store), killed_write(store, "0f")
    real_unlink = Path.unlink

    def not_yours(path: Path, *args: Any, **kwargs: Any) -> None:
        if path == stuck:
            raise PermissionError(1, "Operation not permitted", str(path))
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", not_yours)
    assert sweep_leftovers(store, now() + timedelta(hours=1)).files == 1
    assert stuck.exists() and not other.exists() and "not swept" in caplog.text


def test_a_missing_folder_has_nothing_to_sweep(tmp_path: Path) -> None:
    assert sweep_leftovers(LocalMediaStore(tmp_path / "none"), now()).files == 0
