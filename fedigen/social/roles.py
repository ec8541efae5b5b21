"""Roles and what each may do: owner, admin, moderator, member.

Every front door asks the same question here (``allowed`` / ``require``): the client API's admin
endpoints, the CLI's admin commands (which act as the instance's operator, who holds the machine), the
pages. A role holds every permission of the roles below it. The permissions are Mastodon's (its
``UserRole`` flags, https://docs.joinmastodon.org/entities/Role/), so the ``role`` of a
CredentialAccount reads as Mastodon apps expect.

- member: a person with an account;
- moderator: reads and resolves reports, acts on accounts (suspend, limit, mark sensitive), sees the
  audit log and the bot's refusals;
- admin: also federation (domain blocks and allows), invites, sign-up approval, the instance's rules and
  settings, and users (confirm, reset passwords, set roles up to moderator);
- owner: everything, roles included (the account ``fedigen init --admin`` makes).
"""

from __future__ import annotations

from enum import IntFlag, StrEnum

from fedigen.errors import ForbiddenError, ValidationError


class Role(StrEnum):
    """A local account's role, stored on its user row as this value."""

    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"
    OWNER = "owner"


class Permission(IntFlag):
    """Mastodon's role permission bits (the ``permissions`` string of its Role entity)."""

    ADMINISTRATOR = 0x1
    DEVOPS = 0x2
    VIEW_AUDIT_LOG = 0x4
    VIEW_DASHBOARD = 0x8
    MANAGE_REPORTS = 0x10
    MANAGE_FEDERATION = 0x20
    MANAGE_SETTINGS = 0x40
    MANAGE_BLOCKS = 0x80
    MANAGE_TAXONOMIES = 0x100
    MANAGE_APPEALS = 0x200
    MANAGE_USERS = 0x400
    MANAGE_INVITES = 0x800
    MANAGE_RULES = 0x1000
    MANAGE_ANNOUNCEMENTS = 0x2000
    MANAGE_CUSTOM_EMOJIS = 0x4000
    MANAGE_WEBHOOKS = 0x8000
    INVITE_USERS = 0x10000
    MANAGE_ROLES = 0x20000
    MANAGE_USER_ACCESS = 0x40000
    DELETE_USER_DATA = 0x80000


_MODERATOR = (
    Permission.VIEW_AUDIT_LOG | Permission.VIEW_DASHBOARD | Permission.MANAGE_REPORTS
    | Permission.MANAGE_USERS | Permission.MANAGE_APPEALS | Permission.MANAGE_TAXONOMIES
    | Permission.INVITE_USERS
)  # fmt: skip
_ADMIN = (
    _MODERATOR | Permission.MANAGE_FEDERATION | Permission.MANAGE_SETTINGS | Permission.MANAGE_BLOCKS
    | Permission.MANAGE_INVITES | Permission.MANAGE_RULES | Permission.MANAGE_ANNOUNCEMENTS
    | Permission.MANAGE_CUSTOM_EMOJIS | Permission.MANAGE_USER_ACCESS | Permission.DELETE_USER_DATA
    | Permission.DEVOPS | Permission.MANAGE_WEBHOOKS
)  # fmt: skip
_OWNER = _ADMIN | Permission.ADMINISTRATOR | Permission.MANAGE_ROLES

PERMISSIONS: dict[Role, Permission] = {
    Role.MEMBER: Permission(0),
    Role.MODERATOR: _MODERATOR,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _OWNER,
}
RANK: dict[Role, int] = {Role.MEMBER: 0, Role.MODERATOR: 1, Role.ADMIN: 2, Role.OWNER: 3}
# Mastodon's ids for its default roles (Everyone is -99), so apps that special-case them read ours alike.
_MASTODON_IDS: dict[Role, str] = {Role.MEMBER: "-99", Role.MODERATOR: "1", Role.ADMIN: "2", Role.OWNER: "3"}


def role_of(value: str | None) -> Role:
    """The Role a stored value names (an unknown one counts as a member's: never more than that)."""
    try:
        return Role(value or Role.MEMBER)
    except ValueError:
        return Role.MEMBER


def parse_role(value: str) -> Role:
    """A role typed by a person (CLI, API); ValidationError naming the choices otherwise."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValidationError("role", f"expected one of {', '.join(r.value for r in Role)}") from None


def allowed(role: Role | str | None, permission: Permission) -> bool:
    """Whether a role holds a permission."""
    return permission in PERMISSIONS[role_of(role)]


def require(role: Role | str | None, permission: Permission) -> None:
    """ForbiddenError (403) unless the role holds the permission."""
    if not allowed(role, permission):
        raise ForbiddenError("This action is not allowed")


def may_assign(actor_role: Role | str | None, current: Role | str | None, wanted: Role | str) -> bool:
    """Whether an account of ``actor_role`` may change someone's role from ``current`` to ``wanted``:
    only with MANAGE_ROLES (the owner), or an admin between member and moderator; never above one's own
    rank or for someone at or above it (except the owner)."""
    mine, theirs, target = role_of(actor_role), role_of(current), role_of(wanted)
    if allowed(mine, Permission.MANAGE_ROLES):
        return True
    return (
        allowed(mine, Permission.MANAGE_USERS) and RANK[target] < RANK[mine] and RANK[theirs] < RANK[mine]
        and mine == Role.ADMIN
    )  # fmt: skip


def role_entity(role: Role | str | None) -> dict[str, object]:
    """Mastodon's Role entity for a CredentialAccount's ``role`` (and the admin API's)."""
    value = role_of(role)
    return {
        "id": _MASTODON_IDS[value],
        "name": "" if value == Role.MEMBER else value.value.title(),
        "permissions": str(int(PERMISSIONS[value])),
        "color": "",
        "highlighted": value != Role.MEMBER,
    }
