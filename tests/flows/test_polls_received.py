"""Other servers' polls: Questions as Mastodon, Misskey and Pleroma send them, through the real inbox with
real signatures; counts updated without an edit; a local account's vote federating as Mastodon sends it;
refused votes changing nothing.

Documents: tests/flows/poll_documents.py (each shape written from its server's source).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import Activity, Delivery, Notification, Poll, PollVote, Status
from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance
from tests.flows.poll_documents import (
    mastodon_create,
    mastodon_question,
    mastodon_tally_update,
    misskey11_question,
    misskey_create,
    misskey_question,
    pleroma_create,
    pleroma_question,
    when,
)
from tests.flows.test_inbox_effects import ALICE, alice_follows, send
from tests.remote_actor import RemoteActor, RemoteServer, verify_delivery

POLL_KEYS = {"id", "expires_at", "expired", "multiple", "votes_count", "voters_count", "options", "emojis"}


async def count(inst: Instance, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def stored(inst: Instance, ap_id: str) -> tuple[Status, Poll | None]:
    async with inst.services.sessions() as session:
        status = await session.scalar(select(Status).where(Status.ap_id == ap_id))
        assert status is not None, f"{ap_id} was not stored"
        return status, await session.scalar(select(Poll).where(Poll.status_id == status.id))


async def api_poll(inst: Instance, status_id: int, token: str | None = None) -> dict[str, Any]:
    """The status's ``poll`` as the client API shows it (to alice when a token is given)."""
    headers = bearer(token) if token else {}
    response = await inst.client.get(f"/api/v1/statuses/{status_id}", headers=headers)
    assert response.status_code == 200, response.text
    poll: dict[str, Any] = response.json()["poll"]
    assert poll is not None
    by_id = await inst.client.get(f"/api/v1/polls/{poll['id']}", headers=headers)
    assert by_id.status_code == 200 and by_id.json() == poll
    return poll


def recount(options: list[dict[str, Any]], counts: list[int]) -> list[dict[str, Any]]:
    """The same options with new ``replies.totalItems``."""
    return [
        {**o, "replies": {"type": "Collection", "totalItems": c}}
        for o, c in zip(options, counts, strict=True)
    ]


def deliveries_to(remote: RemoteServer, url: str) -> list[dict[str, Any]]:
    return [r.json for r in remote.posts() if r.url == url]


@pytest.fixture
def misskey(router: HostRouter) -> RemoteActor:
    server = RemoteServer("misskey.test")
    router.add(server.host, server.app)
    return server.add_actor("ai")


@pytest.fixture
def pleroma(router: HostRouter) -> RemoteActor:
    server = RemoteServer("pleroma.test")
    router.add(server.host, server.app)
    return server.add_actor("lain")


# --- receiving ----------------------------------------------------------------------------------------------


async def test_a_mastodon_question_keeps_its_poll_and_the_api_shows_mastodons_entity(
    fedigen: Instance, bob: RemoteActor
) -> None:
    await alice_follows(fedigen, bob)
    end = when(timedelta(days=1))
    question = mastodon_question(
        bob, "Tea or coffee?", ["Tea", "Coffee", "Neither"], [4, 2, 1], end=end, voters=7
    )
    await send(fedigen, bob, mastodon_create(bob, question))

    status, poll = await stored(fedigen, question["id"])
    assert status.ap_type == "Question" and "Tea or coffee?" in status.content
    assert poll is not None
    assert (poll.options, poll.tallies, poll.multiple, poll.voters_count) == (
        ["Tea", "Coffee", "Neither"], [4, 2, 1], False, 7,
    )  # fmt: skip
    assert poll.expires_at == datetime.fromisoformat(end.replace("Z", "+00:00"))

    token = await issue_token(fedigen, "alice")
    entity = await api_poll(fedigen, status.id, token)
    assert set(entity) == POLL_KEYS | {"voted", "own_votes"}
    assert entity["id"] == str(poll.id) and entity["expires_at"] == end.replace("Z", ".000Z")
    assert entity["expired"] is False and entity["multiple"] is False
    assert (entity["votes_count"], entity["voters_count"]) == (7, 7)
    assert entity["options"] == [{"title": "Tea", "votes_count": 4}, {"title": "Coffee", "votes_count": 2},
                                 {"title": "Neither", "votes_count": 1}]  # fmt: skip
    assert entity["emojis"] == [] and entity["voted"] is False and entity["own_votes"] == []
    # Logged out, Mastodon leaves out voted and own_votes.
    assert set(await api_poll(fedigen, status.id)) == POLL_KEYS


async def test_a_misskey_multiple_choice_question_is_read_from_any_of(
    fedigen: Instance, misskey: RemoteActor
) -> None:
    end = when(timedelta(hours=6))
    note = misskey_question(misskey, "Favourite colours?", ["Red", "Green", "Blue"], [3, 0, 5],
                            multiple=True, end=end, mention=ALICE)  # fmt: skip
    await send(fedigen, misskey, misskey_create(misskey, note))

    status, poll = await stored(fedigen, note["id"])
    assert poll is not None and status.ap_type == "Question"
    assert (poll.options, poll.tallies, poll.multiple) == (["Red", "Green", "Blue"], [3, 0, 5], True)
    assert poll.voters_count is None  # Misskey does not say how many voted
    entity = await api_poll(fedigen, status.id, await issue_token(fedigen, "alice"))
    assert entity["multiple"] is True and entity["votes_count"] == 8 and entity["voters_count"] is None
    assert entity["expires_at"] == end.replace("Z", ".000Z") and entity["expired"] is False
    assert await count(fedigen, Notification, Notification.type == "mention") == 1


async def test_an_older_misskeys_ended_poll_is_read_from_closed(
    fedigen: Instance, misskey: RemoteActor
) -> None:
    ended = when(timedelta(hours=-3))
    note = misskey11_question(misskey, "Done?", ["yes", "no"], [6, 1], ended=ended, mention=ALICE)
    await send(fedigen, misskey, misskey_create(misskey, note))
    status, poll = await stored(fedigen, note["id"])
    assert poll is not None and poll.tallies == [6, 1]
    assert poll.expires_at == datetime.fromisoformat(ended.replace("Z", "+00:00"))
    entity = await api_poll(fedigen, status.id)
    assert entity["expired"] is True and entity["votes_count"] == 7 and entity["voters_count"] == 7


async def test_a_pleroma_question_ends_when_closed_says(fedigen: Instance, pleroma: RemoteActor) -> None:
    closes = when(timedelta(hours=2))  # Pleroma puts the end time in closed, even a future one
    question = pleroma_question(
        pleroma, "Pizza?", ["yes", "no"], [2, 1], closes=closes, voters=3, mention=ALICE
    )
    await send(fedigen, pleroma, pleroma_create(pleroma, question))

    status, poll = await stored(fedigen, question["id"])
    assert poll is not None
    assert poll.expires_at == datetime.fromisoformat(closes.replace("Z", "+00:00"))
    assert (poll.options, poll.tallies, poll.voters_count, poll.multiple) == (["yes", "no"], [2, 1], 3, False)
    entity = await api_poll(fedigen, status.id)
    assert entity["expired"] is False and entity["voters_count"] == 3


async def test_a_question_fetched_by_its_url_keeps_its_poll(fedigen: Instance, bob: RemoteActor) -> None:
    question = mastodon_question(bob, "Found by URL", ["left", "right"], [1, 2], voters=3)
    bob.server.serve({"@context": mastodon_create(bob, question)["@context"], **question})
    token = await issue_token(fedigen, "alice")
    query = {"q": question["id"], "resolve": "true", "type": "statuses"}
    found = await fedigen.client.get("/api/v2/search", headers=bearer(token), params=query)
    [status] = found.json()["statuses"]
    assert status["poll"]["options"] == [
        {"title": "left", "votes_count": 1},
        {"title": "right", "votes_count": 2},
    ]
    assert status["poll"]["voters_count"] == 3


async def test_a_closed_question_is_expired_and_takes_no_vote(fedigen: Instance, bob: RemoteActor) -> None:
    await alice_follows(fedigen, bob)
    ended = when(timedelta(hours=-1))
    question = mastodon_question(bob, "Over?", ["a", "b"], [1, 1], end=ended, closed=ended, voters=2)
    await send(fedigen, bob, mastodon_create(bob, question))
    status, poll = await stored(fedigen, question["id"])
    assert poll is not None
    token = await issue_token(fedigen, "alice")
    assert (await api_poll(fedigen, status.id, token))["expired"] is True

    response = await fedigen.client.post(f"/api/v1/polls/{poll.id}/votes", data={"choices[]": "0"},
                                         headers=bearer(token))  # fmt: skip
    assert response.status_code == 422 and "ended" in response.json()["error"]
    assert await count(fedigen, PollVote) == 0
    assert not deliveries_to(bob.server, bob.inbox)[1:]  # nothing but the Follow went to bob


async def test_a_question_without_options_is_a_post_without_a_poll(
    fedigen: Instance, bob: RemoteActor
) -> None:
    await alice_follows(fedigen, bob)
    question = mastodon_question(bob, "Broken", ["a", "b"], [0, 0])
    del question["oneOf"]
    await send(fedigen, bob, mastodon_create(bob, question))
    status, poll = await stored(fedigen, question["id"])
    assert poll is None
    response = await fedigen.client.get(f"/api/v1/statuses/{status.id}")
    assert response.json()["poll"] is None


# --- counts updated: no edit ------------------------------------------------------------------------------


async def test_an_update_of_the_counts_alone_is_no_edit(fedigen: Instance, bob: RemoteActor) -> None:
    await alice_follows(fedigen, bob)
    question = mastodon_question(bob, "Tea or coffee?", ["Tea", "Coffee"], [1, 1], voters=2)
    await send(fedigen, bob, mastodon_create(bob, question))
    status, _ = await stored(fedigen, question["id"])
    notes_before = await count(fedigen, Notification)

    # Mastodon's UpdatePollSerializer: the Question with new counts, no updated.
    recounted = {**question, "oneOf": recount(question["oneOf"], [5, 1]), "votersCount": 6}
    await send(fedigen, bob, mastodon_tally_update(bob, recounted, 1))
    after, poll = await stored(fedigen, question["id"])
    assert poll is not None and poll.tallies == [5, 1] and poll.voters_count == 6
    assert after.edited_at is None and after.content == status.content
    assert await count(fedigen, Notification) == notes_before
    response = await fedigen.client.get(f"/api/v1/statuses/{status.id}")
    assert response.json()["edited_at"] is None and response.json()["poll"]["votes_count"] == 6

    # Without updated, other words in an Update of a poll change nothing but the counts (as on Mastodon).
    sneaky = {**recounted, "content": "<p>something else</p>", "votersCount": 7}
    await send(fedigen, bob, mastodon_tally_update(bob, sneaky, 2))
    after, poll = await stored(fedigen, question["id"])
    assert poll is not None and poll.voters_count == 7
    assert "Tea or coffee?" in after.content and after.edited_at is None


async def test_counts_under_the_same_or_a_new_updated_are_no_edit_either(
    fedigen: Instance, bob: RemoteActor
) -> None:
    await alice_follows(fedigen, bob)
    question = mastodon_question(bob, "Which?", ["x", "y"], [0, 0], voters=0)
    await send(fedigen, bob, mastodon_create(bob, question))
    # A real edit first (new text, updated T1): an edit.
    edited = {**question, "content": "<p>Which one?</p>", "updated": when(timedelta(minutes=-1))}
    await send(fedigen, bob, bob.activity("Update", edited))
    status, _ = await stored(fedigen, question["id"])
    first_edit = status.edited_at
    assert first_edit is not None and "Which one?" in status.content

    # Counts under the same updated (Mastodon's poll updates of an edited status carry it): no new edit.
    recounted = {**edited, "oneOf": recount(edited["oneOf"], [3, 0]), "votersCount": 3}
    await send(fedigen, bob, mastodon_tally_update(bob, recounted, 1))
    status, poll = await stored(fedigen, question["id"])
    assert poll is not None and poll.tallies == [3, 0] and status.edited_at == first_edit

    # Counts under a newer updated but the same text: still no edit.
    newer = {**recounted, "updated": when(timedelta(0)), "votersCount": 4}
    await send(fedigen, bob, bob.activity("Update", newer))
    status, poll = await stored(fedigen, question["id"])
    assert poll is not None and poll.voters_count == 4 and status.edited_at == first_edit

    # An Update older than the edit we have changes nothing.
    stale = {**recounted, "content": "<p>old words</p>", "updated": when(timedelta(hours=-2))}
    await send(fedigen, bob, bob.activity("Update", stale))
    status, _ = await stored(fedigen, question["id"])
    assert "Which one?" in status.content


async def test_an_edit_with_other_options_cancels_the_votes(fedigen: Instance, bob: RemoteActor) -> None:
    await alice_follows(fedigen, bob)
    question = mastodon_question(bob, "Lunch?", ["soup", "salad"], [0, 0], voters=0)
    await send(fedigen, bob, mastodon_create(bob, question))
    status, poll = await stored(fedigen, question["id"])
    assert poll is not None
    token = await issue_token(fedigen, "alice")
    voted = await fedigen.client.post(
        f"/api/v1/polls/{poll.id}/votes", json={"choices": [1]}, headers=bearer(token)
    )
    assert voted.status_code == 200 and voted.json()["own_votes"] == [1]

    options = [{"type": "Note", "name": n, "replies": {"type": "Collection", "totalItems": 0}}
               for n in ("soup", "salad", "bread")]  # fmt: skip
    changed = {**question, "oneOf": options, "updated": when(timedelta(0))}
    await send(fedigen, bob, bob.activity("Update", changed))
    status, poll = await stored(fedigen, question["id"])
    assert poll is not None and poll.options == ["soup", "salad", "bread"] and poll.tallies == [0, 0, 0]
    assert status.edited_at is not None
    assert await count(fedigen, PollVote) == 0
    entity = await api_poll(fedigen, status.id, token)
    assert entity["voted"] is False and entity["own_votes"] == []


# --- a local account votes --------------------------------------------------------------------------------


async def test_a_vote_in_a_remote_poll_goes_to_its_author_as_mastodon_sends_it(
    fedigen: Instance, bob: RemoteActor
) -> None:
    await alice_follows(fedigen, bob)
    question = mastodon_question(bob, "Tea or coffee?", ["Tea", "Coffee"], [4, 2], voters=6)
    await send(fedigen, bob, mastodon_create(bob, question))
    status, poll = await stored(fedigen, question["id"])
    assert poll is not None
    token = await issue_token(fedigen, "alice")

    response = await fedigen.client.post(
        f"/api/v1/polls/{poll.id}/votes", data={"choices[]": "1"}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    entity = response.json()
    assert entity["voted"] is True and entity["own_votes"] == [1]
    assert [o["votes_count"] for o in entity["options"]] == [4, 3] and entity["voters_count"] == 7
    await fedigen.drain()

    [delivered] = [r for r in bob.server.posts() if r.url == bob.inbox and r.json["type"] == "Create"]
    vote = delivered.json
    assert vote["actor"] == ALICE and vote["to"] == [bob.ap_id]
    note = vote["object"]
    assert note["type"] == "Note" and note["name"] == "Coffee" and note["inReplyTo"] == question["id"]
    assert note["attributedTo"] == ALICE and note["to"] == [bob.ap_id] and "content" not in note
    assert note["id"].startswith(f"{ALICE}#votes/") and vote["id"] == f"{note['id']}/activity"
    assert (await verify_delivery(delivered, fedigen.client)).owner == ALICE
    async with fedigen.services.sessions() as session:
        row = await session.scalar(select(PollVote))
        assert row is not None and row.ap_id == note["id"] and row.choice == 1
    assert await count(fedigen, Activity, Activity.ap_id == vote["id"], Activity.public.is_(False)) == 1


async def test_a_multiple_choice_vote_sends_one_note_per_choice(
    fedigen: Instance, misskey: RemoteActor
) -> None:
    note = misskey_question(misskey, "Colours?", ["Red", "Green", "Blue"], [0, 0, 0], multiple=True,
                            end=when(timedelta(days=1)), mention=ALICE)  # fmt: skip
    await send(fedigen, misskey, misskey_create(misskey, note))
    status, poll = await stored(fedigen, note["id"])
    assert poll is not None
    token = await issue_token(fedigen, "alice")
    response = await fedigen.client.post(f"/api/v1/polls/{poll.id}/votes", json={"choices": ["0", 2]},
                                         headers=bearer(token))  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["own_votes"] == [0, 2]
    await fedigen.drain()
    votes = [r.json["object"] for r in misskey.server.posts() if r.url == misskey.inbox]
    assert sorted(v["name"] for v in votes) == ["Blue", "Red"]
    assert {v["inReplyTo"] for v in votes} == {note["id"]}
    # Another choice later is still allowed in a multiple-choice poll; the same one again is not.
    again = await fedigen.client.post(
        f"/api/v1/polls/{poll.id}/votes", json={"choices": [2]}, headers=bearer(token)
    )
    assert again.status_code == 422 and "already voted" in again.json()["error"]
    more = await fedigen.client.post(
        f"/api/v1/polls/{poll.id}/votes", json={"choices": [1]}, headers=bearer(token)
    )
    assert more.status_code == 200 and more.json()["own_votes"] == [0, 2, 1]
    assert more.json()["voters_count"] is None  # Misskey's count of voters is unknown


@pytest.mark.parametrize(
    "form, reason",
    [
        ({"choices[]": "2"}, "does not exist"),
        ({"choices[]": "-1"}, "option indexes"),
        ({"choices[]": "one"}, "option indexes"),
        ({"choices[]": ["0", "1"]}, "single choice"),
        ({}, "blank"),
    ],
)
async def test_refused_votes_store_and_send_nothing(
    fedigen: Instance, bob: RemoteActor, form: dict[str, Any], reason: str
) -> None:
    await alice_follows(fedigen, bob)
    question = mastodon_question(bob, "Tea or coffee?", ["Tea", "Coffee"], [0, 0], voters=0)
    await send(fedigen, bob, mastodon_create(bob, question))
    status, poll = await stored(fedigen, question["id"])
    assert poll is not None
    token = await issue_token(fedigen, "alice")
    before = await count(fedigen, Delivery)

    response = await fedigen.client.post(f"/api/v1/polls/{poll.id}/votes", data=form, headers=bearer(token))
    assert response.status_code == 422 and reason in response.json()["error"], response.text
    assert await count(fedigen, PollVote) == 0 and await count(fedigen, Delivery) == before
    _, unchanged = await stored(fedigen, question["id"])
    assert unchanged is not None and unchanged.tallies == [0, 0] and unchanged.voters_count == 0


async def test_a_second_vote_in_a_single_choice_poll_is_refused(fedigen: Instance, bob: RemoteActor) -> None:
    await alice_follows(fedigen, bob)
    question = mastodon_question(bob, "Tea or coffee?", ["Tea", "Coffee"], [0, 0], voters=0)
    await send(fedigen, bob, mastodon_create(bob, question))
    _, poll = await stored(fedigen, question["id"])
    assert poll is not None
    headers = bearer(await issue_token(fedigen, "alice"))
    assert (await fedigen.client.post(f"/api/v1/polls/{poll.id}/votes", data={"choices[]": "0"},
                                      headers=headers)).status_code == 200  # fmt: skip
    again = await fedigen.client.post(
        f"/api/v1/polls/{poll.id}/votes", data={"choices[]": "1"}, headers=headers
    )
    assert again.status_code == 422 and "already voted" in again.json()["error"]
    assert await count(fedigen, PollVote) == 1
    _, poll = await stored(fedigen, question["id"])
    assert poll is not None and poll.tallies == [1, 0] and poll.voters_count == 1


async def test_polls_of_posts_one_may_not_see_are_not_there(fedigen: Instance, bob: RemoteActor) -> None:
    await fedigen.create_account("dave")
    question = mastodon_question(
        bob, "Secret?", ["a", "b"], [0, 0], to=["http://fedigen.test/users/dave"], cc=[]
    )
    question["tag"] = [{"type": "Mention", "href": "http://fedigen.test/users/dave", "name": "@dave"}]
    await send(fedigen, bob, mastodon_create(bob, question))
    _, poll = await stored(fedigen, question["id"])
    assert poll is not None
    headers = bearer(await issue_token(fedigen, "alice"))
    assert (await fedigen.client.get(f"/api/v1/polls/{poll.id}", headers=headers)).status_code == 404
    refused = await fedigen.client.post(
        f"/api/v1/polls/{poll.id}/votes", data={"choices[]": "0"}, headers=headers
    )
    assert refused.status_code == 404 and await count(fedigen, PollVote) == 0
    assert (await fedigen.client.get("/api/v1/polls/999999")).status_code == 404
    dave = bearer(await issue_token(fedigen, "dave"))
    assert (await fedigen.client.get(f"/api/v1/polls/{poll.id}", headers=dave)).status_code == 200


async def test_a_remote_poll_that_ends_tells_the_local_voters_once(
    fedigen: Instance, bob: RemoteActor
) -> None:
    await alice_follows(fedigen, bob)
    question = mastodon_question(bob, "Soon over", ["a", "b"], [0, 0], voters=0)
    await send(fedigen, bob, mastodon_create(bob, question))
    status, poll = await stored(fedigen, question["id"])
    assert poll is not None
    token = await issue_token(fedigen, "alice")
    await fedigen.client.post(
        f"/api/v1/polls/{poll.id}/votes", data={"choices[]": "0"}, headers=bearer(token)
    )
    async with fedigen.services.sessions() as session, session.begin():
        row = await session.get(Poll, poll.id)
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await fedigen.drain()
    await fedigen.drain()
    assert await count(fedigen, Notification, Notification.type == "poll") == 1
    listed = await fedigen.client.get(
        "/api/v1/notifications", params={"types[]": "poll"}, headers=bearer(token)
    )
    [note] = listed.json()
    assert note["type"] == "poll" and note["status"]["id"] == str(status.id)
    assert note["account"]["acct"] == "bob@remote.test" and note["status"]["poll"]["expired"] is True
