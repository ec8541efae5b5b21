"""An account's AI-training opt-out (robots directives, TDM reservation, the actor property) and its
"allow remixes" setting (local remixes refused, remote QuoteRequests rejected, canQuote narrowed)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from fedigen.errors import ForbiddenError
from storage.models import Actor, GenerationJob, MediaAttachment
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.flows.test_image_posts import ALICE, alice_prompts, remix_as
from tests.flows.test_remix_quotes import image_note, note_of, sent
from tests.remote_actor import RemoteActor, RemoteServer

AS2 = {"Accept": "application/activity+json"}
HTML = {"Accept": "text/html"}
ROBOTS = '<meta name="robots" content="noai, noimageai">'


async def _set(inst: Instance, token: str, **flags: bool) -> dict[str, Any]:
    form = {f"source[{k}]": str(v).lower() for k, v in flags.items()}
    response = await inst.client.patch(
        "/api/v1/accounts/update_credentials", data=form, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    source = response.json()["source"]
    assert isinstance(source, dict)
    return source


async def test_opted_out_pages_media_and_actor_say_so(imagery: Instance) -> None:
    status = await alice_prompts(imagery, "a quiet harbour")
    token = await issue_token(imagery, "alice")
    me = (await imagery.client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))).json()
    # New accounts are opted out of AI training, and allow remixes.
    assert me["source"]["ai_training_opt_out"] is True and me["source"]["allow_remixes"] is True
    async with imagery.services.sessions() as session:
        media = await session.scalar(select(MediaAttachment).where(MediaAttachment.status_id == status.id))
    assert media is not None and media.federation_key
    pages = ["/@alice", f"/@alice/{status.id}"]
    for path in pages:
        page = await imagery.client.get(path, headers=HTML)
        assert page.status_code == 200
        assert page.headers["x-robots-tag"] == "noai, noimageai" and page.headers["tdm-reservation"] == "1"
        assert ROBOTS in page.text
    for key in (media.original_key, media.federation_key, media.thumbnail_key):
        file = await imagery.client.get(f"/media/{key}")
        assert file.status_code == 200 and file.headers["x-robots-tag"] == "noai, noimageai"
        assert file.headers["tdm-reservation"] == "1"
    actor = (await imagery.client.get(ALICE, headers=AS2)).json()
    assert actor["aiTrainingOptOut"] is True and actor["allowRemixes"] is True
    context = actor["@context"][-1]
    assert context["aiTrainingOptOut"] == "fedigen:aiTrainingOptOut"
    assert context["fedigen"] == "https://w3id.org/fedigen/ns#"
    tdm = (await imagery.client.get("/.well-known/tdmrep.json")).json()
    locations = {rule["location"] for rule in tdm if rule["tdm-reservation"] == 1}
    assert {
        "/@alice",
        "/@alice/*",
        "/users/alice",
        "/users/alice/*",
        f"/media/{media.federation_key}",
    } <= locations

    # Opting back in: the headers, the meta tag and the reservation go; the actor says so.
    source = await _set(imagery, token, ai_training_opt_out=False)
    assert source["ai_training_opt_out"] is False
    for path in pages:
        page = await imagery.client.get(path, headers=HTML)
        assert "x-robots-tag" not in page.headers and "tdm-reservation" not in page.headers
        assert ROBOTS not in page.text
    assert "x-robots-tag" not in (await imagery.client.get(f"/media/{media.federation_key}")).headers
    assert (await imagery.client.get(ALICE, headers=AS2)).json()["aiTrainingOptOut"] is False
    tdm = (await imagery.client.get("/.well-known/tdmrep.json")).json()
    assert not [
        rule for rule in tdm if "alice" in rule["location"] or media.federation_key in rule["location"]
    ]


async def test_no_remixes_by_others_when_the_author_refuses_them(
    imagery: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await imagery.create_account("dora")
    original = await alice_prompts(imagery, "a red boat")
    assert (await note_of(imagery, original))["interactionPolicy"]["canQuote"]["automaticApproval"] == [
        "https://www.w3.org/ns/activitystreams#Public"
    ]
    token = await issue_token(imagery, "alice")
    assert (await _set(imagery, token, allow_remixes=False))["allow_remixes"] is False
    doc = await note_of(imagery, original)
    assert doc["interactionPolicy"] == {"canQuote": {"automaticApproval": [ALICE]}}
    assert (await imagery.client.get(ALICE, headers=AS2)).json()["allowRemixes"] is False

    async with imagery.services.sessions() as session:
        jobs_before = await session.scalar(select(func.count(GenerationJob.id)))
    dora = await issue_token(imagery, "dora")
    refused = await imagery.client.post(
        f"/api/v1/fedigen/statuses/{original.id}/remix", data={"prompt": "in the rain"}, headers=bearer(dora)
    )
    assert refused.status_code == 403 and "remix" in refused.json()["error"]
    with pytest.raises(ForbiddenError):
        await remix_as(imagery, "dora", original.ap_id)
    async with imagery.services.sessions() as session:
        assert await session.scalar(select(func.count(GenerationJob.id))) == jobs_before
    # Its author still may.
    own = await remix_as(imagery, "alice", original.ap_id)
    assert own.extra["remix_of"] == original.ap_id

    # A remote server asking whether its remix may quote the post is told no.
    honest = bob.note("<p>nice boat</p>", quote=original.ap_id)
    bob.server.serve(honest)
    request = bob.activity("QuoteRequest", original.ap_id, instrument=honest, to=[ALICE])
    assert (await bob.post(imagery.client, "/users/alice/inbox", request)).status_code == 202
    await imagery.drain()
    assert await sent(imagery, remote, "Accept") == []
    [reject] = await sent(imagery, remote, "Reject")
    assert reject["object"]["instrument"] == honest["id"]


async def test_a_remote_author_refusing_remixes_is_not_remixed(
    imagery: Instance, remote: RemoteServer
) -> None:
    rita = remote.add_actor("rita", allowRemixes=False, aiTrainingOptOut=True)
    note = image_note(rita)
    with pytest.raises(ForbiddenError):
        await remix_as(imagery, "alice", note["id"])
    async with imagery.services.sessions() as session:
        stored = await session.scalar(select(Actor).where(Actor.ap_id == rita.ap_id))
        assert stored is not None and stored.allow_remixes is False and stored.ai_training_opt_out is True
        assert await session.scalar(select(func.count(GenerationJob.id))) == 0
    # An author that states nothing (Mastodon, say) allows remixes and is not read as opted out.
    sam = remote.add_actor("sam")
    remix = await remix_as(imagery, "alice", image_note(sam)["id"])
    assert remix.extra["remix_of"]
    async with imagery.services.sessions() as session:
        stored = await session.scalar(select(Actor).where(Actor.ap_id == sam.ap_id))
        assert stored is not None and stored.allow_remixes is True and stored.ai_training_opt_out is False
