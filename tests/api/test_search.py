"""Search v2 and account search: stored accounts and hashtags by prefix; with resolve=true and a signed-in
account, remote accounts by WebFinger and remote posts by URL, stored for later."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Actor, Status
from tests.api.conftest import TokenMaker, bearer
from tests.api.test_accounts import count, post
from tests.conftest import Instance
from tests.remote_actor import RemoteActor


async def test_local_accounts_and_hashtags_by_prefix(instance: Instance) -> None:
    for name in ("alice", "alfred", "zed"):
        await instance.create_account(name)
    await post(instance, "zed", "a #sunset and a #sunrise, not #moon")
    response = await instance.client.get("/api/v2/search", params={"q": "al"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accounts", "statuses", "hashtags"}
    assert sorted(a["username"] for a in body["accounts"]) == ["alfred", "alice"]
    tags = await instance.client.get("/api/v2/search", params={"q": "#sun", "type": "hashtags"})
    assert [t["name"] for t in tags.json()["hashtags"]] == ["sunrise", "sunset"]
    assert tags.json()["hashtags"][0]["url"] == "http://fedigen.test/tags/sunrise"
    assert tags.json()["accounts"] == [] and tags.json()["statuses"] == []
    wildcard = await instance.client.get("/api/v2/search", params={"q": "%"})
    assert wildcard.json()["accounts"] == []


async def test_resolving_a_handle_stores_the_remote_account(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    token = await make_token("alice")
    without = await instance.client.get(
        "/api/v2/search", params={"q": "bob@remote.test"}, headers=bearer(token)
    )
    assert without.json()["accounts"] == []
    assert await count(instance, Actor, Actor.domain == "remote.test") == 0
    found = await instance.client.get(
        "/api/v2/search", params={"q": "bob@remote.test", "resolve": "true"}, headers=bearer(token)
    )
    [account] = found.json()["accounts"]
    assert account["acct"] == "bob@remote.test" and account["display_name"] == "Bob"
    assert await count(instance, Actor, Actor.domain == "remote.test") == 1
    # Now stored, it is found without resolving, and by account search too.
    stored = await instance.client.get("/api/v2/search", params={"q": "@bob@remote.test"})
    assert [a["id"] for a in stored.json()["accounts"]] == [account["id"]]
    by_prefix = await instance.client.get(
        "/api/v1/accounts/search", params={"q": "bo"}, headers=bearer(token)
    )
    assert [a["acct"] for a in by_prefix.json()] == ["bob@remote.test"]


async def test_resolve_is_ignored_without_a_signed_in_account(instance: Instance, bob: RemoteActor) -> None:
    response = await instance.client.get("/api/v2/search", params={"q": "bob@remote.test", "resolve": "true"})
    assert response.status_code == 200 and response.json()["accounts"] == []
    assert await count(instance, Actor, Actor.domain == "remote.test") == 0


async def test_an_unknown_remote_handle_finds_nothing(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    response = await instance.client.get(
        "/api/v2/search", params={"q": "nobody@remote.test", "resolve": "true"},
        headers=bearer(await make_token("alice")),
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["accounts"] == []


async def test_resolving_a_post_url_fetches_and_stores_it(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    note = bob.note("<p>A remote painting</p>")
    bob.server.serve(note)
    token = await make_token("alice")
    unresolved = await instance.client.get("/api/v2/search", params={"q": note["id"]}, headers=bearer(token))
    assert unresolved.json()["statuses"] == []
    found = await instance.client.get(
        "/api/v2/search",
        params={"q": note["id"], "resolve": "true", "type": "statuses"},
        headers=bearer(token),
    )
    [status] = found.json()["statuses"]
    assert status["uri"] == note["id"] and status["account"]["acct"] == "bob@remote.test"
    async with instance.services.sessions() as session:
        assert await session.scalar(select(Status.id).where(Status.ap_id == note["id"])) is not None
    again = await instance.client.get("/api/v2/search", params={"q": note["id"]})
    assert [s["uri"] for s in again.json()["statuses"]] == [note["id"]]


async def test_bad_search_parameters_are_422_naming_the_field(instance: Instance) -> None:
    missing = await instance.client.get("/api/v2/search")
    assert missing.status_code == 422 and "q" in missing.json()["error"]
    kind = await instance.client.get("/api/v2/search", params={"q": "a", "type": "people"})
    assert kind.status_code == 422 and "type" in kind.json()["error"]
    limit = await instance.client.get("/api/v2/search", params={"q": "a", "limit": "500"})
    assert limit.status_code == 422 and "limit" in limit.json()["error"]


async def test_search_with_a_token_needs_the_search_scope(instance: Instance, make_token: TokenMaker) -> None:
    await instance.create_account("alice")
    token = await make_token("alice", "write")
    response = await instance.client.get("/api/v2/search", params={"q": "a"}, headers=bearer(token))
    assert response.status_code == 403
    accounts_search = await instance.client.get("/api/v1/accounts/search", params={"q": "a"})
    assert accounts_search.status_code == 401


async def test_copied_post_and_profile_urls_resolve_to_their_ids(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor
) -> None:
    # Mastodon serves the Note at the page URL /@bob/ID too, but its id stays /users/bob/statuses/ID
    # (and the profile at /@bob with id /users/bob): a URL copied from a browser must still resolve.
    await instance.create_account("alice")
    note = bob.note("<p>A remote painting</p>")
    page = f"{bob.server.base}/@bob/{note['id'].rsplit('/', 1)[-1]}"
    note["url"] = page
    bob.server.serve(note)
    bob.server.serve(note, url=page)
    bob.server.serve(bob.document(), url=f"{bob.server.base}/@bob")
    token = await make_token("alice")
    found = await instance.client.get(
        "/api/v2/search", params={"q": page, "resolve": "true"}, headers=bearer(token)
    )
    [status] = found.json()["statuses"]
    assert status["uri"] == note["id"] and status["url"] == page
    assert bob.server.requests_to(note["id"]), "trusted only as fetched again at its id"
    profile = await instance.client.get(
        "/api/v2/search", params={"q": f"{bob.server.base}/@bob", "resolve": "true"}, headers=bearer(token)
    )
    [account] = profile.json()["accounts"]
    assert account["acct"] == "bob@remote.test" and profile.json()["statuses"] == []
    assert await count(instance, Actor, Actor.ap_id == bob.ap_id) == 1


async def test_a_page_naming_an_id_on_another_host_resolves_to_nothing(
    instance: Instance, make_token: TokenMaker, bob: RemoteActor, carol: RemoteActor
) -> None:
    # The page on remote.test serves a Note claiming an id on other.test: not followed, nothing stored.
    from tests.remote_actor import RemoteServer

    other = RemoteServer("other.test")
    await instance.create_account("alice")
    note = bob.note("<p>not mine</p>", id=f"{other.base}/users/bob/statuses/1")
    bob.server.serve(note, url=f"{bob.server.base}/@bob/1")
    found = await instance.client.get(
        "/api/v2/search", params={"q": f"{bob.server.base}/@bob/1", "resolve": "true"},
        headers=bearer(await make_token("alice")),
    )  # fmt: skip
    assert found.status_code == 200 and found.json()["statuses"] == []
    assert await count(instance, Status) == 0
