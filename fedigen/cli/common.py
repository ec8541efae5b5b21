"""What every CLI command shares: reading settings, running async bodies, failing with one line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from activitypub.errors import ActivityPubError
from fedigen.config import ConfigError, Settings, config_path, load_settings
from fedigen.errors import FedigenError
from fedigen.services import open_services
from generation.errors import GenerationError
from storage import StorageError

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """Print one line on stderr and exit non-zero."""
    click.echo(f"fedigen: {message}", err=True)
    sys.exit(1)


def settings_of(ctx: click.Context) -> Settings:
    """The settings named by --config / $FEDIGEN_CONFIG / ./config.toml, or fail."""
    try:
        return load_settings(config_path(ctx.obj.get("config")))
    except ConfigError as exc:
        fail(f"config: {exc}")
        raise AssertionError from exc  # unreachable


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; the errors users cause become one line and a non-zero exit."""
    try:
        return asyncio.run(coro)
    except (FedigenError, ActivityPubError, GenerationError, StorageError, ConfigError, ValueError) as exc:
        fail(str(exc))
        raise AssertionError from exc  # unreachable


def with_services(fn: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """Run an async command body with the process's services open."""

    @wraps(fn)
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> T:
        settings = settings_of(ctx)

        async def main() -> T:
            async with open_services(settings) as svc:
                return await fn(svc, *args, **kwargs)

        return run_async(main())

    return wrapper
