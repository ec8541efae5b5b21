"""Imports run one way: fedigen -> {activitypub, generation} -> storage (DESIGN.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_layers_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def test_only_fedigen_imports_starlette() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("activitypub", "generation", "storage")
        for path in (ROOT / package).rglob("*.py")
        if "starlette" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
