"""``fedigen media move``: every object of one media store (:mod:`storage.media`) copied into another,
each verified by its content hash before the source's is deleted."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from storage.media import MediaStore, verify


@dataclass
class MoveResult:
    """What a move between two stores did (or, with ``dry_run``, would do)."""

    dry_run: bool
    total: int = 0  # objects in the source
    copied: int = 0  # written to the target
    present: int = 0  # already in the target, verified (an earlier, interrupted run)
    deleted: int = 0  # removed from the source once their copy was verified
    bytes: int = 0
    # Objects left in the source, with why (the source's bytes do not match their key, or the copy
    # did not read back right twice).
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.copied + self.present + len(self.failed)


def move_media(
    source: MediaStore,
    target: MediaStore,
    *,
    dry_run: bool = False,
    keep_source: bool = False,
    threads: int = 8,
    progress: Callable[[MoveResult, str], None] | None = None,
) -> MoveResult:
    """Move every object of ``source`` to ``target``: copy it (unless the target holds it already),
    read the copy back and check its hash against the key, and only then delete it from the source.

    Safe to run again after a crash or an interruption: at every moment an object is in the source, in
    both stores, or in the target alone with its copy verified; a run finds what is in both, verifies
    the target's copy (rewriting it when it is wrong) and deletes the source's. Errors of a store
    itself (:class:`storage.MediaStoreUnavailable`) stop the move; ``progress`` is called after each
    object, with its key.
    """
    result = MoveResult(dry_run=dry_run)
    objects = sorted(source.keys().items())
    result.total = len(objects)
    there = target.keys()
    if dry_run:
        for key, size in objects:
            if there.get(key) == size:
                result.present += 1
            else:
                result.copied += 1
                result.bytes += size
            result.deleted += 0 if keep_source else 1
        return result

    def one(key: str, size: int) -> tuple[str, str, int]:
        data = source.read(key)
        if not verify(key, data):
            return "failed", "the source's bytes do not match their key (left where they are)", 0
        ext = key.rsplit(".", 1)[1]
        outcome, written = "present", 0
        if there.get(key) != len(data):
            target.put(data, ext, replace=key in there)
            outcome, written = "copied", len(data)
        if not verify(key, target.read(key)):
            target.put(data, ext, replace=True)  # a bad copy of an earlier run, or one spoilt on the way
            outcome, written = "copied", len(data)
            if not verify(key, target.read(key)):
                return "failed", "the copy does not read back right (the source is kept)", 0
        if not keep_source:
            source.delete(key)
        return outcome, "", written

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        futures = [(key, pool.submit(one, key, size)) for key, size in objects]
        try:
            for key, future in futures:
                outcome, reason, written = future.result()
                if outcome == "failed":
                    result.failed.append((key, reason))
                else:
                    setattr(result, outcome, getattr(result, outcome) + 1)
                    result.deleted += 0 if keep_source else 1
                    result.bytes += written
                if progress is not None:
                    progress(result, key)
        except BaseException:
            for _, pending in futures:  # stop soon: what has not started stays in the source
                pending.cancel()
            raise
    return result
