"""The embedded default backend: generative art drawn from the prompt's words with Pillow alone.

This is not a neural model and understands no sentence. It reads words: colour and mood words pick the
palette (fog -> greys, sunset -> warm, ocean or night -> blues, forest -> greens, else one hashed from
the words), scene words pick the composition (lighthouse, city, mountain, forest, sea, sun, moon,
stars...; else an abstract one hashed from the words), and texture words add haze, a watercolour
softness or film grain. It needs no model, network or GPU, so a new instance can post at once, and the
same prompt, seed and size always give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
from collections.abc import Mapping
from typing import Any

import httpx
from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat

from generation.backend import GeneratedImage, GenerationRequest, GenerationResult, Options, ProgressCallback
from generation.backends import scene, styles
from generation.backends.composition import Placement
from generation.backends.painter import Painter
from generation.backends.scene import ScenePlan
from generation.backends.scenery import SCENES, WORK_SIDE, Canvas, Plan, hsv, landscape, mix
from generation.errors import BackendConfigError, BackendError
from storage import offload

MODEL = "procedural-v2"
FORMATS = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}

# Palettes, five colours from dark to light: deep (top of the sky, nearest ground), dark, mid, light
# (horizon, haze) and glow (sun, lamps, stars). The first palette word wins; a second one tints it.
_PALETTES = {
    "3b4046 5d646b 8f979e c8cdd0 f2f1ea": "fog foggy mist misty haze hazy grey gray overcast rain smoke",
    "241c45 6b2d5c d8604a f7ad6a ffe8b0": "sunset sunrise dawn dusk evening golden warm",
    "1a0a0a 5e1208 c43a12 f28c28 ffe27a": "fire flame flames lava ember embers volcano inferno",
    "3f6ea3 9a5b34 d79a5b f1d3a0 fff4d6": "desert dune dunes sand sahara canyon",
    "3b2418 7f3b1d c76b29 eab65a fbe3a1": "autumn fall harvest",
    "04060f 0d1a33 1f3b63 4c6a96 f6ecc8": "night midnight space galaxy cosmos nebula starry",
    "0b2545 13496b 2a7f9e 8fc9d6 f4f7ef": "ocean sea seas water lake harbor harbour coast beach waves",
    "2c3e58 5d7896 a6bdd3 e4edf4 ffffff": "winter snow snowy ice icy frost frozen glacier arctic",
    "0f2418 1f4a2c 4f8a4b b6d48a f3f5c8": "forest forests jungle woods woodland meadow garden spring moss",
    "120429 3d0d5c b0267f f26ca7 7ff0ff": "neon cyberpunk synthwave vaporwave magic dream dreamy fantasy",
    "111318 2a2f3a 4d5566 8390a4 dfe6f2": "storm stormy thunder dark gloomy gothic",
    "6d6a9c a48bc4 e8a6c8 f8d9e0 fffaf0": "pastel candy blossom cherry bloom sakura",
}
PALETTE_WORDS = {
    word: tuple((int(c[:2], 16), int(c[2:4], 16), int(c[4:], 16)) for c in colours.split())
    for colours, words in _PALETTES.items()
    for word in words.split()
}
# Colour words turn the palette towards a hue (degrees).
HUES = {
    "red": 0, "crimson": 350, "scarlet": 5, "orange": 28, "amber": 40, "gold": 45, "yellow": 55,
    "lime": 90, "green": 125, "emerald": 145, "teal": 175, "turquoise": 170, "cyan": 185, "blue": 215,
    "azure": 205, "navy": 225, "indigo": 250, "violet": 270, "purple": 280, "magenta": 305, "pink": 330,
    "rose": 340,
}  # fmt: skip
GREY_WORDS = {"monochrome", "black", "white", "noir", "silver", "grayscale", "greyscale"}
# Scene words, each adding elements to a landscape (a lighthouse brings its sea).
_FEATURES = {
    "sea": "sea seas ocean oceans water lake beach coast shore harbor harbour bay wave waves island boat"
    " ship sail lighthouse",
    "mountain": "mountain mountains peak peaks alps hill hills valley volcano cliff cliffs ridge",
    "forest": "forest forests tree trees woods woodland pine pines jungle grove",
    "city": "city cities skyline town buildings building skyscraper skyscrapers street metropolis"
    " downtown cyberpunk village",
    "tower": "lighthouse tower towers castle spire obelisk",
    "sun": "sun sunny sunset sunrise dawn sunlight",
    "moon": "moon moonlight moonlit lunar",
    "stars": "star stars starry night midnight galaxy space constellation cosmos nebula",
    "clouds": "cloud clouds cloudy sky skies storm",
    "dunes": "desert dune dunes sand",
}
FEATURE_WORDS: dict[str, set[str]] = {}
for _feature, _words in _FEATURES.items():
    for _word in _words.split():
        FEATURE_WORDS.setdefault(_word, set()).add(_feature)
_TEXTURES = {
    "fog": "fog foggy mist misty haze hazy smoke",
    "soft": "watercolor watercolour soft dreamy painting painted pastel ethereal blurry",
    "grain": "grain grainy noise noisy film analog analogue vintage retro",
}
TEXTURE_WORDS = {word: texture for texture, words in _TEXTURES.items() for word in words.split()}
ABSTRACT = ("bokeh", "waves", "rings", "aurora")


def plan(prompt: str, negative_prompt: str = "") -> Plan:
    """Read a prompt's words into a Plan; words of the negative prompt remove features and textures."""
    words = re.findall(r"[a-z]+", prompt.lower())
    unwanted = set(re.findall(r"[a-z]+", negative_prompt.lower()))
    digest = int.from_bytes(hashlib.sha256(" ".join(words).encode()).digest()[:8], "big")
    moods = [PALETTE_WORDS[w] for w in words if w in PALETTE_WORDS]
    if moods:
        palette = moods[0]
        second = next((m for m in moods if m != palette), None)
        if second:
            palette = tuple(mix(a, b, 0.35) for a, b in zip(palette, second, strict=True))
    else:
        hue = digest % 360
        shades = ((0, 0.55, 0.16), (18, 0.5, 0.36), (36, 0.45, 0.64), (54, 0.3, 0.88), (180, 0.2, 1.0))
        palette = tuple(hsv((255, 0, 0), dh=hue + dh, sat=s) for dh, s, _ in shades)
        palette = tuple(mix((0, 0, 0), c, v) for c, (_, _, v) in zip(palette, shades, strict=True))
    hues = [HUES[w] for w in words if w in HUES]
    if hues:
        palette = tuple(hsv(c, hue=hues[0], amount=0.9) for c in palette)
    if GREY_WORDS & set(words):
        palette = tuple(hsv(c, sat=0.15) for c in palette)
    features = frozenset(f for w in words for f in FEATURE_WORDS.get(w, ())) - unwanted
    textures = frozenset(TEXTURE_WORDS[w] for w in words if w in TEXTURE_WORDS) - unwanted
    return Plan(palette, features, ABSTRACT[(digest >> 16) % len(ABSTRACT)], textures, frozenset(words))


def prompt_seed(prompt: str) -> int:
    """The seed used when a request gives none: a 32-bit hash of the prompt."""
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big")


def _open_init(data: bytes, size: tuple[int, int]) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.draft("RGB", size)  # JPEG: decode at a reduced scale when that is enough
            image = ImageOps.exif_transpose(source).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BackendError(f"init image could not be read: {exc}") from None
    return ImageOps.fit(image, size, Image.Resampling.LANCZOS)


def _legacy(
    request: GenerationRequest, seed: int, size: tuple[int, int]
) -> tuple[Image.Image, random.Random]:
    """An abstract composition from the words' palette, for prompts that name no subject and no place."""
    the_plan = plan(request.prompt, request.negative_prompt)
    factor = min(1.0, WORK_SIDE / max(size))
    c = Canvas(the_plan, (max(16, round(size[0] * factor)), max(16, round(size[1] * factor))), seed)
    if the_plan.features:
        landscape(c)
    else:
        SCENES[the_plan.abstract](c)
    if "fog" in the_plan.textures:
        c.haze(c.h * 0.6, c.h * 0.35, 0.35, floor=0.12)
    c.soften(0.6)  # anti-aliases the silhouettes before they are scaled up
    vignette = Image.radial_gradient("L").resize((c.w, c.h)).point([max(0, v - 150) for v in range(256)])
    c.image.paste(c.deep, (0, 0), vignette)
    return c.image, c.rng


def compose(request: GenerationRequest, seed: int) -> tuple[Image.Image, ScenePlan, list[Placement]]:
    """The picture at the requested size before grain, with its plan and where (in work pixels) each
    subject went (blocking; run it in a thread)."""
    scene_plan = scene.read(request.prompt, request.negative_prompt)
    size = (request.width, request.height)
    placements: list[Placement] = []
    if not scene_plan.subjects and scene_plan.place is None:
        work, rng = _legacy(request, seed, size)
    else:
        factor = min(1.0, WORK_SIDE / max(size))
        work_size = (max(16, round(size[0] * factor)), max(16, round(size[1] * factor)))
        painter = Painter(scene_plan, work_size, seed)
        work = painter.paint()
        placements = painter.placements
        rng = painter.rng
    fresh = styles.apply(work, scene_plan.style, rng)
    if request.init_image is not None:
        kept = _keep(_open_init(request.init_image, work.size), work, request.strength)
        if scene_plan.style:  # the new words' style restyles the parent's composition too
            kept = styles.apply(kept, scene_plan.style, random.Random(seed))
        fresh = Image.blend(kept, fresh, request.strength**4)
    image = fresh if fresh.size == size else fresh.resize(size, styles.upscale(scene_plan.style))
    return image, scene_plan, placements


def _keep(parent: Image.Image, new: Image.Image, strength: float) -> Image.Image:
    """The parent's composition in the new picture's light and colour: the parent's detail (its edges and
    shapes) over the new picture's low-frequency brightness and colour, more of them as strength grows."""

    def low(image: Image.Image) -> Image.Image:
        return (
            image.reduce(8).filter(ImageFilter.GaussianBlur(2)).resize(parent.size, Image.Resampling.BICUBIC)
        )

    luma_parent = ImageOps.grayscale(parent)
    y_new, cb, cr = low(new).convert("YCbCr").split()
    # The parent's layout and edges stay; the new words' light sets how bright it is overall.
    gain = ((ImageStat.Stat(y_new).mean[0] + 8) / (ImageStat.Stat(luma_parent).mean[0] + 8)) ** min(
        1.0, strength
    )
    luma = luma_parent.point([min(255, round(v * gain)) for v in range(256)])
    recoloured = Image.merge("YCbCr", (luma, cb, cr)).convert("RGB")
    return Image.blend(parent, recoloured, min(1.0, strength * 1.2))


def draw(request: GenerationRequest, seed: int) -> Image.Image:
    """Draw one picture for the request with this seed (blocking; run it in a thread)."""
    image, scene_plan, _ = compose(request, seed)
    size = image.size
    amount = styles.grain(scene_plan.style)
    if not amount:
        return image
    noise = Image.frombytes("L", size, random.Random(seed ^ 0x5EED).randbytes(size[0] * size[1]))
    noise = noise.point([128 + (v - 128) * amount // 128 for v in range(256)])
    return ImageChops.add(image, Image.merge("RGB", (noise, noise, noise)), 1.0, -128)


def render(request: GenerationRequest, seed: int, image_format: str = "png") -> bytes:
    """One encoded picture for the request with this seed (blocking; run it in a thread)."""
    out = io.BytesIO()
    # PNG level 3: the grain defeats deflate's longer searches; the default 6 is 2-3x slower, no smaller.
    options: dict[str, Any] = {"compress_level": 3} if image_format == "png" else {"quality": 90}
    draw(request, seed).save(out, FORMATS[image_format], **options)
    return out.getvalue()


class ProceduralBackend:
    """Generative art from the prompt's words (see the module docstring); img2img blends the parent."""

    name = "procedural"
    supports_img2img = True

    def __init__(self, image_format: str = "png", concurrency: int = 2) -> None:
        self.image_format = image_format
        self.concurrency = concurrency

    async def generate(self, request: GenerationRequest, progress: ProgressCallback) -> GenerationResult:
        """Draw ``request.count`` pictures, seeds seed, seed+1, ... (the prompt's hash when None)."""
        await progress(0)
        first = request.seed if request.seed is not None else prompt_seed(request.prompt)
        images = []
        for i in range(request.count):
            # In an image process: drawing holds the interpreter lock for tens of ms at a time.
            data = await offload.run(render, request, first + i, self.image_format)
            images.append(GeneratedImage(data=data, seed=first + i))
            await progress(100 * (i + 1) // request.count)
        the_plan = scene.read(request.prompt, request.negative_prompt)
        return GenerationResult(
            images=images, backend=self.name, model=MODEL, extra={"scene": the_plan.to_dict()}
        )

    async def aclose(self) -> None:
        """Nothing to release."""


def create(options: Mapping[str, Any], http: httpx.AsyncClient) -> ProceduralBackend:
    """The procedural backend from its ``[generation.procedural]`` options (format, concurrency)."""
    opts = Options(section="generation.procedural", values=options, known={"format", "concurrency"})
    image_format = opts.get_str("format", "png").lower()
    if image_format not in FORMATS:
        raise BackendConfigError(f"generation.procedural.format: expected one of {', '.join(FORMATS)}")
    concurrency = opts.get_int("concurrency", 2)
    if concurrency < 1:
        raise BackendConfigError("generation.procedural.concurrency: must be at least 1")
    return ProceduralBackend(image_format, concurrency)
