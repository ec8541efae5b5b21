"""Activities with Linked Data signatures (RsaSignature2017) made by an independent signer, for the tests
of activitypub.ldsig and of forwarded activities at the inbox.

The documents are shaped as Mastodon serializes them (app/serializers/activitypub/note_serializer.rb,
activity_serializer.rb and delete_serializer.rb; the @context is built from the extension map in
app/helpers/context_helper.rb): carol on origin.test replies to bob's post on forwarder.test and
mentions alice on fedigen.test; bob's server forwards the reply (and later carol's Delete of it) to
bob's followers, signing the HTTP request itself (app/lib/activitypub/forwarder.rb).

They are signed by Fedify's ``signJsonLd`` (tests/interop/peer/ldsign.mjs, jsonld.js + rdf-canonize),
never by fedigen's own code, and kept in ``ld_signatures.json`` with the test key. Regenerate with
``python -m tests.support.ld_fixtures`` (needs the interop peer's Node, see tests/interop/peer/README.md).

Numbers: Ruby and Python keep 0.5 and 1.0 apart from 1, JavaScript does not (1.0 is the integer 1
there, xsd:integer rather than xsd:double in the RDF), so the documents only hold non-integral floats.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.interop.peer_process import PEER_DIR, node_binary

FIXTURE = Path(__file__).with_name("ld_signatures.json")
SIGNER = PEER_DIR / "ldsign.mjs"

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ORIGIN = "http://origin.test"
FORWARDER = "http://forwarder.test"
CAROL = f"{ORIGIN}/users/carol"
CAROL_KEY = f"{CAROL}#main-key"
DAVE = f"{ORIGIN}/users/dave"
DAVE_KEY = f"{DAVE}#main-key"
BOB = f"{FORWARDER}/users/bob"
ALICE = "http://fedigen.test/users/alice"
STATUS = f"{CAROL}/statuses/113000000000000001"
THREAD = f"{BOB}/statuses/112999999999999999"
CREATED = "2026-01-02T10:00:01Z"
UNKNOWN_CONTEXT = "http://unknown-context.test/ns"

# ContextHelper::CONTEXT_EXTENSION_MAP entries a Create{Note} with a mention, a hashtag and an image pulls
# in: atom_uri, conversation, sensitive, voters_count, quotes, interaction_policies (the Note),
# blurhash, focal_point (the attachment), hashtag (the tag).
NOTE_CONTEXT: list[Any] = [
    AS,
    {
        "ostatus": "http://ostatus.org#",
        "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
        "quote": "https://w3id.org/fep/044f#quote",
        "quoteUri": "http://fedibird.com/ns#quoteUri",
        "_misskey_quote": "https://misskey-hub.net/ns#_misskey_quote",
        "quoteAuthorization": {"@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id"},
        "gts": "https://gotosocial.org/ns#",
        "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
        "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
        "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
        "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "Hashtag": "as:Hashtag",
    },
]


def reply_note(
    content: str = '<p>Nice one, <span class="h-card"><a href="http://fedigen.test/@alice" '
    'class="u-url mention">@<span>alice</span></a></span> <a href="http://origin.test/tags/'
    'remix" class="mention hashtag" rel="tag">#<span>remix</span></a></p>',
) -> dict[str, Any]:
    """carol's reply, as ActivityPub::NoteSerializer writes a local post with a mention, a tag, an image."""
    return {
        "id": STATUS,
        "type": "Note",
        "summary": None,
        "inReplyTo": THREAD,
        "published": "2026-01-02T10:00:00Z",
        "url": f"{ORIGIN}/@carol/113000000000000001",
        "attributedTo": CAROL,
        "to": [PUBLIC],
        "cc": [f"{CAROL}/followers", BOB, ALICE],
        "sensitive": False,
        "atomUri": STATUS,
        "inReplyToAtomUri": THREAD,
        "conversation": "tag:forwarder.test,2026-01-02:objectId=4242:objectType=Conversation",
        "content": content,
        "contentMap": {"en": content},
        "attachment": [
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": f"{ORIGIN}/system/media_attachments/files/113/000/001/original/a1b2.png",
                "name": "a fox in the snow",
                "blurhash": "UCF~t;%M00of~qWBWBof00WB-;of",
                "focalPoint": [0.5, -0.25],
                "width": 640,
                "height": 480,
            }
        ],
        "tag": [
            {"type": "Mention", "href": ALICE, "name": "@alice@fedigen.test"},
            {"type": "Hashtag", "href": f"{ORIGIN}/tags/remix", "name": "#remix"},
        ],
        "replies": {
            "id": f"{STATUS}/replies",
            "type": "Collection",
            "first": {
                "type": "CollectionPage",
                "next": f"{STATUS}/replies?only_other_accounts=true&page=true",
                "partOf": f"{STATUS}/replies",
                "items": [],
            },
        },
        "likes": {"id": f"{STATUS}/likes", "type": "Collection", "totalItems": 0},
        "shares": {"id": f"{STATUS}/shares", "type": "Collection", "totalItems": 0},
        "interactionPolicy": {"canQuote": {"automaticApproval": [PUBLIC]}},
    }


def reply_create(note: dict[str, Any] | None = None, context: list[Any] | None = None) -> dict[str, Any]:
    """ActivityPub::ActivitySerializer's Create of the reply."""
    note = note or reply_note()
    return {
        "@context": context or NOTE_CONTEXT,
        "id": f"{STATUS}/activity",
        "type": "Create",
        "actor": CAROL,
        "published": "2026-01-02T10:00:00Z",
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }


def reply_delete() -> dict[str, Any]:
    """ActivityPub::DeleteSerializer: a Tombstone with its atomUri, to Public."""
    return {
        "@context": [AS, {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"}],
        "id": f"{STATUS}#delete",
        "type": "Delete",
        "actor": CAROL,
        "to": [PUBLIC],
        "object": {"id": STATUS, "type": "Tombstone", "atomUri": STATUS},
    }


def unknown_context_create() -> dict[str, Any]:
    """The reply under a context nobody bundles (one more term): validly signed by a signer that had it."""
    note = reply_note("<p>Mood: sunny</p>")
    note["mood"] = "sunny"
    return reply_create(note, [*NOTE_CONTEXT, UNKNOWN_CONTEXT])


UNKNOWN_CONTEXT_DOCUMENT = {"@context": {"mood": f"{UNKNOWN_CONTEXT}#mood"}}


def foreign_object_create() -> dict[str, Any]:
    """carol's Create of a Note whose id is on bob's server (attributed to carol all the same)."""
    note = reply_note("<p>not mine to create</p>")
    note["id"] = note["atomUri"] = f"{BOB}/statuses/113000000000000777"
    create = reply_create(note)
    create["id"] = f"{CAROL}/statuses/113000000000000777/activity"
    return create


def documents() -> dict[str, dict[str, Any]]:
    """Signed by carol's key."""
    return {
        "create": reply_create(), "delete": reply_delete(), "unknown_context": unknown_context_create(),
        "foreign_object": foreign_object_create(),
    }  # fmt: skip


def documents_by_dave() -> dict[str, dict[str, Any]]:
    """Signed by dave's key (another account on carol's server) though carol is the actor."""
    return {"create_signed_by_dave": reply_create()}


def sign_with_fedify(
    docs: dict[str, dict[str, Any]], *, private_pem: str, key_id: str = CAROL_KEY, created: str = CREATED
) -> dict[str, dict[str, Any]]:
    """Sign each document with Fedify's signJsonLd (Node); AssertionError if Node is missing."""
    node = node_binary()
    assert node is not None, "the interop peer's Node 22 is needed (tests/interop/peer/README.md)"
    request = {
        "documents": docs, "private_key_pem": private_pem, "key_id": key_id, "created": created,
        "extra_contexts": {UNKNOWN_CONTEXT: UNKNOWN_CONTEXT_DOCUMENT},
    }  # fmt: skip
    proc = subprocess.run(
        [str(node), str(SIGNER)], input=json.dumps(request), capture_output=True, text=True,
        cwd=PEER_DIR, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    signed: dict[str, dict[str, Any]] = json.loads(proc.stdout)
    return signed


def load() -> dict[str, Any]:
    """{"key": {"private_pem", "public_pem"}, "documents": {name: signed document}}."""
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def _new_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private, public


def main() -> None:
    private, public = _new_key()
    signed = sign_with_fedify(documents(), private_pem=private)
    signed |= sign_with_fedify(documents_by_dave(), private_pem=private, key_id=DAVE_KEY)
    for doc in signed.values():
        # Fedify repeats the options' @context in the object; Mastodon's object has only type, creator,
        # created and signatureValue. The options hash is made under that context either way.
        doc["signature"].pop("@context", None)
    data = {
        "comment": "Made by tests/support/ld_fixtures.py with Fedify's signJsonLd; a test-only key.",
        "key": {"key_id": CAROL_KEY, "private_pem": private, "public_pem": public},
        "documents": signed,
    }
    FIXTURE.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
