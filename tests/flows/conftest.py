"""Fixtures of the story tests: the instance under test with alice, and a fake remote server."""

from __future__ import annotations

import pytest

from tests.conftest import HostRouter, Instance
from tests.remote_actor import RemoteActor, RemoteServer


@pytest.fixture
def remote(router: HostRouter) -> RemoteServer:
    """A fake Mastodon-like server at remote.test on the fake network."""
    server = RemoteServer("remote.test")
    router.add(server.host, server.app)
    return server


@pytest.fixture
def bob(remote: RemoteServer) -> RemoteActor:
    return remote.add_actor("bob")


@pytest.fixture
def carol(remote: RemoteServer) -> RemoteActor:
    return remote.add_actor("carol")


@pytest.fixture
async def fedigen(instance: Instance) -> Instance:
    """The instance under test, with a local account alice."""
    await instance.create_account("alice")
    return instance
