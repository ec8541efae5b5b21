"""The one retry policy, as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.retry import backoff, decide, parse_retry_after

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("attempts", "status", "retry_after", "age", "retry", "delay"),
    [
        (1, None, None, timedelta(0), True, timedelta(seconds=30)),  # network error: back off
        (2, 500, None, timedelta(0), True, timedelta(seconds=60)),  # 5xx: exponential
        (3, 502, None, timedelta(0), True, timedelta(seconds=120)),
        (1, 503, "600", timedelta(0), True, timedelta(seconds=600)),  # Retry-After honoured
        (1, 429, "120", timedelta(0), True, timedelta(seconds=120)),
        (5, 429, "1", timedelta(0), True, backoff(5)),  # never sooner than the backoff
        (1, 429, "Sun, 22 Nov 2026 13:00:00 GMT", timedelta(0), True, HOUR),  # HTTP-date form
        (1, 401, None, timedelta(0), True, timedelta(seconds=30)),  # 401/408 retried
        (1, 408, None, timedelta(0), True, timedelta(seconds=30)),
        (1, 410, None, timedelta(0), False, None),  # gone: give up
        (1, 404, None, timedelta(0), False, None),  # other 4xx: give up
        (1, 400, None, timedelta(0), False, None),
        (1, 403, None, timedelta(0), False, None),
        (18, 500, None, timedelta(0), False, None),  # attempt limit
        (10, 500, None, timedelta(hours=47, minutes=59), False, None),  # next try past 48 h
        (20, None, None, timedelta(0), False, None),
    ],
)
def test_retry_policy_table(
    attempts: int,
    status: int | None,
    retry_after: str | None,
    age: timedelta,
    retry: bool,
    delay: timedelta | None,
) -> None:
    decision = decide(
        attempts=attempts, status=status, retry_after=retry_after, now=NOW, first_queued_at=NOW - age,
        max_attempts=18, max_age=timedelta(hours=48),
    )  # fmt: skip
    assert decision.retry is retry, decision.reason
    if retry:
        assert decision.next_attempt_at == NOW + (delay or timedelta(0))
    else:
        assert decision.next_attempt_at is None


def test_backoff_covers_about_two_days_then_gives_up() -> None:
    total = timedelta(0)
    attempts = 0
    while True:
        attempts += 1
        decision = decide(
            attempts=attempts, status=503, retry_after=None, now=NOW + total, first_queued_at=NOW,
            max_attempts=100, max_age=timedelta(hours=48),
        )  # fmt: skip
        if not decision.retry:
            break
        assert decision.next_attempt_at is not None
        total = decision.next_attempt_at - NOW
    assert timedelta(hours=40) <= total <= timedelta(hours=48)
    assert 10 <= attempts <= 25


def test_backoff_is_capped() -> None:
    assert backoff(1) == timedelta(seconds=30)
    assert backoff(100) == timedelta(hours=8)


@pytest.mark.parametrize("value", [None, "", "soon", "-5"])
def test_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None
