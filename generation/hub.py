"""Models from the Hugging Face Hub for the diffusers backend: pulled, verified, kept, chosen.

``fedigen model pull NAME`` asks the Hub (``HF_ENDPOINT``, else the public Hub) which files a model
repository holds at a revision, then downloads what a diffusers pipeline needs into
``[generation] models_dir``:

- the repository must be a diffusers pipeline (a ``model_index.json`` at its root), else nothing is
  downloaded;
- weights are taken only as safetensors (a repository often holds the same weights as ``.bin``,
  ``.ckpt``, ONNX and Flax too), the full-precision file unless only a variant (``.fp16.``) exists;
  nothing that runs is fetched: no Python files, no pickles (a component whose weights exist only as
  a pickle makes the repository refused);
- each file goes to ``<name>.partial`` first and continues from where it stopped with an HTTP Range
  request, so an interrupted pull resumes; it is checked against the SHA-256 the Hub gives for
  large-file storage objects (else its size) before it takes its name; a mismatch deletes it;
- a ``fedigen-model.json`` manifest (repository, commit, files, sizes, digests) is written last, so a
  directory without one is an unfinished pull, never a model.

The Hub's HTTP interface used here is its documented one: ``GET /api/models/{repo}/revision/{rev}
?blobs=true`` (``sha``, ``siblings[].rfilename``, ``size``, ``lfs.sha256``) and ``GET
/{repo}/resolve/{commit}/{file}`` (following redirects to its storage). It goes through the
caller's pooled httpx client, and so through its address guard. huggingface_hub's own downloader is
not used: it can neither be pointed at that client nor promise a checksum for every file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from generation.errors import GenerationError

DEFAULT_ENDPOINT = "https://huggingface.co"
MANIFEST = "fedigen-model.json"
ACTIVE = "active"
CHUNK = 1 << 20
# A repository name as the Hub spells them: owner/name, letters, digits, ".", "_", "-".
REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
REVISION_RE = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
_SKIPPED_DIRS = ("onnx/", "flax/", ".git")

Progress = Callable[[str, int, int], None]  # (file name, bytes done, bytes in all)


class HubError(GenerationError):
    """A model could not be pulled, listed or chosen; the message says why, for a person."""


@dataclass(frozen=True)
class RemoteFile:
    """A file of a model repository at a commit, as the Hub lists it."""

    name: str
    size: int | None
    sha256: str | None  # large-file storage objects only


@dataclass(frozen=True)
class LocalModel:
    """A pulled model: where it is and what its manifest says."""

    name: str
    path: Path
    commit: str
    size: int
    active: bool


def endpoint() -> str:
    """The Hub to talk to: ``HF_ENDPOINT`` (a mirror, or a server of one's own), else the public Hub."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def check_repo(name: str) -> str:
    if not REPO_RE.fullmatch(name) or ".." in name:
        raise HubError(f"{name!r} is not a model repository name (owner/name)")
    return name


def wanted_files(files: list[RemoteFile]) -> list[RemoteFile]:
    """What a diffusers pipeline needs of a repository's files (see the module's docstring).

    Nothing that runs is ever taken: no Python files (a custom pipeline's code) and no pickled weights
    (``.bin``, ``.ckpt``, ``.pt``: loading a pickle runs code); weights come as safetensors only, and a
    component that has no safetensors makes the whole repository refused, before any download.
    """
    names = {f.name for f in files}
    if "model_index.json" not in names:
        raise HubError("not a diffusers pipeline: the repository has no model_index.json at its root")

    def folder(name: str) -> str:
        return name.rsplit("/", 1)[0] if "/" in name else ""

    with_safetensors = {folder(n) for n in names if n.endswith(".safetensors")}
    pickled = sorted(
        {folder(n) or "." for n in names if n.endswith((".bin", ".ckpt", ".pt", ".pth")) and not _skipped(n)}
        - with_safetensors
    )
    if pickled:
        raise HubError(
            f"refused: {', '.join(pickled)} has weights only in pickle form (.bin/.ckpt), which run code "
            "when loaded; fedigen takes safetensors only"
        )
    kept = []
    for item in files:
        name = item.name
        if _skipped(name):
            continue
        if name.endswith(".safetensors"):
            if ".fp16." in name and name.replace(".fp16.", ".") in names:
                continue  # a variant, when the full-precision file is there too
            kept.append(item)
        elif name.endswith((".json", ".txt", ".model")):
            kept.append(item)
    return kept


def _skipped(name: str) -> bool:
    """Files never fetched: hidden ones, and the ONNX and Flax exports beside a pipeline."""
    top = name.split("/", 1)[0]
    return top.startswith(".") or top in ("onnx", "flax")


class Hub:
    """The Hub's download interface over a pooled httpx client."""

    def __init__(self, http: httpx.AsyncClient, base: str | None = None, token: str | None = None) -> None:
        self.http = http
        self.base = (base or endpoint()).rstrip("/")
        token = token if token is not None else os.environ.get("HF_TOKEN")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def files(self, repo: str, revision: str = "main") -> tuple[str, list[RemoteFile]]:
        """The commit a revision names and the repository's files there."""
        check_repo(repo)
        if not REVISION_RE.fullmatch(revision) or ".." in revision:
            raise HubError(f"{revision!r} is not a revision")
        url = f"{self.base}/api/models/{repo}/revision/{quote(revision, safe='')}"
        try:
            response = await self.http.get(url, params={"blobs": "true"}, headers=self.headers)
        except httpx.HTTPError as exc:
            raise HubError(f"cannot reach the Hub at {self.base}: {exc}") from exc
        if response.status_code in (401, 403, 404):
            raise HubError(f"no model {repo} at {revision} on {self.base} (or it needs a token: HF_TOKEN)")
        if not response.is_success:
            raise HubError(f"the Hub answered {response.status_code} for {repo}")
        try:
            info: Any = response.json()
            commit = str(info["sha"])
            files = [
                RemoteFile(
                    str(s["rfilename"]),
                    int(s["size"]) if isinstance(s.get("size"), int) else None,
                    str(s["lfs"]["sha256"])
                    if isinstance(s.get("lfs"), dict) and s["lfs"].get("sha256")
                    else None,
                )
                for s in info.get("siblings", [])
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise HubError(f"the Hub's description of {repo} is not readable: {exc}") from exc
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise HubError(f"the Hub named no commit for {repo} at {revision}")
        for item in files:
            if item.name.startswith("/") or ".." in item.name.split("/") or "\\" in item.name:
                raise HubError(f"the repository lists an unsafe file name {item.name!r}")
        return commit, files

    async def download(
        self, repo: str, commit: str, item: RemoteFile, dest: Path, progress: Progress
    ) -> None:
        """One file into ``dest``, resuming ``dest.partial``, verified before it takes its name."""
        partial = dest.with_name(dest.name + ".partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        done = partial.stat().st_size if partial.exists() else 0
        if item.size is not None and done > item.size:
            partial.unlink()
            done = 0
        url = f"{self.base}/{repo}/resolve/{commit}/{quote(item.name)}"
        headers = {**self.headers, "Accept-Encoding": "identity"}
        if done:
            headers["Range"] = f"bytes={done}-"
        total = item.size or 0
        try:
            async with self.http.stream("GET", url, headers=headers, follow_redirects=True) as response:
                if response.status_code == 416 and item.size is not None and done == item.size:
                    pass  # already whole
                elif response.status_code not in (200, 206):
                    raise HubError(f"{item.name}: the Hub answered {response.status_code}")
                else:
                    mode = "ab" if response.status_code == 206 and done else "wb"
                    done = done if mode == "ab" else 0
                    with partial.open(mode) as out:
                        async for chunk in response.aiter_bytes():  # as they come: a break keeps all
                            out.write(chunk)
                            done += len(chunk)
                            if item.size is not None and done > item.size:
                                raise HubError(f"{item.name}: more bytes than the Hub said it has")
                            progress(item.name, done, total)
        except httpx.HTTPError as exc:
            raise HubError(
                f"{item.name}: download interrupted ({exc}); run the pull again to resume"
            ) from exc
        _verify(partial, item)
        partial.replace(dest)


def _verify(path: Path, item: RemoteFile) -> None:
    size = path.stat().st_size
    if item.size is not None and size != item.size:
        raise HubError(f"{item.name}: {size} bytes of {item.size}; run the pull again to resume")
    if item.sha256 is not None:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(CHUNK), b""):
                digest.update(block)
        if digest.hexdigest() != item.sha256:
            path.unlink()
            raise HubError(f"{item.name}: checksum mismatch (SHA-256 {digest.hexdigest()} != {item.sha256})")


class ModelStore:
    """The pulled models under ``root``: one directory each, ``owner--name``, and which one is in use."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, repo: str) -> Path:
        return self.root / check_repo(repo).replace("/", "--")

    async def pull(
        self, hub: Hub, repo: str, revision: str = "main", progress: Progress | None = None
    ) -> LocalModel:
        """Download (or finish downloading) a model; returns it once every file is verified."""
        commit, files = await hub.files(repo, revision)
        wanted = wanted_files(files)
        target = self.path(repo)
        pulling = target / ".pulling"  # the commit being pulled, so a resumed pull never mixes two
        if target.exists() and _commit_of(target) not in (None, commit):
            shutil.rmtree(target)  # another commit: everything is fetched again
        target.mkdir(parents=True, exist_ok=True)
        (target / MANIFEST).unlink(missing_ok=True)
        pulling.write_text(commit, encoding="utf-8")
        for item in wanted:
            dest = target / item.name
            if dest.exists() and (item.size is None or dest.stat().st_size == item.size):
                continue  # verified when it took its name
            await hub.download(repo, commit, item, dest, progress or (lambda *_: None))
        listed = [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in wanted]
        manifest = {"repo": repo, "revision": revision, "commit": commit, "files": listed}
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        pulling.unlink(missing_ok=True)
        return self._local(repo, target, manifest)

    def models(self) -> list[LocalModel]:
        """Every completely pulled model."""
        if not self.root.is_dir():
            return []
        found = []
        for child in sorted(self.root.iterdir()):
            manifest = _manifest(child)
            if manifest and isinstance(manifest.get("repo"), str):
                found.append(self._local(manifest["repo"], child, manifest))
        return found

    def use(self, repo: str) -> LocalModel:
        """Make a pulled model the one the diffusers backend loads."""
        target = self.path(repo)
        manifest = _manifest(target)
        if not manifest:
            raise HubError(f"{repo} is not pulled (completely): fedigen model pull {repo}")
        (self.root / ACTIVE).write_text(repo + "\n", encoding="utf-8")
        return self._local(repo, target, manifest)

    def active(self) -> LocalModel | None:
        """The model in use, if one was chosen and is still there."""
        try:
            repo = (self.root / ACTIVE).read_text(encoding="utf-8").strip()
            target = self.path(repo)
        except (OSError, HubError):
            return None
        manifest = _manifest(target)
        return self._local(repo, target, manifest) if manifest else None

    def remove(self, repo: str) -> None:
        target = self.path(repo)
        if not target.exists():
            raise HubError(f"{repo} is not pulled")
        shutil.rmtree(target)

    def _local(self, repo: str, path: Path, manifest: dict[str, Any]) -> LocalModel:
        size = sum(int(f.get("size") or 0) for f in manifest.get("files", []))
        chosen = (
            (self.root / ACTIVE).read_text(encoding="utf-8").strip() if (self.root / ACTIVE).exists() else ""
        )
        return LocalModel(repo, path, str(manifest.get("commit", "")), size, chosen == repo)


def _manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _commit_of(directory: Path) -> str | None:
    """The commit a model directory holds or was being pulled at."""
    manifest = _manifest(directory)
    if manifest and isinstance(manifest.get("commit"), str):
        return str(manifest["commit"])
    try:
        return (directory / ".pulling").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
