"""Emoji tags and reactions read from what Mastodon, Misskey and Pleroma/Akkoma send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from activitypub.emoji import is_unicode_emoji, read_emoji, read_emoji_tags, read_reaction, shortcodes_in


def tag(name: str = ":blobcat:", url: Any = "https://misskey.example/files/webpublic-1", **extra: Any) -> Any:
    # Misskey's ApRendererService.renderEmoji.
    icon = {"type": "Image", "mediaType": "image/png", "url": url} if isinstance(url, str) else url
    return {"id": "https://misskey.example/emojis/blobcat", "type": "Emoji", "name": name,
            "updated": "2024-03-01T10:00:00.000Z", "icon": icon, **extra}  # fmt: skip


def test_a_misskey_emoji_tag_is_read_whole() -> None:
    emoji = read_emoji(tag())
    assert emoji is not None
    assert (emoji.shortcode, emoji.url, emoji.ap_id, emoji.media_type) == (
        "blobcat", "https://misskey.example/files/webpublic-1", "https://misskey.example/emojis/blobcat",
        "image/png",
    )  # fmt: skip
    assert emoji.updated == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def test_akkoma_tags_without_id_media_type_or_colons_are_read() -> None:
    # Akkoma's Transmogrifier.build_emoji_tag (no id, no mediaType) and its EmojiReact tags, whose
    # name has the colons stripped (EmojiReactValidator.prune_tags).
    akkoma = {"icon": {"url": "https://akkoma.example/emoji/blobfox.png", "type": "Image"},
              "name": "blobfox", "type": "Emoji", "updated": "1970-01-01T00:00:00Z"}  # fmt: skip
    emoji = read_emoji(akkoma)
    assert emoji is not None and emoji.shortcode == "blobfox" and emoji.ap_id is None
    assert emoji.media_type is None and emoji.url == "https://akkoma.example/emoji/blobfox.png"


@pytest.mark.parametrize(
    "bad",
    [
        tag(name=":blob-cat:"), tag(name=":blob cat:"), tag(name=":<b>x</b>:"), tag(name="::"),
        tag(name=":bl\u00f6b:"), tag(name=":" + "a" * 101 + ":"), tag(url="javascript:alert(1)"),
        tag(url="file:///etc/passwd"), tag(url="http://127.0.0.1/e.png"), tag(url="http://10.1.2.3/e.png"),
        tag(url="http://[::1]/e.png"), tag(url="http://localhost/e.png"), tag(url="http://2130706433/e.png"),
        tag(url={"type": "Image", "mediaType": "text/html", "url": "https://misskey.example/x"}),
        tag(url=None), {**tag(), "type": "Hashtag"}, "blobcat", None,
    ],
)  # fmt: skip
def test_unsafe_or_malformed_tags_are_dropped(bad: Any) -> None:
    assert read_emoji(bad) is None


def test_private_addresses_are_kept_only_when_allowed() -> None:
    private = tag(url="http://10.1.2.3/e.png")
    assert read_emoji(private) is None
    assert read_emoji(private, allow_private=True) is not None


def test_tags_are_one_per_shortcode_and_bounded() -> None:
    many = [tag(name=f":e{i}:", url=f"https://x.example/{i}.png") for i in range(200)]
    assert len(read_emoji_tags(many)) == 50
    twice = read_emoji_tags([tag(url="https://x.example/1.png"), tag(url="https://x.example/2.png")])
    assert [e.url for e in twice] == ["https://x.example/1.png"]
    assert read_emoji_tags(tag()) and read_emoji_tags("nonsense") == []


def test_shortcodes_are_found_in_text_even_side_by_side() -> None:
    assert shortcodes_in("<p>:a::b_2: and :c: but not : d : or :e-f:</p>", None, ":g:") == {
        "a",
        "b_2",
        "c",
        "g",
    }


SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"


@pytest.mark.parametrize(
    "text",
    ["👍", "❤", "❤️", "👍🏽", "\U0001f3f3\ufe0f\u200d\U0001f308", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
     "1️⃣", "#⃣", "🇯🇵", SCOTLAND, "⭐", "🍮"],
)  # fmt: skip
def test_unicode_emoji_are_recognised(text: str) -> None:
    assert is_unicode_emoji(text)


@pytest.mark.parametrize("text", ["", "a", "👍👍", "👍 ", ":blobcat:", "1", "🇯", "‍👍", "👍‍", "<b>", "x" * 40])
def test_other_text_is_no_unicode_emoji(text: str) -> None:
    assert not is_unicode_emoji(text)


def test_reactions_are_read_from_misskey_and_pleroma_shapes() -> None:
    misskey = {"type": "Like", "content": ":blobcat:", "_misskey_reaction": ":blobcat:", "tag": [tag()]}
    reaction = read_reaction(misskey)
    assert reaction is not None and reaction.custom and reaction.name == "blobcat"
    assert reaction.emoji is not None and reaction.content == ":blobcat:"
    assert read_reaction({"type": "EmojiReact", "content": "🔥"}) == read_reaction(
        {"_misskey_reaction": "🔥"}
    )
    # Akkoma today sends a Like with _misskey_reaction alone; Iceshrimp.NET names remote emoji name@host.
    bare = read_reaction({"type": "Like", "_misskey_reaction": ":blobfox:"})
    assert bare is not None and bare.custom and bare.emoji is None
    remote = read_reaction({"content": ":blobcat@misskey.example:", "tag": [tag()]})
    assert remote is not None and remote.name == "blobcat" and remote.emoji is not None
    for content in ("hello", "👍👍", ":blob-cat:", "::", 42, None, ":" + "x" * 70 + ":"):
        assert read_reaction({"type": "EmojiReact", "content": content}) is None
    assert read_reaction({"type": "Like"}) is None
