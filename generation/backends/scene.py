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

from generation.backends.subjects import CANONICAL, KINDS

COLOURS = {
    "red": "d42a2a",
    "crimson": "b0142e",
    "scarlet": "e0281a",
    "maroon": "6e1420",
    "orange": "f0801a",
    "amber": "f0a820",
    "gold": "e8b830",
    "golden": "e8b830",
    "yellow": "f4d82a",
    "lime": "9ad82a",
    "green": "2e9a3a",
    "emerald": "1a8a5a",
    "olive": "7a8a2a",
    "teal": "1a8a8a",
    "turquoise": "30c0b8",
    "cyan": "30c8e0",
    "blue": "2a5ad8",
    "azure": "3a8ae0",
    "navy": "1a2a6a",
    "indigo": "3a2a8a",
    "violet": "8a4ad8",
    "purple": "7a2a9a",
    "magenta": "d02a9a",
    "pink": "f08ab0",
    "rose": "e0607a",
    "brown": "7a4a2a",
    "tan": "c8a070",
    "beige": "e0d0b0",
    "black": "1e1e22",
    "white": "f4f4f2",
    "grey": "8a8c90",
    "gray": "8a8c90",
    "silver": "c0c4cc",
    "cream": "f4ecd0",
    "ginger": "d0702a",
}
MATERIALS = {
    "wooden": "8a5a32",
    "wood": "8a5a32",
    "metal": "9aa0a8",
    "metallic": "9aa0a8",
    "steel": "8a9098",
    "iron": "5a5a60",
    "copper": "b8703a",
    "bronze": "a8782a",
    "brass": "c8a040",
    "glass": "bcd8e4",
    "crystal": "d0ecf4",
    "stone": "8a8680",
    "marble": "e8e6e0",
    "paper": "f0ece0",
    "plastic": "e04a8a",
    "ceramic": "f0ece4",
    "porcelain": "f4f2ee",
    "clay": "b86a3a",
    "brick": "a84a32",
    "ice": "d8ecf8",
    "golden": "e8b830",
    "silver": "c0c4cc",
    "woolen": "e0d8c8",
    "leather": "7a4a2a",
    "rusty": "9a4a2a",
}
SIZES = {
    "tiny": 0.45,
    "little": 0.65,
    "small": 0.7,
    "miniature": 0.5,
    "big": 1.3,
    "large": 1.3,
    "huge": 1.6,
    "giant": 1.8,
    "enormous": 1.8,
    "massive": 1.7,
    "gigantic": 1.8,
    "tall": 1.3,
}
NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "single": 1,
    "lone": 1,
    "lonely": 1,
    "two": 2,
    "pair": 2,
    "couple": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "several": 3,
    "few": 3,
    "some": 3,
    "many": 6,
    "lots": 6,
    "dozen": 12,
    "flock": 5,
    "herd": 5,
    "pack": 4,
    "school": 5,
    "fleet": 4,
    "crowd": 7,
    "group": 4,
    "bunch": 5,
}
MAX_COUNT = 12
PLACES = {
    "sea": "sea ocean seas oceans water waves harbor harbour bay coast shore lake pond river sail sailing"
    " underwater reef",
    "beach": "beach beaches sand sandy seaside shoreline",
    "forest": "forest forests woods woodland jungle grove rainforest",
    "city": "city cities street streets town downtown skyline metropolis village market square",
    "mountains": "mountain mountains peak peaks alps hill hills valley cliff cliffs ridge highlands",
    "desert": "desert dune dunes sahara savanna savannah canyon",
    "field": "field fields meadow meadows farm farmland countryside garden park prairie pasture grass lawn",
    "room": "room kitchen table bedroom interior indoors studio desk shelf windowsill cafe",
    "space": "space outer cosmos galaxy orbit universe nebula",
    "snow": "tundra arctic glacier antarctica",
}
PLACE_WORDS = {w: place for place, words in PLACES.items() for w in words.split()}
TIMES = {
    "dawn": "dawn sunrise daybreak",
    "morning": "morning",
    "noon": "noon midday day daytime sunny afternoon",
    "golden hour": "golden_hour sunset evening",
    "dusk": "dusk twilight",
    "night": "night midnight nighttime moonlit moonlight starry nocturnal dark",
}
TIME_WORDS = {w: t for t, words in TIMES.items() for w in words.split()}
WEATHERS = {
    "fog": "fog foggy mist misty haze hazy",
    "rain": "rain rainy raining drizzle wet downpour",
    "snow": "snow snowy snowing snowfall blizzard snowflakes",
    "storm": "storm stormy thunder thunderstorm lightning tempest",
    "clear": "clear cloudless",
}
WEATHER_WORDS = {w: t for t, words in WEATHERS.items() for w in words.split()}
SEASONS = {
    "winter": "winter wintry frozen frost frosty icy",
    "spring": "spring springtime blossoming",
    "summer": "summer summertime",
    "autumn": "autumn fall autumnal harvest",
}
SEASON_WORDS = {w: t for t, words in SEASONS.items() for w in words.split()}
MOODS = {
    "calm": "calm peaceful serene quiet tranquil still gentle",
    "cheerful": "cheerful happy joyful bright playful cute whimsical",
    "gloomy": "gloomy sad melancholy bleak lonely somber sombre",
    "eerie": "eerie spooky creepy haunted mysterious ominous",
    "dramatic": "dramatic epic majestic powerful intense",
    "cozy": "cozy cosy warm snug",
    "dreamy": "dreamy magical ethereal fantasy",
}
MOOD_WORDS = {w: m for m, words in MOODS.items() for w in words.split()}
STYLES = {
    "watercolour": "watercolour watercolor watercolours aquarelle",
    "ink": "ink sketch pen drawing lineart etching engraving charcoal pencil",
    "pixel art": "pixel_art pixel pixelated 8bit 16bit retro_game",
    "neon": "neon cyberpunk synthwave glowing vaporwave",
    "oil painting": "oil_painting oil impasto painterly",
    "isometric": "isometric diorama",
    "photo": "photo photograph photographic photorealistic realistic photography",
}
STYLE_WORDS = {w: s for s, words in STYLES.items() for w in words.split()}
PHRASES = {
    "golden hour": "golden_hour",
    "pixel art": "pixel_art",
    "oil painting": "oil_painting",
    "oil paint": "oil_painting",
    "hot air balloon": "hot_air_balloon",
    "hot-air balloon": "hot_air_balloon",
    "polar bear": "polar_bear",
    "palm tree": "palm_tree",
    "cherry tree": "cherry_tree",
    "apple tree": "apple_tree",
    "christmas tree": "christmas_tree",
    "sailing ship": "sailing_ship",
    "fire truck": "fire_truck",
    "fire engine": "fire_engine",
    "police car": "police_car",
    "steam train": "steam_train",
    "beach ball": "beach_ball",
    "beach umbrella": "beach_umbrella",
    "wine glass": "wine_glass",
    "ice cream": "ice_cream",
    "birthday cake": "birthday_cake",
    "top hat": "top_hat",
    "full moon": "full_moon",
    "crescent moon": "crescent_moon",
    "shooting star": "shooting_star",
    "flying saucer": "flying_saucer",
    "desk lamp": "desk_lamp",
    "lamp post": "lamp_post",
    "green apple": "green_apple",
    "dead tree": "dead_tree",
    "bare tree": "bare_tree",
    "berry bush": "berry_bush",
    "retro game": "retro_game",
    "8-bit": "8bit",
    "16-bit": "16bit",
    "outer space": "space",
    "a few": "few",
    "a couple of": "couple",
    "a pair of": "pair",
    "lots of": "lots",
    "pirate ship": "sailing_ship",
    "fishing boat": "boat",
    "sail boat": "sailboat",
    "race car": "car",
    "school bus": "bus",
    "space ship": "rocket",
    "teddy bear": "bear",
    "sea turtle": "turtle",
    "tree house": "cabin",
    "street lamp": "streetlamp",
    "light house": "lighthouse",
    "in the sky": "aloft",
    "in the air": "aloft",
}
NEGATIONS = {"no", "without", "not", "never", "nobody"}
CONTAINERS = {"bowl", "basket", "plate", "jar", "box", "vase", "bucket", "cup", "mug", "wine_glass"}
# What a container "of" holds that is its drink, not a thing to draw in it ("a cup of coffee").
DRINKS = {"cup", "mug", "wine_glass", "bottle", "jar", "teapot", "bowl", "plate"}
# Words that put the subject just named in the air.
ALOFT = {"over", "above", "flying", "soaring", "hovering", "aloft", "floating", "overhead", "high"}
GROUNDED = {"building", "plant", "food"}


def _can_fly(name: str) -> bool:
    kind = KINDS[name]
    return kind.category not in GROUNDED and kind.layer != "water"


IRREGULAR = {
    "people": "person",
    "men": "man",
    "women": "woman",
    "children": "child",
    "geese": "goose",
    "mice": "mouse",
    "teeth": "tooth",
    "feet": "foot",
    "wolves": "wolf",
    "leaves": "leaf",
    "knives": "knife",
    "loaves": "loaf",
    "elves": "elf",
    "shelves": "shelf",
    "calves": "calf",
    "halves": "half",
    "cacti": "cactus",
    "fungi": "mushroom",
}
# Words that read as nouns to the matcher but are not subjects here.
STOP = {
    "the",
    "of",
    "in",
    "on",
    "at",
    "by",
    "with",
    "and",
    "over",
    "under",
    "above",
    "below",
    "near",
    "into",
    "from",
    "to",
    "for",
    "is",
    "are",
    "its",
    "their",
    "his",
    "her",
    "style",
    "view",
    "scene",
    "picture",
    "image",
    "art",
    "light",
    "sky",
    "ground",
    "background",
    "foreground",
    "hour",
    "time",
    "painting",
    "drawing",
    "colour",
    "color",
    "tone",
    "tones",
    "old",
    "new",
    "young",
    "ancient",
    "beautiful",
    "pretty",
    "lovely",
    "cute",
    "little",
    "very",
    "detailed",
    "highly",
    "quality",
    "best",
    "masterpiece",
    "small",
    "big",
    "wild",
    "lost",
    "alone",
    "together",
    "front",
    "top",
    "behind",
    "beside",
    "next",
    "through",
    "across",
    "around",
    "against",
    "along",
    "made",
    "full",
    "our",
    "this",
    "that",
    "these",
    "those",
    "who",
    "which",
    "while",
    "then",
    "sitting",
    "standing",
    "flying",
    "floating",
    "walking",
    "running",
    "sleeping",
    "swimming",
    "playing",
}


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
