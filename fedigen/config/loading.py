"""Reading the configuration: the TOML file (``--config``, ``FEDIGEN_CONFIG`` or ./config.toml) and the
``FEDIGEN_<SECTION>__<KEY>`` environment overrides, each value converted to its key's type, then the
whole validated (:mod:`fedigen.config.validation`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fedigen.config import sections
from fedigen.config.sections import ConfigError, Settings
from fedigen.config.validation import validate

ENV_PREFIX = "FEDIGEN_"


DEFAULT_CONFIG = "config.toml"


# TOML keys that are not Python names: (section, key) -> field.
_KEY_ALIASES = {("smtp", "from"): "from_address"}


_SECTIONS: dict[str, type[Any]] = {
    f.name: f.type if isinstance(f.type, type) else getattr(sections, str(f.type))
    for f in dataclasses.fields(Settings)
    if f.name != "base_dir"
}


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Convert a TOML or environment value to the field's type, or raise ConfigError naming the key."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
    if hint is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if hint == tuple[str, ...]:
        if isinstance(value, str):
            # From the environment: a JSON array, or comma-separated words.
            if value.strip().startswith("["):
                try:
                    value = json.loads(value)
                except ValueError:
                    raise ConfigError(f"{key}: expected a JSON array of strings") from None
            else:
                value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return tuple(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported setting type")


def _split_tables(section: str, values: Mapping[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Move [section.<name>] tables (and NAME__KEY environment keys) into kwargs["backends"]."""
    tables: dict[str, dict[str, Any]] = {}
    plain: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            tables.setdefault(key, {}).update(value)
        elif "__" in key:
            name, _, option = key.partition("__")
            tables.setdefault(name, {})[option] = value
        else:
            plain[key] = value
    for name in tables:
        if not name.replace("_", "").isalnum():
            raise ConfigError(f"{section}.{name}: not a valid backend name")
    kwargs["backends"] = tables
    return plain


def _nested(
    section: str, name: str, cls: Any, values: Mapping[str, Any], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Build the [section.name] table's dataclass into kwargs[name]; returns the other values."""
    table: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in values.items():
        if key == name:
            if not isinstance(value, Mapping):
                raise ConfigError(f"{section}.{name}: expected a table")
            table.update(value)
        elif key.startswith(name + "__"):
            table[key[len(name) + 2 :]] = value
        else:
            rest[key] = value
    hints = _type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    parsed: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(f"{section}.{name}.{key}: unknown key")
        parsed[key] = _coerce(f"{section}.{name}.{key}", value, hints[key])
    kwargs[name] = cls(**parsed)
    return rest


_HINTS: dict[type, dict[str, Any]] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    """The field types of a settings section, resolved once: resolving the string annotations evaluates
    each of them (a few ms for all the sections, paid by every instance a process builds)."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def settings_from_mapping(
    data: Mapping[str, Any], environ: Mapping[str, str] | None = None, base_dir: str = "."
) -> Settings:
    """Build Settings from parsed TOML data plus FEDIGEN_SECTION__KEY environment overrides."""
    merged: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{section}: unknown section (known: {', '.join(sorted(_SECTIONS))})")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{section}: expected a table")
        merged[section] = dict(values)
    for name, value in (environ or {}).items():
        if not name.startswith(ENV_PREFIX) or "__" not in name or name == "FEDIGEN_CONFIG":
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if section not in _SECTIONS:
            raise ConfigError(f"{name}: unknown section {section!r}")
        merged.setdefault(section, {})[key] = value
    sections: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        values = merged.get(section, {})
        hints = _type_hints(cls)
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        if "backends" in known:
            values = _split_tables(section, values, kwargs)
        for name in known:  # nested tables such as [media.s3] (and MEDIA__S3__KEY variables)
            if dataclasses.is_dataclass(hints[name]):
                values = _nested(section, name, hints[name], values, kwargs)
        values = {_KEY_ALIASES.get((section, key), key): value for key, value in values.items()}
        for key, value in values.items():
            if key not in known or key == "backends":
                raise ConfigError(f"{section}.{key}: unknown key")
            kwargs[key] = _coerce(f"{section}.{key}", value, hints[key])
        for name, f in known.items():
            if (
                name not in kwargs
                and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING
            ):
                raise ConfigError(f"{section}.{name}: required key is missing")
        sections[section] = cls(**kwargs)
    settings = Settings(**sections, base_dir=base_dir)
    validate(settings)
    return settings


def config_path(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """The config file to use: --config, else FEDIGEN_CONFIG, else ./config.toml."""
    env = os.environ if environ is None else environ
    return Path(explicit or env.get("FEDIGEN_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file at path and apply environment overrides."""
    env = dict(os.environ if environ is None else environ)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no config file at {path} (run `fedigen init` or pass --config)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return settings_from_mapping(data, env, base_dir=str(path.resolve().parent))
