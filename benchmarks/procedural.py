"""The procedural backend's scene drawing: seconds per 1024x1024 picture on one core, against a baseline.

Baseline, measured in the same run and process: a plain Pillow fill of a 1024x1024 RGB image PNG-encoded
with the backend's settings (level 3), the least any 1024x1024 PNG costs here. Rounds alternate the
baseline and the prompts so drifting machine load hits both alike. The prompts cover every style, many
subjects at once, weather, and a remix (image-to-image); the process is pinned to one CPU.
Goal: every prompt's median under 1 s per picture on one core; the ratio to the baseline compares machines.

    .venv/bin/python benchmarks/procedural.py [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from generation.backend import GenerationRequest  # noqa: E402
from generation.backends.procedural import render  # noqa: E402

GOAL_S = 1.0
SIDE = 1024
PROMPTS = [
    "a fox in the snow",
    "a fisherman at dawn",
    "a bowl of oranges",
    "three red boats on a calm grey sea at golden hour",
    "a horse, a house, a tree, a dog and a kite in a field",
    "a castle on a mountain at night in a storm",
    "a cat on a table, ink drawing",
    "a house by a tree, pixel art",
    "a car in the city at night, neon",
    "a windmill in a field, oil painting",
    "a girl with an umbrella in the rain, watercolour",
    "a cottage with a barn, isometric",
    "a horse in a meadow, photo",
]


def baseline() -> bytes:
    """A plain 1024x1024 fill, PNG-encoded as the backend encodes (level 3)."""
    out = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), (90, 140, 200)).save(out, "PNG", compress_level=3)
    return out.getvalue()


def timed(request: GenerationRequest | None, seed: int) -> float:
    """Seconds one picture takes (the baseline when request is None)."""
    start = time.perf_counter()
    if request is None:
        baseline()
    else:
        render(request, seed)
    return time.perf_counter() - start


def pin_to_one_core() -> str:
    """Run this process on one CPU; says which (or why not)."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (baseline, every prompt)")
    args = parser.parse_args()
    where = pin_to_one_core()
    requests = {p: GenerationRequest(prompt=p, width=SIDE, height=SIDE) for p in PROMPTS}
    parent = render(requests[PROMPTS[0]], 1)
    remix_prompt = "remix: a fox at golden hour, watercolour (from a 1024 PNG)"
    requests[remix_prompt] = GenerationRequest(
        prompt="a fox at golden hour, watercolour", width=SIDE, height=SIDE, init_image=parent
    )
    render(requests[PROMPTS[1]], 0)  # warm-up: imports, Pillow's lazily built tables
    base_s: list[float] = []
    times: dict[str, list[float]] = {p: [] for p in requests}
    for r in range(args.rounds):
        for i, (prompt, request) in enumerate(requests.items()):
            base_s.append(timed(None, 0))
            times[prompt].append(timed(request, r * 100 + i))
    base = statistics.median(base_s)
    print(f"procedural scenes, {SIDE}x{SIDE} PNG, {where}; {args.rounds} round(s) x {len(requests)} prompts")
    print(f"  baseline (plain Pillow fill, PNG)  median {base:.3f} s")
    medians = {p: statistics.median(t) for p, t in times.items()}
    for prompt, median in medians.items():
        print(f"  {median:6.3f} s  = {median / base:5.1f}x baseline   {prompt}")
    overall, worst = statistics.median(medians.values()), max(medians.values())
    print(f"  per picture: median {overall:.3f} s = {overall / base:.1f}x baseline; slowest {worst:.3f} s")
    verdict = "meets" if worst < GOAL_S else "misses"
    print(f"slowest median {worst:.3f} s: {verdict} the goal of < {GOAL_S:.0f} s per picture on one core")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
