"""activitypub.schemes' rules on their own: versions, domains, NodeInfo links, what counts as a refusal;
and SignatureAuth signing in the scheme it is given. The flows: tests/flows/test_signature_schemes.py."""

from __future__ import annotations

import httpx
import pytest

from activitypub.schemes import (
    Software,
    accepted,
    cavage_only_domain,
    host_of,
    nodeinfo_link,
    nodeinfo_software,
    other,
    refused_signature,
    verifies_rfc9421,
)
from activitypub.signing import DRAFT_CAVAGE, RFC9421, SignatureAuth, SigningKey, generate_rsa_keypair


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("mastodon", "4.5.0", True),
        ("mastodon", "4.5.2+glitch", True),
        ("Mastodon", "4.10.0", True),
        ("mastodon", "5.0.0-alpha.1", True),
        ("mastodon", "4.4.7", False),
        ("mastodon", "4.4.0-nightly.2025-10-01", False),
        ("mastodon", "", False),
        ("gotosocial", "0.20.0", False),
        ("bridgy-fed", "4.5", False),
    ],
)
def test_which_software_verifies_rfc9421(name: str, version: str, expected: bool) -> None:
    assert verifies_rfc9421(Software(name, version)) is expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [("bsky.brid.gy", True), ("brid.gy", True), ("web.brid.gy:443", True), ("notbrid.gy", False),
     ("brid.gy.example", False), ("mastodon.social", False)],
)  # fmt: skip
def test_bridgy_fed_domains(host: str, expected: bool) -> None:
    assert cavage_only_domain(host) is expected


def test_nodeinfo_link_prefers_21_and_stays_on_the_host() -> None:
    base = "https://m.example"
    jrd = {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                "href": "https://m.example/nodeinfo/2.0",
            },
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": "https://m.example/nodeinfo/2.1",
            },
        ]
    }
    assert nodeinfo_link(jrd, base) == "https://m.example/nodeinfo/2.1"
    elsewhere = {
        "links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": "http://10.0.0.1/x"}]
    }
    assert nodeinfo_link(elsewhere, base) is None
    assert nodeinfo_link({"links": "nope"}, base) is None


def test_nodeinfo_software() -> None:
    assert nodeinfo_software({"software": {"name": "mastodon", "version": "4.5.0"}}) == Software(
        "mastodon", "4.5.0"
    )
    assert nodeinfo_software({"software": {"name": "x"}}) == Software("x", "")
    assert nodeinfo_software({"software": "mastodon"}) is None
    assert nodeinfo_software({}) is None


def test_what_a_refusal_is() -> None:
    assert refused_signature(401)
    assert refused_signature(400, b'{"error":"Signature verification failed"}')
    assert not refused_signature(400, b'{"error":"bad JSON"}')
    assert not refused_signature(403, b"signature")
    assert accepted(202) and accepted(404) and accepted(410) and not accepted(401) and not accepted(500)
    assert other(RFC9421) == DRAFT_CAVAGE and other(DRAFT_CAVAGE) == RFC9421
    assert host_of("https://Mastodon.Example:8443/inbox") == "mastodon.example:8443"


@pytest.mark.parametrize("scheme", [DRAFT_CAVAGE, RFC9421])
def test_signature_auth_signs_in_its_scheme(scheme: str) -> None:
    private, _ = generate_rsa_keypair()
    auth = SignatureAuth(SigningKey("https://f.example/users/a#main-key", private)).using(scheme)
    request = httpx.Request("POST", "https://m.example/inbox", content=b"{}",
                            headers={"Content-Type": "application/activity+json"})  # fmt: skip
    signed = next(auth.auth_flow(request))
    if scheme == RFC9421:
        assert signed.headers["signature-input"].startswith('sig1=("@method" "@target-uri"')
        assert signed.headers["content-digest"].startswith("sha-256=:")
        assert "digest" not in signed.headers
    else:
        assert signed.headers["signature"].startswith('keyId="https://f.example/users/a#main-key"')
        assert "signature-input" not in signed.headers and signed.headers["digest"].startswith("SHA-256=")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError):
        SignatureAuth(None, "hs2019")
