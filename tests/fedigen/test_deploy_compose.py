"""deploy/compose.yaml, the grown-up recipe (docs/scaling.md): it parses, every file it mounts or builds
from exists, every command it runs is a real `fedigen` command with options it accepts, the config it
mounts loads (with the environment it sets) into the shape promised, the Caddyfile is valid and points at
the web service, and deploy/compose/env.example names every variable it needs.

Docker Compose itself is not run here (no Docker daemon or compose plugin on the test machines)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from fedigen.cli import main
from fedigen.config import settings_from_mapping

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROOT = DEPLOY.parent
COMPOSE = DEPLOY / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE.read_text()))


def sample_environment() -> dict[str, str]:
    """The environment the fedigen services get, with deploy/.env's variables filled in."""
    values = {name: f"sample-{name.lower()}" for name in variables()} | {"FEDIGEN_DOMAIN": "social.example"}
    env = yaml.safe_load(COMPOSE.read_text())["x-fedigen"]["environment"]
    return {
        key: re.sub(r"\$\{([A-Z_][A-Z0-9_]*)[^}]*\}", lambda m: values[m[1]], str(value))
        for key, value in env.items()
    }


def test_the_grown_up_shape(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "garage", "migrate", "web", "worker", "caddy"}
    web, worker = services["web"], services["worker"]
    assert web["deploy"]["replicas"] == 2 and web["command"][:2] == ["serve", "--no-worker"]
    assert worker["deploy"]["replicas"] == 2 and worker["command"] == ["worker"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["image"].startswith("postgres:") and services["caddy"]["image"] == "caddy:2"
    assert services["garage"]["image"].startswith("dxflrs/garage:")
    named = set(compose["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{source} is mounted but missing"
            else:
                assert source in named, f"volume {source} is not declared"


def test_the_image_builds_from_files_that_exist(compose: dict[str, Any]) -> None:
    build = compose["x-fedigen"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    dockerfile = context / build["dockerfile"]
    assert context == ROOT and dockerfile.is_file()
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore").read_text().split()
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (context / source).exists(), f"COPY {source}: missing"
                assert f"!{source}" in ignore, f"{source} is left out of the build context"
    assert re.search(r'pip install .*"/src\[s3\]"', dockerfile.read_text())  # botocore for the S3 store


def test_every_command_is_a_real_fedigen_command(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if service.get("image") != "fedigen:local":
            continue
        args = list(service["command"])
        ctx = main.make_context("fedigen", ["--help"], resilient_parsing=True)
        command: click.Command = main
        while isinstance(command, click.Group):
            found = command.get_command(ctx, args[0])
            assert found is not None, f"{name}: `fedigen {' '.join(service['command'])}` is no command"
            command, args = found, args[1:]
        command.make_context(command.name or "", args, parent=ctx)  # a bad option raises UsageError


def test_the_mounted_config_loads_with_the_compose_environment() -> None:
    env = sample_environment()
    assert env["FEDIGEN_CONFIG"] == "/etc/fedigen/config.toml"
    data = tomllib.loads((DEPLOY / "compose" / "config.toml").read_text())
    settings = settings_from_mapping(data, env, base_dir="/var/lib/fedigen")
    assert settings.base_url == "https://social.example"
    assert settings.database_url.startswith("postgresql+asyncpg://fedigen:sample-postgres_password@postgres:")
    assert settings.media.store == "s3" and settings.server.worker is False
    assert settings.s3_keys() == ("sample-s3_access_key", "sample-s3_secret_key")
    garage = tomllib.loads((DEPLOY / "compose" / "garage.toml").read_text())
    assert settings.media.s3.region == garage["s3_api"]["s3_region"]
    assert settings.media.s3.endpoint.endswith(":" + garage["s3_api"]["api_bind_addr"].rsplit(":", 1)[1])


def test_env_example_names_every_variable() -> None:
    example = (DEPLOY / "compose" / "env.example").read_text()
    listed = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.MULTILINE))
    assert listed == variables()


def test_the_caddyfile_is_valid_and_proxies_to_the_web_service(tmp_path: Path) -> None:
    caddyfile = DEPLOY / "compose" / "Caddyfile"
    text = caddyfile.read_text()
    assert re.search(r"dynamic a \{\s+name web\s+port 8000", text)
    caddy = shutil.which("caddy")
    if caddy is None:
        if os.environ.get("CI") == "true":
            pytest.fail("caddy must be installed in CI (.ci/run)")
        pytest.skip("caddy is not installed (apt-get install caddy)")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    proc = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(caddyfile)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 0 and "Valid configuration" in proc.stdout + proc.stderr, proc.stderr
    assert "not formatted" not in proc.stderr, proc.stderr
