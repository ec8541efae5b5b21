"""Prompt rules (normalising, length, blocked terms and patterns) and the moderation classifier client."""

from __future__ import annotations

import httpx
import pytest

from generation.errors import BackendConfigError, BackendError, PromptRefusedError
from generation.rules import ModerationClient, PromptRules, normalise_prompt
from tests.generation.standins import OpenAIStandIn
from tests.support.server import free_port

REFUSAL = "Not here, sorry."


def refusal(rules: PromptRules, prompt: str, negative: str = "") -> str:
    with pytest.raises(PromptRefusedError) as caught:
        rules.check(prompt, negative)
    return caught.value.reason


def test_prompts_are_normalised() -> None:
    assert PromptRules().check("  a\tquiet\n\n lake\x00 at\u200b dawn\x1b ") == "a quiet lake at dawn"
    assert normalise_prompt("ｆｕｌｌ width stays") == "ｆｕｌｌ width stays"  # only matching folds it


def test_too_long_prompts_are_refused_naming_the_limit() -> None:
    rules = PromptRules(max_chars=10)
    assert rules.check("0123456789") == "0123456789"
    assert "limit is 10 characters" in refusal(rules, "0123456789x")
    assert "limit is 10 characters" in refusal(rules, "x" * 1_000_000)  # refused before normalising
    assert "negative prompt is too long" in refusal(rules, "ok", "n" * 11)
    assert rules.check("   spaced      out ") == "spaced out"  # counted after collapsing


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t", "\u200b\u200d\ufeff", "\x00\x07"])
def test_empty_prompts_are_refused(prompt: str) -> None:
    assert refusal(PromptRules(), prompt) == "The prompt is empty."


def test_a_minimum_length_is_enforced() -> None:
    assert "at least 5 characters" in refusal(PromptRules(min_chars=5), "cat")


@pytest.mark.parametrize(
    "prompt",
    [
        "a bad idea",
        "BAD",
        "Bad.",
        "(bad)",
        "ＢＡＤ dog",
        "b\u200bad",
        "b\u00adad",
        "very_bad_dog",
        "a very   evil plan",
    ],
)
def test_blocked_terms_match_whole_words_in_any_disguise(prompt: str) -> None:
    rules = PromptRules(blocked_terms=["bad", "very evil"], refusal_message=REFUSAL)
    assert refusal(rules, prompt) == REFUSAL


@pytest.mark.parametrize("prompt", ["a badger", "badlands at noon", "abad", "evil twin"])
def test_blocked_terms_leave_other_words_alone(prompt: str) -> None:
    rules = PromptRules(blocked_terms=["bad", "very evil"])
    assert rules.check(prompt) == prompt


def test_the_refusal_does_not_echo_the_term_list() -> None:
    rules = PromptRules(blocked_terms=["secretword", "another"])
    reason = refusal(rules, "SecretWord")
    assert reason == "This prompt is not allowed on this instance."
    assert "secretword" not in reason.lower() and "another" not in reason


def test_the_negative_prompt_is_not_matched_against_terms() -> None:
    rules = PromptRules(blocked_terms=["nsfw"])
    assert rules.check("a meadow", "nsfw, blurry") == "a meadow"


def test_blocked_patterns_match_the_prompt_and_its_folded_form() -> None:
    rules = PromptRules(blocked_patterns=[r"\bkill\s+all\b", r"^\d{6,}$"], refusal_message=REFUSAL)
    assert refusal(rules, "please KILL   all the weeds") == REFUSAL
    assert refusal(rules, "ｋｉｌｌ all") == REFUSAL
    assert refusal(rules, "1234567") == REFUSAL
    assert rules.check("skill allocation") == "skill allocation"


def test_a_bad_pattern_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(BackendConfigError, match=r"generation\.blocked_patterns\[1\]"):
        PromptRules(blocked_patterns=["fine", "(unclosed"])


def test_bad_terms_and_limits_are_config_errors() -> None:
    with pytest.raises(BackendConfigError, match=r"generation\.blocked_terms\[0\]"):
        PromptRules(blocked_terms=["  \u200b "])
    with pytest.raises(BackendConfigError, match="generation.max_prompt_chars"):
        PromptRules(max_chars=0)
    with pytest.raises(BackendConfigError, match="generation.max_prompt_chars"):
        PromptRules(max_chars=5, min_chars=6)


@pytest.fixture
def moderation(openai_server: OpenAIStandIn, http: httpx.AsyncClient) -> ModerationClient:
    return ModerationClient(http, openai_server.url + "/", api_key="sk-test", model="omni-moderation-test")


async def test_moderation_lets_clean_prompts_through(
    moderation: ModerationClient, openai_server: OpenAIStandIn
) -> None:
    await moderation.check("a quiet lake at dawn")
    assert openai_server.requests == [
        {
            "path": "/v1/moderations",
            "json": {"model": "omni-moderation-test", "input": "a quiet lake at dawn"},
        }
    ]


async def test_moderation_refuses_flagged_prompts_naming_the_categories(moderation: ModerationClient) -> None:
    with pytest.raises(PromptRefusedError, match=r"flagged this prompt \(sexual, violence/graphic\)"):
        await moderation.check("explicit gore")


@pytest.mark.parametrize(
    ("mode", "message"), [("fail500", "HTTP 500"), ("busy503", "HTTP 503"), ("garbage", "unexpected")]
)
async def test_a_failing_classifier_fails_closed(
    moderation: ModerationClient, openai_server: OpenAIStandIn, mode: str, message: str
) -> None:
    openai_server.mode = mode
    with pytest.raises(BackendError, match=f"{message}.*try again later") as caught:
        await moderation.check("a quiet lake")
    assert caught.value.transient


async def test_a_wrong_key_fails_closed(openai_server: OpenAIStandIn, http: httpx.AsyncClient) -> None:
    client = ModerationClient(http, openai_server.url, api_key="sk-wrong")
    with pytest.raises(BackendError, match="HTTP 401.*Incorrect API key") as caught:
        await client.check("a quiet lake")
    assert caught.value.transient


async def test_an_unreachable_or_slow_classifier_fails_closed(
    openai_server: OpenAIStandIn, http: httpx.AsyncClient
) -> None:
    with pytest.raises(BackendError, match="cannot reach") as caught:
        await ModerationClient(http, f"http://127.0.0.1:{free_port()}").check("x")
    assert caught.value.transient
    openai_server.mode = "slow"
    with pytest.raises(BackendError, match="ReadTimeout") as caught:
        await ModerationClient(http, openai_server.url, api_key="sk-test", timeout=0.3).check("x")
    assert caught.value.transient


def test_the_moderation_url_must_be_http(http: httpx.AsyncClient) -> None:
    with pytest.raises(BackendConfigError, match="generation.moderation_url"):
        ModerationClient(http, "127.0.0.1:9000")
