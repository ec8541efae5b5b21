"""Latency and throughput measured with `wrk` (Debian's /usr/bin/wrk), a compiled load generator, so
the client is not what limits the figures: its output read into p50/p90/p99 and requests per second.

Only the standard library is imported, as in ``_support``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}

# A Lua script for wrk: GET paths whose max_id is drawn at random between LOW and HIGH (pages deep in the
# past), with the headers given on the command line.
DEEP_PAGES = """\
math.randomseed(7)
request = function()
  return wrk.format("GET", "{path}&max_id=" .. math.random({low}, {high}))
end
"""


@dataclass
class WrkResult:
    """One wrk run: latency percentiles in milliseconds, requests per second, and the failures."""

    p50: float
    p90: float
    p99: float
    rate: float
    requests: int
    errors: int  # socket errors, timeouts and non-2xx/3xx answers

    def line(self, name: str) -> str:
        return (f"  {name:44s} p50 {self.p50:7.2f} ms  p90 {self.p90:7.2f} ms  p99 {self.p99:7.2f} ms  "
                f"{self.rate:8.1f} req/s  ({self.requests} requests, {self.errors} errors)")  # fmt: skip


def available() -> bool:
    return shutil.which("wrk") is not None


def _ms(value: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if found is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(found.group(1)) * UNITS[found.group(2)]


def run(
    url: str, *, seconds: float, connections: int = 1, threads: int = 1,
    headers: dict[str, str] | None = None, script: Path | None = None, timeout_s: float = 10,
) -> WrkResult:  # fmt: skip
    """Load ``url`` for ``seconds`` with ``connections`` keep-alive connections and read wrk's report."""
    command = ["wrk", f"-t{threads}", f"-c{max(connections, threads)}", f"-d{max(1, round(seconds))}s",
               f"--timeout={timeout_s}s", "--latency"]  # fmt: skip
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse(done.stdout)


def parse(report: str) -> WrkResult:
    """wrk's --latency report as a :class:`WrkResult`."""
    percentiles = {int(p): _ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", report, re.M)}
    total = re.search(r"^\s*(\d+) requests in", report, re.M)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", report, re.M)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", report))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    if total is None or rate is None or 99 not in percentiles:
        raise RuntimeError(f"could not read wrk's report:\n{report}")
    return WrkResult(percentiles[50], percentiles[90], percentiles[99], float(rate.group(1)),
                     int(total.group(1)), errors)  # fmt: skip


def deep_pages_script(directory: Path, path: str, low: int, high: int) -> Path:
    """A wrk script asking ``path`` (which has a query string already) with random max_ids."""
    script = directory / f"deep-{low}-{high}.lua"
    script.write_text(DEEP_PAGES.format(path=path, low=low, high=high), encoding="utf-8")
    return script
