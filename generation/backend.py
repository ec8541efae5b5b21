"""The one interface every image backend implements, and the registry that finds them.

A backend is made by a factory registered under a name in the ``fedigen.backends`` entry-point group
(fedigen's own are registered in ``pyproject.toml`` the same way), so a third-party package adds one by
declaring::

    [project.entry-points."fedigen.backends"]
    mybackend = "mypackage.backend:create"

where ``create(options: Mapping[str, Any], http: httpx.AsyncClient) -> Backend`` reads its own options
(the ``[generation.mybackend]`` table of the config) and raises :class:`BackendConfigError` naming a bad
key.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import httpx

from generation.errors import BackendConfigError, UnknownBackendError

ENTRY_POINT_GROUP = "fedigen.backends"
MIN_SIDE = 64
MAX_SIDE = 4096
MAX_COUNT = 4

# Called with a percentage, 0-100, as the backend makes progress.
ProgressCallback = Callable[[int], Awaitable[None]]


async def no_progress(_percent: int) -> None:
    """A ProgressCallback that ignores progress."""


@dataclass(frozen=True)
class GenerationRequest:
    """What to make. ``init_image`` (encoded bytes) asks for image-to-image, as for a remix."""

    prompt: str
    negative_prompt: str = ""
    width: int = 1024
    height: int = 1024
    seed: int | None = None
    count: int = 1
    init_image: bytes | None = None
    # How far image-to-image may move away from init_image: 0 keeps it, 1 ignores it.
    strength: float = 0.65

    def __post_init__(self) -> None:
        if not MIN_SIDE <= self.width <= MAX_SIDE or not MIN_SIDE <= self.height <= MAX_SIDE:
            raise ValueError(f"size must be between {MIN_SIDE} and {MAX_SIDE} pixels a side")
        if not 1 <= self.count <= MAX_COUNT:
            raise ValueError(f"count must be between 1 and {MAX_COUNT}")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError("strength must be between 0 and 1")


@dataclass(frozen=True)
class GeneratedImage:
    """One encoded image (PNG, JPEG or WebP bytes) and the seed that made it."""

    data: bytes
    seed: int | None = None


@dataclass(frozen=True)
class GenerationResult:
    """What a backend made, and which model made it (for provenance)."""

    images: list[GeneratedImage]
    backend: str
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """An image generator. Implementations must not block the event loop."""

    name: str
    # True when generate() honours GenerationRequest.init_image (image-to-image).
    supports_img2img: bool
    # Jobs this backend may run at once in one process.
    concurrency: int

    async def generate(self, request: GenerationRequest, progress: ProgressCallback) -> GenerationResult:
        """Make ``request.count`` images; raise BackendError (transient or not) on failure."""
        ...

    async def aclose(self) -> None:
        """Release what the backend holds (model weights, connections it opened itself)."""
        ...


BackendFactory = Callable[[Mapping[str, Any], httpx.AsyncClient], Backend]


def create_backend(name: str, options: Mapping[str, Any], http: httpx.AsyncClient) -> Backend:
    """Build the backend registered as ``name`` from its config options."""
    matches = list(entry_points(group=ENTRY_POINT_GROUP, name=name))
    if not matches:
        known = ", ".join(sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)))
        raise UnknownBackendError(f"no image backend named {name!r} (installed: {known})")
    factory: BackendFactory = matches[0].load()
    return factory(options, http)


_SIZE_RE = re.compile(r"^\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*$")


def parse_size(value: str) -> tuple[int, int]:
    """'1024x768' -> (1024, 768); ValueError naming the accepted range otherwise."""
    match = _SIZE_RE.match(value)
    if not match:
        raise ValueError(f"size {value!r}: expected WIDTHxHEIGHT, such as 1024x1024")
    width, height = int(match.group(1)), int(match.group(2))
    if not MIN_SIDE <= width <= MAX_SIDE or not MIN_SIDE <= height <= MAX_SIDE:
        raise ValueError(f"size {value!r}: each side must be between {MIN_SIDE} and {MAX_SIDE}")
    return width, height


class Options:
    """Typed reads of a backend's option table, raising BackendConfigError that names the key."""

    def __init__(self, section: str, values: Mapping[str, Any], known: set[str]) -> None:
        unknown = set(values) - known
        if unknown:
            raise BackendConfigError(f"{section}.{sorted(unknown)[0]}: unknown key")
        self.section = section
        self.values = values

    def _get(self, key: str, default: Any, kinds: tuple[type, ...], what: str) -> Any:
        value = self.values.get(key, default)
        if isinstance(value, str) and kinds != (str,):
            try:
                value = kinds[0](value)  # environment overrides arrive as strings
            except ValueError:
                raise BackendConfigError(f"{self.section}.{key}: expected {what}, got {value!r}") from None
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise BackendConfigError(f"{self.section}.{key}: expected {what}, got {value!r}")
        return value

    def get_str(self, key: str, default: str = "") -> str:
        """A string option."""
        return str(self._get(key, default, (str,), "a string"))

    def get_int(self, key: str, default: int) -> int:
        """An integer option."""
        return int(self._get(key, default, (int,), "an integer"))

    def get_float(self, key: str, default: float) -> float:
        """A number option."""
        return float(self._get(key, default, (float, int), "a number"))

    def get_bool(self, key: str, default: bool) -> bool:
        """A true/false option."""
        value = self.values.get(key, default)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise BackendConfigError(f"{self.section}.{key}: expected true or false, got {value!r}")
        return value

    def get_url(self, key: str, default: str) -> str:
        """An http(s) base URL option, without a trailing slash."""
        value = self.get_str(key, default).rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise BackendConfigError(f"{self.section}.{key}: expected an http(s) URL, got {value!r}")
        return value
