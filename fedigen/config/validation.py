"""The checks a configuration passes once its keys are read and typed: values in range, URLs that are
URLs, known modes; the first one failing is a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fedigen.config.sections import ConfigError, Settings, TrendsSettings
from fedigen.languages import normalize as normalize_language
from generation.backend import parse_size
from generation.image_rules import parse_rules

REGISTRATION_MODES = ("open", "approval", "invite", "closed")


def validate(settings: Settings) -> None:
    """Raise ConfigError for the first key of settings whose value is not allowed."""
    parts = urlsplit(settings.instance.url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(
            f"instance.url: expected a base URL such as https://example.org, got {settings.instance.url!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError("instance.url: must not have a query or fragment")
    try:
        normalize_language(settings.instance.default_language)
    except ValueError as exc:
        raise ConfigError(f"instance.default_language: {exc}") from None
    db = settings.database.url
    if not (db.startswith("sqlite+aiosqlite://") or db.startswith("postgresql+asyncpg://")):
        raise ConfigError(
            f"database.url: expected sqlite+aiosqlite:///path or postgresql+asyncpg://..., got {db!r}"
        )
    if settings.federation.webfinger_scheme not in ("http", "https"):
        raise ConfigError("federation.webfinger_scheme: expected http or https")
    if settings.federation.mode not in ("open", "allowlist"):
        raise ConfigError(f"federation.mode: expected open or allowlist, got {settings.federation.mode!r}")
    fed = settings.federation
    if fed.signing_pool not in ("process", "thread", "inline"):
        raise ConfigError(f"federation.signing_pool: expected process, thread or inline: {fed.signing_pool}")
    for key in ("delivery_concurrency", "delivery_per_host", "http_max_connections", "delivery_connections"):
        if getattr(fed, key) < 1:
            raise ConfigError(f"federation.{key}: must be at least 1")
    if fed.signing_workers < 0 or fed.http_keepalive_seconds < 0:
        raise ConfigError("federation.signing_workers and http_keepalive_seconds: must not be negative")
    if settings.federation.show_domain_blocks not in ("all", "users", "disabled"):
        raise ConfigError("federation.show_domain_blocks: expected all, users or disabled")
    if not 1 <= settings.server.port <= 65535:
        raise ConfigError(f"server.port: out of range: {settings.server.port}")
    if settings.media.federation_format not in ("jpeg", "webp"):
        raise ConfigError("media.federation_format: expected jpeg or webp")
    if settings.media.url and urlsplit(settings.media.url).scheme not in ("http", "https"):
        raise ConfigError(f"media.url: expected an http(s) URL, got {settings.media.url!r}")
    _validate_media_store(settings)
    try:
        parse_size(settings.generation.size)
    except ValueError as exc:
        raise ConfigError(f"generation.size: {exc}") from None
    if settings.generation.max_images not in range(1, 5):
        raise ConfigError("generation.max_images: expected 1 to 4")
    if settings.generation.max_attempts < 1:
        raise ConfigError("generation.max_attempts: must be at least 1")
    if not settings.bot.username.replace("_", "").isalnum():
        raise ConfigError(f"bot.username: letters, digits and _ only, got {settings.bot.username!r}")
    for key in ("rate_limit_per_5min", "anonymous_rate_limit_per_5min", "sign_in_rate_limit_per_5min",
                "token_lifetime_days"):  # fmt: skip
        if getattr(settings.api, key) < 0:
            raise ConfigError(f"api.{key}: must not be negative")
    if not 0 <= settings.federation.inbox_commit_interval_ms <= 1000:
        raise ConfigError("federation.inbox_commit_interval_ms: expected 0 to 1000")
    if not 1 <= settings.federation.inbox_commit_max_items <= 1000:
        raise ConfigError("federation.inbox_commit_max_items: expected 1 to 1000")
    if settings.federation.signature_clock_window <= 0:
        raise ConfigError("federation.signature_clock_window: must be positive")
    if settings.worker.lease_seconds <= 0:
        raise ConfigError("worker.lease_seconds: must be positive")
    if not 0 <= settings.media.image_processes <= 64:
        raise ConfigError("media.image_processes: expected 0 to 64")
    if not 0 <= settings.worker.nice <= 19:
        raise ConfigError("worker.nice: expected 0 to 19")
    _validate_signup(settings)
    _validate_trends(settings.trends)
    _validate_moderation(settings)


def _validate_media_store(settings: Settings) -> None:
    m = settings.media
    if m.store not in ("local", "s3"):
        raise ConfigError(f"media.store: expected local or s3, got {m.store!r}")
    s3 = m.s3
    if s3.addressing not in ("path", "virtual"):
        raise ConfigError(f"media.s3.addressing: expected path or virtual, got {s3.addressing!r}")
    for key in ("endpoint", "public_base_url"):
        value = getattr(s3, key)
        if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
            raise ConfigError(f"media.s3.{key}: expected an http(s) URL, got {value!r}")
    for key in ("prefix", "upload_prefix"):
        value = getattr(s3, key)
        if value.startswith("/") or not value.endswith("/") or ".." in value.split("/"):
            raise ConfigError(f"media.s3.{key}: expected a relative path ending in /, got {value!r}")
    media_prefix, upload_prefix = s3.prefix, s3.upload_prefix
    if upload_prefix.startswith(media_prefix) or media_prefix.startswith(upload_prefix):
        # Uploads still carry their metadata: they must stay out of what public_base_url publishes.
        raise ConfigError("media.s3.upload_prefix: neither inside media.s3.prefix nor containing it")
    if m.store == "s3":
        if not s3.bucket:
            raise ConfigError('media.s3.bucket: required when media.store = "s3"')
        settings.s3_keys()  # a *_file that cannot be read fails now, not at the first upload


def _validate_signup(settings: Settings) -> None:
    mode = settings.instance.registrations
    if mode and mode not in REGISTRATION_MODES:
        raise ConfigError(
            f"instance.registrations: expected one of {', '.join(REGISTRATION_MODES)}, got {mode!r}"
        )
    if any(not rule.strip() for rule in settings.instance.rules):
        raise ConfigError("instance.rules: a rule must not be empty")
    email = settings.instance.contact_email
    if email and (email.count("@") != 1 or not all(email.split("@"))):
        raise ConfigError(f"instance.contact_email: expected an email address, got {email!r}")
    smtp = settings.smtp
    if smtp.tls not in ("none", "starttls", "ssl"):
        raise ConfigError(f"smtp.tls: expected none, starttls or ssl, got {smtp.tls!r}")
    if not 1 <= smtp.port <= 65535:
        raise ConfigError(f"smtp.port: out of range: {smtp.port}")
    if smtp.from_address and "@" not in smtp.from_address:
        raise ConfigError(f"smtp.from: expected an email address, got {smtp.from_address!r}")


def _validate_moderation(settings: Settings) -> None:
    m = settings.moderation
    url = settings.classifier[0]
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"moderation.classifier_url: expected an http(s) URL, got {url!r}")
    if m.on_error not in ("allow", "hold", "refuse"):
        raise ConfigError(f"moderation.on_error: expected allow, hold or refuse, got {m.on_error!r}")
    if m.timeout <= 0:
        raise ConfigError("moderation.timeout: must be positive")
    for key in ("sensitive_if", "refuse_if"):
        try:
            parse_rules(getattr(m, key))
        except ValueError as exc:
            raise ConfigError(f"moderation.{key}: {exc}") from None


def _validate_trends(trends: TrendsSettings) -> None:
    for key in ("likes_weight", "boosts_weight", "remixes_weight", "replies_weight"):
        if getattr(trends, key) < 0:
            raise ConfigError(f"trends.{key}: must not be negative")
    if trends.half_life_hours <= 0:
        raise ConfigError("trends.half_life_hours: must be positive")
    if trends.window_days < 1:
        raise ConfigError("trends.window_days: must be at least 1")
