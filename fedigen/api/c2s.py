"""ActivityPub client-to-server (https://www.w3.org/TR/activitypub/#client-to-server-interactions):
POST to an account's outbox with its OAuth bearer token, GET of its inbox by its owner, and media
upload to ``endpoints.uploadMedia``.

Each accepted activity type calls the use-case every other front door calls (posting, following,
reactions, blocking, profiles), so ids, side effects and delivery are the same as for a post made
from a Mastodon app. A bare object is wrapped in a Create (section 6.2.1). One small handler per type,
in one visible table; anything else is a 422 naming ``type``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.actors import parse_time
from activitypub.content import strip_html
from activitypub.errors import InvalidActivityError
from activitypub.jsonld import check_bounds, id_of, ids_of
from activitypub.notes import attachment_to_ap
from activitypub.vocab import AS_CONTEXT, NOTE_TYPES, visibility_of
from fedigen.api.accounts import read_upload
from fedigen.api.auth import authenticate
from fedigen.api.params import read_params
from fedigen.errors import ForbiddenError, NotFoundError, ValidationError
from fedigen.federation.routes import ActivityJSONResponse, read_body
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import blocks, follows, mentions, polls, posts, reactions
from fedigen.social.accounts import get_local
from fedigen.social.media import media_url
from fedigen.social.posts import PostRequest
from fedigen.social.profiles import ProfileChanges, update_profile
from fedigen.social.visibility import can_see
from storage import MediaError
from storage.attachments import ingest
from storage.models import Activity, Actor, Favourite, Follow, InboxEntry, MediaAttachment, Status, utcnow

PAGE_SIZE = 20
JSON_TYPES = ("application/activity+json", "application/ld+json", "application/json")


@dataclass
class Outbox:
    """One C2S request being applied: the account, its activity, and the open transaction."""

    svc: Services
    session: AsyncSession
    actor: Actor
    doc: dict[str, Any]

    @property
    def object(self) -> Any:
        """The activity's object as given."""
        return self.doc.get("object")


async def _own_status(box: Outbox, ref: Any) -> Status:
    status = await posts.status_by_ap_id(box.session, id_of(ref))
    if status is None or status.actor_id != box.actor.id or status.reblog_of_id is not None:
        raise NotFoundError("no such post of yours")
    return status


async def _status(box: Outbox, ref: Any) -> Status:
    status = await posts.status_by_ap_id(box.session, id_of(ref))
    if status is None:
        raise NotFoundError(f"no stored post {id_of(ref)}")
    return status


async def _target(box: Outbox, ref: Any) -> Actor:
    """The actor an activity names (looked up beforehand by :func:`_look_up`, so known by now)."""
    ap_id = id_of(ref)
    if not ap_id:
        raise ValidationError("object", "must name an actor")
    actor = await box.session.scalar(select(Actor).where(Actor.ap_id == ap_id.split("#", 1)[0]))
    if actor is None:
        raise NotFoundError(f"no actor {ap_id}")
    return actor


async def _look_up(svc: Services, doc: dict[str, Any]) -> None:
    """What an activity needs from other servers, fetched before its transaction opens: the actor a
    Follow or Block names, the remote accounts a post mentions."""
    obj = doc.get("object")
    if doc["type"] in ("Follow", "Block") and id_of(obj):
        await svc.resolver.get_actor(id_of(obj) or "")
    elif doc["type"] in ("Create", "Update") and isinstance(obj, dict):
        await mentions.learn_mentions(svc, _text(obj))


def _media_ref(item: Any) -> str:
    """An attachment's media id or URL: a string, or an object with ``mediaId`` or ``url``."""
    ref = item.get("mediaId") or item.get("url") if isinstance(item, dict) else item
    if isinstance(ref, list):
        ref = ref[0] if ref else None
    if isinstance(ref, dict):
        ref = ref.get("href")
    return str(ref) if isinstance(ref, str | int) else ""


async def _media_ids(box: Outbox, attachments: Any) -> list[int]:
    """Our media rows for a Note's attachments, given by URL (one of our media URLs) or by media id."""
    prefix = box.svc.settings.media_url + "/"
    mine = MediaAttachment.account_id == box.actor.id
    ids: list[int] = []
    for item in attachments if isinstance(attachments, list) else [attachments] if attachments else []:
        key = _media_ref(item).removeprefix(prefix)
        by_key = or_(MediaAttachment.original_key == key, MediaAttachment.federation_key == key,
                     MediaAttachment.thumbnail_key == key)  # fmt: skip
        match = MediaAttachment.id == int(key) if key.isdigit() and len(key) < 19 else by_key
        row = await box.session.scalar(select(MediaAttachment).where(mine, match))
        if row is None or not key:
            raise ValidationError("attachment", f"not one of your uploaded media: {_media_ref(item)!r}")
        if isinstance(item, dict) and isinstance(item.get("name"), str) and not row.description:
            row.description = item["name"][:1500]
        ids.append(row.id)
    return ids


def _language(note: dict[str, Any]) -> str | None:
    """The language a client gave its Note: the key of its ``contentMap`` (validated by create_post)."""
    content_map = note.get("contentMap")
    if isinstance(content_map, dict) and content_map:
        first = next(iter(content_map))
        if not isinstance(first, str) or not first.strip():
            raise ValidationError("contentMap", "its key must be a language code")
        return first
    return None


def _text(note: dict[str, Any]) -> str:
    source = note.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        return str(source["content"])
    content = note.get("content")
    content_map = note.get("contentMap")
    if not isinstance(content, str) and isinstance(content_map, dict) and content_map:
        content = next(iter(content_map.values()))  # only the language map was given
    return strip_html(content if isinstance(content, str) else "")


def _poll(note: dict[str, Any]) -> polls.PollRequest | None:
    """A Question's poll as a local account posts it: ``oneOf`` / ``anyOf`` option names and ``endTime``."""
    if note.get("type") != "Question":
        return None
    multiple = isinstance(note.get("anyOf"), list)
    items = note.get("anyOf") if multiple else note.get("oneOf")
    if not isinstance(items, list):
        raise ValidationError("oneOf", "a Question takes its options in oneOf or anyOf")
    names = [
        str(i.get("name") or "") if isinstance(i, dict) else str(i) for i in items[: polls.MAX_OPTIONS * 25]
    ]
    end = parse_time(note.get("endTime"))
    expires_in = round((end - utcnow()).total_seconds()) if end is not None else None
    return polls.PollRequest(options=names, expires_in=expires_in, multiple=multiple)


async def _vote(box: Outbox, note: dict[str, Any], parent: Status | None) -> str | None:
    """A Note named after an option of the poll it answers, without content: a vote (None if it is none)."""
    name = note.get("name")
    if not isinstance(name, str) or not name or parent is None or _text(note).strip():
        return None
    poll = await polls.poll_of(box.session, parent.id)
    if poll is None:
        return None
    if name not in poll.options:
        raise ValidationError("name", "The chosen vote option does not exist")
    votes = await polls.vote(box.svc, box.session, box.actor, parent, [list(poll.options).index(name)])
    return f"{votes[0].ap_id}/activity"


async def on_create(box: Outbox) -> str:
    """Create{Note}: a post, through posts.create_post (a Question: a post with its poll); a Note named
    after an option of the poll it answers: a vote, through polls.vote."""
    note = box.object
    if not isinstance(note, dict) or not isinstance(note.get("type"), str) or note["type"] not in NOTE_TYPES:
        raise ValidationError("object", "Create takes an embedded Note")
    to, cc = ids_of(note.get("to") or box.doc.get("to")), ids_of(note.get("cc") or box.doc.get("cc"))
    followers = box.actor.followers_url
    visibility = visibility_of(to, cc, followers) if to or cc else "public"
    parent = (
        await posts.status_by_ap_id(box.session, id_of(note.get("inReplyTo")))
        if note.get("inReplyTo")
        else None
    )
    if note.get("inReplyTo") and (parent is None or not await can_see(box.session, parent, box.actor.id)):
        raise ValidationError("inReplyTo", "no such stored post")  # one not visible to you looks absent
    voted = await _vote(box, note, parent)
    if voted is not None:
        return voted
    request = PostRequest(
        text=_text(note), visibility=visibility, summary=str(note.get("summary") or ""),
        sensitive=bool(note.get("sensitive")), language=_language(note),
        in_reply_to_id=parent.id if parent else None,
        media_ids=await _media_ids(box, note.get("attachment")), poll=_poll(note),
    )  # fmt: skip
    status = await posts.create_post(box.svc, box.session, box.actor, request)
    return box.svc.urls.create_activity(box.actor.username, status.id)


async def on_update(box: Outbox) -> str | None:
    """Update of one's own Note (edit_post) or of one's own actor (the profile)."""
    obj = box.object
    if not isinstance(obj, dict):
        raise ValidationError("object", "Update takes an embedded object")
    if id_of(obj) == box.actor.ap_id:
        changes = ProfileChanges(
            display_name=obj.get("name") if isinstance(obj.get("name"), str) else None,
            note=strip_html(obj["summary"]) if isinstance(obj.get("summary"), str) else None,
        )
        await update_profile(box.svc, box.session, box.actor, changes)
        return None
    status = await _own_status(box, obj)
    summary = obj.get("summary") if isinstance(obj.get("summary"), str) else None
    sensitive = obj.get("sensitive") if isinstance(obj.get("sensitive"), bool) else None
    await posts.edit_post(
        box.svc, box.session, box.actor, status.id, _text(obj), summary, sensitive, language=_language(obj)
    )
    return None


async def on_delete(box: Outbox) -> str:
    """Delete of one's own post."""
    status = await _own_status(box, box.object)
    await posts.delete_post(box.svc, box.session, box.actor, status.id)
    return f"{status.ap_id}#delete"


async def on_follow(box: Outbox) -> str | None:
    """Follow of any actor."""
    row = await follows.follow(box.svc, box.session, box.actor, await _target(box, box.object))
    return row.ap_id


async def on_like(box: Outbox) -> str | None:
    """Like of a stored post (favourite)."""
    like = await reactions.favourite(box.svc, box.session, box.actor, await _status(box, box.object))
    return like.ap_id


async def on_announce(box: Outbox) -> str:
    """Announce of a stored post (reblog)."""
    boost = await reactions.reblog(box.svc, box.session, box.actor, await _status(box, box.object))
    return boost.ap_id


async def on_block(box: Outbox) -> str | None:
    """Block of an actor."""
    return (await blocks.block(box.svc, box.session, box.actor, await _target(box, box.object))).ap_id


async def on_undo(box: Outbox) -> str | None:
    """Undo of one of the account's own Follow, Like, Announce or Block, named by id or embedded."""
    inner_id = id_of(box.object)
    embedded = box.object if isinstance(box.object, dict) else {}
    kind, target = embedded.get("type"), id_of(embedded.get("object"))
    if inner_id:
        sent = await box.session.scalar(
            select(Activity).where(Activity.ap_id == inner_id, Activity.actor_id == box.actor.id)
        )
        follow = await box.session.scalar(
            select(Follow).where(Follow.ap_id == inner_id, Follow.follower_id == box.actor.id)
        )
        like = await box.session.scalar(
            select(Favourite).where(Favourite.ap_id == inner_id, Favourite.actor_id == box.actor.id)
        )
        if sent is not None:
            kind, target = sent.ap_type, sent.object_ap_id
        elif follow is not None:
            followee = await box.session.get(Actor, follow.followee_id)
            kind, target = "Follow", followee.ap_id if followee else None
        elif like is not None:
            liked = await box.session.get(Status, like.status_id)
            kind, target = "Like", liked.ap_id if liked else None
    if kind == "Follow":
        await follows.unfollow(box.svc, box.session, box.actor, await _target(box, target))
    elif kind == "Block":
        await blocks.unblock(box.svc, box.session, box.actor, await _target(box, target))
    elif kind == "Like":
        await reactions.unfavourite(box.svc, box.session, box.actor, await _status(box, target))
    elif kind == "Announce":
        await reactions.unreblog(box.svc, box.session, box.actor, await _status(box, target))
    else:
        raise ValidationError("object", "Undo takes one of your Follow, Like, Announce or Block activities")
    return None


HANDLERS: dict[str, Callable[[Outbox], Awaitable[str | None]]] = {
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
    "Follow": on_follow,
    "Like": on_like,
    "Announce": on_announce,
    "Block": on_block,
    "Undo": on_undo,
}


async def _owner(request: Request, session: AsyncSession, scope: str) -> Actor:
    """The account named in the path, which the token must act for (403 otherwise)."""
    auth = await authenticate(request, scope)
    account = await get_local(session, request.path_params["username"])
    if auth.account is None or auth.account.id != account.id:
        raise ForbiddenError("this token does not act for that account")
    return account


def _activity(body: bytes, actor: Actor) -> dict[str, Any]:
    try:
        doc = json.loads(body)
        check_bounds(doc)
    except (ValueError, RecursionError, InvalidActivityError):
        raise ValidationError(
            "body", "is not valid JSON (or nested too deeply, or not valid Unicode)"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        raise ValidationError("type", "an activity or object with a type is required")
    if doc["type"] in NOTE_TYPES:  # a bare object is wrapped in a Create (ActivityPub 6.2.1)
        doc = {"type": "Create", "object": doc, "to": doc.get("to"), "cc": doc.get("cc")}
    if doc["type"] not in HANDLERS:
        raise ValidationError("type", f"must be one of {', '.join(HANDLERS)} or a Note")
    if doc.get("actor") not in (None, actor.ap_id):
        raise ForbiddenError("actor must be the outbox's owner")
    return doc


async def post_outbox(request: Request) -> Response:
    """POST /users/:name/outbox: apply one activity, 201 with Location of the activity."""
    svc = services(request)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() not in JSON_TYPES:
        await authenticate(request, "write")
        raise ValidationError("content-type", "must be application/activity+json or application/ld+json")
    async with svc.sessions() as session:
        owner = await _owner(request, session, "write")
    doc = _activity(await read_body(request, svc.settings.federation.inbox_max_bytes), owner)
    await _look_up(svc, doc)
    async with svc.sessions() as session, session.begin():
        actor = await session.get(Actor, owner.id) or owner
        latest = await session.scalar(
            select(Activity.id).where(Activity.actor_id == actor.id).order_by(Activity.id.desc()).limit(1)
        )
        location = await HANDLERS[doc["type"]](Outbox(svc, session, actor, doc))
        if location is None:
            published = await session.scalar(
                select(Activity.ap_id).where(Activity.actor_id == actor.id, Activity.id > (latest or 0))
                .order_by(Activity.id.desc()).limit(1)
            )  # fmt: skip
            location = published or id_of(doc.get("object")) or actor.ap_id
    request.app.state.worker.wake()
    return Response(status_code=201, headers={"Location": location})


async def get_inbox(request: Request) -> Response:
    """GET /users/:name/inbox: what the account received, newest first, to its owner only."""
    svc = services(request)
    params = await read_params(request)
    max_id = params.get_int("max_id", low=1, high=2**63 - 1)
    async with svc.reads() as session:
        account = await _owner(request, session, "read")
        inbox_id = svc.urls.inbox(account.username)
        if not params.get_bool("page"):
            return ActivityJSONResponse({"@context": AS_CONTEXT, "id": inbox_id, "type": "OrderedCollection",
                                         "first": f"{inbox_id}?page=true"})  # fmt: skip
        query = select(InboxEntry.id, InboxEntry.document).where(InboxEntry.account_id == account.id)
        if max_id:
            query = query.where(InboxEntry.id < max_id)
        rows = (await session.execute(query.order_by(InboxEntry.id.desc()).limit(PAGE_SIZE))).all()
    page_id = f"{inbox_id}?page=true" + (f"&max_id={max_id}" if max_id else "")
    page: dict[str, Any] = {"@context": AS_CONTEXT, "id": page_id, "type": "OrderedCollectionPage",
                            "partOf": inbox_id, "orderedItems": [doc for _, doc in rows]}  # fmt: skip
    if len(rows) == PAGE_SIZE:
        page["next"] = f"{inbox_id}?page=true&max_id={rows[-1][0]}"
    return ActivityJSONResponse(page)


async def upload_media(request: Request) -> Response:
    """POST /api/fedigen/upload (``endpoints.uploadMedia``): multipart ``file`` and ``object`` -> Image."""
    svc = services(request)
    auth = await authenticate(request, "write:media")
    params = await read_params(request)
    file = params.get_file("file")
    if file is None:
        raise ValidationError("file", "an image file is required (multipart/form-data)")
    data = await read_upload(file, svc.settings.media.max_upload_bytes, "file")
    raw = params.get_str("object") or "{}"
    try:
        shape = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValidationError("object", "is not valid JSON") from None
    if not isinstance(shape, dict) or str(shape.get("type", "Image")) not in ("Image", "Document"):
        raise ValidationError("object", "must be an Image or Document object")
    name = str(shape.get("name") or "")
    async with svc.sessions() as session, session.begin():
        try:
            row = await ingest(session, svc.media, data, account_id=auth.account.id if auth.account else None,
                               description=name)  # fmt: skip
        except MediaError as exc:
            raise ValidationError("file", str(exc)) from None
        url = media_url(svc, row.federation_key)
        image = {**attachment_to_ap(row, url), "@context": AS_CONTEXT, "id": url,
                 "mediaId": str(row.id)}  # fmt: skip
    return ActivityJSONResponse(image, status_code=201, headers={"Location": url})


routes = [
    Route("/users/{username}/outbox", post_outbox, methods=["POST"]),
    Route("/users/{username}/inbox", get_inbox, methods=["GET"]),
    Route("/api/fedigen/upload", upload_media, methods=["POST"]),
]
