"""Reading a prompt into a scene plan: subjects (count, size, colour, material), setting, mood, style.

The plan is plain data (``ScenePlan.to_dict()`` is JSON) so that a job records what was understood with
the image it made. The reader works on words, not grammar: adjectives (colours, materials, sizes) attach
to the next noun; number words count it; "no X" / "without X" and the negative prompt remove subjects; a
noun the library does not know is mapped through the bundled word list (``words.json``: synonyms and
hypernyms, "kitten" -> cat, "schooner" -> boat, "tangerine" -> orange) rather than dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from generation.backends.prompt_words import (
    ALOFT,
    COLOURS,
    CONTAINERS,
    DRINKS,
    IRREGULAR,
    MATERIALS,
    MAX_COUNT,
    MOOD_WORDS,
    NEGATIONS,
    NUMBERS,
    PHRASES,
    PLACE_WORDS,
    SEASON_WORDS,
    SIZES,
    STOP,
    STYLE_WORDS,
    TIME_WORDS,
    WEATHER_WORDS,
)
from generation.backends.subjects import CANONICAL, KINDS

GROUNDED = {"building", "plant", "food"}


def _can_fly(name: str) -> bool:
    kind = KINDS[name]
    return kind.category not in GROUNDED and kind.layer != "water"


@dataclass
class Subject:
    """One thing to draw: its library name, the word asked for, how many, size, colour and material."""

    name: str
    word: str
    count: int = 1
    size: float = 1.0
    colour: str | None = None  # hex, from a colour word or material
    colour_word: str | None = None
    material: str | None = None
    inside: str | None = None  # the container it sits in ("a bowl of oranges")
    aloft: bool = False  # in the air ("a dragon flying over a castle", "a kite over a beach")
    mapped_from: str | None = None  # the unknown word that the word list mapped to ``name``


@dataclass
class ScenePlan:
    """What the prompt asks for, as plain data."""

    subjects: list[Subject] = field(default_factory=list)
    place: str | None = None
    place_colour: str | None = None
    time: str = "noon"
    weather: str = "clear"
    season: str | None = None
    mood: str | None = None
    style: str | None = None
    light: str | None = None  # a colour word for the light ("a pink sky", "golden light")
    removed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data."""
        return asdict(self)

    def to_json(self) -> str:
        """The plan as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def names(self) -> list[str]:
        """The library names of the subjects, in prompt order."""
        return [s.name for s in self.subjects]


@cache
def word_list() -> dict[str, str]:
    """The bundled synonyms/hypernyms: a word -> the library subject it is drawn as."""
    text = resources.files("generation.backends").joinpath("words.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    out: dict[str, str] = {}
    for target, words in data["subjects"].items():
        for word in words:
            out[word] = target
    return out


PLURALS = (("ies", "y"), ("ies", "ie"), ("ves", "f"), ("ves", "fe"), ("oes", "o"), ("ches", "ch"),
           ("shes", "sh"), ("xes", "x"), ("ses", "s"), ("es", "e"), ("s", ""))  # fmt: skip


def _singulars(word: str) -> list[str]:
    """The singular forms a plural word may have (several: "cookies" -> cookie, "berries" -> berry)."""
    if word in IRREGULAR:
        return [IRREGULAR[word]]
    out = []
    for suffix, repl in PLURALS:
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            out.append(word[: -len(suffix)] + repl)
    return out


def lookup(word: str) -> tuple[str, str | None, bool] | None:
    """(canonical subject name, the word mapped from if any, plural?) for a noun, or None when it is none
    of ours."""
    candidates = [(word, False)] + [(single, True) for single in _singulars(word)]
    for cand, plural in candidates:
        if cand in KINDS:
            return CANONICAL[cand], None, plural
    table = word_list()
    for cand, plural in candidates:
        if cand in table:
            return CANONICAL[table[cand]], word, plural
    return None


_PHRASES = sorted(((p.replace("-", " "), t) for p, t in PHRASES.items()), key=lambda p: -len(p[0]))


def _tokens(prompt: str) -> list[str]:
    text = " " + re.sub(r"[-\s]+", " ", prompt.lower()) + " "
    for phrase, token in _PHRASES:
        text = text.replace(f" {phrase} ", f" {token} ").replace(f" {phrase},", f" {token} ,")
    return re.findall(r"[a-z0-9_]+|[,.;!?]", text)


def read(prompt: str, negative_prompt: str = "") -> ScenePlan:
    """Read a prompt (and its negative prompt) into a ScenePlan."""
    plan = ScenePlan()
    toks = _tokens(prompt)
    removed: set[str] = set()
    pending: dict[str, Any] = {}
    negate = False
    container: Subject | None = None
    by_name: dict[str, Subject] = {}
    for i, tok in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if tok in ",.;!?":
            pending, negate, container = {}, False, None
            continue
        if tok in NEGATIONS:
            negate = True
            continue
        if tok == "golden_hour":
            plan.time, plan.light = "golden hour", "warm"
            continue
        if tok in STYLE_WORDS and (
            tok not in ("ink", "oil", "glass", "pen")
            or nxt in ("", "style", "drawing", "painting", "sketch", ",")
        ):
            plan.style = plan.style or STYLE_WORDS[tok]
            continue
        if tok in NUMBERS and not (tok in ("school", "pack", "glass") and nxt not in ("of",)):
            pending["count"] = NUMBERS[tok] if tok not in ("a", "an") else pending.get("count", 1)
            continue
        if tok.isdigit():
            pending["count"] = min(MAX_COUNT, max(1, int(tok)))
            continue
        if tok in SIZES:
            pending["size"] = SIZES[tok]
            continue
        describes = (
            nxt in COLOURS
            or nxt in MATERIALS
            or nxt in SIZES
            or nxt in PLACE_WORDS
            or nxt in ("light", "sky", "sunlight", "glow", "lighting")
            or lookup(nxt) is not None
        )
        if tok in COLOURS and (tok not in KINDS or describes) and (tok not in MATERIALS or describes):
            if tok == "golden" and nxt in ("light", "sun", "sunlight", "glow"):
                plan.light = "warm"
                continue
            pending["colour_word"] = tok
            pending["colour"] = COLOURS[tok]
            continue
        if tok in MATERIALS and (tok not in KINDS or describes):
            pending["material"] = tok
            pending.setdefault("colour", MATERIALS[tok])
            continue
        if tok in ("light", "sky", "sunlight", "glow", "lighting") and "colour_word" in pending:
            plan.light = pending["colour_word"]
            pending = {}
            continue
        if tok in PLACE_WORDS and tok not in KINDS:
            if not negate:
                plan.place = plan.place or PLACE_WORDS[tok]
                if "colour" in pending:
                    plan.place_colour = pending["colour"]
            pending, negate = {}, False
            continue
        if tok in TIME_WORDS:
            plan.time = TIME_WORDS[tok] if not (tok == "dark" and plan.time != "noon") else plan.time
            if tok in ("sunset", "evening"):
                plan.light = plan.light or "warm"
            continue
        if tok in WEATHER_WORDS and tok not in KINDS:
            plan.weather = WEATHER_WORDS[tok]
            continue
        if tok in SEASON_WORDS:
            plan.season = SEASON_WORDS[tok]
            continue
        if tok in MOOD_WORDS:
            plan.mood = plan.mood or MOOD_WORDS[tok]
            continue
        if tok in ALOFT:
            if lookup(nxt) is not None and tok not in ("over", "above"):  # "a flying dragon"
                pending["aloft"] = True
            elif plan.subjects and not negate:  # "a dragon over a castle", "birds flying"
                plan.subjects[-1].aloft = plan.subjects[-1].aloft or _can_fly(plan.subjects[-1].name)
            continue
        if tok in STOP or len(tok) < 3:
            if tok == "of" and container is not None:
                continue
            if tok not in ("of",):
                container = None if tok in ("and", "with") else container
            continue
        found = lookup(tok)
        if found is None:
            if tok in PLACE_WORDS:
                plan.place = plan.place or PLACE_WORDS[tok]
            elif tok not in STYLE_WORDS and not tok.endswith(("ly", "ing")):
                plan.unknown.append(tok)
            continue
        name, mapped, plural = found
        if negate:
            removed.add(name)
            pending, negate = {}, False
            continue
        count = pending.get("count", 0) or (3 if plural else 1)
        if container is not None and name in DRINKS:  # "a cup of coffee": the coffee is in the cup
            pending, container = {}, None
            continue
        if container is not None and not pending.get("count"):
            count = 5 if plural else 1
        if name in by_name:  # "a red boat and a blue boat": one subject, more of it
            by_name[name].count = min(MAX_COUNT, by_name[name].count + count)
            pending = {}
            continue
        subject = Subject(
            name=name,
            word=tok,
            count=min(MAX_COUNT, count),
            size=pending.get("size", 1.0),
            colour=pending.get("colour"),
            colour_word=pending.get("colour_word"),
            material=pending.get("material"),
            inside=container.name if container is not None else None,
            mapped_from=mapped,
            aloft=bool(pending.get("aloft")) and _can_fly(name),
        )
        plan.subjects.append(subject)
        by_name[name] = subject
        container = subject if name in CONTAINERS and nxt == "of" else None
        pending = {}
    for word in re.findall(r"[a-z_]+", " ".join(_tokens(negative_prompt))):
        found = lookup(word)
        if found:
            removed.add(found[0])
        if word in PLACE_WORDS and PLACE_WORDS[word] == plan.place:
            plan.place = None
    gone = set(removed)
    if "person" in removed:  # "no people": every figure
        gone |= {n for n, k in KINDS.items() if k.category == "person"}
    plan.subjects = [s for s in plan.subjects if s.name not in gone]
    plan.removed = sorted(removed)
    if plan.weather == "snow" or plan.place == "snow":
        plan.season = plan.season or "winter"
    if plan.place is None:
        homes = [KINDS[s.name].home for s in plan.subjects if KINDS[s.name].home]
        ground = [h for h in homes if h != "room"]
        if homes:
            plan.place = homes[0] if homes[0] != "room" or not ground else ground[0]
    if plan.place == "snow":
        plan.place = "field"
        plan.season = "winter"
    return plan
