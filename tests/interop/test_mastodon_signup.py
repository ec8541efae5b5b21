"""Sign-up as a real app does it: Mastodon.py's ``create_account`` against a real `fedigen serve` in
approval mode, the confirmation message read from a real SMTP server (aiosmtpd) the test starts, and
the admin's side done with the `fedigen` command line (pending, approve, reject, confirm,
reset-password, invite create/list/revoke).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from mastodon import Mastodon, MastodonAPIError, MastodonError

from tests.interop.clients import OOB
from tests.support.server import FedigenServer
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.interop

PASSWORD = "correct horse battery"
SCOPES = ["read", "write", "follow"]


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[FedigenServer]:
    running = FedigenServer(tmp_path_factory.mktemp("fedigen"), extra_config=smtp.toml("hello@fedigen.test"))
    running.cli("init", "--url", running.base_url, "--admin", "boss")
    config = running.config.read_text()
    instance = '\nregistrations = "approval"\nrules = ["Be kind."]\ncontact_email = "boss@fedigen.test"\n'
    running.config.write_text(config.replace("[instance]\n", "[instance]" + instance, 1))
    with running:
        yield running


def _app(server: FedigenServer) -> Mastodon:
    client_id, client_secret = Mastodon.create_app(
        "fedigen sign-up (Mastodon.py)", scopes=SCOPES, redirect_uris=OOB, api_base_url=server.base_url,
        request_timeout=30,
    )  # fmt: skip
    return Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server.base_url,
                    version_check_mode="none", request_timeout=30)  # fmt: skip


def _refusal(api: Mastodon) -> str:
    with pytest.raises(MastodonAPIError) as raised:
        api.account_verify_credentials()
    return str(raised.value)


def test_mastodon_py_signs_up_confirms_by_mail_and_waits_for_approval(
    server: FedigenServer, smtp: SmtpServer
) -> None:
    rules = httpx.get(f"{server.base_url}/api/v1/instance/rules").json()
    assert rules == [{"id": "1", "text": "Be kind.", "hint": ""}]
    api = _app(server)
    token = api.create_account(
        "newbie", PASSWORD, "newbie@mail.test", agreement=True, reason="I paint lighthouses.", scopes=SCOPES
    )
    assert token and api.access_token == token
    assert "missing a confirmed e-mail address" in _refusal(api)

    # Mastodon.py's detailed errors: a taken name, no agreement.
    _, error = _app(server).create_account(
        "newbie", PASSWORD, "other@mail.test", agreement=False, reason="x", scopes=SCOPES,
        return_detailed_error=True,
    )  # fmt: skip
    assert error["details"]["username"][0]["error"] == "ERR_TAKEN"
    assert error["details"]["agreement"][0]["error"] == "ERR_ACCEPTED"

    [mail] = smtp.wait_for("newbie@mail.test")
    assert mail.message["From"] == "hello@fedigen.test"
    [link] = [u for u in mail.links() if "/auth/confirm?token=" in u]
    assert link.startswith(f"{server.base_url}/auth/confirm?token=")
    confirmed = httpx.get(link)
    assert confirmed.status_code == 200 and "approve" in confirmed.text
    assert "pending approval" in _refusal(api)
    with pytest.raises(MastodonError, match="invalid_grant"):
        _app(server).log_in("newbie", PASSWORD, scopes=SCOPES, allow_http=True)

    pending = server.cli("account", "pending").stdout
    assert "@newbie" in pending and "I paint lighthouses." in pending and "email confirmed" in pending
    assert "approved" in server.cli("account", "approve", "newbie").stdout
    me = api.account_verify_credentials()
    assert me.username == "newbie"
    assert "@newbie" not in server.cli("account", "pending").stdout

    # Signing in with the password grant, by email as Mastodon apps do.
    again = _app(server)
    assert again.log_in("newbie@mail.test", PASSWORD, scopes=SCOPES, allow_http=True)
    assert again.account_verify_credentials().username == "newbie"

    # The admin resets the password at the command line: every session ends, the new one works.
    reset = server.cli("account", "reset-password", "newbie", "--password-stdin", stdin="a fresh password\n")
    assert "password changed" in reset.stdout and "password:" not in reset.stdout
    with pytest.raises(MastodonAPIError):
        again.account_verify_credentials()
    assert _app(server).log_in("newbie", "a fresh password", scopes=SCOPES, allow_http=True)
    printed = server.cli("account", "reset-password", "newbie").stdout
    generated = re.search(r"password: (\S+)", printed)
    assert generated is not None
    assert _app(server).log_in("newbie", generated.group(1), scopes=SCOPES, allow_http=True)

    # And by mail, through the JSON endpoints the web app uses.
    assert (
        httpx.post(
            f"{server.base_url}/api/fedigen/password_reset", json={"email": "newbie@mail.test"}
        ).status_code
        == 200
    )
    _, reset_mail = smtp.wait_for("newbie@mail.test", 2)
    reset_token = next(line.strip() for line in reset_mail.body.splitlines() if len(line.strip()) == 43)
    done = httpx.post(
        f"{server.base_url}/api/fedigen/password_reset/confirm",
        json={"token": reset_token, "password": "mailed new password"},
    )
    assert done.status_code == 200, done.text
    assert _app(server).log_in("newbie", "mailed new password", scopes=SCOPES, allow_http=True)


def _client_token(server: FedigenServer) -> str:
    api = _app(server)
    issued = httpx.post(
        f"{server.base_url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": api.client_id,
              "client_secret": api.client_secret, "scope": "read write"},
    )  # fmt: skip
    return str(issued.json()["access_token"])


def test_the_admins_commands(server: FedigenServer, smtp: SmtpServer) -> None:
    # Invites: made, listed, used within their limit, revoked.
    made = server.cli("invite", "create", "--max-uses", "1", "--expires-in", "1d").stdout
    url, code_line = made.strip().splitlines()
    code = code_line.removeprefix("code: ")
    assert url == f"{server.base_url}/invite/{code}"
    assert httpx.get(url).status_code == 200
    listed = server.cli("invite", "list").stdout
    assert code in listed and "0/1" in listed and "active" in listed
    token = _client_token(server)
    body = {"username": "invited", "email": "invited@mail.test", "password": PASSWORD, "agreement": "true",
            "invite_code": code}  # fmt: skip
    signed = httpx.post(
        f"{server.base_url}/api/v1/accounts", data=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert signed.status_code == 200, signed.text
    more = {**body, "username": "second", "email": "second@mail.test"}
    second = httpx.post(
        f"{server.base_url}/api/v1/accounts", data=more, headers={"Authorization": f"Bearer {token}"}
    )
    assert second.status_code == 422 and second.json()["details"]["invite_code"][0]["error"] == "ERR_INVALID"
    assert "no usable invites" in server.cli("invite", "list").stdout
    assert "used up" in server.cli("invite", "list", "--all").stdout
    other = server.cli("invite", "create").stdout.strip().splitlines()[1].removeprefix("code: ")
    assert "revoked" in server.cli("invite", "revoke", other).stdout
    assert httpx.get(f"{server.base_url}/invite/{other}").status_code == 404

    # The invited account skipped approval; with no link followed, an admin confirms it.
    waiting = server.cli("account", "pending").stdout
    assert "@invited" in waiting and "\tapproved\temail unconfirmed" in waiting
    invited = Mastodon(access_token=signed.json()["access_token"], api_base_url=server.base_url,
                       version_check_mode="none")  # fmt: skip
    assert "missing a confirmed e-mail address" in _refusal(invited)
    assert "confirmed" in server.cli("account", "confirm", "invited").stdout
    assert invited.account_verify_credentials().username == "invited"
    assert "nobody is waiting" in server.cli("account", "pending").stdout

    # An applicant turned away is deleted.
    _app(server).create_account(
        "spammer", PASSWORD, "spam@mail.test", agreement=True, reason="$$$", scopes=SCOPES
    )
    assert "rejected" in server.cli("account", "reject", "spammer").stdout
    assert "@spammer" not in server.cli("account", "list").stdout

    # Members may not invite; bad input is one line and a non-zero exit.
    server.cli("account", "create", "member", "--password-stdin", stdin=PASSWORD + "\n")
    for args, words in [
        (("invite", "create", "--as", "member"), "not allowed"),
        (("invite", "create", "--expires-in", "soon"), "expires_in"),
        (("invite", "create", "--max-uses", "0"), "max_uses"),
        (("invite", "revoke", "nosuchcode"), "no invite"),
        (("account", "approve", "nobody"), "no local account"),
        (("account", "approve", "member"), "did not sign up"),
        (("account", "reject", "invited"), "approved already"),
        (("account", "reset-password", "member", "--password-stdin"), "no password"),
    ]:
        failed = server.cli(*args, stdin="\n", check=False)
        assert failed.returncode != 0, args
        assert words in failed.stderr and len(failed.stderr.strip().splitlines()) == 1, (args, failed.stderr)
