"""Fixtures of the security tests (shared with the tests they extend)."""

from tests.api.test_streaming import server  # noqa: F401 - the app served on loopback, for WebSockets
