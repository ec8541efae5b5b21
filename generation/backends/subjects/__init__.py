"""The library of drawable subjects: parametric drawers (one quadruped, one bird, one figure, one boat...)
with per-subject proportions and colours, each registered under the names a prompt may use.

The common parts (colours, ``Pen``, ``Kind``, the registry) are in ``_core``; each family of drawers and
the subjects it draws is a module of its own. Importing this package registers every subject, in the
order of the imports below, which is the registry's order.
"""

# ruff: noqa: I001 - the import order below is the registry's order: keep it.
from __future__ import annotations

from typing import Any

from generation.backends.subjects._core import CANONICAL, KINDS, RGB, Drawer, Kind, Pen, rgb, shade
from generation.backends.subjects import animals, people, vehicles, buildings, plants, food, things, sky

__all__ = ["CANONICAL", "KINDS", "RGB", "Drawer", "Kind", "Pen", "distinct_subjects", "rgb", "shade"]
_FAMILIES = (animals, people, vehicles, buildings, plants, food, things, sky)


def distinct_subjects() -> list[str]:
    """One name per distinct drawing (drawer, parameters and colour), for counting the library."""
    seen: dict[tuple[Any, ...], str] = {}
    for name, kind in KINDS.items():
        key = (kind.draw.__name__, repr(sorted(kind.params.items())), kind.colour)
        seen.setdefault(key, name)
    return sorted(seen.values())
