"""An instance whose media lives in an S3-compatible bucket (moto's server on loopback, through botocore):
uploads, generated images, the URLs clients and other servers are given, serving, the export archive and
account deletion; the configuration's checks; and `fedigen media move` as an operator runs it."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from fedigen.config import ConfigError, settings_from_mapping
from fedigen.services import media_stores
from fedigen.social import accounts, generations, upkeep
from fedigen.social.jobs import runner
from fedigen.social.media import wait_processing
from fedigen.social.profiles import ProfileChanges, update_profile
from generation.jobs import JobSpec
from storage import queue
from storage.attachments import ingest
from storage.media import LocalMediaStore, media_key, media_type_of
from storage.models import Actor, CustomEmoji, GenerationJob, MediaAttachment
from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.fedigen.test_upkeep import OLD, avatar_copy, emoji_copy, remote_actor
from tests.flows.conftest import SMALL
from tests.generation.standins import png
from tests.support.s3 import S3Server
from tests.support.server import run_cli


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
async def on_s3(
    tmp_path: Path, backend: str, router: HostRouter, s3: S3Server, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Instance, str]]:
    """An instance with [media] store = "s3" on a fresh bucket (public_base_url set when the test's
    parameter says so), alice, and the bucket's name."""
    bucket = s3.bucket()
    extra = {"public_base_url": f"{s3.endpoint}/{bucket}/media"} if getattr(request, "param", False) else {}
    settings = make_settings(
        tmp_path, backend, media={"store": "s3", "s3": s3.settings(bucket, **extra)}, generation=SMALL
    )
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        yield inst, bucket


async def accounts_of(inst: Instance, name: str) -> Any:
    async with inst.services.sessions() as session:
        return await accounts.get_local(session, name)


def keys_of(row: MediaAttachment) -> set[str]:
    return {k for k in (row.original_key, row.federation_key, row.thumbnail_key) if k}


@pytest.mark.parametrize("on_s3", [True], indirect=True)
async def test_upload_generate_serve_export_delete_on_a_bucket(
    on_s3: tuple[Instance, str], s3: S3Server
) -> None:
    inst, bucket = on_s3
    svc = inst.services
    alice = bearer(await issue_token(inst, "alice"))
    public = f"{s3.endpoint}/{bucket}/media/"

    # An upload, processed in the background: the raw bytes wait under uploads/, then only the
    # pipeline's output stays, under media/.
    response = await inst.client.post(
        "/api/v2/media", files={"file": ("a.png", png(64, 48, (200, 40, 90)), "image/png")}, headers=alice
    )
    assert response.status_code == 202, response.text
    await wait_processing()
    media = (await inst.client.get(f"/api/v1/media/{response.json()['id']}", headers=alice)).json()
    assert media["url"].startswith(public) and media["preview_url"].startswith(public)
    async with httpx.AsyncClient() as anyone:  # other servers and browsers fetch from the bucket itself
        fetched = await anyone.get(media["url"])
    key = media["url"][len(public) :]
    assert fetched.status_code == 200 and fetched.headers["content-type"] == media_type_of(key)
    assert fetched.content == s3.objects(bucket)[f"media/{key}"]
    assert s3.objects(bucket, "uploads/") == {}
    assert not inst.settings.media_dir.exists() and not inst.settings.upload_dir.exists()  # noqa: ASYNC240

    # A generated image post: its three variants in the bucket, its Note pointing at the public URL.
    async with svc.sessions() as session, session.begin():
        author = await accounts.get_local(session, "alice")
        job = await generations.request_generation(
            svc, session, author, JobSpec(prompt="a lighthouse"), purpose="post",
            post=generations.post_options("made here"),
        )  # fmt: skip
    await inst.drain()
    async with svc.sessions() as session:
        done = await session.get(GenerationJob, job.id)
        assert done is not None and done.state == queue.DONE, done and done.last_error
        rows = list(await session.scalars(select(MediaAttachment).where(MediaAttachment.job_id == job.id)))
    generated = set().union(*(keys_of(row) for row in rows))
    assert len(generated) == 3 and {f"media/{k}" for k in generated} <= set(s3.objects(bucket))
    status = (await inst.client.get(f"/api/v1/statuses/{done.status_id}")).json()
    assert all(m["url"].startswith(public) for m in status["media_attachments"])

    # URLs published before a move (at the instance's /media) still answer, streamed from the bucket.
    original = next(iter(keys_of(rows[0]) & {rows[0].original_key or ""}))
    served = await inst.client.get(f"/media/{original}")
    assert served.status_code == 200 and served.content == await svc.media.store.aread(original)
    assert served.headers["cache-control"].endswith("immutable")
    head = await inst.client.head(f"/media/{original}")
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(served.content)
    assert (await inst.client.get(f"/media/{original[:-3]}gif")).status_code == 404
    assert (await inst.client.get("/media/../uploads/x.png")).status_code == 404

    # The export archive carries the images out of the bucket.
    archive = await inst.client.get("/api/fedigen/export", headers=alice)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        packed = {zipped.read(name) for name in zipped.namelist() if name.startswith("media")}
    assert await svc.media.store.aread(original) in packed

    # Deleting the account deletes its objects.
    async with svc.sessions() as session, session.begin():
        author = await accounts.get_local(session, "alice")
        doomed = await accounts.delete_local_account(svc, session, author, by=None)
    async with svc.reads() as session:
        removed = await accounts.remove_media_files(svc, session, doomed)
    assert removed >= 4 and s3.objects(bucket, "media/") == {}
    assert (await inst.client.get(f"/media/{original}")).status_code == 404


async def _upload_and_old_copies(inst: Instance) -> tuple[MediaAttachment, MediaAttachment, CustomEmoji]:
    """alice's upload, a remote avatar copy and an emoji copy, both copied long ago."""
    svc = inst.services
    alice = await accounts_of(inst, "alice")
    async with svc.sessions() as session, session.begin():
        local = await ingest(session, svc.media, png(48, 48, (1, 200, 3)), account_id=alice.id)
    stranger = await remote_actor(inst, "stranger", "https://remote.test/a/stranger.png")
    copy = await avatar_copy(inst, stranger, str(stranger.icon_url), png(48, 48, (9, 8, 7)), OLD)
    return local, copy, await emoji_copy(inst, "blob", png(16, 16, (0, 0, 255)), OLD)


async def test_usage_and_prune_count_and_delete_objects_in_the_bucket(
    on_s3: tuple[Instance, str], s3: S3Server
) -> None:
    inst, bucket = on_s3
    svc = inst.services
    local, old_copy, emoji = await _upload_and_old_copies(inst)
    s3.admin.put_object(Bucket=bucket, Key="media/" + media_key(b"left over", "png"), Body=b"left over")

    usage = await upkeep.media_usage(svc)
    assert usage.kinds[upkeep.LOCAL_ORIGINALS].files == 1
    assert usage.kinds[upkeep.REMOTE_AVATARS].files == len(keys_of(old_copy))
    assert usage.kinds[upkeep.EMOJI].files == 2 and usage.unreferenced.files == 1 and usage.missing == 0
    doomed = {f"media/{k}" for k in keys_of(old_copy) | {str(emoji.image_key), str(emoji.static_key)}}
    sizes = {name: len(data) for name, data in s3.objects(bucket).items()}

    result = await upkeep.prune_media(svc, 7)
    assert (result.avatars, result.emojis) == (1, 1)
    assert result.freed.files == len(doomed) and result.freed.bytes == sum(sizes[k] for k in doomed)
    left = set(s3.objects(bucket))
    assert not doomed & left and {f"media/{k}" for k in keys_of(local)} <= left


async def test_prune_orphans_removes_objects_no_row_names_once_past_the_grace_period(
    on_s3: tuple[Instance, str], s3: S3Server
) -> None:
    inst, bucket = on_s3
    svc = inst.services
    local, copy, emoji = await _upload_and_old_copies(inst)
    alice = await accounts_of(inst, "alice")
    async with svc.sessions() as session, session.begin():
        me = await session.get(Actor, alice.id)
        assert me is not None
        await update_profile(svc, session, me, ProfileChanges(avatar=png(40, 40, (3, 3, 90))))
        profile = set().union(*(keys_of(row) for row in await session.scalars(
            select(MediaAttachment).where(MediaAttachment.state == "profile")
        )))  # fmt: skip
    named = {f"media/{k}" for k in keys_of(local) | profile | keys_of(copy)}
    named |= {f"media/{emoji.image_key}", f"media/{emoji.static_key}"}
    orphan = "media/" + media_key(b"left over", "png")
    s3.admin.put_object(Bucket=bucket, Key=orphan, Body=b"left over")
    s3.admin.put_object(Bucket=bucket, Key="media/notes.txt", Body=b"not media: never touched")
    assert set(s3.objects(bucket)) == named | {orphan, "media/notes.txt"} and len(profile) == 3

    # Written moments ago: within any grace period.
    fresh = await upkeep.prune_orphans(svc, 1)
    assert fresh.freed.files == 0 and fresh.recent.as_dict() == {"files": 1, "bytes": len(b"left over")}
    # Seen from two days on (moto's objects cannot be made older), every object is past the grace period.
    later = upkeep.utcnow() + timedelta(days=2)
    dry = await upkeep.prune_orphans(svc, 1, dry_run=True, now=later)
    assert dry.freed.as_dict() == {"files": 1, "bytes": len(b"left over")} and dry.recent.files == 0
    assert orphan in s3.objects(bucket)
    done = await upkeep.prune_orphans(svc, 1, now=later)
    assert done.freed.as_dict() == dry.freed.as_dict()
    assert set(s3.objects(bucket)) == named | {"media/notes.txt"}
    assert (await upkeep.media_usage(svc)).unreferenced.files == 0


async def test_without_public_base_url_media_is_served_by_fedigen(on_s3: tuple[Instance, str]) -> None:
    inst, bucket = on_s3
    alice = bearer(await issue_token(inst, "alice"))
    data = png(40, 30, (10, 120, 30))
    response = await inst.client.post(
        "/api/v1/media", files={"file": ("b.png", data, "image/png")}, headers=alice
    )
    assert response.status_code == 200, response.text
    url = response.json()["url"]
    assert url.startswith("http://fedigen.test/media/")
    served = await inst.client.get(url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.content == await inst.services.media.store.aread(url.rsplit("/media/", 1)[1])


async def test_a_bucket_that_does_not_answer_is_a_503_and_stores_nothing(
    tmp_path: Path, router: HostRouter, s3: S3Server
) -> None:
    settings = make_settings(
        tmp_path, "sqlite", media={"store": "s3", "s3": s3.settings("fedigen-gone")}, generation=SMALL
    )
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        alice = bearer(await issue_token(inst, "alice"))
        response = await inst.client.post(
            "/api/v1/media", files={"file": ("c.png", png(20, 20), "image/png")}, headers=alice
        )
        assert response.status_code == 503 and "NoSuchBucket" in response.json()["error"]
        async with inst.services.sessions() as session:
            assert list(await session.scalars(select(MediaAttachment))) == []
        # A generation job whose images cannot be stored waits for another attempt.
        svc = inst.services
        async with svc.sessions() as session, session.begin():
            author = await accounts.get_local(session, "alice")
            job = await generations.request_generation(svc, session, author, JobSpec(prompt="a boat"))
        await runner(svc).run_once()
        async with svc.sessions() as session:
            waiting = await session.get(GenerationJob, job.id)
            assert waiting is not None and waiting.state == queue.QUEUED
            assert "NoSuchBucket" in (waiting.last_error or "")
            assert list(await session.scalars(select(MediaAttachment))) == []


BASE: dict[str, Any] = {"instance": {"url": "https://social.example"}}


@pytest.mark.parametrize(
    ("media", "message"),
    [
        ({"store": "ftp"}, "media.store: expected local or s3"),
        ({"store": "s3"}, "media.s3.bucket: required"),
        ({"s3": {"addressing": "dns"}}, "media.s3.addressing: expected path or virtual"),
        ({"s3": {"endpoint": "minio:9000"}}, "media.s3.endpoint: expected an http(s) URL"),
        ({"s3": {"prefix": "/media/"}}, "media.s3.prefix: expected a relative path ending in /"),
        ({"s3": {"prefix": "media"}}, "media.s3.prefix: expected a relative path ending in /"),
        ({"s3": {"upload_prefix": "media/raw/"}}, "media.s3.upload_prefix: neither inside"),
        ({"s3": {"colour": "blue"}}, "media.s3.colour: unknown key"),
        (
            {"store": "s3", "s3": {"bucket": "b", "secret_key_file": "nope"}},
            "media.s3.secret_key_file: cannot",
        ),
    ],
)
def test_bad_media_store_settings_are_refused(media: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings_from_mapping({**BASE, "media": media}, {}, base_dir=str(tmp_path))


def test_keys_from_files_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("from-a-file\n")
    env = {
        "FEDIGEN_MEDIA__STORE": "s3", "FEDIGEN_MEDIA__S3__BUCKET": "pics",
        "FEDIGEN_MEDIA__S3__ACCESS_KEY": "from-env", "FEDIGEN_MEDIA__S3__PUBLIC_BASE_URL": "https://cdn.example/",
    }  # fmt: skip
    data = {**BASE, "media": {"s3": {"secret_key_file": "secret", "addressing": "virtual"}}}
    settings = settings_from_mapping(data, env, base_dir=str(tmp_path))
    assert settings.media.s3.bucket == "pics" and settings.media.s3.addressing == "virtual"
    assert settings.s3_keys() == ("from-env", "from-a-file")
    assert settings.media_url == "https://cdn.example"
    local = settings_from_mapping(BASE, {}, base_dir=str(tmp_path))
    assert local.media_url == "https://social.example/media"
    store, uploads = media_stores(local, "local")
    assert isinstance(store, LocalMediaStore) and store.root != uploads.root


def config_file(directory: Path, s3_table: dict[str, str]) -> Path:
    """A config.toml for `fedigen media move` (which opens no database)."""
    directory.mkdir(parents=True, exist_ok=True)
    table = "\n".join(f'{k} = "{v}"' for k, v in s3_table.items())
    path = directory / "config.toml"
    path.write_text(f'[instance]\nurl = "https://social.example"\n\n[media.s3]\n{table}\n')
    return path


def test_media_move_command_both_ways(tmp_path: Path, s3: S3Server) -> None:
    bucket = s3.bucket()
    config = config_file(tmp_path, s3.settings(bucket))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(["media", "move", *args], config=config, cwd=tmp_path)

    local = LocalMediaStore(tmp_path / "data" / "media")
    uploads = LocalMediaStore(tmp_path / "data" / "uploads", private=True)
    stored = {local.put(png(10 + i, 10), "png") for i in range(5)}
    waiting = uploads.put(png(30, 30, (1, 1, 1)), "png")

    dry = cli("--to", "s3", "--dry-run")
    assert "dry run: media: 5 objects; would copy 5" in dry.stdout and s3.objects(bucket) == {}
    moved = cli("--to", "s3")
    assert moved.returncode == 0, moved.stderr
    assert "media: 5 objects; copied 5" in moved.stdout and "uploads: 1 objects; copied 1" in moved.stdout
    assert 'now set [media] store = "s3"' in moved.stdout and "5/5 objects" in moved.stderr
    assert set(s3.objects(bucket)) == {f"media/{k}" for k in stored} | {f"uploads/{waiting}"}
    assert local.keys() == {} and uploads.keys() == {}
    assert "media: 0 objects" in cli("--to", "s3").stdout  # nothing left: a re-run is harmless

    back = cli("--to", "local", "--keep-source")
    assert "copied 5" in back.stdout and "deleted 0" in back.stdout
    assert set(local.keys()) == stored and set(uploads.keys()) == {waiting} and len(s3.objects(bucket)) == 6
    assert cli("--to", "local").returncode == 0
    assert s3.objects(bucket) == {} and set(local.keys()) == stored

    bad = cli("--to", "cloud")
    assert bad.returncode == 2 and "'cloud' is not one of" in bad.stderr
    missing = tmp_path / "missing"
    config = config_file(missing, s3.settings("fedigen-missing"))
    LocalMediaStore(missing / "data" / "media").put(png(5, 5), "png")
    failed = run_cli(["media", "move", "--to", "s3"], config=config, cwd=missing)
    assert failed.returncode == 1 and "fedigen: media move stopped (media)" in failed.stderr
    assert "NoSuchBucket" in failed.stderr and "Traceback" not in failed.stderr
    unset = run_cli(["media", "move", "--to", "s3"], config=config_file(tmp_path / "unset", {}), cwd=tmp_path)
    assert unset.returncode == 1 and "media.s3.bucket: not set" in unset.stderr
