"""Sign-up: registration modes, applicants and their approval, invites, email confirmation and
password resets. Every front door (the client API, the CLI, later the web pages) calls these.

An account made by signing up has a ``signups`` row and cannot sign in until its email is confirmed
(by the link mailed to it, or by an admin when no SMTP server is configured) and, in approval mode, an
admin or moderator approved it. Accounts made at the CLI have no row and are never pending.

Functions that mail something return the :class:`~fedigen.mail.Mail` instead of sending it: the caller
sends it after committing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub import signing
from activitypub.urls import LocalUrls
from fedigen.config import Settings
from fedigen.errors import ForbiddenError, NotFoundError, ValidationError
from fedigen.languages import checked as checked_language
from fedigen.mail import Mail
from fedigen.social import accounts
from fedigen.social.roles import Permission, require
from storage.clients import OAuthToken
from storage.models import Actor, User, utcnow
from storage.signup import EmailToken, Invite, Signup

CONFIRM_LIFETIME = timedelta(hours=24)
RESET_LIFETIME = timedelta(hours=1)
MAX_PASSWORD_CHARS = 72  # Mastodon's (bcrypt's) limit, so passwords move between servers alike
MAX_REASON_CHARS = 1000
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
INVITE_CODE_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
# Mastodon's answers to a token whose account may not act yet (its require_user!).
UNCONFIRMED = "Your login is missing a confirmed e-mail address"
PENDING = "Your login is currently pending approval"
DURATION_RE = re.compile(r"^(\d+)\s*([mhdw])$")
DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class RegistrationInvalid(ValidationError):
    """A sign-up refused for its parameters, with Mastodon's ``details``: field -> [{error, description}]."""

    def __init__(self, details: dict[str, list[dict[str, str]]]) -> None:
        first = next(iter(details))
        text = ", ".join(f"{field} {e['description']}" for field, errs in details.items() for e in errs)
        super().__init__(first, text)
        self.details = details


@dataclass(frozen=True)
class SignedUp:
    """A new account, and the confirmation message to send once committed (None without SMTP)."""

    actor: Actor
    mail: Mail | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mode(settings: Settings) -> str:
    """open, approval, invite or closed."""
    return settings.instance.registration_mode


def invite_url(urls: LocalUrls, code: str) -> str:
    """The link an invite is shared as."""
    return f"{urls.base}/invite/{code}"


def confirm_url(urls: LocalUrls, token: str) -> str:
    return f"{urls.base}/auth/confirm?token={token}"


def reset_url(urls: LocalUrls, token: str) -> str:
    """The page a password reset message links to (Mastodon's path)."""
    return f"{urls.base}/auth/password/edit?reset_password_token={token}"


def parse_duration(text: str) -> timedelta:
    """ "30m", "12h", "1d", "2w" as a timedelta; ValidationError otherwise."""
    match = DURATION_RE.match(text.strip().lower())
    if match is None or int(match.group(1)) <= 0:
        raise ValidationError("expires_in", f"expected a duration such as 30m, 12h, 1d or 2w, got {text!r}")
    return timedelta(**{DURATION_UNITS[match.group(2)]: int(match.group(1))})


# ---- invites ----


def _usable(invite: Invite, now: datetime) -> bool:
    return (
        invite.revoked_at is None
        and (invite.expires_at is None or invite.expires_at > now)
        and (invite.max_uses is None or invite.uses < invite.max_uses)
    )


async def create_invite(
    session: AsyncSession,
    *,
    by: Actor | None = None,
    max_uses: int | None = None,
    expires_in: timedelta | None = None,
) -> Invite:
    """A new invite code; ``by`` (None: the operator) needs a role that may invite."""
    if by is not None:
        await _require(session, by, Permission.INVITE_USERS)
    if max_uses is not None and max_uses < 1:
        raise ValidationError("max_uses", "must be at least 1")
    invite = Invite(
        code=secrets.token_urlsafe(12).replace("-", "x").replace("_", "y"),
        created_by_id=by.id if by is not None else None,
        max_uses=max_uses,
        uses=0,
        expires_at=utcnow() + expires_in if expires_in else None,
    )
    session.add(invite)
    await session.flush()
    return invite


async def list_invites(session: AsyncSession, *, include_inactive: bool = False) -> Sequence[Invite]:
    """Invites, newest first; only those still usable unless ``include_inactive``."""
    rows = list(await session.scalars(select(Invite).order_by(Invite.id.desc())))
    now = utcnow()
    return rows if include_inactive else [i for i in rows if _usable(i, now)]


async def revoke_invite(session: AsyncSession, code: str, *, by: Actor | None = None) -> Invite:
    """The invite stops working at once; ``by`` (None: the operator) made it, or has MANAGE_INVITES."""
    invite = await session.scalar(select(Invite).where(Invite.code == code.strip()))
    if invite is None:
        raise NotFoundError(f"no invite with the code {code!r}")
    if by is not None and invite.created_by_id != by.id:
        await _require(session, by, Permission.MANAGE_INVITES)
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
    return invite


async def usable_invite(session: AsyncSession, code: str | None) -> Invite | None:
    """The invite with this code when it can still be used, else None."""
    if not code or not INVITE_CODE_RE.match(code):
        return None
    invite = await session.scalar(select(Invite).where(Invite.code == code))
    return invite if invite is not None and _usable(invite, utcnow()) else None


async def _use_invite(session: AsyncSession, invite: Invite) -> bool:
    """Count one use, unless a concurrent sign-up took the last one (a conditional UPDATE)."""
    now = utcnow()
    result = await session.execute(
        update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.revoked_at.is_(None),
            or_(Invite.expires_at.is_(None), Invite.expires_at > now),
            or_(Invite.max_uses.is_(None), Invite.uses < Invite.max_uses),
        )
        .values(uses=Invite.uses + 1)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


# ---- signing up ----


def _error(details: dict[str, list[dict[str, str]]], field: str, code: str, description: str) -> None:
    details.setdefault(field, []).append({"error": code, "description": description})


@dataclass(frozen=True)
class Application:
    """A sign-up's parameters, checked."""

    username: str
    email: str
    password: str
    reason: str
    locale: str | None
    language: str | None
    invite: Invite | None
    needs_approval: bool


@dataclass(frozen=True)
class Prepared:
    """What is slow to make for a new account (the password's hash, the RSA key pair), made before the
    transaction so that the database is not locked meanwhile."""

    password_hash: str
    keypair: tuple[str, str]


async def prepare(password: str) -> Prepared:
    """Hash the password and make the key pair, each in a thread."""
    password_hash, keypair = await asyncio.gather(
        accounts.hash_password(password), asyncio.to_thread(signing.generate_rsa_keypair)
    )
    return Prepared(password_hash, keypair)


async def check_sign_up(
    session: AsyncSession,
    settings: Settings,
    *,
    username: str | None,
    email: str | None,
    password: str | None,
    agreement: bool,
    locale: str | None = None,
    reason: str | None = None,
    invite_code: str | None = None,
) -> Application:
    """Check a sign-up without storing anything.

    ForbiddenError when registrations are closed (or by invite and no invite code is given), as
    Mastodon answers 403; RegistrationInvalid (422, with every field's errors) otherwise. A valid invite
    lets people in whatever the mode, and skips approval.
    """
    current = mode(settings)
    invite = await usable_invite(session, invite_code) if invite_code else None
    if current in ("closed", "invite") and not invite_code:
        raise ForbiddenError("This action is not allowed")
    details: dict[str, list[dict[str, str]]] = {}
    if invite_code and invite is None:
        _error(details, "invite_code", "ERR_INVALID", "is invalid, expired or used up")
    username = (username or "").strip()
    if not username:
        _error(details, "username", "ERR_BLANK", "can't be blank")
    else:
        try:
            accounts.check_username(username)
        except ValidationError as exc:
            reserved = username.lower() in accounts.RESERVED_USERNAMES
            code = "ERR_RESERVED" if reserved else "ERR_INVALID"
            _error(details, "username", code, str(exc).partition(": ")[2])
        else:
            taken = await session.scalar(
                select(Actor.id).where(func.lower(Actor.username) == username.lower(), Actor.domain.is_(None))
            )
            if taken is not None:
                _error(details, "username", "ERR_TAKEN", "is already taken")
    email = (email or "").strip()
    if not email:
        _error(details, "email", "ERR_BLANK", "can't be blank")
    elif len(email) > 320 or not EMAIL_RE.match(email):
        _error(details, "email", "ERR_INVALID", "is not an email address")
    elif await session.scalar(select(User.id).where(func.lower(User.email) == email.lower())) is not None:
        _error(details, "email", "ERR_TAKEN", "is already taken")
    if not password:
        _error(details, "password", "ERR_BLANK", "can't be blank")
    elif len(password) < accounts.MIN_PASSWORD_CHARS:
        _error(details, "password", "ERR_TOO_SHORT",
               f"is too short (minimum is {accounts.MIN_PASSWORD_CHARS} characters)")  # fmt: skip
    elif len(password) > MAX_PASSWORD_CHARS:
        _error(
            details, "password", "ERR_TOO_LONG", f"is too long (maximum is {MAX_PASSWORD_CHARS} characters)"
        )
    if not agreement:
        _error(details, "agreement", "ERR_ACCEPTED", "must be accepted")
    reason = (reason or "").strip()
    needs_approval = current == "approval" and invite is None
    if needs_approval and not reason:
        _error(details, "reason", "ERR_BLANK", "can't be blank")
    elif len(reason) > MAX_REASON_CHARS:
        _error(details, "reason", "ERR_TOO_LONG", f"is too long (maximum is {MAX_REASON_CHARS} characters)")
    language = None
    if locale:
        try:
            language = checked_language("locale", locale.split("-")[0].split("_")[0])
        except ValidationError:
            _error(details, "locale", "ERR_INCLUSION", "is not a known language")
    if details:
        raise RegistrationInvalid(details)
    assert password is not None
    return Application(username, email, password, reason, locale, language, invite, needs_approval)


async def sign_up(
    session: AsyncSession,
    settings: Settings,
    urls: LocalUrls,
    *,
    username: str | None,
    email: str | None,
    password: str | None,
    agreement: bool,
    locale: str | None = None,
    reason: str | None = None,
    invite_code: str | None = None,
    prepared: Prepared | None = None,
) -> SignedUp:
    """Make an account for someone signing up (the caller commits, then sends the mail): checked as
    :func:`check_sign_up` does (again, inside this transaction), with ``prepared`` made beforehand when
    given (see :func:`prepare`)."""
    app = await check_sign_up(
        session, settings, username=username, email=email, password=password, agreement=agreement,
        locale=locale, reason=reason, invite_code=invite_code,
    )  # fmt: skip
    if app.invite is not None and not await _use_invite(session, app.invite):
        raise RegistrationInvalid({"invite_code": [{"error": "ERR_INVALID", "description": "is used up"}]})
    ready = prepared or await prepare(app.password)
    actor = await accounts.create_account(
        session, urls, app.username, language=app.language, password_hash=ready.password_hash,
        keypair=ready.keypair,
    )  # fmt: skip
    user = await session.scalar(select(User).where(User.actor_id == actor.id))
    assert user is not None
    user.email = app.email
    now = utcnow()
    session.add(
        Signup(actor_id=actor.id, reason=app.reason, locale=app.locale,
               invite_id=app.invite.id if app.invite else None, confirmed_at=None,
               approved_at=None if app.needs_approval else now)
    )  # fmt: skip
    await session.flush()
    return SignedUp(actor, await _confirmation_mail(session, settings, urls, actor, app.email))


async def _new_token(session: AsyncSession, actor: Actor, purpose: str, lifetime: timedelta) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(
        EmailToken(
            token_hash=_digest(raw), actor_id=actor.id, purpose=purpose, expires_at=utcnow() + lifetime
        )
    )
    await session.flush()
    return raw


async def _confirmation_mail(
    session: AsyncSession, settings: Settings, urls: LocalUrls, actor: Actor, email: str
) -> Mail | None:
    if not settings.smtp.host:
        return None  # an admin confirms: fedigen account confirm NAME
    token = await _new_token(session, actor, "confirm", CONFIRM_LIFETIME)
    name = settings.instance.name
    body = (
        f"Welcome to {name}, @{actor.username}!\n\n"
        f"Confirm this email address by opening this link (it works for 24 hours):\n\n"
        f"{confirm_url(urls, token)}\n\n"
        f"If you did not sign up at {urls.base}, ignore this message.\n"
    )
    return Mail(email, f"{name}: confirm your email address", body)


async def resend_confirmation(
    session: AsyncSession, settings: Settings, urls: LocalUrls, actor: Actor
) -> Mail:
    """A new confirmation link for an account still waiting for one (POST /api/v1/emails/confirmations)."""
    signup = await session.scalar(select(Signup).where(Signup.actor_id == actor.id))
    if signup is None or signup.confirmed_at is not None:
        raise ForbiddenError("This method is only available while the e-mail is awaiting confirmation")
    user = await session.scalar(select(User).where(User.actor_id == actor.id))
    mail = await _confirmation_mail(session, settings, urls, actor, (user.email if user else None) or "")
    if mail is None or not mail.to:
        raise ForbiddenError("This instance sends no email: an admin confirms accounts")
    return mail


async def confirm_email(session: AsyncSession, token: str) -> Actor:
    """The link in the confirmation message was followed: the account's email is confirmed."""
    row = await _take_token(session, token, "confirm")
    signup = await session.scalar(select(Signup).where(Signup.actor_id == row.actor_id))
    if signup is not None and signup.confirmed_at is None:
        signup.confirmed_at = utcnow()
    actor = await session.get(Actor, row.actor_id)
    assert actor is not None
    return actor


async def _take_token(session: AsyncSession, token: str, purpose: str) -> EmailToken:
    """Use a mailed token once; ValidationError when unknown, used or expired."""
    row = await session.scalar(select(EmailToken).where(EmailToken.token_hash == _digest(token or "")))
    now = utcnow()
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now:
        raise ValidationError("token", "is invalid or expired")
    claimed = await session.execute(
        update(EmailToken)
        .where(EmailToken.id == row.id, EmailToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise ValidationError("token", "is invalid or expired")
    return row


# ---- what a signed-up account may do ----


async def login_refusal(session: AsyncSession, actor_id: int) -> str | None:
    """Why this account may not sign in or act yet (Mastodon's words), or None when it may."""
    signup = (await session.execute(_SIGNUP, {"actor_id": actor_id})).first()
    return refusal_of(signup) if signup is not None else None


# Built once; the account bound at execution.
_SIGNUP = select(Signup.confirmed_at, Signup.approved_at).where(Signup.actor_id == bindparam("actor_id"))


def refusal_of(signup: Any) -> str | None:
    """:func:`login_refusal` of an account with this sign-up (its ``confirmed_at`` and ``approved_at``)."""
    if signup.confirmed_at is None:
        return UNCONFIRMED
    if signup.approved_at is None:
        return PENDING
    return None


def waiting_ids() -> Select[int]:
    """The ids of accounts that cannot sign in yet: not counted among the instance's users."""
    return select(Signup.actor_id).where(or_(Signup.confirmed_at.is_(None), Signup.approved_at.is_(None)))


async def hidden(session: AsyncSession, actor: Actor) -> bool:
    """Whether a local account is kept from the world (WebFinger, its actor document, its profile) because
    it cannot sign in yet: other servers never learn of an applicant who may be turned away, as on
    Mastodon."""
    return actor.domain is None and await login_refusal(session, actor.id) is not None


async def pending(session: AsyncSession) -> Sequence[tuple[Actor, Signup]]:
    """Applicants waiting for approval, oldest first (for the admin accounts API and the CLI)."""
    rows = await session.execute(
        select(Actor, Signup).join(Signup, Signup.actor_id == Actor.id)
        .where(Signup.approved_at.is_(None)).order_by(Signup.id)
    )  # fmt: skip
    return [(a, s) for a, s in rows]


async def waiting(session: AsyncSession) -> Sequence[tuple[Actor, Signup]]:
    """Every signed-up account that cannot sign in yet (email unconfirmed or approval pending)."""
    rows = await session.execute(
        select(Actor, Signup).join(Signup, Signup.actor_id == Actor.id)
        .where(or_(Signup.approved_at.is_(None), Signup.confirmed_at.is_(None))).order_by(Signup.id)
    )  # fmt: skip
    return [(a, s) for a, s in rows]


async def signup_of(session: AsyncSession, actor: Actor) -> Signup | None:
    """The account's sign-up record (None for accounts made at the CLI)."""
    return await session.scalar(select(Signup).where(Signup.actor_id == actor.id))


async def _require(session: AsyncSession, by: Actor, permission: Permission) -> None:
    role = await session.scalar(select(User.role).where(User.actor_id == by.id))
    require(role, permission)


async def _signup_for(session: AsyncSession, target: Actor) -> Signup:
    if target.domain is not None:
        raise NotFoundError("no such local account")
    signup = await signup_of(session, target)
    if signup is None:
        raise ValidationError("account", f"@{target.username} did not sign up: nothing to approve or confirm")
    return signup


async def approve(session: AsyncSession, target: Actor, *, by: Actor | None = None) -> bool:
    """Let an applicant in (``by``: an account with MANAGE_USERS; None: the operator). False when it was
    approved already."""
    if by is not None:
        await _require(session, by, Permission.MANAGE_USERS)
    signup = await _signup_for(session, target)
    if signup.approved_at is not None:
        return False
    signup.approved_at = utcnow()
    return True


async def reject(session: AsyncSession, target: Actor, *, by: Actor | None = None) -> None:
    """Turn an applicant away: the account, never approved and never federated, is deleted (as
    Mastodon does)."""
    if by is not None:
        await _require(session, by, Permission.MANAGE_USERS)
    signup = await _signup_for(session, target)
    if signup.approved_at is not None:
        raise ValidationError("account", f"@{target.username} was approved already: suspend it instead")
    await session.execute(delete(Actor).where(Actor.id == target.id))


async def confirm(session: AsyncSession, target: Actor, *, by: Actor | None = None) -> bool:
    """Confirm an account's email for it (when no mail can be sent; ``by`` needs MANAGE_USER_ACCESS, an
    admin's, as on Mastodon). False when it was confirmed."""
    if by is not None:
        await _require(session, by, Permission.MANAGE_USER_ACCESS)
    signup = await _signup_for(session, target)
    if signup.confirmed_at is not None:
        return False
    signup.confirmed_at = utcnow()
    return True


# ---- passwords ----


async def request_password_reset(
    session: AsyncSession, settings: Settings, urls: LocalUrls, email: str
) -> Mail | None:
    """A reset link for the account with this email, when there is one and mail can be sent. The caller
    answers the same either way, so nobody learns which addresses have accounts."""
    if not settings.smtp.host or not email.strip():
        return None
    row = (
        await session.execute(
            select(Actor, User).join(User, User.actor_id == Actor.id)
            .where(func.lower(User.email) == email.strip().lower(), Actor.deleted_at.is_(None))
        )
    ).first()  # fmt: skip
    if row is None:
        return None
    actor, user = row
    token = await _new_token(session, actor, "reset", RESET_LIFETIME)
    name = settings.instance.name
    body = (
        f"Someone asked to reset the password of @{actor.username} on {name}.\n\n"
        f"Choose a new password by opening this link (it works once, for one hour):\n\n"
        f"{reset_url(urls, token)}\n\n"
        f"Or give this reset token to an app that asks for it:\n\n{token}\n\n"
        f"(Apps POST it with a new password to {urls.base}/api/fedigen/password_reset/confirm.)\n\n"
        f"If you did not ask for this, ignore this message: your password is unchanged.\n"
    )
    return Mail(user.email or email, f"{name}: reset your password", body)


async def set_password(session: AsyncSession, actor: Actor, password: str) -> None:
    """Give a local account a new password; every access token it had stops working."""
    if len(password) < accounts.MIN_PASSWORD_CHARS:
        raise ValidationError("password", f"must be at least {accounts.MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValidationError("password", f"must be at most {MAX_PASSWORD_CHARS} characters")
    user = await session.scalar(select(User).where(User.actor_id == actor.id))
    if user is None:
        raise NotFoundError("no such local account")
    user.password_hash = await accounts.hash_password(password)
    await session.execute(
        update(OAuthToken)
        .where(OAuthToken.account_id == actor.id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def reset_password(session: AsyncSession, token: str, password: str) -> Actor:
    """A mailed reset token and a new password: the password is changed (the token used once). Having
    received the mail proves the address too, so an unconfirmed account is confirmed."""
    if len(password) < accounts.MIN_PASSWORD_CHARS:
        raise ValidationError("password", f"must be at least {accounts.MIN_PASSWORD_CHARS} characters")
    row = await _take_token(session, token, "reset")
    actor = await session.get(Actor, row.actor_id)
    assert actor is not None
    await set_password(session, actor, password)
    signup = await signup_of(session, actor)
    if signup is not None and signup.confirmed_at is None:
        signup.confirmed_at = utcnow()
    return actor
