"""The procedural backend draws what the prompt names: the scene plan it reads (and the job records), the
subjects where it placed them, colours on the things they describe, light, weather, styles and remixes.

Pictures are checked by pixel statistics per region (where the plan put a subject), never byte snapshots.
"""

from __future__ import annotations

import colorsys
import io
import json
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from benchmarks.contact_sheet import PROMPTS, sheet
from fedigen.social import accounts
from generation.backend import Backend, GenerationRequest, no_progress
from generation.backends import scene
from generation.backends.composition import Placement
from generation.backends.procedural import ProceduralBackend, compose, draw, render
from generation.backends.prompt_words import COLOURS, SIZES
from generation.backends.subjects import KINDS, distinct_subjects
from generation.jobs import JobRunner, JobSettings, JobSpec, submit
from storage.models import MediaAttachment
from tests.conftest import HostRouter, Instance, make_settings, start_instance

SIDE = 256


def _request(prompt: str, negative: str = "", seed: int = 7, **kw: Any) -> GenerationRequest:
    return GenerationRequest(
        prompt=prompt, negative_prompt=negative, width=SIDE, height=SIDE, seed=seed, **kw
    )


def _picture(prompt: str, negative: str = "", seed: int = 7) -> tuple[Image.Image, list[Placement]]:
    image, _, placements = compose(_request(prompt, negative, seed), seed)
    return image, placements


def _box(p: Placement) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = p.box()
    return (max(0, int(x0)), max(0, int(y0)), min(SIDE, int(x1) + 1), min(SIDE, int(y1) + 1))


def _diff(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def _share(image: Image.Image, test: Any) -> float:
    """The share of pixels for which ``test((r, g, b))`` holds."""
    raw = image.convert("RGB").tobytes()
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    return sum(1 for px in pixels if test(px)) / max(1, len(pixels))


def _warmth(image: Image.Image) -> float:
    """How far red outweighs blue, relative to the brightness (-1 all blue .. 1 all red)."""
    r, g, b = ImageStat.Stat(image).mean
    return (r - b) / max(1.0, r + g + b)


# --- the scene plan -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "subjects", "colours", "style"),
    [
        ("a fox in the snow", {"fox"}, {}, None),
        ("a fisherman at dawn", {"fisherman"}, {}, None),
        ("a bowl of oranges", {"bowl", "orange"}, {}, None),
        ("a red boat", {"boat"}, {"boat": "red"}, None),
        ("a kite over a beach", {"kite"}, {}, None),
        ("a red boat on a green sea", {"boat"}, {"boat": "red"}, None),
        (
            "three blue cars and a yellow bus in the city, pixel art",
            {"car", "bus"},
            {"car": "blue", "bus": "yellow"},
            "pixel art",
        ),
        (
            "a white horse and a black dog in a field, oil painting",
            {"horse", "dog"},
            {"horse": "white", "dog": "black"},
            "oil painting",
        ),
        (
            "a purple dragon over a castle, watercolour",
            {"dragon", "castle"},
            {"dragon": "purple"},
            "watercolour",
        ),
        ("an owl on a pine at night, ink drawing", {"owl", "pine"}, {}, "ink"),
        (
            "a pink cake and a green teapot, neon",
            {"cake", "teapot"},
            {"cake": "pink", "teapot": "green"},
            "neon",
        ),
        ("a lighthouse and a windmill, isometric", {"lighthouse", "windmill"}, {}, "isometric"),
        ("an orange cat, photo", {"cat"}, {"cat": "orange"}, "photo"),
    ],
)
def test_the_plan_names_every_subject_colour_and_style(
    prompt: str, subjects: set[str], colours: dict[str, str], style: str | None
) -> None:
    plan = scene.read(prompt)
    assert set(plan.names()) == subjects
    assert {s.name: s.colour_word for s in plan.subjects if s.colour_word} == colours
    assert plan.style == style
    assert json.loads(plan.to_json()) == plan.to_dict()  # plain, inspectable data


def test_counts_sizes_materials_setting_and_mood() -> None:
    plan = scene.read("three tiny wooden boats on a calm grey sea at golden hour in autumn")
    [boats] = plan.subjects
    assert (boats.name, boats.count, boats.size, boats.material) == ("boat", 3, SIZES["tiny"], "wooden")
    assert plan.place == "sea" and plan.place_colour == COLOURS["grey"]
    assert (plan.time, plan.light, plan.mood, plan.season) == ("golden hour", "warm", "calm", "autumn")
    assert scene.read("a huge whale in a storm").subjects[0].size == SIZES["huge"]
    assert scene.read("a bowl of oranges").subjects[1].inside == "bowl"
    assert scene.read("two cats").subjects[0].count == 2
    assert scene.read("cats").subjects[0].count == 3  # a plural without a number: a few
    # Light words go to the light, not to the things.
    pink = scene.read("a boat under a pink sky")
    assert pink.light == "pink" and pink.subjects[0].colour is None
    assert scene.read("a white boat in golden light").light == "warm"
    assert scene.read("a white boat in golden light").subjects[0].colour_word == "white"
    assert scene.read("a forest in the fog at night").weather == "fog"
    assert scene.read("a forest in the fog at night").time == "night"


def test_the_negative_prompt_and_no_remove_subjects() -> None:
    plan = scene.read("a dog and a cat in a garden", negative_prompt="cat")
    assert plan.names() == ["dog"] and "cat" in plan.removed
    assert scene.read("a fisherman and a boat at dawn, no people").names() == ["boat"]
    assert scene.read("a street without cars, with a bus").names() == ["bus"]
    image, placements = _picture("a dog and a cat in a garden", negative="cat")
    assert {p.name for p in placements} == {"dog"}


def test_an_unknown_noun_maps_through_the_word_list() -> None:
    plan = scene.read("a kitten and a schooner with tangerines")
    assert plan.names() == ["cat", "boat", "orange"]
    assert [s.mapped_from for s in plan.subjects] == ["kitten", "schooner", "tangerines"]
    words = scene.word_list()
    assert words["kitten"] == "cat" and words["schooner"] == "boat" and words["tangerine"] == "orange"
    assert all(target in KINDS for target in set(words.values()))  # every entry draws something
    _, placements = _picture("a kitten")
    assert [p.name for p in placements] == ["cat"]


def test_the_library_has_at_least_150_distinct_subjects() -> None:
    distinct = distinct_subjects()
    assert len(distinct) >= 150
    categories = {KINDS[name].category for name in distinct}
    assert categories == {"animal", "person", "vehicle", "boat", "building", "plant", "food", "object", "sky"}


# --- what is drawn ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "subject"),
    [
        ("a fox in the snow", "fox"),
        ("a fisherman at dawn", "fisherman"),
        ("a bowl of oranges", "orange"),
        ("a red boat", "boat"),
        ("a kite over a beach", "kite"),
    ],
)
def test_what_is_named_is_visibly_there(prompt: str, subject: str) -> None:
    """Where the subject is placed, the picture differs from the same scene with the subject removed."""
    image, placements = _picture(prompt)
    without, rest = _picture(prompt, negative=subject)
    mine = [p for p in placements if p.name == subject]
    assert mine and not [p for p in rest if p.name == subject]
    for p in mine:
        box = _box(p)
        assert _diff(image.crop(box), without.crop(box)) > 12, (prompt, p)


def test_several_subjects_all_appear() -> None:
    prompt = "a horse, a house, a tree and a balloon"
    image, placements = _picture(prompt)
    assert {p.name for p in placements} == {"horse", "house", "tree", "balloon"}
    for name in ("horse", "house", "tree", "balloon"):
        without, _ = _picture(prompt, negative=name)
        box = _box(next(p for p in placements if p.name == name))
        assert _diff(image.crop(box), without.crop(box)) > 5, name


def test_counts_are_drawn() -> None:
    _, placements = _picture("three boats")
    assert [p.name for p in placements] == ["boat"] * 3
    assert len({round(p.x) for p in placements}) == 3


def test_a_red_boat_is_red_where_the_boat_is_and_a_blue_one_blue() -> None:
    red, red_places = _picture("a red boat")
    blue, blue_places = _picture("a blue boat")
    [r], [b] = red_places, blue_places
    assert _box(r) == _box(b)  # same seed, same composition; only the colour word differs

    def reddish(px: tuple[int, int, int]) -> bool:
        return px[0] > 140 and px[0] > px[1] + 60 and px[0] > px[2] + 60

    def bluish(px: tuple[int, int, int]) -> bool:
        return px[2] > 140 and px[2] > px[0] + 60

    assert _share(red.crop(_box(r)), reddish) > 0.15 > _share(blue.crop(_box(b)), reddish)
    assert _share(blue.crop(_box(b)), bluish) > _share(red.crop(_box(r)), bluish) + 0.1
    # Outside the boat, the sea is the same sea.
    sky = (0, 0, SIDE, SIDE // 3)
    assert _diff(red.crop(sky), blue.crop(sky)) < 3


def test_colour_words_apply_to_what_they_describe() -> None:
    image, placements = _picture("a red boat on a green sea")
    [boat] = placements
    x0, y0, x1, y1 = _box(boat)
    sea = image.crop((0, SIDE // 2 + 8, SIDE, y0 - 4 if y0 - 4 > SIDE // 2 + 16 else SIDE))
    r, g, b = ImageStat.Stat(sea).mean
    assert g > r + 20 and g > b  # the sea is green
    assert _share(image.crop((x0, y0, x1, y1)), lambda px: px[0] > px[1] + 60) > 0.15  # the boat red


def test_golden_hour_is_warm_night_is_cold_and_a_grey_sea_is_grey() -> None:
    golden, _ = _picture("the sea at golden hour")
    night, _ = _picture("the sea at night")
    noon, _ = _picture("the sea at noon")
    assert _warmth(golden) > 0.1 > _warmth(noon) > _warmth(night) + 0.05
    grey, _ = _picture("a calm grey sea")
    water = grey.crop((0, SIDE // 2 + 10, SIDE, SIDE))
    r, g, b = ImageStat.Stat(water).mean
    assert max(r, g, b) - min(r, g, b) < 30  # grey, not magenta
    hue = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)[0] * 360
    assert not 260 < hue < 340


def test_snow_makes_the_ground_brighter_and_fog_greyer() -> None:
    snow, _ = _picture("a fox in the snow")
    forest, _ = _picture("a fox in a forest")
    ground = (0, int(SIDE * 0.75), SIDE, SIDE)
    assert (
        ImageStat.Stat(snow.crop(ground).convert("L")).mean[0]
        > ImageStat.Stat(forest.crop(ground).convert("L")).mean[0] + 60
    )
    fog, _ = _picture("a lighthouse in the fog")
    clear, _ = _picture("a lighthouse")
    assert ImageStat.Stat(fog.convert("HSV")).mean[1] < ImageStat.Stat(clear.convert("HSV")).mean[1] - 15


# --- styles -------------------------------------------------------------------------------------------------


def _edges(image: Image.Image) -> float:
    from PIL import ImageFilter

    return ImageStat.Stat(ImageOps.grayscale(image).filter(ImageFilter.FIND_EDGES)).mean[0]


def test_styles_are_looks_not_tints() -> None:
    base = "a house and a tree in a field"
    plain, _ = _picture(base)
    looks = {
        style: _picture(f"{base}, {style}")[0]
        for style in ("pixel art", "ink", "watercolour", "neon", "oil painting", "isometric", "photo")
    }
    for style, image in looks.items():
        assert _diff(image, plain) > 4, style
    # Pixel art: a small palette, hard square cells.
    assert len(looks["pixel art"].getcolors(1 << 16) or []) <= 16
    # Ink: monochrome, mostly paper with dark lines and hatching.
    hsv = ImageStat.Stat(looks["ink"].convert("HSV")).mean
    assert hsv[1] < 40 and _share(looks["ink"], lambda px: max(px) < 80) > 0.03
    # Neon: a dark picture with bright saturated lines.
    assert ImageStat.Stat(looks["neon"].convert("L")).mean[0] < 60
    assert _share(looks["neon"], lambda px: max(px) > 200) > 0.01
    # Watercolour: softer (fewer hard edges) and lighter than the plain drawing.
    assert (
        ImageStat.Stat(looks["watercolour"].convert("L")).mean[0] > ImageStat.Stat(plain.convert("L")).mean[0]
    )
    # Oil: brush-stroke texture everywhere (more local variation than the flat drawing).
    assert _edges(looks["oil painting"]) > _edges(plain) * 1.5
    # Photo: no hard outlines, soft gradients.
    assert _edges(looks["photo"]) < _edges(plain)
    # Isometric: the setting is a projected tile; the sky corners are plain.
    iso = looks["isometric"]
    assert _diff(iso.crop((0, int(SIDE * 0.8), 20, SIDE)), plain.crop((0, int(SIDE * 0.8), 20, SIDE))) > 20


# --- determinism, remixes, the job record -------------------------------------------------------------------


def test_same_prompt_seed_and_size_same_bytes_other_seed_other_picture() -> None:
    request = _request("a fox and a deer in an autumn forest, watercolour")
    assert render(request, 3) == render(request, 3)
    assert render(request, 3) != render(request, 4)
    a, _ = _picture("a fox and a deer", seed=3)
    b, _ = _picture("a fox and a deer", seed=4)
    assert _diff(a, b) > 1


def _luma_correlation(a: Image.Image, b: Image.Image) -> float:
    xa = list(ImageOps.grayscale(a).resize((64, 64)).tobytes())
    xb = list(ImageOps.grayscale(b).resize((64, 64)).tobytes())
    ma, mb = sum(xa) / len(xa), sum(xb) / len(xb)
    cov = sum((p - ma) * (q - mb) for p, q in zip(xa, xb, strict=True))
    va = sum((p - ma) ** 2 for p in xa) ** 0.5
    vb = sum((q - mb) ** 2 for q in xb) ** 0.5
    return cov / (va * vb)


def test_a_remix_keeps_the_parents_composition_and_applies_the_new_words() -> None:
    parent = render(_request("a castle on a hill with a tree", seed=1), 1)
    parent_image = Image.open(io.BytesIO(parent)).convert("RGB")
    fresh = draw(_request("a castle at night", seed=2), 2)
    remix = draw(_request("a castle at night", seed=2, init_image=parent), 2)
    # The parent's layout: the remix's brightness structure follows the parent far more than a fresh one.
    assert _luma_correlation(remix, parent_image) > 0.7
    assert _luma_correlation(remix, parent_image) > _luma_correlation(fresh, parent_image) + 0.2
    # The new words: night makes it darker than the parent, golden hour warmer.
    assert sum(ImageStat.Stat(remix).mean) < sum(ImageStat.Stat(parent_image).mean) - 60
    golden = draw(_request("a castle at golden hour", seed=2, init_image=parent), 2)
    assert _warmth(golden) > _warmth(parent_image) + 0.1
    assert _luma_correlation(golden, parent_image) > 0.7


@pytest.fixture
async def inst(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    async with start_instance(make_settings(tmp_path, backend), router) as instance:
        await instance.create_account("alice")
        yield instance


async def test_the_job_records_the_scene_plan_with_the_image(inst: Instance) -> None:
    def factory(name: str, options: Mapping[str, Any], http: httpx.AsyncClient) -> Backend:
        return ProceduralBackend()

    svc = inst.services
    runner = JobRunner(
        svc.sessions,
        JobSettings(default_backend="procedural", default_size="64x64"),
        svc.backend_http,
        svc.media,
        backend_factory=factory,
    )
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        job = await submit(
            session, runner.settings, JobSpec(prompt="two red foxes in the snow, ink"), account_id=alice.id
        )
    await runner.run_once()
    async with svc.sessions() as session:
        media = (await session.execute(MediaAttachment.__table__.select())).mappings().all()
    assert len(media) == 1 and media[0]["job_id"] == job.id
    recorded = media[0]["generation"]["scene"]
    assert recorded["style"] == "ink" and recorded["weather"] == "snow"
    assert [(s["name"], s["count"], s["colour_word"]) for s in recorded["subjects"]] == [("fox", 2, "red")]


async def test_the_backend_returns_the_plan() -> None:
    result = await ProceduralBackend().generate(_request("a red boat, pixel art"), no_progress)
    assert result.extra["scene"] == scene.read("a red boat, pixel art").to_dict()


# --- the contact sheet artifact -----------------------------------------------------------------------------


def test_the_contact_sheet_is_produced(tmp_path: Path) -> None:
    """Writes the sheet of the README's prompts to $FEDIGEN_ARTIFACTS (or the test's tmp dir)."""
    assert len(PROMPTS) >= 24
    out_dir = Path(os.environ.get("FEDIGEN_ARTIFACTS") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "contact-sheet.png"
    sheet(PROMPTS, side=128, columns=6).save(path)
    with Image.open(path) as image:
        assert image.size == (6 * 128, 5 * (128 + 18))
    # Every prompt's plan names something to draw or a setting: none falls back to an abstract picture.
    for prompt in PROMPTS:
        plan = scene.read(prompt)
        assert plan.subjects or plan.place, prompt


def test_every_subject_in_the_library_is_drawn_where_it_is_placed() -> None:
    """Each distinct subject, named alone, is placed and changes the pixels of its box."""
    for name in distinct_subjects():
        prompt = f"a {name.replace('_', ' ')}"
        request = GenerationRequest(prompt=prompt, width=96, height=96, seed=1)
        image, plan, placements = compose(request, 1)
        assert plan.names() == [name] and [p.name for p in placements] == [name], prompt
        bare, _, _ = compose(
            GenerationRequest(prompt=prompt, negative_prompt=name, width=96, height=96, seed=1), 1
        )
        x0, y0, x1, y1 = placements[0].box()
        box = (max(0, int(x0)), max(0, int(y0)), min(96, int(x1) + 1), min(96, int(y1) + 1))
        assert _diff(image.crop(box), bare.crop(box)) > 2, prompt


def test_prepositions_and_containers() -> None:
    """'over' puts what was just named in the air; 'a cup of coffee' is one cup; fruit goes in its bowl."""
    plan = scene.read("a dragon flying over a castle")
    assert [(s.name, s.aloft) for s in plan.subjects] == [("dragon", True), ("castle", False)]
    _, placements = _picture("a dragon flying over a castle")
    dragon, castle = (next(p for p in placements if p.name == n) for n in ("dragon", "castle"))
    assert dragon.y < castle.y - castle.s * 0.5  # above it
    assert scene.read("a cup of coffee").names() == ["cup"]
    assert scene.read("a pirate ship").names() == ["sailing_ship"]
    _, placements = _picture("a bowl of oranges")
    bowl = next(p for p in placements if p.name == "bowl")
    oranges = [p for p in placements if p.name == "orange"]
    x0, y0, x1, y1 = bowl.box()
    assert len(oranges) == 5 and all(x0 <= p.x <= x1 and y0 - bowl.s <= p.y <= y1 for p in oranges)
