"""Procedural generation: seconds to draw and PNG-encode one 1024x1024 picture, on one core.

Baseline, measured in the same run and process: Pillow making a 1024x1024 vertical gradient with the
same light grain and PNG-encoding it with the same settings, the least any 1024x1024 grainy PNG costs.
The process is pinned to one CPU (sched_setaffinity) so the figures are one core's. Rounds alternate
baseline and procedural so drifting machine load hits both alike; each round draws every prompt of a
fixed list that covers all the compositions, plus one remix (image-to-image).
Goal: median under 1 s per picture on one core (the ratio to the baseline is what compares machines).

    .venv/bin/python benchmarks/generation.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, ImageChops

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from generation.backend import GenerationRequest, no_progress  # noqa: E402
from generation.backends import scene  # noqa: E402
from generation.backends.procedural import ProceduralBackend, draw, render  # noqa: E402

GOAL_S = 1.0
T = TypeVar("T")
SIDE = 1024
# One prompt per composition: landscapes with each element, and the abstract ones (by hash).
PROMPTS = [
    "a lighthouse in the fog",
    "a city by the sea at night",
    "misty mountains at sunrise",
    "a pine forest in winter",
    "desert sunset",
    "old tower on a hill, grainy film",
    "watercolor cherry blossom garden",
    "abstract feelings",
    "happy birthday",
    "quantum love letter",
    "love",
]


def baseline(seed: int) -> bytes:
    """A 1024x1024 gradient with light grain, PNG-encoded as the backend encodes (level 3)."""
    gradient = Image.linear_gradient("L").resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    rgb = Image.merge("RGB", (gradient, gradient.point(lambda v: v // 2), gradient.point(lambda v: 255 - v)))
    noise = Image.frombytes("L", (SIDE, SIDE), random.Random(seed).randbytes(SIDE * SIDE))
    noise = noise.point([128 + (v - 128) * 5 // 128 for v in range(256)])
    out = io.BytesIO()
    ImageChops.add(rgb, Image.merge("RGB", (noise, noise, noise)), 1.0, -128).save(
        out, "PNG", compress_level=3
    )
    return out.getvalue()


def timed(work: Callable[..., T], *args: Any) -> tuple[float, T]:
    """Seconds one call takes, and what it returned."""
    start = time.perf_counter()
    result = work(*args)
    return time.perf_counter() - start, result


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
    parser.add_argument("--quick", action="store_true", help="1 round instead of 3")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of (baseline, every prompt)")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    where = pin_to_one_core()

    requests = [GenerationRequest(prompt=p, width=SIDE, height=SIDE) for p in PROMPTS]
    parent = render(requests[0], 1)
    remix = GenerationRequest(prompt="a forest under the moon", width=SIDE, height=SIDE, init_image=parent)
    render(requests[1], 0)  # warm-up: imports, Pillow's lazily built tables
    base_s: list[float] = []
    proc_s: list[float] = []
    draw_s: list[float] = []
    remix_s: list[float] = []
    sizes: list[int] = []
    for r in range(rounds):
        base_s += [timed(baseline, r * 100 + i)[0] for i in range(len(requests))]
        for i, request in enumerate(requests):
            seconds, data = timed(render, request, r * 100 + i)
            proc_s.append(seconds)
            sizes.append(len(data))
            draw_s.append(timed(draw, request, r * 100 + i)[0])
        remix_s.append(timed(render, remix, r)[0])
    # Once through the backend itself: the same work behind asyncio.to_thread.
    backend_s = timed(asyncio.run, ProceduralBackend().generate(requests[1], no_progress))[0]

    base, proc = statistics.median(base_s), statistics.median(proc_s)
    drawing = statistics.median(draw_s)
    print(f"procedural generation, {SIDE}x{SIDE} PNG, {where}; {rounds} round(s) x {len(requests)} prompts")
    print(f"  baseline (gradient + grain, PNG)  median {base:.3f} s")
    print(f"  procedural (draw + PNG)           median {proc:.3f} s   p90 {_p90(proc_s):.3f} s"
          f"   max {max(proc_s):.3f} s   = {proc / base:.2f}x baseline")  # fmt: skip
    print(f"    of which drawing (no encoding)  median {drawing:.3f} s   = {drawing / base:.2f}x baseline")
    print(f"  remix (img2img from a 1024 PNG)   median {statistics.median(remix_s):.3f} s")
    print(f"  through ProceduralBackend.generate (asyncio.to_thread): {backend_s:.3f} s")
    print(f"  PNG size median {statistics.median(sizes) / 1e6:.2f} MB")
    slowest = max(range(len(proc_s)), key=proc_s.__getitem__) % len(requests)
    read = scene.read(PROMPTS[slowest])
    kind = (
        read.names() + [read.place or "", read.style or ""] if read.subjects or read.place else ["abstract"]
    )
    print(f"  slowest prompt: {PROMPTS[slowest]!r} ({', '.join(k for k in kind if k)})")
    verdict = "meets" if proc < GOAL_S else "misses"
    print(f"median {proc:.3f} s: {verdict} the goal of < {GOAL_S:.0f} s per picture on one core")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


if __name__ == "__main__":
    sys.exit(main())
