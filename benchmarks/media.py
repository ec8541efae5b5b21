"""Media pipeline: ``storage.images.process_image`` per 1024x1024 image (every variant + blurhash).

Baseline, measured in the same run on the same bytes: a bare Pillow decode plus one JPEG encode
(quality 85), the least any server does with an upload. Inputs, made in memory from a fixed seed:

- ``generated PNG``: 1024x1024 RGB, smooth gradients plus 10% noise, as a generator returns it;
- ``photo JPEG``: the same pixels as a quality-90 JPEG, as an upload or a remote image arrives;
- ``noise 4096 PNG``: 4096x4096 random bytes, the worst case for the 2 MB federation copy.

Goal: the generated PNG under 150 ms. Runs alternate pipeline and baseline so drifting machine load
hits both alike; figures are medians. ``--profile`` prints where the pipeline's time goes.

    .venv/bin/python benchmarks/media.py [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from PIL import Image  # noqa: E402

from storage.images import ImageLimits, ProcessedImage, process_image  # noqa: E402

GOAL_MS = 150.0


def generated_like(side: int, seed: int = 1) -> Image.Image:
    """Gradients in three directions plus 10% noise: the texture of a generated image."""
    size = (side, side)
    channels = [
        Image.linear_gradient("L").resize(size),
        Image.radial_gradient("L").resize(size),
        Image.linear_gradient("L").rotate(90).resize(size),
    ]
    noise = Image.frombytes("RGB", size, random.Random(seed).randbytes(side * side * 3))
    return Image.blend(Image.merge("RGB", channels), noise, 0.1)


def encoded(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def baseline(data: bytes) -> bytes:
    """Decode fully, encode one JPEG: the bare minimum."""
    with Image.open(io.BytesIO(data)) as im:
        return encoded(im.convert("RGB"), "JPEG", quality=85)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure(data: bytes, limits: ImageLimits, runs: int) -> tuple[float, float, ProcessedImage]:
    """Median ms of the pipeline and of the baseline, alternating, after one warm-up of each."""
    processed = process_image(data, limits)
    baseline(data)
    pipeline_ms, baseline_ms = [], []
    for _ in range(runs):
        pipeline_ms.append(timed(lambda: process_image(data, limits)))
        baseline_ms.append(timed(lambda: baseline(data)))
    return statistics.median(pipeline_ms), statistics.median(baseline_ms), processed


def describe(processed: ProcessedImage) -> str:
    parts = []
    for name in ("original", "federation", "thumbnail"):
        v = getattr(processed, name)
        parts.append(f"{name} {v.ext} {v.width}x{v.height} {len(v.data) / 1e6:.2f} MB")
    return "; ".join(parts)


def profile(data: bytes, limits: ImageLimits, runs: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        process_image(data, limits)
    profiler.disable()
    print(f"\nprofile of {runs} runs on the generated PNG (cumulative, top 20):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 runs per input instead of 21")
    parser.add_argument("--profile", action="store_true", help="cProfile the pipeline on the generated PNG")
    args = parser.parse_args()
    runs = 5 if args.quick else 21

    picture = generated_like(1024)
    side = 4096
    noise = Image.frombytes("RGB", (side, side), random.Random(2).randbytes(side * side * 3))
    noise_png = encoded(noise, "PNG", compress_level=1)
    inputs = [
        ("generated PNG 1024", encoded(picture, "PNG"), ImageLimits(), runs),
        ("photo JPEG 1024", encoded(picture, "JPEG", quality=90), ImageLimits(), runs),
        ("noise PNG 4096", noise_png, ImageLimits(max_input_bytes=len(noise_png)), 1 if args.quick else 3),
    ]
    print(f"media pipeline: process_image, all variants + blurhash (median of N runs; {os.cpu_count()} CPUs)")
    print(f"  {'input':<20} {'bytes':>10} {'N':>3} {'pipeline':>11} {'baseline':>11} {'ratio':>7}")
    results = {}
    for name, data, limits, n in inputs:
        pipeline_ms, baseline_ms, processed = measure(data, limits, n)
        results[name] = pipeline_ms
        print(f"  {name:<20} {len(data):>10} {n:>3} {pipeline_ms:>8.1f} ms {baseline_ms:>8.1f} ms"
              f" {pipeline_ms / baseline_ms:>6.2f}x")  # fmt: skip
        print(f"    {describe(processed)}; blurhash {processed.blurhash}")
    generated = results["generated PNG 1024"]
    verdict = "meets" if generated < GOAL_MS else "misses"
    print(f"generated PNG 1024: {generated:.1f} ms per image: {verdict} the goal of < {GOAL_MS:.0f} ms")
    if args.profile:
        profile(inputs[0][1], ImageLimits(), runs)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
