"""`fedigen worker` lowers its CPU priority to ``[worker] nice`` so serve is answered first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no process niceness here")

PROBE = (
    "import os, sys; from storage.offload import lower_priority; "
    "lower_priority(int(sys.argv[1])); lower_priority(int(sys.argv[2])); "
    "print(os.getpriority(os.PRIO_PROCESS, 0))"
)


def _niceness_after(*values: int) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, values)], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    return int(done.stdout)


def test_lowers_to_the_configured_niceness_and_never_raises_it() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    # 12 then 3: lowered to 12, and asking for 3 afterwards leaves it at 12 (raising needs privileges).
    assert _niceness_after(12, 3) == max(own, 12)
    # 0 (the setting that turns it off): stays where it started.
    assert _niceness_after(0, 0) == own
