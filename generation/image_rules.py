"""Image classification: the request to an OpenAI-compatible moderation endpoint and the instance's rules.

The classifier is asked as OpenAI's moderation API is (https://platform.openai.com/docs/api-reference/
moderations): ``POST {url}/v1/moderations`` with ``{"model": ..., "input": [{"type": "image_url",
"image_url": {"url": "data:image/png;base64,..."}}]}``, answered by ``{"results": [{"flagged": ...,
"categories": {...}, "category_scores": {...}}]}``. What the answer means here is the instance's rules:
``"sexual>0.5"`` (a score above), ``"violence>=0.7"``, ``"sexual/minors"`` (the category's boolean) or
``"flagged"`` (the result's own verdict). The first matching refuse rule refuses the image; otherwise a
matching sensitive rule marks it sensitive.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from generation.backends.http import server_message
from generation.errors import GenerationError

_RULE = re.compile(r"^\s*([a-z0-9_./-]+)\s*(?:(>=|>)\s*([0-9]*\.?[0-9]+)\s*)?$", re.IGNORECASE)

ALLOW, SENSITIVE, REFUSE = "allow", "sensitive", "refuse"


@dataclass(frozen=True)
class Rule:
    """One rule: ``category op threshold``, or a bare category / ``flagged`` (a boolean)."""

    category: str
    op: str = ""
    threshold: float = 0.0

    def __str__(self) -> str:
        return f"{self.category}{self.op}{self.threshold:g}" if self.op else self.category

    def matches(self, result: Classification) -> bool:
        if not self.op:
            if self.category == "flagged":
                return result.flagged
            return result.categories.get(self.category) is True
        score = result.scores.get(self.category)
        if score is None:
            return False
        return score >= self.threshold if self.op == ">=" else score > self.threshold


def parse_rule(text: str) -> Rule:
    """A rule from its text; ValueError naming what is wrong."""
    match = _RULE.match(text)
    if match is None:
        raise ValueError(f'{text!r} is not a rule like "sexual>0.5", "violence>=0.7" or "flagged"')
    category, op, threshold = match.groups()
    if not op:
        return Rule(category.lower())
    value = float(threshold)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{text!r}: the score must be between 0 and 1")
    return Rule(category.lower(), op, value)


def parse_rules(texts: Iterable[str]) -> tuple[Rule, ...]:
    """Rules from their texts; ValueError for the first bad one."""
    return tuple(parse_rule(text) for text in texts)


@dataclass(frozen=True)
class Classification:
    """The classifier's answer for one image."""

    flagged: bool
    categories: Mapping[str, bool] = field(default_factory=dict)
    scores: Mapping[str, float] = field(default_factory=dict)

    def top(self, limit: int = 5) -> dict[str, float]:
        """The highest scores, for the record."""
        ranked = sorted(self.scores.items(), key=lambda item: -item[1])[:limit]
        return {name: round(score, 4) for name, score in ranked}


@dataclass(frozen=True)
class Verdict:
    """What the rules make of one classification: allow, sensitive or refuse, and the rules that hit."""

    action: str
    matched: tuple[str, ...] = ()
    classification: Classification | None = None

    def record(self) -> dict[str, Any]:
        """The verdict as kept on the media row (``meta["moderation"]``)."""
        return {
            "action": self.action,
            "matched": list(self.matched),
            "scores": self.classification.top() if self.classification else {},
        }


def judge(result: Classification, refuse_if: Sequence[Rule], sensitive_if: Sequence[Rule]) -> Verdict:
    """Apply the instance's rules to one classification."""
    refused = tuple(str(rule) for rule in refuse_if if rule.matches(result))
    if refused:
        return Verdict(REFUSE, refused, result)
    sensitive = tuple(str(rule) for rule in sensitive_if if rule.matches(result))
    return Verdict(SENSITIVE if sensitive else ALLOW, sensitive, result)


class ClassifierError(Exception):
    """The classifier could not answer (down, slow, an error, an answer that is not one)."""


class ImageClassifier:
    """An OpenAI-compatible moderation endpoint that takes images."""

    def __init__(
        self, http: httpx.AsyncClient, url: str, *, model: str = "", api_key: str = "", timeout: float = 10.0
    ) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.model = model or "omni-moderation-latest"
        self.api_key = api_key
        self.timeout = timeout

    async def classify(self, image: bytes, media_type: str) -> Classification:
        """Classify one encoded image; ClassifierError when there is no usable answer."""
        data_url = f"data:{media_type};base64,{base64.b64encode(image).decode('ascii')}"
        body = {"model": self.model, "input": [{"type": "image_url", "image_url": {"url": data_url}}]}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = await self.http.post(
                f"{self.url}/v1/moderations", json=body, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            raise ClassifierError(f"no answer within {self.timeout:g} s") from None
        except Exception as exc:  # httpx errors, and the address guard's refusal of a private address
            raise ClassifierError(f"cannot reach it ({type(exc).__name__}: {exc})") from None
        if response.status_code != 200:
            raise ClassifierError(f"HTTP {response.status_code}: {server_message(response)}")
        try:
            return parse_answer(response.json())
        except ValueError as exc:
            raise ClassifierError(f"unexpected answer ({exc})") from None


def parse_answer(body: Any) -> Classification:
    """The first result of a moderation answer; ValueError when it is not one."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise ValueError("no results")
    first = results[0]
    flagged = first.get("flagged")
    if not isinstance(flagged, bool):
        raise ValueError("no flagged verdict")
    raw_categories = first.get("categories")
    raw_scores = first.get("category_scores")
    if not isinstance(raw_categories, dict):
        raw_categories = {}
    if not isinstance(raw_scores, dict):
        raw_scores = {}
    categories = {str(k).lower(): v for k, v in raw_categories.items() if isinstance(v, bool)}
    scores = {
        str(k).lower(): float(v)
        for k, v in raw_scores.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return Classification(flagged, categories, scores)


class ImageRefusedError(GenerationError):
    """The instance's image rules refused a generated image; ``reason`` is shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
