"""The content-addressed media store: every file is named by the SHA-256 of its bytes.

A key looks like ``ab/ab12...ef.jpg``: the first two hex digits of the hash as a directory (so no
directory grows past a few thousand files), then the whole hash and the extension. The same bytes
always get the same key, so a key's content never changes and may be cached forever, and storing an
image twice costs nothing. Writes are atomic (a temporary file in the same directory, then
``os.replace``), so a reader never sees half a file. Keys come back from URLs, so :meth:`MediaStore.path`
accepts only the exact key shape: nothing else can name a file outside the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path

from storage import MediaError

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


def media_key(data: bytes, ext: str) -> str:
    """The key ``data`` is stored under with extension ``ext`` (no file is touched)."""
    if ext not in MEDIA_TYPES_BY_EXT:
        raise MediaError(f"unsupported media extension {ext!r}")
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}.{ext}"


class MediaStore:
    """Files under one root directory, named by their content hash."""

    def __init__(self, root: Path, *, private: bool = False) -> None:
        self.root = Path(root)
        # A private store keeps files nobody else may read (unprocessed uploads, metadata and all).
        self.mode = _PRIVATE_MODE if private else _FILE_MODE

    def path(self, key: str) -> Path:
        """The file a key names; MediaError for anything but a well-formed key."""
        if not isinstance(key, str) or _KEY.fullmatch(key) is None:
            raise MediaError(f"malformed media key {key!r}")
        prefix, name = key.split("/")
        return self.root / prefix / name

    def put(self, data: bytes, ext: str) -> str:
        """Store ``data`` (idempotent: the same bytes give the same key) and return its key."""
        key = media_key(data, ext)
        target = self.path(key)
        if target.is_file():
            return key
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
        """Whether a file is stored under ``key`` (MediaError for a malformed key)."""
        return self.path(key).is_file()

    def read(self, key: str) -> bytes:
        """The bytes stored under ``key``; MediaError when there are none."""
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise MediaError(f"no media stored under {key!r}") from None

    def delete(self, key: str) -> None:
        """Remove the file stored under ``key``; a missing file is fine."""
        self.path(key).unlink(missing_ok=True)

    async def aput(self, data: bytes, ext: str) -> str:
        """:meth:`put` in a worker thread."""
        return await asyncio.to_thread(self.put, data, ext)

    async def aread(self, key: str) -> bytes:
        """:meth:`read` in a worker thread."""
        return await asyncio.to_thread(self.read, key)

    async def adelete(self, key: str) -> None:
        """:meth:`delete` in a worker thread."""
        await asyncio.to_thread(self.delete, key)
