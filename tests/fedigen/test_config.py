"""Settings: TOML plus FEDIGEN_SECTION__KEY overrides; bad keys refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedigen.config import ConfigError, config_path, load_settings, settings_from_mapping

BASE = {"instance": {"url": "http://127.0.0.1:8000"}}


def test_defaults_are_the_embedded_setup() -> None:
    s = settings_from_mapping(BASE, {}, base_dir="/srv/fedigen")
    assert s.database_url == "sqlite+aiosqlite:////srv/fedigen/data/fedigen.db"
    assert s.host == "127.0.0.1:8000" and s.base_url == "http://127.0.0.1:8000"
    assert s.federation.allow_private_addresses is False
    assert s.federation.signature_clock_window == 3600


def test_environment_overrides_every_key() -> None:
    env = {
        "FEDIGEN_INSTANCE__URL": "https://social.example",
        "FEDIGEN_FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true",
        "FEDIGEN_SERVER__PORT": "9000",
        "FEDIGEN_DATABASE__URL": "postgresql+asyncpg://u@db/fedigen",
        "FEDIGEN_CONFIG": "/ignored/here.toml",
    }
    s = settings_from_mapping(BASE, env)
    assert s.base_url == "https://social.example"
    assert s.federation.allow_private_addresses is True
    assert s.server.port == 9000
    assert s.database_url == "postgresql+asyncpg://u@db/fedigen"


@pytest.mark.parametrize(
    ("data", "env", "names"),
    [
        ({}, {}, "instance.url"),
        ({"instance": {"url": "ftp://x"}}, {}, "instance.url"),
        ({"instance": {"url": "https://x/sub"}}, {}, "instance.url"),
        (BASE, {"FEDIGEN_SERVER__PORT": "eighty"}, "server.port"),
        (
            BASE,
            {"FEDIGEN_FEDERATION__ALLOW_PRIVATE_ADDRESSES": "maybe"},
            "federation.allow_private_addresses",
        ),
        ({**BASE, "database": {"url": "mysql://x"}}, {}, "database.url"),
        ({**BASE, "federation": {"colour": "red"}}, {}, "federation.colour"),
        ({**BASE, "nonsense": {}}, {}, "nonsense"),
        (BASE, {"FEDIGEN_NOPE__X": "1"}, "FEDIGEN_NOPE__X"),
        ({**BASE, "worker": {"nice": 20}}, {}, "worker.nice"),
        ({**BASE, "media": {"image_processes": -1}}, {}, "media.image_processes"),
        (BASE, {"FEDIGEN_WORKER__NICE": "-5"}, "worker.nice"),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        settings_from_mapping(data, env)


def test_config_file_from_flag_or_environment(tmp_path: Path) -> None:
    path = tmp_path / "fedigen.toml"
    path.write_text('[instance]\nurl = "http://127.0.0.1:8000"\n', encoding="utf-8")
    assert config_path(None, {"FEDIGEN_CONFIG": str(path)}) == path
    assert config_path("other.toml", {"FEDIGEN_CONFIG": str(path)}) == Path("other.toml")
    assert load_settings(path, {}).base_dir == str(tmp_path)
    with pytest.raises(ConfigError, match="no config file"):
        load_settings(tmp_path / "missing.toml", {})
    path.write_text("[instance\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, {})


def test_example_config_documents_every_key_and_loads() -> None:
    import dataclasses
    import tomllib

    from fedigen.config.loading import _KEY_ALIASES, _SECTIONS

    toml_key = {(section, field): key for (section, key), field in _KEY_ALIASES.items()}

    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    for section, cls in _SECTIONS.items():
        for f in dataclasses.fields(cls):
            if f.name == "backends":  # the [generation.<name>] tables, one shown uncommented
                continue
            key = toml_key.get((section, f.name), f.name)
            assert key in data.get(section, {}), f"config.example.toml lacks {section}.{key}"
            if dataclasses.is_dataclass(f.default_factory):  # a nested table such as [media.s3]
                for inner in dataclasses.fields(f.default_factory):
                    assert inner.name in data[section][key], f"lacks {section}.{key}.{inner.name}"
    settings = settings_from_mapping(data, {})
    assert settings.generation.backends == {"procedural": {"concurrency": 2}}


def test_backend_tables_and_lists_from_file_and_environment() -> None:
    data = {**BASE, "generation": {"blocked_terms": ["gore"], "openai": {"model": "m1"}}}
    env = {
        "FEDIGEN_GENERATION__OPENAI__API_KEY": "sk-1",
        "FEDIGEN_GENERATION__BLOCKED_PATTERNS": '["^x", "y,z"]',
        "FEDIGEN_GENERATION__ALLOWED_BACKENDS": "openai, comfyui",
    }
    g = settings_from_mapping(data, env).generation
    assert g.backends == {"openai": {"model": "m1", "api_key": "sk-1"}}
    assert g.blocked_terms == ("gore",) and g.blocked_patterns == ("^x", "y,z")
    assert g.allowed_backends == ("openai", "comfyui")


@pytest.mark.parametrize(
    ("section", "values", "names"),
    [
        ("generation", {"size": "big"}, "generation.size"),
        ("generation", {"size": "10x10"}, "generation.size"),
        ("generation", {"blocked_terms": [1]}, "generation.blocked_terms"),
        ("generation", {"max_images": 9}, "generation.max_images"),
        ("media", {"federation_format": "tiff"}, "media.federation_format"),
        ("bot", {"username": "im agine"}, "bot.username"),
    ],
)
def test_bad_generation_settings_name_the_key(section: str, values: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        settings_from_mapping({**BASE, section: values}, {})
