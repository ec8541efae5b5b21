"""``indexable``: off for new accounts, as on Mastodon (whose accounts opt in to having their public
posts searched), a profile setting changed through ``PATCH /api/v1/accounts/update_credentials`` and
shown in the account entity, its ``source`` and the actor document; remote actors that do not say
``indexable: true`` are not indexable."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import Activity, Actor
from tests.api.conftest import TokenMaker, bearer
from tests.conftest import Instance
from tests.remote_actor import AS2_TYPE, RemoteServer

AS2 = {"Accept": AS2_TYPE}


async def views(instance: Instance, headers: dict[str, str]) -> tuple[Any, Any, Any, Any]:
    """indexable as the credential account, its source, the public account and the actor document say."""
    me = (await instance.client.get("/api/v1/accounts/verify_credentials", headers=headers)).json()
    public = (await instance.client.get(f"/api/v1/accounts/{me['id']}")).json()
    actor = (await instance.client.get("/users/alice", headers=AS2)).json()
    return me["indexable"], me["source"]["indexable"], public["indexable"], actor["indexable"]


async def test_a_new_account_is_not_indexable_until_its_owner_says_so(
    instance: Instance, make_token: TokenMaker
) -> None:
    await instance.create_account("alice")
    alice = bearer(await make_token("alice"))
    assert await views(instance, alice) == (False, False, False, False)

    changed = await instance.client.patch(
        "/api/v1/accounts/update_credentials", data={"indexable": "true"}, headers=alice
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["indexable"] is True and changed.json()["source"]["indexable"] is True
    assert await views(instance, alice) == (True, True, True, True)
    # Other servers hear of it: the profile Update carries the new value.
    async with instance.services.sessions() as session:
        update = await session.scalar(select(Activity).where(Activity.ap_type == "Update"))
    assert update is not None and update.document["object"]["indexable"] is True

    back = await instance.client.patch(
        "/api/v1/accounts/update_credentials", json={"indexable": False}, headers=alice
    )
    assert back.json()["indexable"] is False
    assert await views(instance, alice) == (False, False, False, False)
    bad = await instance.client.patch(
        "/api/v1/accounts/update_credentials", data={"indexable": "perhaps"}, headers=alice
    )
    assert bad.status_code == 422 and "indexable" in bad.json()["error"]


async def test_remote_actors_are_indexable_only_when_they_say_so(
    instance: Instance, remote: RemoteServer
) -> None:
    says_yes = remote.add_actor("yes", indexable=True)
    says_text = remote.add_actor("text", indexable="true")  # not a boolean: not a yes
    silent = remote.add_actor("silent")
    resolver = instance.services.resolver
    async with instance.services.sessions() as session, session.begin():
        for actor in (says_yes, says_text):
            await resolver.get_actor(actor.ap_id, session=session)
        # An actor document without the field at all (as GoToSocial's or Misskey's may be).
        document = {k: v for k, v in silent.document().items() if k != "indexable"}
        await resolver.store_actor(document, silent.ap_id, session=session)
    async with instance.services.sessions() as session:
        remote_rows = await session.scalars(select(Actor).where(Actor.domain.is_not(None)))
        found = {a.username: a.indexable for a in remote_rows}
    assert found == {"yes": True, "text": False, "silent": False}
