"""Fixtures of the security tests (shared with the tests they extend)."""

from tests.api.test_oauth import api  # noqa: F401 - the instance with alice and her password
from tests.api.test_streaming import server  # noqa: F401 - the app served on loopback, for WebSockets
