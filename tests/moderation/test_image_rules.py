"""The classifier's rules and answers, and the [moderation] settings (with the [generation] aliases)."""

from __future__ import annotations

from typing import Any

import pytest

from fedigen.config import ConfigError, settings_from_mapping
from generation.image_rules import (
    REFUSE,
    SENSITIVE,
    Classification,
    Rule,
    judge,
    parse_answer,
    parse_rule,
    parse_rules,
)

BASE: dict[str, Any] = {"instance": {"url": "https://example.org"}}


def test_rules_parse_and_match() -> None:
    assert parse_rule("sexual>0.5") == Rule("sexual", ">", 0.5)
    assert parse_rule(" Sexual/Minors >= 0.1 ") == Rule("sexual/minors", ">=", 0.1)
    assert parse_rule("self-harm") == Rule("self-harm") and parse_rule("flagged") == Rule("flagged")
    for bad in ["sexual>", "sexual > lots", "sexual<0.5", "sexual>1.5", "", "a b"]:
        with pytest.raises(ValueError):
            parse_rule(bad)
    result = Classification(True, {"violence": True}, {"sexual": 0.5, "violence": 0.8, "sexual/minors": 0.1})
    assert not Rule("sexual", ">", 0.5).matches(result) and Rule("sexual", ">=", 0.5).matches(result)
    assert Rule("violence").matches(result) and not Rule("sexual").matches(result)
    assert Rule("flagged").matches(result) and not Rule("hate", ">", 0.0).matches(
        result
    )  # no score: no match


def test_refuse_rules_win_over_sensitive_ones() -> None:
    result = Classification(True, {}, {"sexual": 0.9, "sexual/minors": 0.2})
    verdict = judge(result, parse_rules(["sexual/minors>0.1"]), parse_rules(["sexual>0.5"]))
    assert verdict.action == REFUSE and verdict.matched == ("sexual/minors>0.1",)
    verdict = judge(result, parse_rules(["sexual/minors>0.5"]), parse_rules(["sexual>0.5", "flagged"]))
    assert verdict.action == SENSITIVE and verdict.matched == ("sexual>0.5", "flagged")
    assert verdict.record() == {"action": "sensitive", "matched": ["sexual>0.5", "flagged"],
                                "scores": {"sexual": 0.9, "sexual/minors": 0.2}}  # fmt: skip


def test_answers_that_are_not_one() -> None:
    good = {
        "results": [{"flagged": False, "categories": {"sexual": False}, "category_scores": {"sexual": 0.2}}]
    }
    assert parse_answer(good) == Classification(False, {"sexual": False}, {"sexual": 0.2})
    for bad in [{}, {"results": []}, {"results": "nope"}, {"results": [{"categories": {}}]}, [1]]:
        with pytest.raises(ValueError):
            parse_answer(bad)


def test_moderation_settings_and_the_generation_aliases() -> None:
    aliases = {"moderation_url": "http://c.example/", "moderation_api_key": "k", "moderation_model": "m"}
    old = settings_from_mapping({**BASE, "generation": aliases}, {})
    assert old.classifier == ("http://c.example", "m", "k")
    both = settings_from_mapping({**BASE, "generation": {"moderation_url": "http://old.example"},
                                  "moderation": {"classifier_url": "http://new.example"}}, {})  # fmt: skip
    assert both.classifier == ("http://new.example", "omni-moderation-latest", "")
    env = settings_from_mapping(BASE, {"FEDIGEN_MODERATION__REFUSE_IF": '["sexual/minors>0.1"]'})
    assert env.moderation.refuse_if == ("sexual/minors>0.1",)
    for section, message in [
        ({"refuse_if": ["sexual>>1"]}, "moderation.refuse_if"),
        ({"sensitive_if": ["violence>2"]}, "moderation.sensitive_if"),
        ({"on_error": "panic"}, "moderation.on_error"),
        ({"classifier_url": "ftp://x"}, "moderation.classifier_url"),
        ({"timeout": 0}, "moderation.timeout"),
    ]:
        with pytest.raises(ConfigError, match=message):
            settings_from_mapping({**BASE, "moderation": section}, {})
