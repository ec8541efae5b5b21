"""Mastodon.py drives users' own tools against a real `fedigen serve`: filters v2 (create, list, add and
delete a keyword, delete) and their effect on the home timeline, and lists (create, add a followed
account, read the list timeline, make it exclusive, delete)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError

from tests.interop.clients import OOB, authorize_out_of_band, poll
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop

PASSWORD = "correct horse battery"
SCOPES = ["read", "write", "follow"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(tmp_path_factory.mktemp("fedigen")) as running:
        for name in ("alice", "bob", "carol"):
            running.cli("account", "create", name, "--password-stdin", stdin=PASSWORD + "\n")
        yield running


def login(server: FedigenServer, username: str) -> Mastodon:
    """An app registered with Mastodon.py and logged in through the authorization-code flow."""
    client_id, client_secret = Mastodon.create_app(
        "fedigen user tools (Mastodon.py)",
        scopes=SCOPES,
        redirect_uris=OOB,
        api_base_url=server.base_url,
        request_timeout=30,
    )
    api = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=server.base_url,
        version_check_mode="created",
        request_timeout=30,
    )
    url = api.auth_request_url(redirect_uris=OOB, scopes=SCOPES, allow_http=True)
    api.log_in(
        code=authorize_out_of_band(url, username, PASSWORD), redirect_uri=OOB, scopes=SCOPES, allow_http=True
    )
    return api


def test_mastodon_py_filters_v2(server: FedigenServer) -> None:
    alice, bob = login(server, "alice"), login(server, "bob")
    bob_account = alice.account_lookup("bob")
    assert alice.account_follow(bob_account.id).following
    created = alice.create_filter_v2(
        "Spoilers",
        ["home", "public"],
        "warn",
        keywords_attributes=[{"keyword": "ending", "whole_word": True}],
    )
    assert created.title == "Spoilers" and created.filter_action == "warn"
    assert [k.keyword for k in created.keywords] == ["ending"]
    assert [f.id for f in alice.filters_v2()] == [created.id]
    keyword = alice.add_filter_keyword_v2(created.id, "twist", whole_word=False)
    assert keyword.keyword == "twist" and keyword.whole_word is False
    assert sorted(k.keyword for k in alice.filter_keywords_v2(created.id)) == ["ending", "twist"]

    warned = bob.status_post("what an Ending", visibility="public")
    home = poll(
        alice.timeline_home,
        lambda items: any(s.id == warned.id for s in items),
        timeout=15,
        what="bob's post in alice's home",
    )
    [shown] = [s for s in home if s.id == warned.id]
    [result] = shown.filtered
    assert result.filter.id == created.id and result.keyword_matches == ["Ending"]

    alice.delete_filter_keyword_v2(keyword.id)
    assert [k.keyword for k in alice.filter_keywords_v2(created.id)] == ["ending"]
    hidden = alice.create_filter_v2("Twists", ["home"], "hide", keywords_attributes=[{"keyword": "twist"}])
    twisted = bob.status_post("a twist", visibility="public")
    later = bob.status_post("after that one", visibility="public")
    home = poll(
        alice.timeline_home,
        lambda items: any(s.id == later.id for s in items),
        timeout=15,
        what="bob's later post",
    )
    assert twisted.id not in [s.id for s in home]
    with pytest.raises(MastodonAPIError):
        alice.create_filter_v2("", ["home"], "warn")
    alice.delete_filter_v2(created.id)
    alice.delete_filter_v2(hidden.id)
    assert alice.filters_v2() == []


def test_mastodon_py_lists(server: FedigenServer) -> None:
    alice, carol = login(server, "alice"), login(server, "carol")
    carol_account = alice.account_lookup("carol")
    made = alice.list_create("Friends")
    assert made.title == "Friends" and made.replies_policy == "list" and made.exclusive is False
    with pytest.raises(MastodonAPIError):  # carol is not followed yet
        alice.list_accounts_add(made.id, [carol_account.id])
    alice.account_follow(carol_account.id)
    alice.list_accounts_add(made.id, [carol_account.id])
    assert [a.acct for a in alice.list_accounts(made.id)] == ["carol"]
    assert [x.id for x in alice.lists()] == [made.id]
    posted = carol.status_post("for my list readers", visibility="public")
    timeline = poll(
        lambda: alice.timeline_list(made.id),
        lambda items: any(s.id == posted.id for s in items),
        timeout=15,
        what="carol's post in the list",
    )
    assert timeline[0].account.acct == "carol"
    assert posted.id in [s.id for s in alice.timeline_home()]
    updated = alice.list_update(made.id, "Close friends", replies_policy="none", exclusive=True)
    assert updated.title == "Close friends" and updated.exclusive is True
    assert posted.id not in [s.id for s in alice.timeline_home()]  # exclusive: out of home
    alice.list_accounts_delete(made.id, [carol_account.id])
    assert alice.list_accounts(made.id) == []
    alice.list_delete(made.id)
    assert alice.lists() == []


def test_mastodon_py_domain_blocks_followed_tags_and_source(server: FedigenServer) -> None:
    alice, carol = login(server, "alice"), login(server, "carol")
    alice.domain_block("spam.example")
    assert alice.domain_blocks() == ["spam.example"]
    alice.domain_unblock("spam.example")
    assert alice.domain_blocks() == []
    assert alice.tag("Gardens").following is False
    assert alice.tag_follow("Gardens").following is True
    assert [t.name for t in alice.followed_tags()] == ["gardens"]
    tagged = carol.status_post("tomatoes #gardens", visibility="public")
    poll(
        alice.timeline_home,
        lambda items: any(s.id == tagged.id for s in items),
        timeout=15,
        what="the followed hashtag's post in alice's home",
    )
    assert alice.tag_unfollow("gardens").following is False
    source = carol.status_source(tagged.id)
    assert source.text == "tomatoes #gardens" and source.spoiler_text == ""
    with pytest.raises(MastodonAPIError):
        alice.status_source(tagged.id)
