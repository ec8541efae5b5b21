"""Fixtures for the generation tests: stand-in servers on loopback and a client to reach them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from tests.generation.comfyui_standin import ComfyUIStandIn
from tests.generation.standins import A1111StandIn, OpenAIStandIn


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A pooled client like the one the app hands to backends (short default timeout, as in the app)."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def openai_server() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn(api_key="sk-test") as server:
        yield server


@pytest.fixture
def a1111_server() -> Iterator[A1111StandIn]:
    with A1111StandIn(username="ada", password="secret", duration=0.3) as server:
        yield server


@pytest.fixture
def comfy_server() -> Iterator[ComfyUIStandIn]:
    with ComfyUIStandIn() as server:
        yield server


class ProgressLog:
    """A ProgressCallback that records what it was told."""

    def __init__(self) -> None:
        self.values: list[int] = []

    async def __call__(self, percent: int) -> None:
        self.values.append(percent)

    def rose_to_100(self) -> bool:
        """Values start at 0, never fall, and end at 100."""
        return self.values[0] == 0 and self.values[-1] == 100 and self.values == sorted(self.values)


@pytest.fixture
def progress() -> ProgressLog:
    return ProgressLog()


async def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Return once ``condition()`` holds; fail the test if it does not within ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition did not come true in time")
