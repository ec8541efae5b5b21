"""Media uploads as Mastodon apps make them: v1 (processed at once), v2 (202, then 206 until ready),
description and focus updates, and refusals (413, 422, someone else's media) that store nothing."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from fedigen.social.media import keep_upload, wait_processing
from storage.models import Actor, MediaAttachment, utcnow
from tests.api.conftest import TokenMaker, bearer, issue_token
from tests.conftest import HostRouter, Instance, make_settings, start_instance

# https://docs.joinmastodon.org/entities/MediaAttachment/
MEDIA_KEYS = {"id", "type", "url", "preview_url", "remote_url", "meta", "description", "blurhash"}


def png(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(out, "PNG")
    return out.getvalue()


async def media_rows(instance: Instance) -> int:
    async with instance.services.sessions() as session:
        return int(await session.scalar(select(func.count(MediaAttachment.id))) or 0)


def stored_files(instance: Instance) -> list[Path]:
    root = Path(instance.settings.media_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
async def alice(instance: Instance, make_token: TokenMaker) -> dict[str, str]:
    await instance.create_account("alice")
    await instance.create_account("bob")
    return bearer(await make_token("alice"))


async def test_v1_upload_is_ready_at_once(instance: Instance, alice: dict[str, str]) -> None:
    files = {"file": ("a.png", png(), "image/png")}
    response = await instance.client.post(
        "/api/v1/media",
        files=files,
        data={"description": "a red square", "focus": "0.5,-0.25"},
        headers=alice,
    )
    assert response.status_code == 200, response.text
    media = response.json()
    assert MEDIA_KEYS <= set(media)
    assert media["type"] == "image" and media["url"].startswith("http://fedigen.test/media/")
    assert media["description"] == "a red square" and media["blurhash"]
    assert media["meta"]["original"]["width"] == 32 and media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    status = await instance.client.post(
        "/api/v1/statuses", json={"status": "look", "media_ids": [media["id"]]}, headers=alice
    )
    assert status.status_code == 200, status.text
    assert [m["id"] for m in status.json()["media_attachments"]] == [media["id"]]
    # Attached media is no longer updatable through the media API.
    late = await instance.client.put(f"/api/v1/media/{media['id']}", data={"description": "x"}, headers=alice)
    assert late.status_code == 404


async def test_v2_upload_is_processed_in_the_background(instance: Instance, alice: dict[str, str]) -> None:
    response = await instance.client.post(
        "/api/v2/media", files={"file": ("a.png", png(64, 48), "image/png")}, headers=alice
    )
    assert response.status_code == 202, response.text
    media = response.json()
    assert MEDIA_KEYS <= set(media) and media["url"] is None
    await wait_processing()
    ready = await instance.client.get(f"/api/v1/media/{media['id']}", headers=alice)
    assert ready.status_code == 200 and ready.json()["url"]
    assert ready.json()["meta"]["original"] == {
        "width": 64,
        "height": 48,
        "size": "64x48",
        "aspect": 1.333333,
    }
    updated = await instance.client.put(
        f"/api/v1/media/{media['id']}", json={"description": "alt text", "focus": "-1,1"}, headers=alice
    )
    assert updated.status_code == 200
    assert updated.json()["description"] == "alt text" and updated.json()["meta"]["focus"] == {
        "x": -1,
        "y": 1,
    }


async def test_processing_media_answers_206(instance: Instance, alice: dict[str, str]) -> None:
    response = await instance.client.post(
        "/api/v2/media", files={"file": ("a.png", png(), "image/png")}, headers=alice
    )
    media_id = response.json()["id"]
    await wait_processing()
    async with instance.services.sessions() as session, session.begin():
        row = await session.get(MediaAttachment, int(media_id))
        assert row is not None
        row.state = "processing"  # as if the pipeline were still at work
    pending = await instance.client.get(f"/api/v1/media/{media_id}", headers=alice)
    assert pending.status_code == 206 and pending.json()["url"] is None
    refused = await instance.client.post("/api/v1/statuses", json={"media_ids": [media_id]}, headers=alice)
    assert refused.status_code == 422 and "media_ids" in refused.json()["error"]


async def test_someone_elses_media_is_404(instance: Instance, alice: dict[str, str]) -> None:
    media = (
        await instance.client.post(
            "/api/v1/media", files={"file": ("a.png", png(), "image/png")}, headers=alice
        )
    ).json()
    other = bearer(await issue_token(instance, "bob"))
    assert (await instance.client.get(f"/api/v1/media/{media['id']}", headers=other)).status_code == 404
    put = await instance.client.put(
        f"/api/v1/media/{media['id']}", data={"description": "mine"}, headers=other
    )
    assert put.status_code == 404
    stolen = await instance.client.post("/api/v1/statuses", json={"media_ids": [media["id"]]}, headers=other)
    assert stolen.status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/media", "/api/v2/media"])
async def test_refusals_store_nothing(
    instance: Instance, alice: dict[str, str], make_token: TokenMaker, path: str
) -> None:
    cases: list[tuple[dict[str, Any], dict[str, str], int]] = [
        ({"file": ("a.txt", b"hello, not an image", "image/png")}, {}, 422),
        ({"file": ("a.png", png(), "image/png")}, {"focus": "2,0"}, 422),
        ({"file": ("a.png", png(), "image/png")}, {"description": "x" * 1501}, 422),
        ({}, {"description": "no file"}, 422),
    ]
    for files, data, expected in cases:
        response = await instance.client.post(path, files=files or None, data=data, headers=alice)
        assert response.status_code == expected, (data, response.text)
        assert "error" in response.json()
    read_only = bearer(await make_token("alice", "read"))
    files = {"file": ("a.png", png(), "image/png")}
    assert (await instance.client.post(path, files=files, headers=read_only)).status_code == 403
    assert (await instance.client.post(path, files=files)).status_code == 401
    assert await media_rows(instance) == 0 and stored_files(instance) == []


@pytest.fixture
async def small_limit(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    settings = make_settings(tmp_path, backend, media={"max_upload_bytes": 2000})
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        yield inst


async def test_oversized_uploads_are_413(small_limit: Instance) -> None:
    headers = bearer(await issue_token(small_limit, "alice"))
    big = png(400, 400) + b"\0" * 70_000
    for path in ("/api/v1/media", "/api/v2/media"):
        response = await small_limit.client.post(
            path, files={"file": ("a.png", big, "image/png")}, headers=headers
        )
        assert response.status_code == 413, response.text
    # Under the Content-Length allowance but over the limit once read.
    medium = png() + b"\0" * 3000
    response = await small_limit.client.post(
        "/api/v2/media", files={"file": ("a.png", medium, "image/png")}, headers=headers
    )
    assert response.status_code == 413
    await asyncio.sleep(0)
    assert await media_rows(small_limit) == 0 and stored_files(small_limit) == []


async def test_an_upload_whose_process_died_is_finished_by_the_worker(
    instance: Instance, alice: dict[str, str]
) -> None:
    svc = instance.services
    media_type, key = await keep_upload(svc, png(40, 30))
    async with svc.sessions() as session, session.begin():
        owner = await session.scalar(select(Actor).where(Actor.username == "alice", Actor.domain.is_(None)))
        assert owner is not None
        earlier = utcnow() - timedelta(minutes=5)
        row = MediaAttachment(account_id=owner.id, state="processing", media_type=media_type,
                              meta={"upload_key": key}, created_at=earlier)  # fmt: skip
        session.add(row)
    await instance.drain()
    ready = await instance.client.get(f"/api/v1/media/{row.id}", headers=alice)
    assert ready.status_code == 200 and ready.json()["meta"]["original"]["width"] == 40
