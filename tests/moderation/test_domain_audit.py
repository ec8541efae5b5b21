"""Domain moderation in the audit log: every block, change, unblock, allow and disallow made through the
admin API is recorded with the acting moderator, and made at the CLI (blocks imported from a file too)
with the operator; both read back through `GET /api/v1/admin/action_logs` and `fedigen audit`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from fedigen.social.roles import Role
from storage.models import Actor, AuditLog
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.support.server import FedigenServer

PASSWORD = "a long password"
ADMIN_SCOPES = "read write admin:read admin:write"


async def test_admin_api_domain_actions_are_audited_with_the_acting_account(instance: Instance) -> None:
    await instance.create_account("adam", role=Role.ADMIN, password=PASSWORD)
    await instance.create_account("olga", role=Role.OWNER, password=PASSWORD)
    adam = bearer(await issue_token(instance, "adam", ADMIN_SCOPES))
    olga = bearer(await issue_token(instance, "olga", ADMIN_SCOPES))
    client = instance.client

    made = await client.post("/api/v1/admin/domain_blocks", headers=adam,
                             data={"domain": "spam.example", "severity": "silence"})  # fmt: skip
    assert made.status_code == 200, made.text
    block_id = made.json()["id"]
    changed = await client.put(f"/api/v1/admin/domain_blocks/{block_id}", headers=olga,
                               data={"severity": "suspend", "reject_media": "true"})  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert (await client.delete(f"/api/v1/admin/domain_blocks/{block_id}", headers=adam)).status_code == 200
    allowed = await client.post(
        "/api/v1/admin/domain_allows", headers=olga, data={"domain": "friend.example"}
    )
    assert allowed.status_code == 200, allowed.text
    # Allowing it again answers the existing entry and changes nothing: no second row.
    again = await client.post("/api/v1/admin/domain_allows", headers=olga, data={"domain": "friend.example"})
    assert again.json()["id"] == allowed.json()["id"]
    gone = await client.delete(f"/api/v1/admin/domain_allows/{allowed.json()['id']}", headers=adam)
    assert gone.status_code == 200
    # A refused request (already blocked) writes nothing.
    await client.post("/api/v1/admin/domain_blocks", headers=adam, data={"domain": "again.example"})
    refused = await client.post("/api/v1/admin/domain_blocks", headers=adam, data={"domain": "again.example"})
    assert refused.status_code == 422

    async with instance.services.sessions() as session:
        rows = (
            await session.execute(
                select(Actor.username, AuditLog.action, AuditLog.target_type, AuditLog.target_label,
                       AuditLog.detail)
                .outerjoin(Actor, Actor.id == AuditLog.account_id)
                .order_by(AuditLog.id)
            )
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("adam", "create_domain_block", "domain_block", "spam.example", "severity=silence"),
        ("olga", "update_domain_block", "domain_block", "spam.example", "severity=suspend reject_media"),
        ("adam", "destroy_domain_block", "domain_block", "spam.example", "severity=suspend"),
        ("olga", "create_domain_allow", "domain_allow", "friend.example", ""),
        ("adam", "destroy_domain_allow", "domain_allow", "friend.example", ""),
        ("adam", "create_domain_block", "domain_block", "again.example", "severity=silence"),
    ]
    logs = (await client.get("/api/v1/admin/action_logs", headers=olga)).json()
    assert [(e["account"], e["action"], e["target"]) for e in logs][:6] == [
        ("adam", "create_domain_block", "again.example"),
        ("adam", "destroy_domain_allow", "friend.example"),
        ("olga", "create_domain_allow", "friend.example"),
        ("adam", "destroy_domain_block", "spam.example"),
        ("olga", "update_domain_block", "spam.example"),
        ("adam", "create_domain_block", "spam.example"),
    ]


def test_cli_domain_actions_are_audited_as_the_operator(tmp_path: Path) -> None:
    cli = FedigenServer(tmp_path)
    cli.cli("init", "--url", cli.base_url, "--admin", "boss")
    cli.cli("domain", "block", "loud.example", "--severity", "silence")
    cli.cli("domain", "block", "loud.example", "--severity", "suspend")
    cli.cli("domain", "unblock", "loud.example")
    cli.cli("domain", "allow", "friend.example")
    cli.cli("domain", "disallow", "friend.example")
    listing = tmp_path / "blocks.csv"
    listing.write_text("#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
                       "bad.example,suspend,true,false,spam,false\n")  # fmt: skip
    cli.cli("domain", "import", str(listing), "--dry-run")  # changes nothing, records nothing
    cli.cli("domain", "import", str(listing))
    cli.cli("domain", "import", str(listing))  # unchanged: nothing to record
    # A refused command records nothing either.
    assert cli.cli("domain", "unblock", "never.example", check=False).returncode != 0

    lines = [line.split("\t") for line in cli.cli("audit").stdout.splitlines()]
    assert [(who, action, target) for _, who, action, target, *_ in lines] == [
        ("(operator)", "create_domain_block", "domain_block bad.example"),
        ("(operator)", "destroy_domain_allow", "domain_allow friend.example"),
        ("(operator)", "create_domain_allow", "domain_allow friend.example"),
        ("(operator)", "destroy_domain_block", "domain_block loud.example"),
        ("(operator)", "update_domain_block", "domain_block loud.example"),
        ("(operator)", "create_domain_block", "domain_block loud.example"),
    ]
    assert lines[0][4] == "severity=suspend reject_media"
