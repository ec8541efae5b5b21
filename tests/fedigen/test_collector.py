"""The collector's tuning in long-running processes (``fedigen.services.settle_heap``)."""

from __future__ import annotations

import gc
from typing import Any

from fedigen.services import YOUNG_THRESHOLD, tune_collector


def _collections_during(make: Any) -> list[int]:
    """The generations collected while ``make()`` runs, with the collector tuned as in ``serve``."""
    before = gc.get_threshold()
    started: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(info["generation"])

    try:
        gc.set_threshold(700, 10, 10)  # Python's own thresholds (the test process has tuned its own)
        tune_collector()
        gc.collect()  # the young generation starts empty
        gc.callbacks.append(note)
        make()
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*before)
    return started


def test_a_page_worth_of_short_lived_objects_starts_no_collection() -> None:
    # About what a timeline page keeps alive at once: thousands of rows' dicts and lists, freed together
    # by their reference counts once the page is answered. Python's default threshold (700) would
    # collect several times here, finding every one of them alive.
    def page() -> None:
        rows = [{"id": n, "tags": [], "author": {"id": n}} for n in range(1_500)]
        assert len(rows) == 1_500

    assert _collections_during(page) == []


def test_cyclic_garbage_is_still_collected() -> None:
    # Objects in reference cycles are freed only by the collector: past the threshold, it runs.
    def cycles() -> None:
        for _ in range(2 * YOUNG_THRESHOLD):
            a: list[Any] = []
            a.append(a)

    assert _collections_during(cycles)[:1] == [0]
