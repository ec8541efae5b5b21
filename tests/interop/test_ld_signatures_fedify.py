"""Linked Data signatures made by Fedify now (its signJsonLd, on jsonld.js + rdf-canonize) with a fresh key,
checked by fedigen's activitypub.ldsig (pyld): the committed fixtures of tests/support/ld_signatures.json
are not the only Fedify output fedigen agrees with."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest

from activitypub import ldsig
from activitypub.errors import OriginError
from activitypub.signatures import PublicKey
from activitypub.signing import generate_rsa_keypair
from tests.interop.peer_process import ensure_installed
from tests.support import ld_fixtures

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def fresh() -> tuple[str, dict[str, dict[str, Any]]]:
    reason = ensure_installed()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Fedify peer must run in CI: {reason}")
        pytest.skip(reason)
    # The suite's pooled keys are made by cryptography too; a key Fedify never saw before either way.
    private, public = generate_rsa_keypair()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    docs = ld_fixtures.documents()
    return public, ld_fixtures.sign_with_fedify(docs, private_pem=private, created=now)


async def _lookup_for(public: str) -> Any:
    async def lookup(key_id: str, refresh: bool) -> PublicKey:
        return PublicKey(key_id, ld_fixtures.CAROL, public)

    return lookup


@pytest.mark.parametrize("name", ["create", "delete", "foreign_object"])
async def test_fresh_fedify_signatures_verify(
    fresh: tuple[str, dict[str, dict[str, Any]]], name: str
) -> None:
    public, docs = fresh
    who, _ = await ldsig.verify(docs[name], await _lookup_for(public))
    assert who.owner == ld_fixtures.CAROL


async def test_a_fresh_signature_fails_once_a_word_changes(
    fresh: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    public, docs = fresh
    doc = dict(docs["create"])
    doc["object"] = {**doc["object"], "content": doc["object"]["content"].replace("Nice", "Nasty")}
    with pytest.raises(OriginError, match="does not verify"):
        await ldsig.verify(doc, await _lookup_for(public))
