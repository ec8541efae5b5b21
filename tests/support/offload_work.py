"""Module-level work for tests of storage.offload (an image process imports this module to run it)."""

from __future__ import annotations

import os


def whoami() -> tuple[int, int]:
    """The process id and niceness of the process running this."""
    return os.getpid(), os.getpriority(os.PRIO_PROCESS, 0)


def die() -> None:
    """End the process at once, as the kernel's OOM killer would."""
    os._exit(9)
