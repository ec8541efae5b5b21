"""What interrupted writes and prunes leave in a media folder, and sweeping it away.

A :class:`storage.media.LocalMediaStore` writes a file as a hidden temporary file beside its final name
(``ab/.<random>.tmp``, then renamed over ``ab/<hash>.<ext>``), and its prune moves a file aside
(``ab/.<hash>.<ext>.prune``) before deleting it. A process killed between those steps (SIGKILL, power
lost) leaves the hidden file behind, and the store's listing leaves hidden files out: nothing else
would ever remove it. :func:`sweep_leftovers` does, once it was last changed before a grace period (a
write or a prune in progress is a second old): the worker's housekeeping and ``fedigen media prune
--orphans`` call it.

A bucket has none: an S3 object is written whole by one PUT and deleted by one call.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.media import LocalMediaStore, MediaStore, is_key

log = logging.getLogger(__name__)

#: How long a leftover is left alone: far longer than any write or prune takes (the images are a few MB).
LEFTOVER_GRACE = timedelta(hours=1)

_PREFIX = re.compile(r"[0-9a-f]{2}")
# tempfile.mkstemp(prefix=".", suffix=".tmp"): a dot, random letters, digits or underscores, ".tmp".
_TEMP = re.compile(r"\.[A-Za-z0-9_]+\.tmp")
_ASIDE = re.compile(r"\.(?P<name>[0-9a-f]{64}\.[a-z]+)\.prune")


@dataclass
class Leftovers:
    """What a sweep removed (or, dry, would remove), and how many files moved aside it put back."""

    files: int = 0
    bytes: int = 0
    restored: int = 0


def sweep_leftovers(store: MediaStore, before: datetime, *, dry_run: bool = False) -> Leftovers:
    """Remove the temporary files and files moved aside that a write or prune of ``store`` left and that
    were last changed before ``before``, or put a file moved aside back (see :func:`_settle`)."""
    swept = Leftovers()
    if not isinstance(store, LocalMediaStore) or not store.root.is_dir():
        return swept
    for prefix in os.scandir(store.root):
        if not _PREFIX.fullmatch(prefix.name) or not prefix.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(prefix.path):
            # Names first: a media file is never stat'ed, so a sweep of a big store reads only directories.
            aside = _ASIDE.fullmatch(entry.name)
            if aside is None and _TEMP.fullmatch(entry.name) is None:
                continue
            if aside is not None and not is_key(f"{prefix.name}/{aside['name']}"):
                continue  # not a name this store gives: somebody else's file
            try:
                _sweep_one(entry, aside["name"] if aside else None, before, dry_run, swept)
            except OSError as exc:  # one file that cannot be touched (another user's) stops nothing else
                log.warning("media leftover %s not swept: %s", entry.path, exc)
    return swept


def _sweep_one(
    entry: os.DirEntry[str], key_name: str | None, before: datetime, dry_run: bool, swept: Leftovers
) -> None:
    """Sweep one leftover (``key_name``: the name it was moved aside from, None for a temporary file)."""
    try:
        stat = entry.stat(follow_symlinks=False)
    except FileNotFoundError:  # settled meanwhile (a write or prune finishing)
        return
    # The later of the two times: a file moved aside keeps its (old) modification time, and the move
    # sets its change time (Linux's filesystems do on a rename), so a prune still at work on it is left
    # alone (and should one not, the prune copes: see LocalMediaStore.delete_older).
    changed = datetime.fromtimestamp(max(stat.st_mtime, stat.st_ctime), UTC)
    if not entry.is_file(follow_symlinks=False) or changed >= before:
        return
    path = Path(entry.path)
    if key_name is not None:
        target = path.with_name(key_name)
        if dry_run:
            settled = "dropped" if target.exists() else "restored"
        else:
            settled = _settle(path, target)
        if settled == "restored":
            swept.restored += 1
        if settled != "dropped":
            return
    elif not dry_run:
        path.unlink(missing_ok=True)
    swept.files += 1
    swept.bytes += stat.st_size


def _settle(aside: Path, target: Path) -> str:
    """Put a file a prune moved aside back under its key (``"restored"``), unless a file is there again:
    the copy aside is then deleted (``"dropped"``). ``"gone"``: somebody else settled it meanwhile.

    A prune deletes the file only once it checked its time again after the move, and a crash leaves no
    sign of whether it got that far. Had it not, the file may have been stored again just before the
    move, and a row committed since may name it: deleting it would lose a file in use. So it goes back;
    should it be an orphan after all, the next ``prune --orphans`` removes it, having read the rows. A
    file under the key again is the same bytes (the key is their hash), written anew since: the copy
    aside is then the one too many.
    """
    try:
        os.link(aside, target)  # never over a file written anew meanwhile, whose time is the true one
    except FileExistsError:
        aside.unlink(missing_ok=True)
        return "dropped"
    except FileNotFoundError:  # the prune that moved it was still at work, and finished
        return "gone"
    except OSError:  # no hard links on this filesystem: moved back, then counted as new, since the
        os.replace(aside, target)  # rename may have gone over a file just written anew (a newer time)
        os.utime(target)
        return "restored"
    aside.unlink(missing_ok=True)
    return "restored"
