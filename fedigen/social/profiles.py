"""Profile changes of a local account (display name, bio, avatar, header, flags, fields, its default
posting language), sent as Update."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import update_of_actor
from activitypub.content import text_to_html
from activitypub.outbox import publish
from fedigen.errors import ValidationError
from fedigen.languages import checked as checked_language
from fedigen.services import Services
from fedigen.social.media import media_url
from storage import MediaError
from storage.attachments import StoredImage, add_attachment, store_image
from storage.models import Actor, User, utcnow

# Mastodon's limits (app/models/account.rb).
MAX_DISPLAY_NAME = 30
MAX_NOTE = 500
MAX_FIELDS = 4
MAX_FIELD_CHARS = 255


@dataclass
class ProfileChanges:
    """What a client asks to change; None leaves a value as it is."""

    display_name: str | None = None
    note: str | None = None
    # Image bytes, or already in the store (:func:`with_stored_images`, before the transaction opens).
    avatar: bytes | StoredImage | None = None
    header: bytes | StoredImage | None = None
    locked: bool | None = None
    bot: bool | None = None
    discoverable: bool | None = None
    indexable: bool | None = None
    fields: list[dict[str, str]] | None = None
    # The default posting language (Mastodon's ``source[language]``): an ISO 639-1 code, "" for none.
    language: str | None = None
    # Privacy (docs/privacy.md): no AI training on the account's posts and images; others may remix them.
    ai_training_opt_out: bool | None = None
    allow_remixes: bool | None = None


def field_html(svc: Services, text: str) -> str:
    """A profile field's value as HTML: the text escaped, its links and hashtags linked, on one line."""
    html = text_to_html(" ".join(text.split()), tag_url=svc.urls.tag, mention_urls={})
    return html.removeprefix("<p>").removesuffix("</p>")


def _check(changes: ProfileChanges) -> None:
    checked_language("source[language]", changes.language)
    if changes.display_name is not None and len(changes.display_name) > MAX_DISPLAY_NAME:
        raise ValidationError("display_name", f"is too long (maximum is {MAX_DISPLAY_NAME} characters)")
    if changes.note is not None and len(changes.note) > MAX_NOTE:
        raise ValidationError("note", f"is too long (maximum is {MAX_NOTE} characters)")
    if changes.fields is not None:
        if len(changes.fields) > MAX_FIELDS:
            raise ValidationError("fields_attributes", f"at most {MAX_FIELDS} fields")
        for item in changes.fields:
            if len(item.get("name", "")) > MAX_FIELD_CHARS or len(item.get("value", "")) > MAX_FIELD_CHARS:
                raise ValidationError(
                    "fields_attributes", f"names and values up to {MAX_FIELD_CHARS} characters"
                )


async def _stored(svc: Services, field: str, image: bytes | StoredImage) -> StoredImage:
    if isinstance(image, StoredImage):
        return image
    try:
        return await store_image(svc.media, image)
    except MediaError as exc:
        raise ValidationError(field, str(exc)) from None


async def with_stored_images(svc: Services, changes: ProfileChanges) -> ProfileChanges:
    """``changes`` with its avatar and header through the image pipeline and into the media store, for
    a caller to do before it opens the transaction (a slow store never holds the write lock); a bad
    image is a :class:`ValidationError` of its field."""
    avatar = await _stored(svc, "avatar", changes.avatar) if changes.avatar is not None else None
    header = await _stored(svc, "header", changes.header) if changes.header is not None else None
    return replace(changes, avatar=avatar, header=header)


async def _image_url(
    svc: Services, session: AsyncSession, actor: Actor, image: bytes | StoredImage, field: str
) -> str:
    stored = await _stored(svc, field, image)
    description = f"{field} of {actor.username}"
    row = await add_attachment(session, stored, account_id=actor.id, description=description)
    # Kept off posts: an avatar's media row is not one of the account's attachable uploads.
    row.state = "profile"
    return media_url(svc, row.federation_key or "")


async def update_profile(
    svc: Services, session: AsyncSession, actor: Actor, changes: ProfileChanges
) -> Actor:
    """Apply the changes (new images through the one image pipeline) and publish Update; caller commits."""
    if actor.domain is not None:
        raise ValidationError("account", "only local accounts have profiles to edit")
    _check(changes)
    if changes.avatar is not None:
        actor.icon_url = await _image_url(svc, session, actor, changes.avatar, "avatar")
    if changes.header is not None:
        actor.image_url = await _image_url(svc, session, actor, changes.header, "header")
    if changes.display_name is not None:
        actor.display_name = changes.display_name.strip()
    if changes.note is not None:
        actor.summary = (
            text_to_html(changes.note, tag_url=svc.urls.tag, mention_urls={}) if changes.note else ""
        )
    if changes.locked is not None:
        actor.locked = changes.locked
    if changes.bot is not None:
        actor.ap_type = "Service" if changes.bot else "Person"
    if changes.discoverable is not None:
        actor.discoverable = changes.discoverable
    if changes.indexable is not None:
        actor.indexable = changes.indexable
    if changes.ai_training_opt_out is not None:
        actor.ai_training_opt_out = changes.ai_training_opt_out
    if changes.allow_remixes is not None:
        actor.allow_remixes = changes.allow_remixes
    if changes.language is not None:
        actor.default_language = checked_language("source[language]", changes.language)
    if changes.fields is not None:
        # As Mastodon keeps them: the name as plain text, the value as HTML made from the text, and the
        # text itself for editing (the API's ``source.fields``).
        actor.fields = [
            {"name": f.get("name", "").strip(), "value": field_html(svc, f.get("value", "")),
             "source": f.get("value", "").strip()}
            for f in changes.fields
            if f.get("name", "").strip() or f.get("value", "").strip()
        ]  # fmt: skip
    actor.updated_at = utcnow()
    await session.flush()
    await publish(session, actor, update_of_actor(actor, svc.urls))
    return actor


# Mastodon's names for the visibilities (its API calls "followers" "private").
VISIBILITY_CHOICES = ("public", "unlisted", "followers", "direct")


async def default_visibility(session: AsyncSession, actor: Actor) -> str:
    """The visibility a local account's posts get when none is asked for ("public" for others)."""
    value = await session.scalar(select(User.default_visibility).where(User.actor_id == actor.id))
    return value if value in VISIBILITY_CHOICES else "public"


async def update_preferences(
    session: AsyncSession, actor: Actor, *, default_visibility: str | None = None,
    private_prompts: bool | None = None,
) -> User:  # fmt: skip
    """A local account's posting preferences (kept on its login, never federated); None leaves a value."""
    user = await session.scalar(select(User).where(User.actor_id == actor.id))
    if user is None or actor.domain is not None:
        raise ValidationError("account", "only local accounts have preferences")
    if default_visibility is not None:
        value = "followers" if default_visibility == "private" else default_visibility
        if value not in VISIBILITY_CHOICES:
            raise ValidationError("default_visibility", f"expected one of {', '.join(VISIBILITY_CHOICES)}")
        user.default_visibility = value
    if private_prompts is not None:
        user.private_prompts = private_prompts
    await session.flush()
    return user
