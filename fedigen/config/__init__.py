"""Typed settings: a frozen dataclass per config section, loaded once from TOML plus environment.

Every key can be overridden by ``FEDIGEN_<SECTION>__<KEY>`` (for example ``FEDIGEN_INSTANCE__URL``).
A missing, unknown or malformed key is a :class:`ConfigError` naming the key.

The sections and their defaults are in :mod:`fedigen.config.sections`, reading the file and the
environment in :mod:`fedigen.config.loading`, the checks in :mod:`fedigen.config.validation`; code
imports what it needs from ``fedigen.config``.
"""

from __future__ import annotations

from fedigen.config.loading import (
    DEFAULT_CONFIG,
    ENV_PREFIX,
    config_path,
    load_settings,
    settings_from_mapping,
)
from fedigen.config.sections import (
    ApiSettings,
    BotSettings,
    ConfigError,
    DatabaseSettings,
    FederationSettings,
    GenerationSettings,
    InstanceSettings,
    MediaS3Settings,
    MediaSettings,
    ModerationSettings,
    ServerSettings,
    Settings,
    SmtpSettings,
    TrendsSettings,
    WebSettings,
    WorkerSettings,
)
from fedigen.config.validation import REGISTRATION_MODES

__all__ = [
    "ApiSettings",
    "BotSettings",
    "ConfigError",
    "DEFAULT_CONFIG",
    "DatabaseSettings",
    "ENV_PREFIX",
    "FederationSettings",
    "GenerationSettings",
    "InstanceSettings",
    "MediaS3Settings",
    "MediaSettings",
    "ModerationSettings",
    "REGISTRATION_MODES",
    "ServerSettings",
    "Settings",
    "SmtpSettings",
    "TrendsSettings",
    "WebSettings",
    "WorkerSettings",
    "config_path",
    "load_settings",
    "settings_from_mapping",
]
