"""Fixtures of the story tests: the instance under test with alice (remote ones: tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import Instance


@pytest.fixture
async def fedigen(instance: Instance) -> Instance:
    """The instance under test, with a local account alice."""
    await instance.create_account("alice")
    return instance
