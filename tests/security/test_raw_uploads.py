"""Unprocessed uploads are never reachable from outside: a JPEG carrying GPS coordinates and a
description, uploaded through /api/v1/media and /api/v2/media and posted, is served only as the image
pipeline's output (metadata removed), at every URL the client API and the Note expose."""

from __future__ import annotations

import io
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from fedigen.social.media import STALE_UPLOAD, keep_upload, wait_processing
from storage.media import LocalMediaStore, media_key
from storage.models import MediaAttachment, utcnow
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance

MARKER = "SECRET-PLACE-7"
GPS_IFD = 0x8825


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (48, 32), (30, 120, 200))
    exif = image.getexif()
    exif[0x010E] = MARKER  # ImageDescription
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 7.0), 3: "E", 4: (4.0, 53.0, 2.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert MARKER.encode() in data and Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
    return data


def urls_in(value: Any) -> list[str]:
    """Every http(s) URL anywhere in a JSON document."""
    if isinstance(value, dict):
        return [u for v in value.values() for u in urls_in(v)]
    if isinstance(value, list):
        return [u for v in value for u in urls_in(v)]
    return [value] if isinstance(value, str) and value.startswith("http://fedigen.test/media/") else []


def files_under(root: Path) -> list[bytes]:
    return [p.read_bytes() for p in Path(root).rglob("*") if p.is_file()]


def assert_clean(data: bytes) -> None:
    assert MARKER.encode() not in data
    assert not Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)


async def test_uploads_with_gps_are_published_only_without_their_metadata(instance: Instance) -> None:
    await instance.create_account("alice")
    alice = bearer(await issue_token(instance, "alice"))
    raw = jpeg_with_gps()
    files = {"file": ("photo.jpg", raw, "image/jpeg")}
    v1 = await instance.client.post("/api/v1/media", files=files, headers=alice)
    assert v1.status_code == 200, v1.text
    v2 = await instance.client.post("/api/v2/media", files=files, headers=alice)
    assert v2.status_code == 202, v2.text
    assert "upload_key" not in json.dumps(v2.json())
    await wait_processing()
    ready = await instance.client.get(f"/api/v1/media/{v2.json()['id']}", headers=alice)
    assert ready.status_code == 200
    posted = await instance.client.post(
        "/api/v1/statuses", json={"status": "holiday", "media_ids": [v1.json()["id"], v2.json()["id"]]},
        headers=alice,
    )  # fmt: skip
    assert posted.status_code == 200, posted.text
    note = await instance.client.get(posted.json()["uri"], headers={"Accept": "application/activity+json"})
    exposed = set(urls_in([v1.json(), v2.json(), ready.json(), posted.json(), note.json()]))
    assert len(exposed) >= 2  # the federation copy and the thumbnail (both uploads share them: same bytes)
    for url in exposed:
        served = await instance.client.get(url)
        assert served.status_code == 200, url
        assert_clean(served.content)
    # The raw bytes are stored nowhere that is served, and not kept once processed.
    assert (await instance.client.get(f"/media/{media_key(raw, 'jpg')}")).status_code == 404
    for data in files_under(instance.settings.media_dir):
        assert_clean(data)
    assert files_under(instance.settings.upload_dir) == []


async def test_raw_uploads_no_row_names_are_deleted_after_a_day(instance: Instance) -> None:
    """A raw upload (GPS and all) left by a crash before its row committed, or by a row deleted while
    processing, is deleted by the worker once a day old; one a processing row still names (held by the
    image classifier, say) stays, and so does a recent one, whose row may be about to commit."""
    svc = instance.services
    alice = await instance.create_account("alice")
    _, named = await keep_upload(svc, jpeg_with_gps())
    _, left = await keep_upload(svc, jpeg_with_gps() + b"a")
    _, recent = await keep_upload(svc, jpeg_with_gps() + b"b")
    async with svc.sessions() as session, session.begin():
        session.add(MediaAttachment(account_id=alice.id, state="processing", media_type="image/jpeg",
                                    meta={"upload_key": named}))  # fmt: skip
    media_before = svc.media.store.keys()
    later = utcnow() + STALE_UPLOAD + timedelta(minutes=1)
    uploads = svc.media.uploads
    assert isinstance(uploads, LocalMediaStore)
    os.utime(uploads.path(recent), (later.timestamp(), later.timestamp()))  # written "later" too
    worker = instance.worker
    assert await worker.forget_stale_uploads(force=True) == 0  # nothing is a day old yet
    assert await worker.forget_stale_uploads(force=True, now=later) == 1
    assert set(uploads.keys()) == {named, recent} and left not in uploads.keys()
    assert svc.media.store.keys() == media_before  # the media store is never swept here
    assert await worker.forget_stale_uploads(now=later + STALE_UPLOAD) == 0  # at most once an hour
