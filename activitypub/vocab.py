"""ActivityStreams vocabulary we speak: contexts, types, media types, and Mastodon-style addressing."""

from __future__ import annotations

from typing import Any

from storage.vocabulary import Visibility

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

FEDIGEN_NS = "https://w3id.org/fedigen/ns#"
# IPTC's term for media made by a trained model (https://cv.iptc.org/newscodes/digitalsourcetype/).
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

AS2_MEDIA_TYPE = "application/activity+json"
LD_MEDIA_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

# Extension terms Mastodon and others read, declared inline so JSON-LD processors resolve them
# without fetching anything (https://docs.joinmastodon.org/spec/activitypub/#extensions).
EXTENSION_CONTEXT: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "suspended": "toot:suspended",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "votersCount": "toot:votersCount",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    # FEP-2c59: the actor names its WebFinger address.
    "wf": "https://purl.archive.org/socialweb/webfinger#",
    "webfinger": {"@id": "wf:webfinger", "@type": "xsd:string"},
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    # FEP-044f quote posts (Mastodon 4.5+), with the older quoteUrl / _misskey_quote forms, and the
    # GoToSocial interaction-policy terms Mastodon uses to say who may quote (https://w3id.org/fep/044f).
    "quote": {"@id": "https://w3id.org/fep/044f#quote", "@type": "@id"},
    "quoteAuthorization": {"@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id"},
    "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
    "QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
    "quoteUrl": "as:quoteUrl",
    "misskey": "https://misskey-hub.net/ns#",
    "_misskey_quote": "misskey:_misskey_quote",
    "gts": "https://gotosocial.org/ns#",
    "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
    "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
    "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
    "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
    "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
    "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
    # fedigen's own terms: how an image was made, and what it remixes (FEDERATION.md).
    "fedigen": FEDIGEN_NS,
    "Generation": "fedigen:Generation",
    "generation": {"@id": "fedigen:generation"},
    "prompt": "fedigen:prompt",
    "negativePrompt": "fedigen:negativePrompt",
    "backend": "fedigen:backend",
    "model": "fedigen:model",
    "seed": "fedigen:seed",
    "promptPrivate": "fedigen:promptPrivate",
    "remixOf": {"@id": "fedigen:remixOf", "@type": "@id"},
    "digitalSourceType": {"@id": "fedigen:digitalSourceType", "@type": "@id"},
    # An account's privacy choices (docs/privacy.md): no AI training on its posts and images, and
    # whether others may remix them.
    "aiTrainingOptOut": "fedigen:aiTrainingOptOut",
    "allowRemixes": "fedigen:allowRemixes",
}

CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, EXTENSION_CONTEXT]

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
# Object types we store and show as statuses (Mastodon reads these as Notes too).
NOTE_TYPES = frozenset({"Note", "Question", "Article", "Page", "Image", "Video", "Audio", "Event"})

VISIBILITIES: tuple[Visibility, ...] = tuple(Visibility)


def address(visibility: Visibility, followers_url: str, mentioned: list[str]) -> tuple[list[str], list[str]]:
    """``to`` and ``cc`` for a post, the way Mastodon writes and reads them.

    public: Public in ``to``; unlisted: Public in ``cc``; followers: the followers collection
    without Public; direct: only the mentioned actors
    (https://docs.joinmastodon.org/spec/activitypub/#properties-used).
    """
    if visibility == Visibility.PUBLIC:
        return [PUBLIC], [followers_url, *mentioned]
    if visibility == Visibility.UNLISTED:
        return [followers_url], [PUBLIC, *mentioned]
    if visibility == Visibility.FOLLOWERS:
        return [followers_url], list(mentioned)
    return list(mentioned), []


def visibility_of(to: list[str], cc: list[str], followers_url: str | None) -> Visibility:
    """Read a remote post's visibility from its (Public-normalised) audience."""
    if PUBLIC in to:
        return Visibility.PUBLIC
    if PUBLIC in cc:
        return Visibility.UNLISTED
    if followers_url and (followers_url in to or followers_url in cc):
        return Visibility.FOLLOWERS
    return Visibility.DIRECT
