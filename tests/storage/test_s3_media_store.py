"""The S3 media store against a local S3-compatible server (moto's, on loopback) through botocore, path
and virtual-host addressing, and moving media between the local folder and a bucket, interrupted and
resumed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import MediaError, MediaStoreUnavailable
from storage import media as media_module
from storage.media import LocalMediaStore, S3MediaStore, media_key, s3_client
from storage.media_move import MoveResult, move_media
from tests.generation.standins import png
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from tests.support.server import free_port


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server()
    yield server
    server.stop()


def store_of(s3: S3Server, bucket: str, *, prefix: str = "media/", addressing: str = "path",
             endpoint: str | None = None) -> S3MediaStore:  # fmt: skip
    client = s3_client(endpoint=endpoint or s3.endpoint, region=REGION, access_key=ACCESS_KEY,
                       secret_key=SECRET_KEY, addressing=addressing)  # fmt: skip
    return S3MediaStore(bucket, prefix=prefix, client=client)


def images(count: int) -> list[bytes]:
    return [png(8 + i, 8, (i * 20 % 256, 40, 90)) for i in range(count)]


def test_put_read_size_keys_delete_through_the_bucket(s3: S3Server) -> None:
    bucket = s3.bucket()
    store = store_of(s3, bucket)
    data = png(16, 16, (10, 20, 30))
    key = store.put(data, "png")
    assert key == media_key(data, "png") and store.put(data, "png") == key  # the same bytes, one object
    stored = s3.admin.head_object(Bucket=bucket, Key=f"media/{key}")
    assert stored["ContentType"] == "image/png" and "immutable" in stored["CacheControl"]
    assert s3.objects(bucket) == {f"media/{key}": data}
    assert store.read(key) == data and store.size(key) == len(data) and store.exists(key)
    assert b"".join(store.chunks(key)) == data
    s3.admin.put_object(Bucket=bucket, Key="media/notes.txt", Body=b"not media")
    assert store.keys() == {key: len(data)}  # what is not a media key is left out
    store.delete(key)
    store.delete(key)  # gone already: fine
    assert not store.exists(key) and store.size(key) is None
    with pytest.raises(MediaError, match="no media stored"):
        store.read(key)
    for bad in ("../etc/passwd", "ab/ab.png", "x" * 70):
        with pytest.raises(MediaError, match="malformed"):
            store.read(bad)


def test_a_store_that_does_not_answer_is_unavailable_not_missing(s3: S3Server) -> None:
    no_bucket = store_of(s3, "fedigen-no-such-bucket")
    with pytest.raises(MediaStoreUnavailable, match="NoSuchBucket"):
        no_bucket.put(b"\x89PNG", "png")
    closed = store_of(s3, "whatever", endpoint=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(MediaStoreUnavailable, match="unreachable"):
        closed.keys()


def test_virtual_host_addressing_names_the_bucket_in_the_host(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # s3.fedigen.test does not resolve here: botocore reaches it through an HTTP proxy, which moto's
    # server is too (it reads the absolute URL and the Host header), so each request really is sent to
    # <bucket>.s3.fedigen.test with the bucket named by the host alone.
    bucket = s3.bucket()
    monkeypatch.setenv("HTTP_PROXY", s3.endpoint)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    store = store_of(s3, bucket, addressing="virtual", endpoint=f"http://s3.fedigen.test:{s3.port}")
    sent: list[str] = []
    store.client.meta.events.register("before-send.s3", lambda request, **_: sent.append(request.url))
    data = png(12, 12, (1, 2, 3))
    key = store.put(data, "png")
    assert store.read(key) == data
    assert sent and all(url.startswith(f"http://{bucket}.s3.fedigen.test:{s3.port}/media/") for url in sent)
    monkeypatch.delenv("HTTP_PROXY")
    assert s3.objects(bucket) == {f"media/{key}": data}  # the path-style admin finds it in that bucket


def test_move_to_the_bucket_interrupted_then_resumed_then_back(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.bucket()
    local = LocalMediaStore(tmp_path / "media")
    remote = store_of(s3, bucket)
    originals = {local.put(data, "png"): data for data in images(8)}
    keys = sorted(originals)

    dry = move_media(local, remote, dry_run=True)
    assert (dry.total, dry.copied, dry.deleted) == (8, 8, 8) and s3.objects(bucket) == {}

    # The state a crash leaves: one object copied but not yet deleted from the source, one copy spoilt
    # (same size, wrong bytes), then a run stopped (Ctrl-C) after three objects.
    remote.put(originals[keys[0]], "png")
    spoilt = bytes(len(originals[keys[1]]))
    s3.admin.put_object(Bucket=bucket, Key=f"media/{keys[1]}", Body=spoilt)

    def stop_after_three(result: MoveResult, key: str) -> None:
        if result.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        move_media(local, remote, threads=1, progress=stop_after_three)
    left = set(local.keys())
    assert 0 < len(left) < 8 and keys[0] not in left and keys[1] not in left
    for key in set(keys) - left:  # whatever left the folder is in the bucket, whole
        assert hashlib.sha256(remote.read(key)).hexdigest() in key

    resumed = move_media(local, remote)
    assert resumed.failed == [] and resumed.copied + resumed.present == len(left)
    assert local.keys() == {}
    assert s3.objects(bucket) == {f"media/{key}": data for key, data in originals.items()}

    back = move_media(remote, local)
    assert (back.copied, back.deleted, back.failed) == (8, 8, [])
    assert s3.objects(bucket) == {} and {k: local.read(k) for k in local.keys()} == originals


def test_a_source_object_that_does_not_match_its_key_stays_where_it_is(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.bucket()
    remote, local = store_of(s3, bucket), LocalMediaStore(tmp_path / "media")
    good = remote.put(png(9, 9, (5, 5, 5)), "png")
    bad = media_key(b"what the key says", "png")
    s3.admin.put_object(Bucket=bucket, Key=f"media/{bad}", Body=b"something else")
    result: Any = move_media(remote, local)
    assert result.failed == [(bad, "the source's bytes do not match their key (left where they are)")]
    assert set(local.keys()) == {good} and set(remote.keys()) == {bad}


def test_listing_times_refresh_and_delete_older_through_the_bucket(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_of(s3, s3.bucket())
    data = png(14, 14, (5, 6, 7))
    before = datetime.now(UTC) - timedelta(seconds=2)
    key = store.put(data, "png")
    listing = store.listing()
    assert set(listing) == {key} and listing[key].size == len(data)
    assert before <= listing[key].modified <= datetime.now(UTC) + timedelta(seconds=2)
    puts: list[str] = []
    store.client.meta.events.register("before-send.s3.PutObject", lambda request, **_: puts.append("put"))
    store.put(data, "png")
    assert puts == []  # written moments ago: not again
    monkeypatch.setattr(media_module, "REFRESH_AFTER", timedelta(0))
    store.put(data, "png")
    assert puts == ["put"]  # older than REFRESH_AFTER: written again, so its time is new
    assert store.delete_older(key, listing[key].modified - timedelta(hours=1)) is None and store.exists(key)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert store.delete_older(key, later) == len(data) and not store.exists(key)
    assert store.delete_older(key, later) is None
