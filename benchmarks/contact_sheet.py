"""A contact sheet of the embedded procedural generator: example prompts drawn and laid out in a grid.

Writes docs/contact-sheet.png (or the path given) from PROMPTS, each tile captioned with its prompt,
so the README's picture is always what the code draws today.

    .venv/bin/python benchmarks/contact_sheet.py [OUT.png] [--side 256] [--columns 6]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from generation.backend import GenerationRequest  # noqa: E402
from generation.backends.procedural import draw  # noqa: E402

PROMPTS = [
    "a fox in the snow",
    "a fisherman at dawn",
    "a bowl of oranges",
    "a red boat",
    "a kite over a beach",
    "calm grey sea at golden hour",
    "a red boat on a green sea",
    "three sailboats at dusk",
    "a lighthouse in the fog",
    "a castle on a mountain at night",
    "an elephant and a giraffe in the desert",
    "a wizard in a forest, watercolour",
    "a cat on a table, ink drawing",
    "a house by a tree, pixel art",
    "a car in the city at night, neon",
    "a windmill in a field, oil painting",
    "a cottage with a barn, isometric",
    "a horse in a meadow, photo",
    "two deer in an autumn forest",
    "a penguin in the snow",
    "a rocket in space",
    "a teapot and two cups",
    "a hot air balloon over hills in the morning",
    "a bicycle in the rain",
    "a whale and a ship in a storm",
    "a schooner and a kitten",
    "sunflowers and a bee in summer",
    "a cake with candles, cozy",
    "a dragon over a castle, dramatic",
    "a girl with an umbrella in the rain, watercolour",
]


def sheet(prompts: list[str], side: int = 256, columns: int = 6, seed: int = 7) -> Image.Image:
    """The prompts drawn at ``side`` pixels, captioned, in a grid ``columns`` wide."""
    caption = 18
    rows = (len(prompts) + columns - 1) // columns
    out = Image.new("RGB", (columns * side, rows * (side + caption)), (24, 24, 28))
    d = ImageDraw.Draw(out)
    for i, prompt in enumerate(prompts):
        x, y = (i % columns) * side, (i // columns) * (side + caption)
        out.paste(draw(GenerationRequest(prompt=prompt, width=side, height=side, seed=seed), seed), (x, y))
        d.text((x + 4, y + side + 3), prompt[: side // 6], fill=(230, 230, 230))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out", nargs="?", default=str(Path(__file__).resolve().parent.parent / "docs/contact-sheet.png")
    )
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--columns", type=int, default=6)
    args = parser.parse_args()
    # A 256-colour palette keeps the committed file small (the film grain defeats PNG's compression).
    sheet(PROMPTS, args.side, args.columns).quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(
        args.out, optimize=True
    )
    print(f"wrote {args.out} ({len(PROMPTS)} prompts)")


if __name__ == "__main__":
    main()
