"""A Question's poll read as Mastodon's PollParser reads it, bounded against what no server should send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activitypub.notes import MAX_POLL_COUNT, MAX_POLL_OPTIONS, read_poll

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def question(**fields: Any) -> dict[str, Any]:
    return {"id": "https://remote.test/q/1", "type": "Question", **fields}


def option(name: Any, replies: Any = None, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "Note", "name": name, **fields}
    if replies is not None:
        item["replies"] = replies
    return item


def test_one_of_any_of_and_the_end() -> None:
    single = read_poll(question(oneOf=[option("a", {"totalItems": 2}), option("b", {"totalItems": 0})],
                                endTime="2026-12-03T00:00:00Z", votersCount=2), NOW)  # fmt: skip
    assert single is not None and single.options == ["a", "b"] and single.tallies == [2, 0]
    assert single.multiple is False and single.voters_count == 2
    assert single.expires_at == datetime(2026, 12, 3, tzinfo=UTC)
    multiple = read_poll(question(anyOf=[option("a"), option("b")]), NOW)
    assert multiple is not None and multiple.multiple is True and multiple.expires_at is None


def test_closed_as_a_date_true_or_false() -> None:
    items = [option("a"), option("b")]
    dated = read_poll(
        question(oneOf=items, closed="2026-12-05T00:00:00Z", endTime="2026-12-01T00:00:00Z"), NOW
    )
    assert dated is not None and dated.expires_at == datetime(2026, 12, 5, tzinfo=UTC)  # closed wins
    ended = read_poll(question(oneOf=items, closed=True), NOW)
    assert ended is not None and ended.expires_at == NOW
    still = read_poll(question(oneOf=items, closed=False, endTime="2026-12-04T00:00:00Z"), NOW)
    assert still is not None and still.expires_at == datetime(2026, 12, 4, tzinfo=UTC)
    garbled = read_poll(question(oneOf=items, closed="next tuesday"), NOW)
    assert garbled is not None and garbled.expires_at is None


def test_counts_from_misskey_and_javascript_and_nonsense() -> None:
    poll = read_poll(question(oneOf=[
        option("misskey", _misskey_votes=4),
        option("float", {"totalItems": 3.0}),
        option("negative", {"totalItems": -5}),
        option("boolean", {"totalItems": True}),
        option("huge", {"totalItems": 10**30}),
        option("text", {"totalItems": "7"}),
        option("by reference", "https://remote.test/q/1/replies"),
    ], votersCount=-1), NOW)  # fmt: skip
    assert poll is not None
    assert poll.tallies == [4, 3, 0, 0, MAX_POLL_COUNT, 0, 0] and poll.voters_count is None


def test_titles_are_plain_text_and_bounded() -> None:
    poll = read_poll(question(oneOf=[
        option("<b>bold</b><script>x()</script>"), option(None, content="<p>from content</p>"),
        option(""), option(42), "not an object", option("x" * 600),
    ]), NOW)  # fmt: skip
    assert poll is not None
    assert poll.options == ["bold", "from content", "x" * 500] and len(poll.tallies) == 3


def test_no_poll_without_options() -> None:
    assert read_poll(question(), NOW) is None
    assert read_poll(question(oneOf="a, b"), NOW) is None
    assert read_poll(question(oneOf=[option("")]), NOW) is None
    assert read_poll({"type": "Note", "oneOf": [option("a")]}, NOW) is None


def test_at_most_so_many_options() -> None:
    poll = read_poll(question(anyOf=[option(f"o{i}") for i in range(MAX_POLL_OPTIONS + 50)]), NOW)
    assert poll is not None and len(poll.options) == MAX_POLL_OPTIONS
