"""Fixtures of the story tests: the instance under test with alice (remote ones: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import HostRouter, Instance, make_settings, start_instance

# Small images and a tight quota for the image flows.
SMALL = {"size": "256x256", "blocked_terms": ["forbidden"], "jobs_per_hour": 5}


@pytest.fixture
async def fedigen(instance: Instance) -> Instance:
    """The instance under test, with a local account alice."""
    await instance.create_account("alice")
    return instance


@pytest.fixture
async def imagery(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    """The instance under test with small images and alice."""
    settings = make_settings(tmp_path, backend, generation=SMALL)
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        yield inst
