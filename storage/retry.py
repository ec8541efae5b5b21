"""The one retry policy for every queue: a pure function from an attempt's outcome to what comes next.

- 429 and 503 honour ``Retry-After`` (seconds or an HTTP date), at least the backoff.
- 401, 408 and 429 are retried; 410 and every other 4xx give up (the peer will never take it).
- 5xx and network errors (``status=None``) back off exponentially.
- Work is given up after ``max_attempts`` or once the next try would fall past ``max_age``.

Mastodon's delivery worker retries for about two days with growing gaps; we do the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=8)
RETRYABLE_4XX = frozenset({401, 408, 429})


@dataclass(frozen=True)
class RetryDecision:
    """``retry`` with the time of the next attempt, or give up (``retry`` False) with a reason."""

    retry: bool
    next_attempt_at: datetime | None
    reason: str


def backoff(attempts: int) -> timedelta:
    """Delay after the given number of failed attempts: 30 s, 1 min, 2 min, ... capped at 8 h."""
    exponent = max(0, min(attempts - 1, 20))
    delay: timedelta = BASE_DELAY * (2**exponent)
    return min(delay, MAX_DELAY)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as a delay: delta-seconds or an HTTP-date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


def decide(
    *,
    attempts: int,
    status: int | None,
    retry_after: str | None,
    now: datetime,
    first_queued_at: datetime,
    max_attempts: int,
    max_age: timedelta,
) -> RetryDecision:
    """What to do after a failed attempt (``attempts`` counts the one that just failed)."""
    if status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX:
        return RetryDecision(False, None, f"HTTP {status} is permanent")
    if attempts >= max_attempts:
        return RetryDecision(False, None, f"gave up after {attempts} attempts")
    delay = backoff(attempts)
    if status in (429, 503):
        delay = max(delay, parse_retry_after(retry_after, now) or timedelta(0))
    next_at = now + delay
    if next_at - first_queued_at > max_age:
        return RetryDecision(False, None, f"gave up after {max_age} of retries")
    return RetryDecision(True, next_at, f"retry in {int(delay.total_seconds())} s")
