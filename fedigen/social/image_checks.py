"""The image classifier: the one home that checks generated and uploaded images.

When ``[moderation] classifier_url`` (or its alias ``[generation] moderation_url``) is set, each image
is sent, as a small PNG without metadata, to an OpenAI-compatible moderation endpoint
(:class:`generation.image_rules.ImageClassifier`), and the instance's rules decide: ``refuse_if`` refuses
the image (recorded in :mod:`fedigen.social.refusals` for moderators), ``sensitive_if`` marks it
sensitive (kept on the media row as ``meta["moderation"]``; a post carrying it is marked sensitive by
:func:`fedigen.social.posts.create_post`). When the classifier cannot answer, ``on_error`` decides:
allow, hold (try again later) or refuse.

The call is made outside any database transaction, on the one pooled client, so a classifier on a
loopback or private address is reached only when ``[federation] allow_private_addresses`` is true.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fedigen.services import Services
from fedigen.social import refusals
from generation.image_rules import (
    ALLOW,
    REFUSE,
    SENSITIVE,
    ClassifierError,
    ImageClassifier,
    judge,
    parse_rules,
)
from storage import MediaError
from storage.images import classifier_copy_async
from storage.models import MediaAttachment

log = logging.getLogger(__name__)

HOLD = "hold"
__all__ = ["ALLOW", "HOLD", "REFUSE", "SENSITIVE", "Outcome", "check_image", "check_upload", "checks",
           "classifier", "marked_sensitive", "refused", "with_verdict"]  # fmt: skip
REFUSED_MESSAGE = "This image is not allowed on this instance"
UNCHECKED_MESSAGE = "The image could not be checked"


@dataclass(frozen=True)
class Outcome:
    """What becomes of one image: allow, sensitive, refuse or hold; ``record`` is kept on its row."""

    action: str
    reason: str = ""
    record: dict[str, Any] = field(default_factory=dict)


def classifier(svc: Services) -> ImageClassifier | None:
    """The configured classifier, or None when there is none."""
    url, model, api_key = svc.settings.classifier
    if not url:
        return None
    return ImageClassifier(
        svc.http, url, model=model, api_key=api_key, timeout=svc.settings.moderation.timeout
    )


def checks(svc: Services, what: str) -> bool:
    """Whether ``what`` ("uploads" or "generated") images are checked."""
    m = svc.settings.moderation
    wanted = m.check_uploads if what == "uploads" else m.check_generated
    return wanted and bool(svc.settings.classifier[0])


async def check_image(svc: Services, data: bytes) -> Outcome:
    """Classify one encoded image and apply the rules (network call: never inside a transaction)."""
    client = classifier(svc)
    if client is None:
        return Outcome(ALLOW)
    try:
        copy = await classifier_copy_async(data, svc.media.limits)
    except MediaError:
        return Outcome(ALLOW)  # not an image the pipeline takes: it refuses it next, with its own reason
    m = svc.settings.moderation
    try:
        result = await client.classify(copy, "image/png")
    except ClassifierError as exc:
        log.warning("image classifier at %s: %s", client.url, exc)
        record = {"action": m.on_error, "error": str(exc)}
        if m.on_error == "allow":
            return Outcome(ALLOW, "", {**record, "action": ALLOW, "unchecked": True})
        if m.on_error == "refuse":
            return Outcome(REFUSE, f"{UNCHECKED_MESSAGE} ({exc}).", {**record, "action": REFUSE})
        return Outcome(HOLD, f"{UNCHECKED_MESSAGE} ({exc}); it will be tried again.", record)
    verdict = judge(result, parse_rules(m.refuse_if), parse_rules(m.sensitive_if))
    if verdict.action == REFUSE:
        return Outcome(REFUSE, f"{REFUSED_MESSAGE} ({', '.join(verdict.matched)}).", verdict.record())
    return Outcome(verdict.action, "", verdict.record())


async def check_upload(svc: Services, data: bytes, account_id: int | None) -> Outcome:
    """An upload's outcome (a refusal recorded for moderators); ALLOW when uploads are not checked."""
    if not checks(svc, "uploads"):
        return Outcome(ALLOW)
    outcome = await check_image(svc, data)
    if outcome.action == REFUSE:
        await refused(svc, outcome, "upload", account_id=account_id)
    return outcome


def with_verdict(meta: dict[str, Any] | None, outcome: Outcome) -> dict[str, Any]:
    """A media row's ``meta`` with the classifier's verdict (when there is one)."""
    return {**(meta or {}), "moderation": outcome.record} if outcome.record else dict(meta or {})


def marked_sensitive(media: Iterable[MediaAttachment]) -> bool:
    """Whether the classifier's rules marked any of these images sensitive."""
    return any(
        isinstance(m.meta, dict) and (m.meta.get("moderation") or {}).get("action") == SENSITIVE
        for m in media
    )


async def refused(
    svc: Services, outcome: Outcome, origin: str, *, account_id: int | None, prompt: str | None = None,
    job_id: int | None = None,
) -> None:  # fmt: skip
    """Record an image the rules refused, for moderators (in a transaction of its own)."""
    await refusals.record_apart(
        svc,
        refusals.refusal(refusals.IMAGE, origin, outcome.reason, account_id=account_id, prompt=prompt,
                         job_id=job_id, details=outcome.record),
    )  # fmt: skip
