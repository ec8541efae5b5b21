"""Remixes as quote posts (FEP-044f) with every kind of parent, and the quote requests we answer.

Mastodon 4.4+ shows a Note carrying ``quote`` without a QuoteAuthorization as a pending quote and hides
the visible fallback, so a remix claims ``quote`` only with a stamp, or while a server that answers
QuoteRequests considers ours; it always keeps quoteUrl / _misskey_quote, the FEP-e232 link and the
"Remix of" paragraph. Parents: another local account's post (a stamp issued here), a Mastodon 4.5 post
(a request, then Accept, Reject or no answer), and posts from servers that never answer requests
(Misskey, GoToSocial, Akkoma, Pixelfed: their Notes state no ``interactionPolicy``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from fedigen.social import remixes
from storage.models import Activity, Status, utcnow
from tests.conftest import Instance
from tests.flows.test_image_posts import ALICE, alice_prompts, remix_as
from tests.generation.standins import png
from tests.remote_actor import PUBLIC, RemoteActor, RemoteServer, verify_delivery

AS2 = {"Accept": "application/activity+json"}
CAN_QUOTE = {"canQuote": {"automaticApproval": [PUBLIC]}}


def image_note(bob: RemoteActor, **fields: Any) -> dict[str, Any]:
    """A public image post of bob's, its image served by bob's server."""
    url = f"{bob.server.base}/files/{len(bob.server.files)}.png"
    bob.server.files[url] = ("image/png", png(32, 32, (20, 90, 160)))
    image = {"type": "Document", "mediaType": "image/png", "url": url, "name": "a harbour"}
    note = bob.note("<p>harbour at dusk</p>", attachment=[image], **fields)
    bob.server.serve(note)
    return note


async def note_of(inst: Instance, status: Status) -> dict[str, Any]:
    response = await inst.client.get(status.ap_id, headers=AS2)
    assert response.status_code == 200
    doc = response.json()
    assert isinstance(doc, dict)
    return doc


def has_fallbacks(doc: dict[str, Any], parent: str) -> bool:
    """The links every server reads, and the visible paragraph (linking the parent's page)."""
    links = [t for t in doc["tag"] if t.get("type") == "Link" and t.get("href") == parent]
    assert doc["quoteUrl"] == parent and doc["_misskey_quote"] == parent and len(links) == 1, doc
    assert "Remix of" in doc["content"], doc["content"]
    return True


async def sent(inst: Instance, remote: RemoteServer, kind: str) -> list[dict[str, Any]]:
    docs = []
    for request in remote.posts():
        if request.json.get("type") == kind:
            await verify_delivery(request, inst.client)
            docs.append(request.json)
    return docs


async def test_a_remix_of_a_local_post_carries_a_stamp_issued_here(imagery: Instance) -> None:
    await imagery.create_account("dora")
    original = await alice_prompts(imagery, "a lighthouse in fog")
    remix = await remix_as(imagery, "dora", original.ap_id)
    doc = await note_of(imagery, remix)
    assert doc["quote"] == original.ap_id and has_fallbacks(doc, original.ap_id)
    stamp = await imagery.client.get(doc["quoteAuthorization"], headers=AS2)
    assert stamp.status_code == 200
    body = stamp.json()
    # What Mastodon's verifier checks: type, the stamp's author = the quoted post's author (same host as
    # the stamp), interactingObject = the quoting post, interactionTarget = the quoted post.
    assert body["type"] == "QuoteAuthorization" and body["attributedTo"] == ALICE
    assert body["interactingObject"] == remix.ap_id and body["interactionTarget"] == original.ap_id
    assert remix.extra["quote_state"] == "accepted"
    async with imagery.services.sessions() as session:
        assert await session.scalar(select(func.count()).where(Activity.ap_type == "QuoteRequest")) == 0


async def test_a_remix_of_a_followers_only_post_claims_no_quote(imagery: Instance) -> None:
    # Only its author may remix a followers-only post; no stamp is issued for one, so no ``quote``.
    original = await alice_prompts(imagery, "a quiet pond", visibility="followers")
    remix = await remix_as(imagery, "alice", original.ap_id)
    doc = await note_of(imagery, remix)
    assert "quote" not in doc and "quoteAuthorization" not in doc and has_fallbacks(doc, original.ap_id)


async def test_parents_on_servers_without_quote_requests_get_links_only(
    imagery: Instance,
    remote: RemoteServer,
    bob: RemoteActor,
) -> None:
    # Misskey, GoToSocial, Akkoma and Pixelfed Notes state no interactionPolicy.canQuote: no request,
    # no FEP-044f ``quote`` (Mastodon would show it as pending for ever), every fallback kept.
    note = image_note(bob)
    remix = await remix_as(imagery, "alice", note["id"])
    assert await sent(imagery, remote, "QuoteRequest") == []
    [create] = [c for c in await sent(imagery, remote, "Create") if c["object"]["id"] == remix.ap_id]
    assert "quote" not in create["object"] and has_fallbacks(create["object"], note["id"])
    assert remix.extra["quote_state"] == "legacy"


async def test_mastodon_parent_accepts_and_the_stamp_reaches_the_remix(
    imagery: Instance,
    remote: RemoteServer,
    bob: RemoteActor,
) -> None:
    note = image_note(bob, interactionPolicy=CAN_QUOTE)
    remix = await remix_as(imagery, "alice", note["id"])
    [create] = [c for c in await sent(imagery, remote, "Create") if c["object"]["id"] == remix.ap_id]
    assert create["object"]["quote"] == note["id"] and "quoteAuthorization" not in create["object"]
    [request] = await sent(imagery, remote, "QuoteRequest")
    assert request["object"] == note["id"] and request["instrument"] == remix.ap_id
    stamp = f"{bob.ap_id}/quote_authorizations/1"
    accept = bob.activity("Accept", request, result=stamp, to=[ALICE])
    assert (await bob.post(imagery.client, "/users/alice/inbox", accept)).status_code == 202
    await imagery.drain()
    [update] = await sent(imagery, remote, "Update")
    assert update["object"]["quote"] == note["id"] and update["object"]["quoteAuthorization"] == stamp
    assert (await note_of(imagery, remix))["quoteAuthorization"] == stamp


async def test_mastodon_parent_rejects_and_the_remix_falls_back(
    imagery: Instance,
    remote: RemoteServer,
    bob: RemoteActor,
) -> None:
    note = image_note(bob, interactionPolicy=CAN_QUOTE)
    remix = await remix_as(imagery, "alice", note["id"])
    [request] = await sent(imagery, remote, "QuoteRequest")
    reject = bob.activity("Reject", request, to=[ALICE])
    assert (await bob.post(imagery.client, "/users/alice/inbox", reject)).status_code == 202
    await imagery.drain()
    [update] = await sent(imagery, remote, "Update")
    assert "quote" not in update["object"] and has_fallbacks(update["object"], note["id"])
    doc = await note_of(imagery, remix)
    assert "quote" not in doc and has_fallbacks(doc, note["id"])


async def test_unanswered_requests_are_sent_again_then_the_remix_falls_back(
    imagery: Instance,
    remote: RemoteServer,
    bob: RemoteActor,
) -> None:
    note = image_note(bob, interactionPolicy=CAN_QUOTE)
    remix = await remix_as(imagery, "alice", note["id"])
    svc = imagery.services

    async def chase(after: timedelta) -> int:
        async with svc.sessions() as session, session.begin():
            touched = await remixes.chase_quote_requests(svc, session, now=utcnow() + after)
        await imagery.drain()
        return touched

    assert await chase(timedelta(minutes=30)) == 0
    assert await chase(timedelta(hours=1, minutes=1)) == 1
    requests = await sent(imagery, remote, "QuoteRequest")
    assert len(requests) == 2 and len({r["id"] for r in requests}) == 2
    assert {r["instrument"] for r in requests} == {remix.ap_id}
    assert await chase(timedelta(hours=2)) == 0, "the second retry waits six hours after the first"
    assert await chase(timedelta(hours=7, minutes=2)) == 1
    assert len(await sent(imagery, remote, "QuoteRequest")) == 3
    assert await chase(timedelta(hours=20)) == 0
    assert await chase(timedelta(hours=32)) == 1
    [update] = await sent(imagery, remote, "Update")
    assert "quote" not in update["object"] and has_fallbacks(update["object"], note["id"])
    async with svc.sessions() as session:
        row = await session.get(Status, remix.id)
        assert row is not None and row.extra["quote_state"] == "unanswered"
    assert await chase(timedelta(hours=40)) == 0
    # An answer that comes after all (a manual approval, days later) is still honoured.
    stamp = f"{bob.ap_id}/quote_authorizations/7"
    late = bob.activity("Accept", requests[0], result=stamp, to=[ALICE])
    assert (await bob.post(imagery.client, "/users/alice/inbox", late)).status_code == 202
    await imagery.drain()
    updates = await sent(imagery, remote, "Update")
    assert len(updates) == 2 and updates[-1]["object"]["quoteAuthorization"] == stamp
    assert updates[-1]["object"]["quote"] == note["id"]


async def test_quote_requests_are_checked_against_the_instrument_fetched_from_its_server(
    imagery: Instance,
    remote: RemoteServer,
    bob: RemoteActor,
) -> None:
    original = await alice_prompts(imagery, "a red boat")
    # Mastodon 4.5's QuoteRequest embeds the quoting Note as the instrument; only the copy served at its
    # id by bob's server is trusted.
    honest = bob.note("<p>nice boat</p>", quote=original.ap_id)
    bob.server.serve(honest)
    unrelated = bob.note("<p>quotes nothing</p>")
    bob.server.serve(unrelated)
    forged = {**unrelated, "quote": original.ap_id}  # embedded copy claims a quote its server's copy lacks
    missing = bob.note("<p>never served</p>", quote=original.ap_id)
    for instrument in (honest, forged, missing):
        request = bob.activity("QuoteRequest", original.ap_id, instrument=instrument, to=[ALICE])
        assert (await bob.post(imagery.client, "/users/alice/inbox", request)).status_code == 202
        await imagery.drain()
    answers = [(a["type"], a["object"]["instrument"]) for a in await sent(imagery, remote, "Accept")]
    answers += [(a["type"], a["object"]["instrument"]) for a in await sent(imagery, remote, "Reject")]
    assert sorted(answers) == sorted(
        [("Accept", honest["id"]), ("Reject", forged["id"]), ("Reject", missing["id"])]
    )
    [accept] = await sent(imagery, remote, "Accept")
    stamp = (await imagery.client.get(accept["result"], headers=AS2)).json()
    assert stamp["interactingObject"] == honest["id"] and stamp["interactionTarget"] == original.ap_id
