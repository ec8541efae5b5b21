"""Prompt rules checked before any generation: length, blocked terms and patterns, and moderation.

:class:`PromptRules` is local and synchronous: it normalises a prompt and refuses one that is empty,
too long, or holds a blocked term or pattern. :class:`ModerationClient` asks an OpenAI-compatible
classifier (``POST {url}/v1/moderations``, https://platform.openai.com/docs/api-reference/moderations)
and fails closed: when the classifier cannot answer, the prompt is not let through.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import httpx

from generation.backends.http import server_message
from generation.errors import BackendConfigError, BackendError, PromptRefusedError

DEFAULT_REFUSAL = "This prompt is not allowed on this instance."
# Unicode categories dropped from prompts: Cc (control characters) and Cf (invisible formatting such as
# zero-width spaces and joiners, soft hyphens, bidi overrides), which only serve to hide words.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf"})
_WHITESPACE = re.compile(r"\s+")
# A raw prompt this many times the limit is refused before it is even normalised.
_RAW_SLACK = 4


def _drop_invisible(text: str) -> str:
    # Whitespace controls (tab, newline) become spaces; the other Cc/Cf characters go.
    return "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )


def normalise_prompt(text: str) -> str:
    """A prompt with control and zero-width characters removed and whitespace collapsed and stripped."""
    return _WHITESPACE.sub(" ", _drop_invisible(text)).strip()


def folded(text: str) -> str:
    """The form terms are matched in: NFKC (full-width and compatibility forms), case-folded, no invisibles.

    Underscores count as spaces: prompts often join words with them ("long_hair" tags).
    """
    return normalise_prompt(
        unicodedata.normalize("NFKC", normalise_prompt(text)).casefold().replace("_", " ")
    )


class PromptRules:
    """The instance's prompt rules; ``check`` returns the normalised prompt or raises PromptRefusedError."""

    def __init__(
        self,
        max_chars: int = 1000,
        min_chars: int = 1,
        blocked_terms: Sequence[str] = (),
        blocked_patterns: Sequence[str] = (),
        refusal_message: str = DEFAULT_REFUSAL,
    ) -> None:
        if max_chars < 1 or not 0 <= min_chars <= max_chars:
            raise BackendConfigError(
                f"generation.max_prompt_chars: must be at least 1 and at least the minimum ({min_chars})"
            )
        self.max_chars = max_chars
        self.min_chars = min_chars
        self.refusal_message = refusal_message
        self._terms = self._compile_terms(blocked_terms)
        self._patterns = self._compile_patterns(blocked_patterns)

    @staticmethod
    def _compile_terms(terms: Sequence[str]) -> re.Pattern[str] | None:
        alternatives = []
        for index, term in enumerate(terms):
            words = folded(term).split(" ")
            if not any(words):  # an empty term would match everywhere
                raise BackendConfigError(f"generation.blocked_terms[{index}]: must not be empty")
            # A phrase matches across any run of whitespace; the whole term sits on word boundaries
            # ((?<!\w) rather than \b, so terms that begin or end with punctuation match too).
            alternatives.append(r"\s+".join(re.escape(word) for word in words))
        if not alternatives:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")

    @staticmethod
    def _compile_patterns(patterns: Sequence[str]) -> list[re.Pattern[str]]:
        compiled = []
        for index, pattern in enumerate(patterns):
            try:
                compiled.append(re.compile(pattern, re.IGNORECASE))
            except re.error as exc:
                raise BackendConfigError(
                    f"generation.blocked_patterns[{index}]: not a valid regular expression ({exc})"
                ) from None
        return compiled

    def _check_length(self, text: str, what: str) -> str:
        # Refuse a huge input before normalising it, and cap everything before any regex runs on it.
        if len(text) > self.max_chars * _RAW_SLACK:
            raise PromptRefusedError(f"The {what} is too long: the limit is {self.max_chars} characters.")
        clean = normalise_prompt(text)
        if len(clean) > self.max_chars:
            raise PromptRefusedError(
                f"The {what} is too long ({len(clean)} characters): the limit is {self.max_chars} characters."
            )
        return clean

    def check(self, prompt: str, negative_prompt: str = "") -> str:
        """The normalised prompt, or PromptRefusedError saying why it was refused."""
        clean = self._check_length(prompt, "prompt")
        # The negative prompt lists what the image should not show (commonly the very words a list of
        # blocked terms holds), so it is held to the length limit but not matched against the terms.
        self._check_length(negative_prompt, "negative prompt")
        if not clean:
            raise PromptRefusedError("The prompt is empty.")
        if len(clean) < self.min_chars:
            raise PromptRefusedError(f"The prompt is too short: write at least {self.min_chars} characters.")
        if self.blocked(clean):
            raise PromptRefusedError(self.refusal_message)
        return clean

    def blocked(self, text: str) -> bool:
        """Whether a blocked term or pattern occurs in ``text``."""
        variants = (text, folded(text))
        if self._terms is not None and self._terms.search(variants[1]):
            return True
        return any(pattern.search(variant) for pattern in self._patterns for variant in variants)


class ModerationClient:
    """An OpenAI-compatible moderation classifier; refuses flagged prompts, fails closed."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        api_key: str = "",
        model: str = "omni-moderation-latest",
        timeout: float = 10.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise BackendConfigError(f"generation.moderation_url: expected an http(s) URL, got {url!r}")
        self._http = http
        self.url = url.rstrip("/")
        self._api_key = api_key
        self.model = model
        self.timeout = timeout

    async def check(self, text: str) -> None:
        """Return if the classifier lets ``text`` through; PromptRefusedError if it flags it."""
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = await self._http.post(
                f"{self.url}/v1/moderations",
                json={"model": self.model, "input": text},
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise self._unavailable(f"cannot reach it ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise self._unavailable(f"HTTP {response.status_code}: {server_message(response)}")
        try:
            results = response.json()["results"]
            flagged = [result for result in results if result["flagged"]]
        except (ValueError, KeyError, TypeError):
            raise self._unavailable("unexpected response") from None
        if not isinstance(results, list) or not results:
            raise self._unavailable("no results")
        if flagged:
            categories = sorted(
                {name for result in flagged for name, hit in _categories(result).items() if hit is True}
            )
            listed = ", ".join(categories) if categories else "unspecified"
            raise PromptRefusedError(f"The moderation check flagged this prompt ({listed}).")

    def _unavailable(self, why: str) -> BackendError:
        # Fail closed: the caller refuses the prompt and asks to try again later.
        return BackendError(f"moderation classifier at {self.url}: {why}; try again later", transient=True)


def _categories(result: dict[str, object]) -> dict[str, object]:
    categories = result.get("categories")
    return categories if isinstance(categories, dict) else {}
