"""The generation bot answers exactly the one who asked: nothing in a prompt (zero-width characters
hiding a mention included) nor in the requester's username can make its reply mention, link to or be
delivered to anyone else."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.conftest import HostRouter, Instance
from tests.flows.test_generation_bot import ask, replies
from tests.remote_actor import RemoteActor, RemoteServer


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v or "" for k, v in attrs if tag == "a" and k == "href"]


def links_in(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.hrefs


async def test_a_prompt_cannot_make_the_bot_mention_link_or_deliver_elsewhere(
    instance: Instance, router: HostRouter, remote: RemoteServer, bob: RemoteActor
) -> None:
    victims = RemoteServer("victim.test")
    router.add(victims.host, victims.app)
    victims.add_actor("victim")
    bob.extra["preferredUsername"] = "bob@victim.test"  # a username that reads as a mention
    prompt = "a cat @\u200bvictim@victim.test and @\u2060victim@victim.test https://evil.example #spam"
    await ask(instance, bob, prompt)
    [reply] = await replies(instance, remote, bob)
    mentions = [t for t in reply["tag"] if t["type"] == "Mention"]
    assert [m["href"] for m in mentions] == [bob.ap_id]
    assert not [t for t in reply["tag"] if t["type"] == "Hashtag"]
    assert links_in(reply["content"]) == [bob.document()["url"]]
    assert "https://evil.example" in reply["content"]  # quoted as text, not linked
    assert all(victims.host not in a for a in reply["to"] + reply["cc"])
    assert [r.url for r in router.requests if r.url.host == victims.host] == []  # no lookup, no delivery
