"""`fedigen model pull / list / use` against a server on loopback that speaks the Hub's download API.

The stand-in serves a tiny randomly initialised Stable Diffusion pipeline saved by the test (the one
tests/generation/test_diffusers_backend.py builds) the way the Hub does: ``GET
/api/models/{repo}/revision/{rev}?blobs=true`` lists the files with sizes and, for large-file storage
objects, SHA-256s; ``GET /{repo}/resolve/{commit}/{file}`` redirects large files to a storage path and
honours Range. It also offers what a real repository holds beside the pipeline (``.bin`` twins, an
``.fp16`` variant, ONNX exports), which must not be fetched. ``HF_ENDPOINT`` points the CLI at it; the
pulled model is then loaded and run by the diffusers backend through the real CLI.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.generation.test_diffusers_backend import model_dir  # noqa: F401 - the tiny pipeline fixture
from tests.support.server import FedigenServer, LoopbackServer, free_port

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LFS_MIN = 1024  # files at least this large are "large-file storage" objects with a SHA-256


@dataclass
class HubStandIn:
    """Repositories of files, served as the Hub serves them; what was asked is recorded."""

    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)
    wrong_digest: set[str] = field(default_factory=set)  # file names whose listed SHA-256 lies
    cut_once: set[str] = field(default_factory=set)  # file names whose first transfer breaks off
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/api/models/{owner}/{name}/revision/{rev}", self.info),
            Route("/{owner}/{name}/resolve/{commit}/{path:path}", self.resolve),
            Route("/storage/{owner}/{name}/{path:path}", self.storage),
        ])  # fmt: skip

    async def info(self, request: Request) -> Response:
        self.requests.append((request.url.path, None))
        repo = f"{request.path_params['owner']}/{request.path_params['name']}"
        files = self.repos.get(repo)
        if files is None:
            return JSONResponse({"error": "Repository not found"}, status_code=404)
        siblings = []
        for name, data in sorted(files.items()):
            entry: dict[str, object] = {
                "rfilename": name,
                "size": len(data),
                "blobId": hashlib.sha1(data).hexdigest(),
            }
            if len(data) >= LFS_MIN:
                digest = hashlib.sha256(data).hexdigest()
                listed = "0" * 64 if name in self.wrong_digest else digest
                entry["lfs"] = {"sha256": listed, "size": len(data), "pointerSize": 134}
            siblings.append(entry)
        return JSONResponse({"id": repo, "sha": COMMIT, "siblings": siblings})

    async def resolve(self, request: Request) -> Response:
        self.requests.append((request.url.path, request.headers.get("range")))
        repo = f"{request.path_params['owner']}/{request.path_params['name']}"
        path = request.path_params["path"]
        data = self.repos.get(repo, {}).get(path)
        if data is None or request.path_params["commit"] != COMMIT:
            return Response("Entry not found", status_code=404)
        if len(data) >= LFS_MIN:  # large files live elsewhere, as on the Hub
            return RedirectResponse(f"/storage/{repo}/{path}", status_code=302)
        return self._serve(request, path, data)

    async def storage(self, request: Request) -> Response:
        self.requests.append((request.url.path, request.headers.get("range")))
        repo = f"{request.path_params['owner']}/{request.path_params['name']}"
        path = request.path_params["path"]
        return self._serve(request, path, self.repos[repo][path])

    def _serve(self, request: Request, path: str, data: bytes) -> Response:
        start = 0
        ranged = request.headers.get("range", "")
        if ranged.startswith("bytes="):
            start = int(ranged[6:].split("-", 1)[0])
            if start >= len(data):
                return Response(status_code=416, headers={"Content-Range": f"bytes */{len(data)}"})
        body = data[start:]
        headers = {"Content-Length": str(len(body)), "ETag": f'"{hashlib.sha256(data).hexdigest()}"'}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if path in self.cut_once:
            self.cut_once.discard(path)

            async def broken() -> AsyncIterator[bytes]:
                yield body[: len(body) // 2]
                raise ConnectionResetError("the storage went away")

            return StreamingResponse(broken(), status_code=206 if start else 200, headers=headers)
        return Response(body, status_code=206 if start else 200, headers=headers,
                        media_type="application/octet-stream")  # fmt: skip


def repository_of(model: Path) -> dict[str, bytes]:
    """The saved pipeline as a Hub repository, with what real ones hold beside it."""
    files = {str(p.relative_to(model)): p.read_bytes() for p in sorted(model.rglob("*")) if p.is_file()}
    extra = {}
    for name, data in files.items():
        if name.endswith(".safetensors"):
            extra[name.replace(".safetensors", ".bin")] = b"pickled twin " * 200
            extra[name.replace(".safetensors", ".fp16.safetensors")] = data[: len(data) // 2]
    extra["onnx/unet/model.onnx"] = b"onnx export " * 200
    extra["README.md"] = b"---\nlibrary_name: diffusers\n---\n"
    extra["pipeline.py"] = b"import os\nos.system('echo pwned')\n"  # a custom pipeline's code
    return {**files, **extra}


@pytest.fixture
def hub(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStandIn]:  # noqa: F811
    pickled = {**repository_of(model_dir)}
    pickled = {
        n: d for n, d in pickled.items() if not n.startswith("unet/") or not n.endswith(".safetensors")
    }
    stand_in = HubStandIn(repos={"tiny/sd": repository_of(model_dir), "tiny/not-a-pipeline": {
        "config.json": b'{"architectures": ["BertModel"]}', "model.safetensors": b"x" * 2048},
        "tiny/pickled": pickled})  # fmt: skip
    port = free_port()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with LoopbackServer(stand_in.app(), port):
        yield stand_in


@pytest.fixture
def cli(tmp_path: Path) -> FedigenServer:
    config = (
        '[generation]\nallowed_backends = ["diffusers"]\n[generation.diffusers]\ndevice = "cpu"\nsteps = 2\n'
    )
    server = FedigenServer(tmp_path)
    server.cli("init", "--url", server.base_url)
    with server.config.open("a", encoding="utf-8") as fh:
        fh.write("\n" + config)
    return server


def test_pull_use_and_generate_with_the_pulled_model(
    hub: HubStandIn,
    cli: FedigenServer,
    model_dir: Path,  # noqa: F811 - the fixture imported above
) -> None:
    pulled = cli.cli("model", "pull", "tiny/sd")
    assert f"pulled tiny/sd at {COMMIT[:12]}" in pulled.stdout
    assert "100%" in pulled.stderr, "a progress bar per file"
    target = cli.directory / "data" / "models" / "tiny--sd"
    kept = {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()}
    wanted = {str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file()}
    assert kept == wanted | {"fedigen-model.json"}, "the pipeline, and none of the .bin, fp16, ONNX or code"
    for name in wanted:
        assert (target / name).read_bytes() == (model_dir / name).read_bytes()
    fetched = {path for path, _ in hub.requests}
    assert not any(p.endswith((".bin", ".onnx", ".py")) or ".fp16." in p for p in fetched)

    assert "* tiny/sd" not in cli.cli("model", "list").stdout and "tiny/sd" in cli.cli("model", "list").stdout
    assert "now uses tiny/sd" in cli.cli("model", "use", "tiny/sd").stdout
    assert cli.cli("model", "list").stdout.startswith("* tiny/sd")
    # The diffusers backend loads the chosen model (its config names no model_dir) and draws with it.
    out_file = cli.directory / "fox.png"
    cli.cli("generate", "--backend", "diffusers", "--size", "64x64", "-o", str(out_file), "a fox in the snow")
    assert Image.open(io.BytesIO(out_file.read_bytes())).size == (64, 64)
    # Pulling again at the same commit fetches nothing.
    before = len(hub.requests)
    cli.cli("model", "pull", "tiny/sd")
    assert [p for p, _ in hub.requests[before:] if "/resolve/" in p or "/storage/" in p] == []


def test_an_interrupted_pull_resumes_where_it_stopped(hub: HubStandIn, cli: FedigenServer) -> None:
    weights = [n for n in hub.repos["tiny/sd"] if n.endswith(".safetensors") and ".fp16." not in n]
    largest = max(weights, key=lambda n: len(hub.repos["tiny/sd"][n]))
    hub.cut_once.add(largest)
    first = cli.cli("model", "pull", "tiny/sd", check=False)
    assert first.returncode != 0 and "pull again to resume" in first.stderr
    target = cli.directory / "data" / "models" / "tiny--sd"
    partial = target / (largest + ".partial")
    kept_bytes = partial.stat().st_size
    assert 0 < kept_bytes < len(hub.repos["tiny/sd"][largest])
    assert not (target / "fedigen-model.json").exists(), "an unfinished pull is never a model"
    assert "tiny/sd" not in cli.cli("model", "list").stdout
    cli.cli("model", "pull", "tiny/sd")
    resumed = [
        rng for path, rng in hub.requests if path.startswith("/storage/") and path.endswith(largest) and rng
    ]
    assert resumed == [f"bytes={kept_bytes}-"], "the second pull asked only for the rest"
    assert (target / largest).read_bytes() == hub.repos["tiny/sd"][largest] and not partial.exists()


def test_refusals_keep_nothing(hub: HubStandIn, cli: FedigenServer) -> None:
    # A file whose bytes do not match the SHA-256 the Hub lists is deleted; no model is made.
    files = hub.repos["tiny/sd"]
    victim = next(
        n for n, d in files.items() if n.endswith(".safetensors") and len(d) >= LFS_MIN and ".fp16." not in n
    )
    hub.wrong_digest.add(victim)
    bad = cli.cli("model", "pull", "tiny/sd", check=False)
    assert bad.returncode != 0 and "checksum mismatch" in bad.stderr
    target = cli.directory / "data" / "models" / "tiny--sd"
    assert not (target / victim).exists() and not (target / (victim + ".partial")).exists()
    assert not (target / "fedigen-model.json").exists()
    # Not a diffusers pipeline: refused before any file is fetched.
    before = len(hub.requests)
    other = cli.cli("model", "pull", "tiny/not-a-pipeline", check=False)
    assert other.returncode != 0 and "not a diffusers pipeline" in other.stderr
    assert [p for p, _ in hub.requests[before:] if "/resolve/" in p] == []
    refused = [(("model", "pull", "tiny/pickled"), "unet has weights only in pickle form"),
               (("model", "pull", "nope/missing"), "no model nope/missing"),
               (("model", "pull", "../etc"), "not a model repository name"),
               (("model", "use", "tiny/not-a-pipeline"), "is not pulled"),
               (("model", "pull", "tiny/sd", "--revision", "../x"), "not a revision")]  # fmt: skip
    for args, message in refused:
        result = cli.cli(*args, check=False)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
        assert result.stderr.strip().splitlines()[-1].startswith("fedigen: ")
