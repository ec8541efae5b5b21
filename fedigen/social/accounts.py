"""Accounts: local ones (creation with keys and password, the instance actor, listing), and what
happens to remote ones (they move, they are deleted)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub import signing
from activitypub.actors import USERNAME_RE
from activitypub.urls import LocalUrls
from fedigen.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from fedigen.languages import checked as checked_language
from fedigen.social.notifications import Kind, notify
from fedigen.social.roles import Role, may_assign, role_of
from storage.models import Actor, Follow, User, utcnow

RESERVED_USERNAMES = frozenset(
    {
        "actor",
        "inbox",
        "users",
        "api",
        "static",
        "about",
        "tags",
        "media",
        "avatars",
        "nodeinfo",
        "activities",
    }
)
MIN_PASSWORD_CHARS = 8

_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    """Argon2id hash, computed off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the stored hash."""
    if not password_hash:
        return False
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_username(username: str) -> None:
    """Refuse usernames peers or Bridgy Fed would not take."""
    if not USERNAME_RE.match(username):
        raise ValidationError(
            "username", "use 1-30 letters, digits, _ or -, starting and ending with a letter or digit"
        )
    if username.lower() in RESERVED_USERNAMES:
        raise ValidationError("username", f"{username!r} is reserved")


def _local_actor_row(
    urls: LocalUrls, username: str, ap_type: str, public_pem: str, private_pem: str
) -> Actor:
    now = utcnow()
    return Actor(
        ap_id=urls.actor(username), ap_type=ap_type, username=username, domain=None,
        display_name=username, summary="", url=urls.profile(username),
        inbox_url=urls.inbox(username), shared_inbox_url=urls.shared_inbox, outbox_url=urls.outbox(username),
        followers_url=urls.followers(username), following_url=urls.following(username),
        featured_url=urls.featured(username), icon_url=None,
        public_key_id=urls.key(username), public_key_pem=public_pem, private_key_pem=private_pem,
        fields=[], also_known_as=[], published=now, created_at=now,
    )  # fmt: skip


async def create_account(
    session: AsyncSession,
    urls: LocalUrls,
    username: str,
    *,
    password: str | None = None,
    admin: bool = False,
    role: Role | None = None,
    locked: bool = False,
    bot: bool = False,
    indexable: bool = False,
    language: str | None = None,
    password_hash: str | None = None,
    keypair: tuple[str, str] | None = None,
) -> Actor:
    """Create a local account with an RSA-2048 key (the caller commits).

    As on Mastodon, a new account is not ``indexable`` (its posts are not searchable by everyone) until
    its owner says so; ``language`` is its default posting language (None: the instance's). Its role
    is ``role``, else admin when ``admin``, else member. ``password_hash`` and ``keypair`` (private,
    public PEM) may be made beforehand, outside the transaction (sign-up does: both are slow).
    """
    check_username(username)
    default_language = checked_language("language", language)
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD_CHARS} characters")
    taken = await session.scalar(
        select(Actor.id).where(func.lower(Actor.username) == username.lower(), Actor.domain.is_(None))
    )
    if taken is not None:
        raise ConflictError(f"the username {username!r} is taken")
    if keypair is None:
        keypair = await asyncio.to_thread(signing.generate_rsa_keypair)
    private_pem, public_pem = keypair
    actor = _local_actor_row(urls, username, "Service" if bot else "Person", public_pem, private_pem)
    actor.locked, actor.indexable, actor.default_language = locked, indexable, default_language
    session.add(actor)
    await session.flush()
    if password_hash is None and password:
        password_hash = await hash_password(password)
    chosen = role or (Role.ADMIN if admin else Role.MEMBER)
    session.add(User(actor_id=actor.id, password_hash=password_hash, role=chosen.value))
    await session.flush()
    return actor


async def ensure_instance_actor(session: AsyncSession, urls: LocalUrls) -> Actor:
    """The instance's Application actor at /actor, created on first use."""
    # Its username is the host name, as Mastodon names its instance actor (without a port: peers
    # refuse a preferredUsername with a colon); it is not a login account.
    username = urlsplit(urls.base).hostname or urls.host
    actor = await session.scalar(select(Actor).where(Actor.ap_id == urls.instance_actor))
    if actor is not None:
        if actor.username != username:  # named host:port by earlier versions
            actor.username = username
        return actor
    private_pem, public_pem = await asyncio.to_thread(signing.generate_rsa_keypair)
    now = utcnow()
    actor = Actor(
        ap_id=urls.instance_actor, ap_type="Application", username=username, domain=None,
        display_name=urls.host, inbox_url=urls.instance_actor + "/inbox", shared_inbox_url=urls.shared_inbox,
        outbox_url=urls.instance_actor + "/outbox", public_key_id=urls.instance_actor + "#main-key",
        public_key_pem=public_pem, private_key_pem=private_pem, locked=True, discoverable=False,
        indexable=False, fields=[], also_known_as=[], published=now, created_at=now,
    )  # fmt: skip
    session.add(actor)
    await session.flush()
    return actor


async def get_local(session: AsyncSession, username: str) -> Actor:
    """The local account with this username (case-insensitive), or NotFoundError."""
    actor = await session.scalar(
        select(Actor).where(
            func.lower(Actor.username) == username.lower().lstrip("@"),
            Actor.domain.is_(None),
            Actor.ap_type != "Application",
        )
    )
    if actor is None:
        raise NotFoundError(f"no local account named {username!r}")
    return actor


async def list_accounts(session: AsyncSession) -> Sequence[tuple[Actor, User]]:
    """Every local login account with its user row, oldest first."""
    rows = await session.execute(select(Actor, User).join(User, User.actor_id == Actor.id).order_by(Actor.id))
    return [(a, u) for a, u in rows]


async def remote_account_deleted(session: AsyncSession, actor: Actor) -> None:
    """A remote account deleted itself: it is marked deleted and its follows end both ways."""
    actor.deleted_at = utcnow()
    await session.execute(
        delete(Follow).where(or_(Follow.follower_id == actor.id, Follow.followee_id == actor.id))
    )


async def account_moved(session: AsyncSession, actor: Actor, target: Actor) -> None:
    """``actor`` moved to ``target`` (which names it as an alias): recorded, and its local followers told."""
    actor.moved_to_ap_id = target.ap_id
    followers = await session.scalars(
        select(Actor)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(Follow.followee_id == actor.id, Actor.domain.is_(None))
    )
    for follower in followers:
        await notify(session, follower, Kind.MOVE, actor)


async def set_role(session: AsyncSession, target: Actor, wanted: Role, *, by: Actor | None = None) -> Role:
    """Give a local account a role; ``by`` is the account doing it (None: the operator, at the CLI, who
    may do anything). An instance always keeps an owner. Returns the role it had."""
    user = await session.scalar(select(User).where(User.actor_id == target.id))
    if user is None or target.domain is not None:
        raise NotFoundError("no such local account")
    current = role_of(user.role)
    if by is not None:
        by_user = await session.scalar(select(User).where(User.actor_id == by.id))
        if by_user is None or by.id == target.id or not may_assign(by_user.role, current, wanted):
            raise ForbiddenError("your role may not give that role")
    if current == Role.OWNER and wanted != Role.OWNER:
        owners = await session.scalar(select(func.count(User.id)).where(User.role == Role.OWNER.value))
        if (owners or 0) <= 1:
            raise ValidationError(
                "role", "the instance's only owner keeps that role (make another owner first)"
            )
    user.role = wanted.value
    return current
