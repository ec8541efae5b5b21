"""Media files at stable public URLs: the real Content-Type, long cache headers, no signature needed.

Bluesky's CDN (through Bridgy Fed) fetches images unsigned and drops an image for good after a 4xx
on its first fetch, so media is never behind authorized fetch. Keys are content hashes, so a URL's
bytes never change and may be cached for a year.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from fedigen.http import services
from fedigen.web.privacy import media_opted_out
from storage import MediaError
from storage.media import MEDIA_TYPES_BY_EXT

CACHE_FOREVER = "public, max-age=31536000, immutable"
# The reservation of an account opted out of AI training (fedigen.web.pages has the same for pages).
AI_OPT_OUT_HEADERS = {"X-Robots-Tag": "noai, noimageai", "tdm-reservation": "1"}


async def media_file(request: Request) -> Response:
    """GET/HEAD /media/<key>: one stored variant."""
    key = request.path_params["key"]
    store = services(request).media.store
    try:
        path = store.path(key)
    except MediaError:
        return JSONResponse({"error": "no such media"}, status_code=404)
    if not path.is_file():
        return JSONResponse({"error": "no such media"}, status_code=404)
    media_type = MEDIA_TYPES_BY_EXT.get(path.suffix.lstrip(".").lower(), "application/octet-stream")
    headers = {"Cache-Control": CACHE_FOREVER, "X-Content-Type-Options": "nosniff",
               "Access-Control-Allow-Origin": "*"}  # fmt: skip
    async with services(request).reads() as session:
        if await media_opted_out(session, key):
            headers.update(AI_OPT_OUT_HEADERS)
    return FileResponse(path, media_type=media_type, headers=headers)


routes = [Route("/media/{key:path}", media_file, methods=["GET", "HEAD"])]
