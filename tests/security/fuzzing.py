"""Mutated request bodies for the inbox and the client API, reproducible from a seed.

Each body starts from a valid one (a Create of a Note mentioning someone, a Follow, a Like, an Update,
a status with a poll-shaped field...) and gets a few mutations: a value replaced by another type, a key
dropped or added, strings made huge, odd or nested, ids pointed elsewhere. ``tests/security/test_fuzz.py``
runs a bounded number in the suite; ``benchmarks/fuzz.py`` runs as many as asked.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

ODD_STRINGS = [
    "",
    " ",
    "\u0000",
    "\u200b@victim@evil.example",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "http://127.0.0.1/",
    "file:///etc/passwd",
    "%s%s%n",
    "a" * 5000,
    "\U0001f600" * 300,
    "\ud800",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "not a date",
    "https://www.w3.org/ns/activitystreams#Public",
    "as:Public",
    "https://remote.test/users/bob",
    "http://fedigen.test/users/alice",
    "#tag",
    "@alice",
]
ODD_VALUES: list[Any] = [None, True, 0, -1, 2**63, 1e308, [], {}, [None], {"id": None}, [[[[]]]], ["a"] * 200]


def _odd(rng: random.Random) -> Any:
    pick = rng.random()
    if pick < 0.45:
        return rng.choice(ODD_STRINGS)
    if pick < 0.8:
        return copy.deepcopy(rng.choice(ODD_VALUES))  # never one object in two places
    depth = rng.randint(20, 60)
    value: Any = "deep"
    for _ in range(depth):
        value = [value] if rng.random() < 0.5 else {"object": value}
    return value


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _set(doc: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> None:
    for step in path[:-1]:
        doc = doc[step]
    if delete:
        if isinstance(doc, dict):
            doc.pop(path[-1], None)
        elif isinstance(doc, list) and doc:
            doc.pop(path[-1])
    else:
        doc[path[-1]] = value


def mutate(doc: dict[str, Any], rng: random.Random, *, keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """A copy of ``doc`` with one to four mutations; top-level ``keep`` keys stay as they are."""
    out: dict[str, Any] = json.loads(json.dumps(doc))
    for _ in range(rng.randint(1, 4)):
        paths = [p for p in _paths(out) if p[0] not in keep]
        if not paths:
            break
        path = rng.choice(paths)
        action = rng.random()
        try:
            if action < 0.6:
                _set(out, path, _odd(rng))
            elif action < 0.8:
                _set(out, path, None, delete=True)
            else:
                parent = path[:-1]
                target = out
                for step in parent:
                    target = target[step]
                if isinstance(target, dict):
                    target[
                        rng.choice(
                            [
                                "tag",
                                "attachment",
                                "inReplyTo",
                                "quote",
                                "generation",
                                "to",
                                "cc",
                                "published",
                                "updated",
                                "url",
                                "summary",
                                "contentMap",
                                "actor",
                            ]
                        )
                    ] = _odd(rng)
        except (KeyError, IndexError, TypeError):
            continue
    return out


def inbox_seeds(actor: str, local: str) -> list[dict[str, Any]]:
    """Valid activities from ``actor`` (its host's ids) that concern the local account ``local``."""
    public = "https://www.w3.org/ns/activitystreams#Public"
    note = {
        "id": f"{actor}/statuses/1",
        "type": "Note",
        "attributedTo": actor,
        "content": "<p>hi</p>",
        "to": [public],
        "cc": [f"{actor}/followers", local],
        "published": "2024-01-01T00:00:00Z",
        "tag": [
            {"type": "Mention", "href": local, "name": "@alice@fedigen.test"},
            {"type": "Hashtag", "name": "#art", "href": "https://remote.test/tags/art"},
        ],
        "attachment": [
            {
                "type": "Image",
                "mediaType": "image/png",
                "url": "https://remote.test/a.png",
                "name": "alt",
                "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                "width": 10,
                "height": 10,
            }
        ],
        "generation": {"type": "Generation", "prompt": "a fox", "seed": 1},
    }
    return [
        {
            "id": f"{actor}/activities/create",
            "type": "Create",
            "actor": actor,
            "object": note,
            "to": note["to"],
            "cc": note["cc"],
        },
        {
            "id": f"{actor}/activities/update",
            "type": "Update",
            "actor": actor,
            "object": note,
            "to": [public],
        },
        {"id": f"{actor}/activities/follow", "type": "Follow", "actor": actor, "object": local},
        {"id": f"{actor}/activities/like", "type": "Like", "actor": actor, "object": f"{local}/statuses/1"},
        {
            "id": f"{actor}/activities/announce",
            "type": "Announce",
            "actor": actor,
            "object": f"{local}/statuses/1",
            "to": [public],
        },
        {
            "id": f"{actor}/activities/undo",
            "type": "Undo",
            "actor": actor,
            "object": {"id": f"{actor}/activities/follow", "type": "Follow", "actor": actor, "object": local},
        },
        {
            "id": f"{actor}/activities/flag",
            "type": "Flag",
            "actor": actor,
            "object": [local],
            "content": "spam",
        },
        {"id": f"{actor}/activities/move", "type": "Move", "actor": actor, "object": actor, "target": local},
        {
            "id": f"{actor}/activities/quote",
            "type": "QuoteRequest",
            "actor": actor,
            "object": f"{local}/statuses/1",
            "instrument": f"{actor}/statuses/2",
        },
        {
            "id": f"{actor}/activities/delete",
            "type": "Delete",
            "actor": actor,
            "object": f"{actor}/statuses/1",
        },
    ]


API_SEEDS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "POST",
        "/api/v1/statuses",
        {
            "status": "hello @bob@remote.test #art",
            "visibility": "public",
            "spoiler_text": "",
            "sensitive": False,
            "media_ids": [],
            "language": "en",
        },
    ),
    (
        "PATCH",
        "/api/v1/accounts/update_credentials",
        {"display_name": "A", "note": "bio", "fields_attributes": [{"name": "a", "value": "b"}]},
    ),
    ("POST", "/api/v1/fedigen/generations", {"prompt": "a fox", "size": "64x64", "count": 1, "seed": 3}),
    ("GET", "/api/v2/search", {"q": "@bob@remote.test", "resolve": True, "limit": 5}),
    ("POST", "/api/v1/reports", {"account_id": "1", "comment": "x"}),
    ("POST", "/api/v1/apps", {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}),
]


def unique_ids(doc: dict[str, Any], actor: str, n: int) -> dict[str, Any]:
    """Give a mutated activity a fresh id on the actor's host (so the inbox's dedupe lets it through)."""
    if isinstance(doc.get("id"), str):
        doc["id"] = f"{actor}/fuzz/{n}"
    return doc
