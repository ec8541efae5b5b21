"""Imports run one way: fedigen -> {activitypub, generation} -> storage (docs/architecture.md).

Every import statement in the four packages, module-level or inside a function, is read from the
source and checked against the allowed direction.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fedigen", "activitypub", "generation", "storage")
# What each package may import from the other three.
ALLOWED = {
    "fedigen": {"activitypub", "generation", "storage"},
    "activitypub": {"storage"},
    "generation": {"storage"},
    "storage": set(),
}


def _imported_packages(path: Path) -> set[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def test_import_layers_hold() -> None:
    broken = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts and path.name != "env.py":
                continue
            for line, target in _imported_packages(path):
                if target in PACKAGES and target != package and target not in ALLOWED[package]:
                    broken.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert broken == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from fedigen.app import create_app\n", encoding="utf-8")
    assert (2, "fedigen") in _imported_packages(bad)


def test_only_fedigen_imports_starlette() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ("activitypub", "generation", "storage")
        for path in (ROOT / package).rglob("*.py")
        for line, target in _imported_packages(path)
        if target == "starlette"
    ]
    assert offenders == []


# The social tables belong to fedigen's use-cases (fedigen/social/); the protocol package only reads them.
SOCIAL_MODELS = {
    "Follow", "Favourite", "Status", "Mention", "StatusTag", "Tombstone", "Block", "Notification", "Report",
    "Remix", "Bookmark", "Mute", "Reaction", "StatusEmoji", "Poll", "PollVote",
}  # fmt: skip


def _social_writes(path: Path) -> list[tuple[int, str]]:
    """(line, call) of every row of a social table made, or statement writing one, in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        name = node.func.id
        target = node.args[0].id if node.args and isinstance(node.args[0], ast.Name) else None
        if name in SOCIAL_MODELS or (name in ("insert", "update", "delete") and target in SOCIAL_MODELS):
            found.append((node.lineno, f"{name}({target or ''})"))
    return found


def test_activitypub_never_writes_the_social_tables() -> None:
    writes = [
        f"{path.relative_to(ROOT)}:{line} {call}"
        for path in (ROOT / "activitypub").rglob("*.py")
        for line, call in _social_writes(path)
    ]
    assert writes == []


def test_the_social_write_checker_sees_a_write(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("def f(s):\n    s.add(Follow(state='accepted'))\n    s.execute(delete(Block))\n")
    assert _social_writes(bad) == [(2, "Follow()"), (3, "delete(Block)")]
