"""Instance information as Mastodon 4.3 documents it (https://docs.joinmastodon.org/entities/Instance/),
with the generation API listed for clients to discover."""

from __future__ import annotations

from tests.conftest import Instance

V1_FIELDS = {
    "uri", "title", "short_description", "description", "email", "version", "urls", "stats", "thumbnail",
    "languages", "registrations", "approval_required", "invites_enabled", "configuration",
    "contact_account", "rules",
}  # fmt: skip
V2_FIELDS = {
    "domain", "title", "version", "source_url", "description", "usage", "thumbnail", "languages",
    "configuration", "registrations", "contact", "rules", "api_versions",
}  # fmt: skip


async def test_v1_instance_has_the_documented_fields(instance: Instance) -> None:
    await instance.create_account("alice", admin=True)
    response = await instance.client.get("/api/v1/instance")
    assert response.status_code == 200
    body = response.json()
    assert V1_FIELDS <= set(body)
    assert body["uri"] == "fedigen.test" and body["title"] == "Test"
    assert body["version"] == "4.3.0 (compatible; fedigen 0.1)"
    assert body["urls"]["streaming_api"] == "ws://fedigen.test"
    assert body["stats"]["user_count"] >= 1 and set(body["stats"]) == {
        "user_count",
        "status_count",
        "domain_count",
    }
    config = body["configuration"]
    assert config["statuses"]["max_characters"] == 5000
    assert config["statuses"]["max_media_attachments"] == 4
    assert "image/png" in config["media_attachments"]["supported_mime_types"]
    assert {"max_options", "max_expiration"} <= set(config["polls"])
    assert body["contact_account"]["username"] == "alice"
    assert body["rules"] == []


async def test_v2_instance_has_the_documented_fields_and_the_generation_api(instance: Instance) -> None:
    response = await instance.client.get("/api/v2/instance")
    assert response.status_code == 200
    body = response.json()
    assert V2_FIELDS <= set(body)
    assert body["domain"] == "fedigen.test"
    assert body["api_versions"] == {"mastodon": 2}
    assert set(body["usage"]["users"]) == {"active_month"}
    config = body["configuration"]
    assert config["urls"]["streaming"] == "ws://fedigen.test"
    assert config["statuses"] == {
        "max_characters": 5000, "max_media_attachments": 4, "characters_reserved_per_url": 23
    }  # fmt: skip
    media = config["media_attachments"]
    assert media["supported_mime_types"] == ["image/jpeg", "image/png", "image/webp", "image/gif"]
    assert media["image_size_limit"] > 0 and media["image_matrix_limit"] > 0
    assert {"polls", "translation", "accounts"} <= set(config)
    assert set(body["registrations"]) >= {"enabled", "approval_required", "message"}
    assert body["contact"]["account"] is None  # no admin yet
    generation = body["fedigen"]
    assert generation["endpoints"]["generations"] == "http://fedigen.test/api/v1/fedigen/generations"
    assert "procedural" in generation["backends"]
    assert generation["max_images"] == 4 and generation["sizes"]["default"] == "1024x1024"


async def test_custom_emojis_rules_and_peers(instance: Instance) -> None:
    for path in ("/api/v1/custom_emojis", "/api/v1/instance/rules", "/api/v1/instance/peers"):
        response = await instance.client.get(path)
        assert response.status_code == 200, path
        assert response.json() == [], path
