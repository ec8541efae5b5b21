"""Profile fields are HTML in the client API and the actor document, and that HTML is always
sanitised: what a local account types is escaped and linked, what another server sends is cleaned,
and rows stored before either rule are cleaned on the way out."""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import update

from storage.models import Actor
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.remote_actor import RemoteActor

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a> https://ok.example'


class Elements(HTMLParser):
    """The elements and attributes a browser would build from some HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_safe(html: str) -> None:
    """No element but links, spans, paragraphs and breaks; no handler; no link but http(s)."""
    parser = Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag in ("a", "span", "p", "br"), html
        for name, value in attrs:
            assert not name.startswith("on"), html
            if name == "href":
                assert (value or "").startswith(("http://", "https://")), html


async def test_local_field_values_are_escaped_and_stay_editable(instance: Instance) -> None:
    await instance.create_account("alice")
    alice = bearer(await issue_token(instance, "alice"))
    response = await instance.client.patch(
        "/api/v1/accounts/update_credentials",
        data={"fields_attributes[0][name]": "Site", "fields_attributes[0][value]": HOSTILE},
        headers=alice,
    )
    assert response.status_code == 200, response.text
    value = response.json()["fields"][0]["value"]
    assert_safe(value)
    assert '<a href="https://ok.example"' in value and "&lt;script&gt;" in value  # shown as the text typed
    assert response.json()["source"]["fields"][0]["value"] == HOSTILE
    account = (await instance.client.get(f"/api/v1/accounts/{response.json()['id']}")).json()
    assert_safe(account["fields"][0]["value"])
    doc = (await instance.client.get("/users/alice", headers={"Accept": "application/activity+json"})).json()
    assert_safe(doc["attachment"][0]["value"])


async def test_raw_values_already_stored_are_cleaned_on_the_way_out(instance: Instance) -> None:
    await instance.create_account("alice")
    async with instance.services.sessions() as session, session.begin():
        await session.execute(
            update(Actor).where(Actor.username == "alice").values(fields=[{"name": "Site", "value": HOSTILE}])
        )
    alice = bearer(await issue_token(instance, "alice"))
    me = (await instance.client.get("/api/v1/accounts/verify_credentials", headers=alice)).json()
    assert_safe(me["fields"][0]["value"])
    doc = (await instance.client.get("/users/alice", headers={"Accept": "application/activity+json"})).json()
    assert_safe(doc["attachment"][0]["value"])


async def test_remote_field_values_are_sanitised(instance: Instance, bob: RemoteActor) -> None:
    bob.extra["attachment"] = [{"type": "PropertyValue", "name": "<b>Site</b>", "value": HOSTILE}]
    async with instance.services.sessions() as session, session.begin():
        remote = await instance.services.resolver.get_actor(bob.ap_id, session=session)
    await instance.create_account("alice")
    alice = bearer(await issue_token(instance, "alice"))
    account = (await instance.client.get(f"/api/v1/accounts/{remote.id}", headers=alice)).json()
    assert account["fields"][0]["name"] == "Site"
    assert_safe(account["fields"][0]["value"])
    assert "https://ok.example" in account["fields"][0]["value"]
