"""Media files at stable public URLs: the real Content-Type, long cache headers, no signature needed.

Bluesky's CDN (through Bridgy Fed) fetches images unsigned and drops an image for good after a 4xx
on its first fetch, so media is never behind authorized fetch. Keys are content hashes, so a URL's
bytes never change and may be cached for a year.

Files of the local store are sent as files; objects of an S3 store are streamed from the bucket (this
route keeps answering for URLs published before the media moved, even when [media.s3] public_base_url
sends new URLs straight to the bucket or its CDN).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from fedigen.http import services
from fedigen.web.privacy import media_opted_out
from storage import MediaError
from storage.media import CACHE_FOREVER, media_type_of

# The reservation of an account opted out of AI training (fedigen.web.pages has the same for pages).
AI_OPT_OUT_HEADERS = {"X-Robots-Tag": "noai, noimageai", "tdm-reservation": "1"}


async def media_file(request: Request) -> Response:
    """GET/HEAD /media/<key>: one stored variant."""
    key = request.path_params["key"]
    store = services(request).media.store
    try:
        path = store.local_path(key)
        size = (path.stat().st_size if path.is_file() else None) if path else await store.asize(key)
    except (MediaError, OSError):
        size = None
    if size is None:
        return JSONResponse({"error": "no such media"}, status_code=404)
    headers = {"Cache-Control": CACHE_FOREVER, "X-Content-Type-Options": "nosniff",
               "Access-Control-Allow-Origin": "*"}  # fmt: skip
    async with services(request).reads() as session:
        if await media_opted_out(session, key):
            headers.update(AI_OPT_OUT_HEADERS)
    media_type = media_type_of(key)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=headers)
    headers["Content-Length"] = str(size)
    if request.method == "HEAD":
        return Response(media_type=media_type, headers=headers)
    try:
        chunks = store.astream(key)
        first = await anext(chunks)  # a missing object is a 404 now, not a broken stream later
    except (MediaError, StopAsyncIteration):
        return JSONResponse({"error": "no such media"}, status_code=404)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield first
            async for piece in chunks:
                yield piece
        finally:
            await chunks.aclose()

    return StreamingResponse(body(), media_type=media_type, headers=headers)


routes = [Route("/media/{key:path}", media_file, methods=["GET", "HEAD"])]
