"""The files an operator copies from deploy/ are valid for the real tools: `nginx -t`, `caddy validate`
and `systemd-analyze verify` (docs/operating.md). Outside CI a missing tool skips its test with the
reason; in CI (CI=true, where .ci/run installs nginx and caddy) it fails instead.

Only what cannot exist on a test machine is rewritten: the certificate paths (a self-signed pair made
here), nginx's cache directory, and the unit's ExecStart binary (a command that exists)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fedigen.config import MediaSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("fedigen.service", "fedigen-worker.service", "fedigen-media-prune.service")
TIMERS = ("fedigen-media-prune.timer",)
FEDIGEN_BIN = "/opt/fedigen/venv/bin/fedigen"


def tool(name: str) -> str:
    """The tool's path; skip (fail in CI) when it is not installed."""
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (apt-get install {'nginx-light' if name == 'nginx' else name})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} must be installed in CI (.ci/run): {reason}")
        pytest.skip(reason)
    return found


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "social.example")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_nginx_config_is_valid(tmp_path: Path) -> None:
    nginx = tool("nginx")
    cert, key = self_signed(tmp_path)
    site = (DEPLOY / "nginx" / "fedigen.conf").read_text()
    for path in ("/etc/letsencrypt/live/social.example/fullchain.pem",
                 "/etc/letsencrypt/live/social.example/privkey.pem", "/var/cache/nginx/fedigen"):  # fmt: skip
        assert path in site
    site = (
        site.replace("/etc/letsencrypt/live/social.example/fullchain.pem", str(cert))
        .replace("/etc/letsencrypt/live/social.example/privkey.pem", str(key))
        .replace("/var/cache/nginx/fedigen", str(tmp_path / "cache"))
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "temp").mkdir()
    # What Debian's /etc/nginx/nginx.conf puts around a file of sites-enabled/, in the test's directory.
    wrapper = tmp_path / "nginx.conf"
    temp = tmp_path / "temp"
    wrapper.write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {temp}; proxy_temp_path {temp}; fastcgi_temp_path {temp};
    uwsgi_temp_path {temp}; scgi_temp_path {temp};
    include {tmp_path}/site.conf;
}}
""")
    proc = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(wrapper)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "test is successful" in proc.stderr
    # Any warning but the one nginx 1.25.1+ gives for "listen ... http2" (kept for Debian 12's 1.22).
    warnings = [w for w in proc.stderr.splitlines() if "[warn]" in w and "http2" not in w]
    assert not warnings, proc.stderr


def test_caddyfile_is_valid(tmp_path: Path) -> None:
    caddy = tool("caddy")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    proc = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(DEPLOY / "caddy" / "Caddyfile")],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Valid configuration" in proc.stdout + proc.stderr
    # Formatted as `caddy fmt` writes it (caddy warns about unformatted files).
    assert "not formatted" not in proc.stderr, proc.stderr


def test_systemd_units_are_valid(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text()
        assert f"ExecStart={FEDIGEN_BIN} " in text
        # A binary that exists here (systemd-analyze checks it is executable).
        (tmp_path / name).write_text(text.replace(FEDIGEN_BIN, sys.executable + " -m fedigen"))
    for name in TIMERS:
        shutil.copyfile(DEPLOY / "systemd" / name, tmp_path / name)
    proc = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / name) for name in (*UNITS, *TIMERS))],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    # systemd-analyze exits 0 for unknown keys and values ("..., ignoring"): any line about our files fails.
    about_ours = [
        line for line in output.splitlines() if any(name in line for name in UNITS) or "ignoring" in line
    ]
    assert proc.returncode == 0 and not about_ours, output


def test_units_and_proxies_say_what_docs_promise() -> None:
    """The hardening options and the limits the docs name are in the files a user copies."""
    for name in UNITS:
        unit = (DEPLOY / "systemd" / name).read_text()
        for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/fedigen",
                       "PrivateTmp=yes", "ProtectHome=yes", "RestrictAddressFamilies=",
                       "SystemCallFilter=@system-service", "User=fedigen"):  # fmt: skip
            assert option in unit, (name, option)
        assert re.search(r"^CapabilityBoundingSet=$", unit, re.M), name
    nginx = (DEPLOY / "nginx" / "fedigen.conf").read_text()
    caddy = (DEPLOY / "caddy" / "Caddyfile").read_text()
    max_upload = MediaSettings().max_upload_bytes
    assert int(re.search(r"client_max_body_size (\d+)m;", nginx)[1]) * 2**20 >= max_upload  # type: ignore[index]
    assert int(re.search(r"max_size (\d+)MB", caddy)[1]) * 10**6 >= max_upload  # type: ignore[index]
    for header in ("Host $host", "X-Forwarded-Proto $scheme", "Upgrade $http_upgrade"):
        assert f"proxy_set_header {header};" in nginx
