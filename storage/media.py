"""The content-addressed media store: every file is named by the SHA-256 of its bytes.

A key looks like ``ab/ab12...ef.jpg``: the first two hex digits of the hash as a directory (so no
directory grows past a few thousand files), then the whole hash and the extension. The same bytes
always get the same key, so a key's content never changes and may be cached forever, and storing an
image twice costs nothing. Keys come back from URLs, so every store accepts only the exact key shape:
nothing else can name a file outside the store.

Two stores share the one interface, :class:`MediaStore`, that everything storing, reading or deleting
media goes through:

- :class:`LocalMediaStore`, files under a folder. Writes are atomic (a temporary file in the same
  directory, then ``os.replace``), so a reader never sees half a file.
- :class:`S3MediaStore`, objects in an S3-compatible bucket (AWS S3, MinIO, Garage, Ceph...) under a
  prefix, through botocore (the optional ``s3`` extra); its blocking calls run in worker threads. An
  object is written whole by one PUT (checked by its Content-MD5), so a reader never sees half of one
  either.

Because a key is the hash of its content, a copy is verified by hashing what the other store gives
back (:func:`verify`): that is what ``fedigen media move`` relies on.

A file is written before the database row that names it commits, so a crash or a rolled-back
transaction in between leaves a file no row names. ``fedigen media prune --orphans`` removes those once
they are older than a grace period, by their modification time: storing bytes that are there already
refreshes it (:data:`REFRESH_AFTER`), so a file about to be named again always looks recent, and
:meth:`MediaStore.delete_older` checks the time again as it deletes. What a write or a prune of a folder
leaves when killed half-way (a hidden temporary file, a file moved aside) is swept by
:mod:`storage.media_leftovers`.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage import MediaError, MediaStoreUnavailable

# Served with these Content-Types: Bluesky's CDN (through Bridgy Fed) drops an image whose type is not
# the real image/* one (FEDERATION.md, "What Bluesky users see").
MEDIA_TYPES_BY_EXT: dict[str, str] = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
}

# "ab/" + the 64 hex digits of the SHA-256 (starting with the same two) + "." + a known extension.
_KEY = re.compile(r"(?P<p>[0-9a-f]{2})/(?P=p)[0-9a-f]{62}\.(?:" + "|".join(MEDIA_TYPES_BY_EXT) + ")")
_FILE_MODE = 0o644  # media is public; a web server running as another user may serve the directory
_PRIVATE_MODE = 0o600  # raw uploads: read by fedigen alone, never served
# Content hashes never change, so neither do the bytes of a URL.
CACHE_FOREVER = "public, max-age=31536000, immutable"
CHUNK = 256 * 1024
# Storing bytes that are there already refreshes the file's modification time (what the orphan prune's
# grace period counts from) when it is older than this: at once on a folder, by writing the object
# again on S3 (so a dedup hit costs an upload at most this often). Well under the shortest grace (1 h).
REFRESH_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class StoredFile:
    """A stored file's size and when it was last written (UTC)."""

    size: int
    modified: datetime


def media_key(data: bytes, ext: str) -> str:
    """The key ``data`` is stored under with extension ``ext`` (no file is touched)."""
    if ext not in MEDIA_TYPES_BY_EXT:
        raise MediaError(f"unsupported media extension {ext!r}")
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}.{ext}"


def check_key(key: object) -> str:
    """``key`` if it is a well-formed media key; MediaError otherwise."""
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise MediaError(f"malformed media key {key!r}")
    return key


def is_key(key: object) -> bool:
    """Whether ``key`` is a well-formed media key."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def media_type_of(key: str) -> str:
    """The Content-Type a key is served with."""
    return MEDIA_TYPES_BY_EXT.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def verify(key: str, data: bytes) -> bool:
    """Whether ``data`` is what ``key`` names (its SHA-256 is the key's hash)."""
    return hashlib.sha256(data).hexdigest() == key.split("/")[-1].split(".")[0]


class MediaStore(abc.ABC):
    """Where media bytes live, by content key. The blocking methods have ``a``-prefixed async twins that
    run them in a worker thread."""

    # What the store is, for messages: a folder's path or s3://bucket/prefix.
    location: str

    @abc.abstractmethod
    def put(self, data: bytes, ext: str, *, replace: bool = False) -> str:
        """Store ``data`` (idempotent: the same bytes give the same key) and return its key. With
        ``replace``, write even when something is stored under the key already (to mend a bad copy)."""

    @abc.abstractmethod
    def size(self, key: str) -> int | None:
        """The size of what is stored under ``key``, None when nothing is (MediaError for a malformed key)."""

    @abc.abstractmethod
    def read(self, key: str) -> bytes:
        """The bytes stored under ``key``; MediaError when there are none."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove what is stored under ``key``; nothing stored is fine."""

    @abc.abstractmethod
    def listing(self) -> dict[str, StoredFile]:
        """Every stored key, with its size and modification time (anything else in the folder or bucket
        is left out)."""

    def keys(self) -> dict[str, int]:
        """Every stored key, with its size (anything else in the folder or bucket is left out)."""
        return {key: stored.size for key, stored in self.listing().items()}

    @abc.abstractmethod
    def delete_older(self, key: str, before: datetime) -> int | None:
        """Remove what is stored under ``key`` if it was last written before ``before``; returns the size
        removed, None when nothing was (missing, or written since)."""

    @abc.abstractmethod
    def chunks(self, key: str) -> Iterator[bytes]:
        """The stored bytes in pieces, for streaming; MediaError when there are none."""

    def exists(self, key: str) -> bool:
        """Whether something is stored under ``key`` (MediaError for a malformed key)."""
        return self.size(key) is not None

    def local_path(self, key: str) -> Path | None:
        """The file of ``key`` when the store is a local folder (a web server may send it as is)."""
        return None

    async def aput(self, data: bytes, ext: str) -> str:
        """:meth:`put` in a worker thread."""
        return await asyncio.to_thread(self.put, data, ext)

    async def aread(self, key: str) -> bytes:
        """:meth:`read` in a worker thread."""
        return await asyncio.to_thread(self.read, key)

    async def adelete(self, key: str) -> None:
        """:meth:`delete` in a worker thread."""
        await asyncio.to_thread(self.delete, key)

    async def asize(self, key: str) -> int | None:
        """:meth:`size` in a worker thread."""
        return await asyncio.to_thread(self.size, key)

    async def aexists(self, key: str) -> bool:
        """:meth:`exists` in a worker thread."""
        return await asyncio.to_thread(self.exists, key)

    async def akeys(self) -> dict[str, int]:
        """:meth:`keys` in a worker thread."""
        return await asyncio.to_thread(self.keys)

    async def alisting(self) -> dict[str, StoredFile]:
        """:meth:`listing` in a worker thread."""
        return await asyncio.to_thread(self.listing)

    async def adelete_older(self, key: str, before: datetime) -> int | None:
        """:meth:`delete_older` in a worker thread."""
        return await asyncio.to_thread(self.delete_older, key, before)

    async def astream(self, key: str) -> AsyncGenerator[bytes, None]:
        """:meth:`chunks`, each piece read in a worker thread."""
        pieces = await asyncio.to_thread(self.chunks, key)
        done = object()
        try:
            while True:
                piece = await asyncio.to_thread(next, pieces, done)
                if piece is done:
                    return
                assert isinstance(piece, bytes)
                yield piece
        finally:  # a reader that stops early (a client gone) releases the file or the connection now
            close = getattr(pieces, "close", None)
            if close is not None:
                await asyncio.to_thread(close)


class LocalMediaStore(MediaStore):
    """Files under one root directory, named by their content hash."""

    def __init__(self, root: Path, *, private: bool = False) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        # A private store keeps files nobody else may read (unprocessed uploads, metadata and all).
        self.mode = _PRIVATE_MODE if private else _FILE_MODE

    def path(self, key: str) -> Path:
        """The file a key names; MediaError for anything but a well-formed key."""
        prefix, name = check_key(key).split("/")
        return self.root / prefix / name

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    def put(self, data: bytes, ext: str, *, replace: bool = False) -> str:
        key = media_key(data, ext)
        target = self.path(key)
        if not replace:
            try:
                os.utime(target)  # there already: it is about to be named again, so it counts as new
                return key
            except OSError:  # not there (or removed by a prune just now), or another user's file:
                pass  # written (anew) below
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())  # the database row that names this key may commit right after
            os.chmod(temp_name, self.mode)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except OSError:
            return None

    def read(self, key: str) -> bytes:
        """The bytes stored under ``key``; MediaError when there are none."""
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise MediaError(f"no media stored under {key!r}") from None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def listing(self) -> dict[str, StoredFile]:
        found: dict[str, StoredFile] = {}
        if not self.root.is_dir():
            return found
        for prefix in os.scandir(self.root):
            if not prefix.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(prefix.path):
                key = f"{prefix.name}/{entry.name}"
                if entry.is_file(follow_symlinks=False) and is_key(key):
                    stat = entry.stat(follow_symlinks=False)
                    found[key] = StoredFile(stat.st_size, _mtime(stat))
        return found

    def delete_older(self, key: str, before: datetime) -> int | None:
        target = self.path(key)
        try:
            if _mtime(target.stat()) >= before:
                return None
            # Moved aside, then checked again: a put that refreshed the file before the move is seen
            # here (and the file put back: the same bytes, whatever is there now); one after it finds
            # no file and writes it anew.
            aside = target.with_name(f".{target.name}.prune")
            os.replace(target, aside)
        except FileNotFoundError:
            return None
        try:
            stat = aside.stat()
            if _mtime(stat) >= before:
                os.replace(aside, target)
                return None
            aside.unlink()
        except FileNotFoundError:  # taken by a sweep of leftovers (storage.media_leftovers): kept
            return None
        return stat.st_size

    def chunks(self, key: str) -> Iterator[bytes]:
        try:
            handle = self.path(key).open("rb")
        except FileNotFoundError:
            raise MediaError(f"no media stored under {key!r}") from None

        def pieces() -> Iterator[bytes]:
            with handle:
                while piece := handle.read(CHUNK):
                    yield piece

        return pieces()


class S3MediaStore(MediaStore):
    """Objects in an S3-compatible bucket, under ``prefix`` (``prefix + key`` is an object's name).

    ``addressing`` is ``"path"`` (``endpoint/bucket/name``: MinIO, Garage and most self-hosted stores) or
    ``"virtual"`` (``bucket.endpoint/name``: AWS and most hosted ones). Empty keys and region fall back to
    botocore's own sources (``AWS_ACCESS_KEY_ID``..., ``~/.aws``, an instance role). Errors of the store
    itself (unreachable, access denied, no such bucket) are :class:`storage.MediaStoreUnavailable`.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint: str = "",
        region: str = "",
        access_key: str = "",
        secret_key: str = "",
        addressing: str = "path",
        client: Any = None,
    ) -> None:
        if addressing not in ("path", "virtual"):
            raise MediaError(f"S3 addressing must be path or virtual, not {addressing!r}")
        self.bucket = bucket
        self.prefix = prefix
        self.location = f"s3://{bucket}/{prefix}"
        self.client = client if client is not None else s3_client(
            endpoint=endpoint, region=region, access_key=access_key, secret_key=secret_key,
            addressing=addressing,
        )  # fmt: skip

    def name(self, key: str) -> str:
        """The object name of a key."""
        return self.prefix + check_key(key)

    def _head(self, key: str) -> StoredFile | None:
        try:
            with _errors(key):
                head = self.client.head_object(Bucket=self.bucket, Key=self.name(key))
        except _Missing:
            return None
        return StoredFile(int(head["ContentLength"]), _utc(head["LastModified"]))

    def put(self, data: bytes, ext: str, *, replace: bool = False) -> str:
        key = media_key(data, ext)
        if not replace and (there := self._head(key)) is not None:
            if there.modified > datetime.now(UTC) - REFRESH_AFTER:
                return key
            # Written again so that it counts as new: it is about to be named again (see REFRESH_AFTER).
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        with _errors(key):
            self.client.put_object(
                Bucket=self.bucket, Key=self.name(key), Body=data, ContentMD5=md5,
                ContentType=media_type_of(key), CacheControl=CACHE_FOREVER,
            )  # fmt: skip
        return key

    def size(self, key: str) -> int | None:
        there = self._head(key)
        return None if there is None else there.size

    def read(self, key: str) -> bytes:
        return b"".join(self.chunks(key))

    def chunks(self, key: str) -> Iterator[bytes]:
        name = self.name(key)
        try:
            with _errors(key):
                body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
        except _Missing:
            raise MediaError(f"no media stored under {key!r}") from None

        def pieces() -> Iterator[bytes]:
            with _errors(key), body:
                yield from body.iter_chunks(CHUNK)

        return pieces()

    def delete(self, key: str) -> None:
        name = self.name(key)
        try:
            with _errors(key):
                self.client.delete_object(Bucket=self.bucket, Key=name)
        except _Missing:
            pass

    def listing(self) -> dict[str, StoredFile]:
        found: dict[str, StoredFile] = {}
        with _errors(self.location):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = str(item["Key"])[len(self.prefix) :]
                    if is_key(key):
                        found[key] = StoredFile(int(item["Size"]), _utc(item["LastModified"]))
        return found

    def delete_older(self, key: str, before: datetime) -> int | None:
        # S3 has no portable conditional delete: the time is checked just before (a put refreshing the
        # object in the few milliseconds between the two would lose it; see REFRESH_AFTER).
        there = self._head(key)
        if there is None or there.modified >= before:
            return None
        self.delete(key)
        return there.size


def _mtime(stat: os.stat_result) -> datetime:
    return datetime.fromtimestamp(stat.st_mtime, UTC)


def _utc(value: Any) -> datetime:
    """botocore's LastModified (an aware datetime) in UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def s3_client(*, endpoint: str, region: str, access_key: str, secret_key: str, addressing: str) -> Any:
    """A botocore S3 client for an S3-compatible store (MediaError when the ``s3`` extra is missing)."""
    try:
        import boto3.session
        from botocore.config import Config
    except ImportError:  # pragma: no cover - the s3 extra is installed wherever this is tested
        raise MediaError("[media] store = \"s3\" needs the s3 extra: pip install 'fedigen[s3]'") from None
    config = Config(
        s3={"addressing_style": addressing},
        retries={"max_attempts": 4, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
        # Only the checksums S3 requires: several S3-compatible stores reject the CRC32 trailers newer
        # botocore adds by default. Each PUT carries its Content-MD5 instead.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=region or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )


class _Missing(Exception):
    """The object is not there (S3's 404 / NoSuchKey)."""


class _errors:
    """Turns botocore's errors into ours: a missing object into :class:`_Missing`, the rest into
    :class:`storage.MediaStoreUnavailable`."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, (MediaError, _Missing)):
            return
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise _Missing() from exc
            raise MediaStoreUnavailable(
                f"media store {code or 'error'} for {self.what}: {error.get('Message') or exc}"
            ) from exc
        if isinstance(exc, BotoCoreError):
            raise MediaStoreUnavailable(f"media store unreachable for {self.what}: {exc}") from exc
