"""Local accounts' polls: posted through the client API (form and JSON, as Mastodon apps send them) and
C2S, served and delivered as Questions, voted in by other servers' accounts (Mastodon's vote Notes, through
the real inbox with real signatures) and locally, their new counts sent in an Update, and their end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import Notification, Poll, PollVote, Status
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.flows.poll_documents import mastodon_vote
from tests.flows.test_inbox_effects import ALICE, send
from tests.remote_actor import PUBLIC, RemoteActor, verify_delivery

AS2 = {"Accept": "application/activity+json"}
TEA_OR_COFFEE = {"status": "Tea or coffee?", "poll": {"options": ["Tea", "Coffee"], "expires_in": 3600}}


async def count(inst: Instance, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def the_poll(inst: Instance, status_id: int) -> Poll:
    async with inst.services.sessions() as session:
        poll = await session.scalar(select(Poll).where(Poll.status_id == status_id))
    assert poll is not None
    return poll


@pytest.fixture
async def alice(fedigen: Instance) -> dict[str, str]:
    """alice's Authorization header; vote counts go out as soon as the worker runs."""
    object.__setattr__(fedigen.services.settings.worker, "poll_update_delay", 0.0)
    return bearer(await issue_token(fedigen, "alice"))


async def post_poll(
    inst: Instance, headers: dict[str, str], *, json: Any = None, data: Any = None
) -> dict[str, Any]:
    response = await inst.client.post("/api/v1/statuses", json=json, data=data, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def bob_follows_alice(inst: Instance, bob: RemoteActor) -> None:
    await send(inst, bob, bob.activity("Follow", ALICE, to=[ALICE]))


# --- posting ------------------------------------------------------------------------------------------------


async def test_a_poll_posted_as_a_form_is_a_question_for_followers_and_at_its_url(
    fedigen: Instance, alice: dict[str, str], bob: RemoteActor
) -> None:
    await bob_follows_alice(fedigen, bob)
    form = {"status": "Tea or coffee?", "poll[options][]": ["Tea", "Coffee"], "poll[expires_in]": "3600",
            "poll[multiple]": "false", "poll[hide_totals]": "false"}  # fmt: skip
    before = datetime.now(UTC)
    status = await post_poll(fedigen, alice, data=form)
    poll = status["poll"]
    assert poll["options"] == [{"title": "Tea", "votes_count": 0}, {"title": "Coffee", "votes_count": 0}]
    assert poll["multiple"] is False and poll["expired"] is False and poll["votes_count"] == 0
    assert poll["voters_count"] == 0 and poll["voted"] is True and poll["own_votes"] == []  # one's own poll
    expires = datetime.fromisoformat(poll["expires_at"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=3599) <= expires <= datetime.now(UTC) + timedelta(seconds=3601)

    served = await fedigen.client.get(f"/users/alice/statuses/{status['id']}", headers=AS2)
    question = served.json()
    assert question["type"] == "Question" and question["id"] == status["uri"]
    assert question["oneOf"] == [
        {"type": "Note", "name": "Tea", "replies": {"type": "Collection", "totalItems": 0}},
        {"type": "Note", "name": "Coffee", "replies": {"type": "Collection", "totalItems": 0}},
    ]
    assert "anyOf" not in question and "closed" not in question
    assert question["endTime"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ") and question["votersCount"] == 0
    assert question["@context"][2]["votersCount"] == "toot:votersCount"

    await fedigen.drain()
    [create] = [r for r in bob.server.posts() if r.json["type"] == "Create"]
    assert create.json["object"]["type"] == "Question" and create.json["object"]["oneOf"] == question["oneOf"]
    await verify_delivery(create, fedigen.client)
    outbox = await fedigen.client.get("/users/alice/outbox?page=1", headers=AS2)
    assert outbox.json()["orderedItems"][0]["object"]["type"] == "Question"


async def test_a_poll_posted_as_json_with_multiple_choice_and_hidden_totals(
    fedigen: Instance, alice: dict[str, str]
) -> None:
    body = {"status": "Pick any", "poll": {"options": ["a", "b", "c"], "expires_in": 86400, "multiple": True,
                                           "hide_totals": True}}  # fmt: skip
    status = await post_poll(fedigen, alice, json=body)
    poll = status["poll"]
    assert poll["multiple"] is True and [o["votes_count"] for o in poll["options"]] == [None, None, None]
    question = (await fedigen.client.get(f"/users/alice/statuses/{status['id']}", headers=AS2)).json()
    assert [o["name"] for o in question["anyOf"]] == ["a", "b", "c"] and "oneOf" not in question
    assert all(o["replies"] == {"type": "Collection"} for o in question["anyOf"])  # totals hidden


async def test_indexed_form_options_as_some_apps_send_them(fedigen: Instance, alice: dict[str, str]) -> None:
    form = {
        "status": "Order",
        "poll[options][1]": "second",
        "poll[options][0]": "first",
        "poll[expires_in]": "600",
    }
    poll = (await post_poll(fedigen, alice, data=form))["poll"]
    assert [o["title"] for o in poll["options"]] == ["first", "second"]


@pytest.mark.parametrize(
    "poll, field",
    [
        ({"options": ["only one"], "expires_in": 3600}, "poll[options]"),
        ({"options": ["a", "b", "c", "d", "e"], "expires_in": 3600}, "poll[options]"),
        ({"options": ["a", "x" * 51], "expires_in": 3600}, "poll[options]"),
        ({"options": ["same", "same"], "expires_in": 3600}, "poll[options]"),
        ({"options": ["a", {"b": 1}], "expires_in": 3600}, "poll[options]"),
        ({"options": ["a", "b"]}, "poll[expires_in]"),
        ({"options": ["a", "b"], "expires_in": 299}, "poll[expires_in]"),
        ({"options": ["a", "b"], "expires_in": 2_629_747}, "poll[expires_in]"),
        ({"options": ["a", "b"], "expires_in": "soon"}, "poll[expires_in]"),
        ({"options": ["a", "b"], "expires_in": 3600, "multiple": "perhaps"}, "poll[multiple]"),
        ("a poll", "poll"),
    ],
)
async def test_bad_polls_are_422_and_store_nothing(
    fedigen: Instance, alice: dict[str, str], poll: Any, field: str
) -> None:
    response = await fedigen.client.post(
        "/api/v1/statuses", json={"status": "q", "poll": poll}, headers=alice
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"].startswith(field) or field in response.json()["error"]
    assert await count(fedigen, Status) == 0 and await count(fedigen, Poll) == 0


async def test_a_poll_needs_words_to_ask(fedigen: Instance, alice: dict[str, str]) -> None:
    response = await fedigen.client.post(
        "/api/v1/statuses",
        json={"status": " ", "poll": {"options": ["a", "b"], "expires_in": 600}},
        headers=alice,
    )
    assert response.status_code == 422 and await count(fedigen, Poll) == 0


async def test_the_instance_tells_apps_the_poll_limits(fedigen: Instance) -> None:
    for path in ("/api/v1/instance", "/api/v2/instance"):
        limits = (await fedigen.client.get(path)).json()["configuration"]["polls"]
        assert limits == {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300,
                          "max_expiration": 2629746}  # fmt: skip


async def test_c2s_posts_a_question_and_votes_with_a_named_note(
    fedigen: Instance, alice: dict[str, str]
) -> None:
    headers = {**alice, "Content-Type": "application/activity+json"}
    end = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    question = {"type": "Question", "content": "<p>Cats or dogs?</p>", "to": [PUBLIC], "endTime": end,
                "oneOf": [{"type": "Note", "name": "Cats"}, {"type": "Note", "name": "Dogs"}]}  # fmt: skip
    created = await fedigen.client.post("/users/alice/outbox", json=question, headers=headers)
    assert created.status_code == 201, created.text
    async with fedigen.services.sessions() as session:
        status = await session.scalar(select(Status).where(Status.local.is_(True)))
    assert status is not None and status.ap_type == "Question"
    poll = await the_poll(fedigen, status.id)
    assert poll.options == ["Cats", "Dogs"] and poll.multiple is False

    await fedigen.create_account("dave")
    dave = {**bearer(await issue_token(fedigen, "dave")), "Content-Type": "application/activity+json"}
    vote = {"type": "Note", "name": "Dogs", "inReplyTo": status.ap_id, "to": [ALICE]}
    voted = await fedigen.client.post("/users/dave/outbox", json=vote, headers=dave)
    assert voted.status_code == 201, voted.text
    assert (await the_poll(fedigen, status.id)).tallies == [0, 1]
    assert await count(fedigen, Status) == 1  # the vote is no post
    wrong = await fedigen.client.post("/users/dave/outbox", json={**vote, "name": "Birds"}, headers=dave)
    assert wrong.status_code == 422 and await count(fedigen, PollVote) == 1


# --- votes --------------------------------------------------------------------------------------------------


async def test_remote_votes_are_counted_once_and_the_counts_go_out(
    fedigen: Instance, alice: dict[str, str], bob: RemoteActor, carol: RemoteActor
) -> None:
    status = await post_poll(fedigen, alice, json=TEA_OR_COFFEE)
    question_id, status_id = status["uri"], int(status["id"])
    await fedigen.drain()

    await send(fedigen, bob, mastodon_vote(bob, question_id, ALICE, "Coffee", 1))
    await send(fedigen, carol, mastodon_vote(carol, question_id, ALICE, "Tea", 1))
    poll = await the_poll(fedigen, status_id)
    assert poll.tallies == [1, 1] and poll.voters_count == 2
    assert await count(fedigen, Status) == 1  # the votes are not stored as replies
    assert await count(fedigen, Notification) == 0
    async with fedigen.services.sessions() as session:
        vote_ids = set(await session.scalars(select(PollVote.ap_id)))
    assert vote_ids == {f"{bob.ap_id}#votes/1", f"{carol.ap_id}#votes/1"}

    # Refused, and nothing stored: the same vote again, another choice in a single-choice poll, an option
    # that does not exist.
    await send(fedigen, bob, mastodon_vote(bob, question_id, ALICE, "Coffee", 2))
    await send(fedigen, bob, mastodon_vote(bob, question_id, ALICE, "Tea", 3))
    await send(fedigen, bob, mastodon_vote(bob, question_id, ALICE, "Juice", 4))
    poll = await the_poll(fedigen, status_id)
    assert poll.tallies == [1, 1] and poll.voters_count == 2
    assert await count(fedigen, PollVote) == 2 and await count(fedigen, Status) == 1

    entity = (await fedigen.client.get(f"/api/v1/statuses/{status_id}", headers=alice)).json()["poll"]
    assert entity["votes_count"] == 2 and [o["votes_count"] for o in entity["options"]] == [1, 1]

    # The voters get an Update with the new counts, Mastodon's way: no updated, so no edit anywhere.
    updates = [r for r in bob.server.posts() if r.json["type"] == "Update"]
    assert updates, [r.json["type"] for r in bob.server.posts()]
    update = updates[-1].json
    assert update["actor"] == ALICE and update["object"]["id"] == question_id
    assert update["object"]["type"] == "Question" and "updated" not in update["object"]
    assert [o["replies"]["totalItems"] for o in update["object"]["oneOf"]] == [1, 1]
    assert update["object"]["votersCount"] == 2
    await verify_delivery(updates[-1], fedigen.client)


async def test_a_reply_to_a_poll_stays_a_reply(
    fedigen: Instance, alice: dict[str, str], bob: RemoteActor
) -> None:
    status = await post_poll(fedigen, alice, json=TEA_OR_COFFEE)
    reply = bob.note("<p>Why not both?</p>", inReplyTo=status["uri"], name="Re: Tea or coffee?")
    await send(fedigen, bob, bob.create(reply))
    assert await count(fedigen, Status) == 2 and await count(fedigen, PollVote) == 0
    assert await count(fedigen, Notification, Notification.type == "mention") == 1


async def test_remote_votes_in_a_multiple_choice_poll(
    fedigen: Instance, alice: dict[str, str], bob: RemoteActor
) -> None:
    status = await post_poll(fedigen, alice, json={"status": "Any?", "poll": {
        "options": ["a", "b", "c"], "expires_in": 3600, "multiple": True}})  # fmt: skip
    for n, name in enumerate(["a", "c", "c"], start=1):
        await send(fedigen, bob, mastodon_vote(bob, status["uri"], ALICE, name, n))
    poll = await the_poll(fedigen, int(status["id"]))
    assert poll.tallies == [1, 0, 1] and poll.voters_count == 1


async def test_votes_after_the_end_or_from_blocked_accounts_are_refused(
    fedigen: Instance, alice: dict[str, str], bob: RemoteActor, carol: RemoteActor
) -> None:
    status = await post_poll(
        fedigen, alice, json={"status": "q", "poll": {"options": ["a", "b"], "expires_in": 600}}
    )
    blocked = await fedigen.client.get(f"/api/v1/accounts/lookup?acct={carol.username}@{carol.server.host}")
    if blocked.status_code != 200:  # carol is not known yet: she introduces herself with a Follow
        await send(fedigen, carol, carol.activity("Follow", ALICE, to=[ALICE]))
        blocked = await fedigen.client.get(
            f"/api/v1/accounts/lookup?acct={carol.username}@{carol.server.host}"
        )
    assert (
        await fedigen.client.post(f"/api/v1/accounts/{blocked.json()['id']}/block", headers=alice)
    ).status_code == 200
    await send(fedigen, carol, mastodon_vote(carol, status["uri"], ALICE, "a", 1))
    assert await count(fedigen, PollVote) == 0

    async with fedigen.services.sessions() as session, session.begin():
        poll = await session.scalar(select(Poll))
        assert poll is not None
        poll.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await send(fedigen, bob, mastodon_vote(bob, status["uri"], ALICE, "a", 1))
    assert await count(fedigen, PollVote) == 0 and await count(fedigen, Status) == 1


async def test_local_votes_in_a_local_poll_and_ones_own(fedigen: Instance, alice: dict[str, str]) -> None:
    status = await post_poll(
        fedigen, alice, json={"status": "q", "poll": {"options": ["a", "b"], "expires_in": 600}}
    )
    poll_id = status["poll"]["id"]
    own = await fedigen.client.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": [0]}, headers=alice)
    assert own.status_code == 422 and "own polls" in own.json()["error"]
    await fedigen.create_account("dave")
    dave = bearer(await issue_token(fedigen, "dave"))
    voted = await fedigen.client.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": [1]}, headers=dave)
    assert voted.status_code == 200 and voted.json()["own_votes"] == [1] and voted.json()["voters_count"] == 1
    assert (await the_poll(fedigen, int(status["id"]))).tallies == [0, 1]


async def test_an_edit_with_new_options_resets_the_votes(
    fedigen: Instance, alice: dict[str, str], bob: RemoteActor
) -> None:
    await bob_follows_alice(fedigen, bob)
    status = await post_poll(
        fedigen, alice, json={"status": "q", "poll": {"options": ["a", "b"], "expires_in": 600}}
    )
    await send(fedigen, bob, mastodon_vote(bob, status["uri"], ALICE, "a", 1))
    kept = await fedigen.client.put(f"/api/v1/statuses/{status['id']}", json={"status": "q?"}, headers=alice)
    assert kept.status_code == 200 and kept.json()["poll"]["votes_count"] == 1
    edited = await fedigen.client.put(
        f"/api/v1/statuses/{status['id']}", headers=alice,
        json={"status": "q?", "poll": {"options": ["a", "b", "c"], "expires_in": 1200}},
    )  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert [o["title"] for o in edited.json()["poll"]["options"]] == ["a", "b", "c"]
    assert edited.json()["poll"]["votes_count"] == 0 and await count(fedigen, PollVote) == 0
    await fedigen.drain()
    update = [r.json for r in bob.server.posts() if r.json["type"] == "Update"][-1]
    assert update["object"]["type"] == "Question" and update["object"]["updated"]
    assert [o["name"] for o in update["object"]["oneOf"]] == ["a", "b", "c"]


# --- the end ------------------------------------------------------------------------------------------------


async def test_the_end_tells_the_author_and_the_voters_and_sends_the_final_counts(
    fedigen: Instance, alice: dict[str, str], bob: RemoteActor
) -> None:
    status = await post_poll(fedigen, alice, json={"status": "Last call", "poll": {
        "options": ["yes", "no"], "expires_in": 600, "hide_totals": True}})  # fmt: skip
    await send(fedigen, bob, mastodon_vote(bob, status["uri"], ALICE, "yes", 1))
    await fedigen.create_account("dave")
    dave = bearer(await issue_token(fedigen, "dave"))
    assert (await fedigen.client.post(f"/api/v1/polls/{status['poll']['id']}/votes", json={"choices": [1]},
                                      headers=dave)).status_code == 200  # fmt: skip
    await fedigen.drain()
    assert not [r for r in bob.server.posts() if r.json["type"] == "Update"]  # totals hidden until the end

    async with fedigen.services.sessions() as session, session.begin():
        poll = await session.scalar(select(Poll))
        assert poll is not None
        poll.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await fedigen.drain()
    await fedigen.drain()

    for headers, who in ((alice, "alice"), (dave, "dave")):
        listed = (await fedigen.client.get("/api/v1/notifications", headers=headers)).json()
        [ended] = [n for n in listed if n["type"] == "poll"]
        assert ended["account"]["acct"] == "alice", who  # from the poll's author, as on Mastodon
        assert ended["status"]["poll"]["expired"] is True
        assert [o["votes_count"] for o in ended["status"]["poll"]["options"]] == [1, 1]
    assert await count(fedigen, Notification, Notification.type == "poll") == 2

    [final] = [r.json for r in bob.server.posts() if r.json["type"] == "Update"]
    question = final["object"]
    assert question["closed"] == question["endTime"]
    assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [1, 1] and question["votersCount"] == 2
    late = await fedigen.client.post(f"/api/v1/polls/{status['poll']['id']}/votes", json={"choices": [0]},
                                     headers=dave)  # fmt: skip
    assert late.status_code == 422


async def test_the_status_page_shows_the_poll(
    fedigen: Instance, alice: dict[str, str], bob: RemoteActor
) -> None:
    status = await post_poll(fedigen, alice, json=TEA_OR_COFFEE)
    await send(fedigen, bob, mastodon_vote(bob, status["uri"], ALICE, "Coffee", 1))
    page = await fedigen.client.get(status["url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Tea · 0 votes" in page.text and "Coffee · 1 vote<" in page.text and "Ends <time" in page.text


async def test_a_vote_in_a_deleted_poll_is_dropped(
    fedigen: Instance, alice: dict[str, str], bob: RemoteActor
) -> None:
    status = await post_poll(fedigen, alice, json=TEA_OR_COFFEE)
    assert (await fedigen.client.delete(f"/api/v1/statuses/{status['id']}", headers=alice)).status_code == 200
    await send(fedigen, bob, mastodon_vote(bob, status["uri"], ALICE, "Tea", 1))
    assert await count(fedigen, PollVote) == 0 and await count(fedigen, Status) == 1  # no reply was stored
    assert await count(fedigen, Notification) == 0
