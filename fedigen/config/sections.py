"""The settings themselves: a frozen dataclass per config section, each key with its default and what
it means, and :class:`Settings`, which holds them all with the values derived from them (absolute
paths, public URLs, the S3 keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ConfigError(Exception):
    """The configuration is missing, unreadable, or has a bad key."""


@dataclass(frozen=True)
class InstanceSettings:
    url: str
    name: str = "fedigen"
    description: str = "A fedigen instance: image posts made by a local generator."
    contact_email: str = ""
    # Where this instance's source code can be had (fedigen is AGPL); shown to clients as source_url.
    source_url: str = ""
    open_registrations: bool = False
    # The language of posts whose author chose none (ISO 639-1), sent as their contentMap.
    default_language: str = "en"
    # Who may sign up: "open", "approval" (an admin approves each applicant, who gives a reason),
    # "invite" (only with an invite code), "closed". Unset: open_registrations decides (true = open).
    registrations: str = ""
    # The instance's rules, which people agree to when they sign up (Mastodon's Rule entities).
    rules: tuple[str, ...] = ()
    # Shown to people signing up (Mastodon's registrations.message); "" = none.
    registrations_message: str = ""

    @property
    def registration_mode(self) -> str:
        """open, approval, invite or closed: ``registrations``, else the ``open_registrations`` alias."""
        return self.registrations or ("open" if self.open_registrations else "closed")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///data/fedigen.db"
    pool_size: int = 5
    echo: bool = False


@dataclass(frozen=True)
class MediaS3Settings:
    # The S3-compatible store's URL ("" = AWS S3 itself), e.g. http://garage:3900 or https://s3.example.org.
    endpoint: str = ""
    bucket: str = ""
    # "" = botocore's default (AWS_REGION, ~/.aws/config); MinIO and Garage take any ("us-east-1", "garage").
    region: str = ""
    # Keys; "" = botocore's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws, an instance
    # role). *_file names a file holding the value (a container secret); the value itself wins.
    access_key: str = ""
    access_key_file: str = ""
    secret_key: str = ""
    secret_key_file: str = ""
    # "path" (endpoint/bucket/key: MinIO, Garage) or "virtual" (bucket.endpoint/key: AWS and most hosts).
    addressing: str = "path"
    # Where browsers and other servers fetch media from, e.g. https://media.example.org (a CDN or the
    # bucket's public website); "" = served by fedigen (at [media] url), streamed from the bucket.
    public_base_url: str = ""
    # Object names are prefix + key; unprocessed uploads go under upload_prefix (never make it public).
    prefix: str = "media/"
    upload_prefix: str = "uploads/"


@dataclass(frozen=True)
class MediaSettings:
    # Where media lives: "local" (the folder dir) or "s3" (the [media.s3] bucket).
    store: str = "local"
    dir: str = "data/media"
    # Where unprocessed uploads wait for the image pipeline ("" = an "uploads" folder beside dir). Never
    # served: only the pipeline's output (metadata removed) is published from dir.
    upload_dir: str = ""
    # Public base URL media is served from ("" = the instance URL + /media), for a separate media host.
    url: str = ""
    # Largest upload accepted, in bytes, and largest image in pixels (checked before decoding).
    max_upload_bytes: int = 40_000_000
    max_pixels: int = 50_000_000
    # Longest side of the stored original; larger images are scaled down.
    original_max_side: int = 4096
    # Format of the copy other servers get (at most 2 MB and ~8.3 MP): "jpeg" or "webp".
    federation_format: str = "jpeg"
    thumbnail_side: int = 640
    # Keep a processed copy of remote avatars (served from here instead of hot-linking).
    cache_remote_avatars: bool = True
    # Keep a processed copy of other servers' custom emoji (their image and a static PNG of it).
    cache_remote_emojis: bool = True
    # Processes that decode, resize and draw images (uploads, generated pictures, the procedural
    # generator), started on first use and stopped when idle, so that image work never stalls the
    # process answering requests; 0 = threads of that process.
    image_processes: int = 2
    s3: MediaS3Settings = field(default_factory=MediaS3Settings)


@dataclass(frozen=True)
class GenerationSettings:
    # Backend used when a request names none: procedural, openai, automatic1111, comfyui, diffusers,
    # or any backend a plug-in registers. Backend options live in [generation.<name>] tables.
    backend: str = "procedural"
    # Backends users may choose besides the default ("" = only the default); comma-separated.
    allowed_backends: tuple[str, ...] = ()
    size: str = "1024x1024"
    max_images: int = 4
    # Seconds one job may run before it is abandoned and (if attempts remain) tried again.
    timeout: float = 300.0
    # Attempts for transient backend errors (a server that is down or busy); other errors fail at once.
    max_attempts: int = 3
    max_prompt_chars: int = 1000
    # Refused prompts: words/phrases matched case-insensitively on word boundaries, and regexes.
    blocked_terms: tuple[str, ...] = ()
    blocked_patterns: tuple[str, ...] = ()
    refusal_message: str = "This prompt is not allowed on this instance."
    # Optional OpenAI-compatible moderation classifier (POST {url}/v1/moderations); "" = off.
    moderation_url: str = ""
    moderation_api_key: str = ""
    moderation_model: str = "omni-moderation-latest"
    # Jobs per account per rolling hour, by role; 0 = unlimited.
    jobs_per_hour: int = 30
    jobs_per_hour_admin: int = 0
    # Whether posts show their prompt by default (a user can keep one private per post).
    public_prompts: bool = True
    # Options of each backend, from the [generation.<name>] tables.
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Where `fedigen model pull` keeps models; the one `fedigen model use` chose is the diffusers
    # backend's model unless [generation.diffusers] model_dir names another.
    models_dir: str = "data/models"


@dataclass(frozen=True)
class BotSettings:
    # The instance's generation bot: mention it with a prompt, get an image reply.
    enabled: bool = True
    username: str = "imagine"
    display_name: str = "Imagine"
    # Requests per rolling hour from one remote account, and from one remote domain in all.
    per_account_per_hour: int = 5
    per_domain_per_hour: int = 30


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    worker: bool = True


@dataclass(frozen=True)
class FederationSettings:
    allow_private_addresses: bool = False
    # How far a signature's Date/created may be from our clock, either way (Mastodon: about 1 h).
    signature_clock_window: int = 3600
    # Require HTTP signatures on GETs of our ActivityPub documents ("authorized fetch").
    authorized_fetch: bool = False
    # Scheme used for WebFinger lookups of handles; "http" only for local testing.
    webfinger_scheme: str = "https"
    inbox_max_bytes: int = 1_000_000
    # Accepted inbox POSTs are stored in groups (activitypub.inbox_writer): a group is committed this
    # many milliseconds after its first row arrived, or as soon as it holds inbox_commit_max_items rows.
    inbox_commit_interval_ms: float = 2.0
    inbox_commit_max_items: int = 256
    fetch_timeout: float = 10.0
    max_delivery_attempts: int = 18
    delivery_max_age_hours: int = 48
    host_unavailable_after_days: int = 3
    delivery_concurrency: int = 128
    # Deliveries to one host at once (per worker process); a slow host then holds up only its own.
    delivery_per_host: int = 4
    # Where deliveries are signed once they come in numbers: "process" (worker processes, each holding
    # the keys loaded), "thread", or "inline" (on the event loop); signing_workers 0 = one per core.
    signing_pool: str = "process"
    signing_workers: int = 0
    # The outgoing HTTP pool: connections open at once to all hosts together (idle ones are closed to
    # make room for another host), and how long an idle connection to a host is kept for reuse.
    http_max_connections: int = 256
    http_keepalive_seconds: float = 30.0
    # Idle connections to inboxes kept alive (http_keepalive_seconds) for the next delivery, at most, in
    # all: room for every host a fan-out reaches, so the next post finds its connections open.
    delivery_connections: int = 4096
    user_agent: str = ""
    # "open": federate with every domain not suspended; "allowlist" ("limited federation"): only with
    # the domains in the allow list (`fedigen domain allow`, /api/v1/admin/domain_allows).
    mode: str = "open"
    # Who sees the list of suspended and silenced servers (GET /api/v1/instance/domain_blocks):
    # "all", "users" (signed in; Mastodon's default) or "disabled".
    show_domain_blocks: str = "users"


@dataclass(frozen=True)
class WorkerSettings:
    poll_interval: float = 1.0
    job_timeout: float = 60.0
    # Seconds a claimed queue row (delivery, received activity, generation job) stays its worker's
    # after the worker last renewed it; a live worker renews its rows every third of this, so a worker
    # that died loses its rows to the others within this time.
    lease_seconds: float = 120.0
    # Received activities processed at once (from different servers), and at most this many of one
    # server's at a time, so a slow or flooding server only delays its own activities.
    inbox_concurrency: int = 8
    inbox_per_host: int = 2
    # Finished inbox items and deliveries are deleted this long after they finished. The inbox's
    # dedupe record of an activity id is its item, so keep it well past the signature clock window.
    keep_finished_hours: float = 168.0
    # Seconds between a vote in a local poll and the Update{Question} that sends the new counts to other
    # servers; votes arriving meanwhile go out in the same Update (Mastodon waits 3 minutes).
    poll_update_delay: float = 60.0
    # The CPU priority (Unix niceness, 0-19) `fedigen worker` lowers itself to when it runs as its own
    # process: on a machine shared with `serve`, the pages and the API get the CPU first and the
    # background work takes what is left. 0 = the same priority as serve.
    nice: int = 10


@dataclass(frozen=True)
class ApiSettings:
    # Requests per 5 minutes, counted in each process: per access token; per IP address without a
    # token; per IP address on sign-in and app registration (POST /oauth/token, /oauth/authorize,
    # /api/v1/apps). 0 = no limit.
    rate_limit_per_5min: int = 300
    anonymous_rate_limit_per_5min: int = 7500
    sign_in_rate_limit_per_5min: int = 30
    # Days an access token lasts; 0 = until revoked (as on Mastodon).
    token_lifetime_days: int = 0
    # Largest request body accepted by the client API, OAuth and the pages, in bytes (counted while it
    # streams in). Media uploads are limited by [media] max_upload_bytes, federation by inbox_max_bytes.
    max_body_bytes: int = 1_000_000
    # Streaming API connections open at once, per IP address and per access token, in each process.
    streams_per_ip: int = 20
    streams_per_token: int = 8


@dataclass(frozen=True)
class SmtpSettings:
    # The mail server sending sign-up confirmations and password resets; "" = no mail (admins confirm
    # accounts and reset passwords with the CLI).
    host: str = ""
    port: int = 587
    username: str = ""
    password: str = ""
    # The sender (the TOML key is ``from``); "" = fedigen@<the instance's host name>.
    from_address: str = ""
    # "none", "starttls" (port 587) or "ssl" (implicit TLS, port 465).
    tls: str = "starttls"
    timeout: float = 30.0


@dataclass(frozen=True)
class ModerationSettings:
    # Optional OpenAI-compatible classifier (POST {classifier_url}/v1/moderations) that checks generated
    # and uploaded images, and prompts; "" = off. The [generation] moderation_url, moderation_api_key
    # and moderation_model keys still work as aliases of classifier_url, classifier_api_key and
    # classifier_model (these win when both are set).
    classifier_url: str = ""
    classifier_model: str = ""
    classifier_api_key: str = ""
    # Seconds one classifier call may take.
    timeout: float = 10.0
    # What is sent to it: prompts (before generation, as text), uploads, generated images.
    check_prompts: bool = True
    check_uploads: bool = True
    check_generated: bool = True
    # Rules on the classifier's answer, "category>score" (or ">="), a bare category (its boolean), or
    # "flagged": an image matching a refuse_if rule is refused; one matching sensitive_if is marked
    # sensitive (its post gets a content warning flag).
    sensitive_if: tuple[str, ...] = ("flagged",)
    refuse_if: tuple[str, ...] = ()
    # When the classifier cannot answer: "allow" (unchecked), "hold" (uploads wait and are tried again,
    # generation jobs are retried) or "refuse".
    on_error: str = "hold"
    # Days a suspended account's data is kept (it can be unsuspended until then); then the worker
    # deletes it, as Mastodon does after 30 days.
    suspension_retention_days: int = 30


@dataclass(frozen=True)
class WebSettings:
    # Which public pages logged-out visitors may see (Mastodon's timeline_preview and trends settings);
    # closed, they get a page asking them to sign in. Profiles and posts are always public.
    public_timelines: bool = True  # /public/local and /tags/TAG (and the tag feeds)
    public_explore: bool = True  # /explore and /explore/tags


@dataclass(frozen=True)
class TrendsSettings:
    # Explore's ranking (docs/web.md, "Public pages"): a post scores
    # (likes*likes_weight + boosts*boosts_weight + remixes*remixes_weight + replies*replies_weight + 1)
    # * 0.5 ** (age_hours / half_life_hours); posts older than window_days are not ranked.
    likes_weight: float = 1.0
    boosts_weight: float = 2.0
    remixes_weight: float = 3.0
    replies_weight: float = 1.5
    half_life_hours: float = 24.0
    window_days: int = 7


@dataclass(frozen=True)
class Settings:
    instance: InstanceSettings
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    federation: FederationSettings = field(default_factory=FederationSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    bot: BotSettings = field(default_factory=BotSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    moderation: ModerationSettings = field(default_factory=ModerationSettings)
    web: WebSettings = field(default_factory=WebSettings)
    trends: TrendsSettings = field(default_factory=TrendsSettings)
    # Directory relative paths (SQLite file, media dir) are resolved against.
    base_dir: str = "."

    @property
    def base_url(self) -> str:
        """The public base URL without a trailing slash."""
        return self.instance.url.rstrip("/")

    @property
    def host(self) -> str:
        """host[:port] of the public URL, as it appears in handles and signatures."""
        return urlsplit(self.base_url).netloc

    @property
    def domain(self) -> str:
        """The domain part of handles (host with port when non-default)."""
        return self.host

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path resolved against base_dir."""
        url = self.database.url
        prefix = "sqlite+aiosqlite:///"
        if url.startswith(prefix) and not url[len(prefix) :].startswith("/"):
            rest = url[len(prefix) :]
            if rest and rest != ":memory:":
                return prefix + str((Path(self.base_dir) / rest).resolve())
        return url

    @property
    def media_dir(self) -> Path:
        """Absolute media directory."""
        return (Path(self.base_dir) / self.media.dir).resolve()

    @property
    def models_dir(self) -> Path:
        """Absolute directory of the models `fedigen model pull` fetched."""
        return (Path(self.base_dir) / self.generation.models_dir).resolve()

    @property
    def upload_dir(self) -> Path:
        """Absolute directory of unprocessed uploads (never inside the served media directory)."""
        if self.media.upload_dir:
            return (Path(self.base_dir) / self.media.upload_dir).resolve()
        return self.media_dir.parent / "uploads"

    @property
    def media_url(self) -> str:
        """Public base URL of media files, without a trailing slash."""
        if self.media.store == "s3" and self.media.s3.public_base_url:
            return self.media.s3.public_base_url.rstrip("/")
        return (self.media.url or f"{self.base_url}/media").rstrip("/")

    def s3_keys(self) -> tuple[str, str]:
        """The [media.s3] access and secret keys, each from its value or its *_file ("" when neither)."""
        s3 = self.media.s3
        found: list[str] = []
        for name, value, file in (("access_key", s3.access_key, s3.access_key_file),
                                  ("secret_key", s3.secret_key, s3.secret_key_file)):  # fmt: skip
            if not value and file:
                try:
                    value = (Path(self.base_dir) / file).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ConfigError(f"media.s3.{name}_file: cannot read {file}: {exc.strerror}") from None
            found.append(value)
        return found[0], found[1]

    @property
    def classifier(self) -> tuple[str, str, str]:
        """The image and prompt classifier's (url, model, api key), with the [generation] aliases."""
        m, g = self.moderation, self.generation
        return (
            (m.classifier_url or g.moderation_url).rstrip("/"),
            m.classifier_model or g.moderation_model,
            m.classifier_api_key or g.moderation_api_key,
        )

    @property
    def user_agent(self) -> str:
        """User-Agent for outgoing requests (Mastodon logs and some peers want a URL in it)."""
        return self.federation.user_agent or f"fedigen/0.1 (+{self.base_url}/)"
