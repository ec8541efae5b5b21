"""The files an operator copies from deploy/ are valid for the real tools: `nginx -t`, `caddy validate`
and `systemd-analyze verify` (docs/operating.md). Outside CI a missing tool skips its test with the
reason; in CI (CI=true, where .ci/run installs nginx and caddy) it fails instead.

Only what cannot exist on a test machine is rewritten: the certificate paths (a self-signed pair made
here), nginx's cache directory, and the unit's ExecStart binary (a command that exists)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fedigen.config import MediaSettings
from tests.support.server import FedigenServer, free_port

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
    # nginx inherits proxy_set_header and add_header into a location only if it has none of its own.
    for block in re.findall(r"location [^{]*\{[^}]*\}", nginx):
        if "proxy_set_header" in block:
            for header in ("Host $host", "X-Forwarded-For", "X-Forwarded-Proto $scheme"):
                assert f"proxy_set_header {header}" in block, block
        if "add_header" in block:
            assert "add_header Strict-Transport-Security" in block, block


def test_nginx_config_in_front_of_a_running_fedigen(tmp_path: Path) -> None:
    """deploy/nginx/fedigen.conf as it is (ports, certificate and upstream aside) in front of a real
    `fedigen serve`: pages pass, media come back with their cache headers and from nginx's cache the
    second time, the streaming API works over WebSocket through it, and an inbox body past 1 MB stops at
    nginx while a small one reaches fedigen."""
    nginx = tool("nginx")
    server, token, media_key = fedigen_with_token_and_image(tmp_path)

    cert, key = self_signed(tmp_path)
    https_port, http_port = free_port(), free_port()
    site = (DEPLOY / "nginx" / "fedigen.conf").read_text()
    site = (
        site.replace("/etc/letsencrypt/live/social.example/fullchain.pem", str(cert))
        .replace("/etc/letsencrypt/live/social.example/privkey.pem", str(key))
        .replace("/var/cache/nginx/fedigen", str(tmp_path / "cache"))
        .replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{server.port};")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
        .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    )
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    (tmp_path / "site.conf").write_text(site)
    temp = tmp_path / "temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
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
    base = f"https://127.0.0.1:{https_port}"
    with server:
        proxy = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            with httpx.Client(base_url=base, verify=False, timeout=10) as client:
                server.wait_until(lambda: _answers(client), what="nginx to answer")
                page = client.get("/.well-known/nodeinfo")
                assert page.status_code == 200 and "nodeinfo" in page.text
                assert page.headers["strict-transport-security"] == "max-age=63072000"

                first, second = client.get(f"/media/{media_key}"), client.get(f"/media/{media_key}")
                for answer in (first, second):
                    assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/")
                    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
                    assert "strict-transport-security" in answer.headers
                assert (first.headers["x-cache-status"], second.headers["x-cache-status"]) == ("MISS", "HIT")
                assert (
                    first.content
                    == second.content
                    == (server.directory / "data" / "media" / media_key).read_bytes()
                )

                headers = {"Content-Type": "application/activity+json"}
                big = client.post("/inbox", content=b"{" + b" " * 1_100_000 + b"}", headers=headers)
                assert big.status_code == 413 and "nginx" in big.text  # refused before fedigen
                small = client.post("/inbox", content=b'{"type": "Follow"}', headers=headers)
                assert small.status_code == 401, small.text  # fedigen's answer: no signature

                assert "through nginx" in asyncio.run(stream_one_post(base, token, "through nginx"))
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)


def fedigen_with_token_and_image(tmp_path: Path) -> tuple[FedigenServer, str, str]:
    """An initialised instance (not started) with an access token for its admin and one image post."""
    server = FedigenServer(tmp_path / "fedigen")
    server.directory.mkdir()
    server.cli("init", "--url", server.base_url, "--admin", "admin")
    token = secrets.token_urlsafe(16)
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as db:
        db.execute(
            "INSERT INTO oauth_apps (client_id, client_secret_hash, name, redirect_uris, scopes, created_at)"
            " VALUES ('c', 'x', 't', 'urn:ietf:wg:oauth:2.0:oob', 'read write', datetime('now'))"
        )
        db.execute(
            "INSERT INTO oauth_tokens (token_hash, app_id, account_id, scopes, created_at) VALUES"
            " (?, (SELECT id FROM oauth_apps), (SELECT id FROM actors WHERE username = 'admin'),"
            " 'read write', datetime('now'))",
            (hashlib.sha256(token.encode()).hexdigest(),),
        )
    server.cli("post", "--as", "admin", "--prompt", "a lighthouse in fog", "an image")
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as db:
        media_key = db.execute(
            "SELECT thumbnail_key FROM media_attachments WHERE thumbnail_key IS NOT NULL"
        ).fetchone()[0]
    return server, token, media_key


async def stream_one_post(base: str, token: str, text: str) -> str:
    """Open the user stream over WebSocket (TLS, any certificate), post, and return what streamed."""
    url = base.replace("https", "wss", 1) + f"/api/v1/streaming?access_token={token}&stream=user"
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    async with websockets.connect(url, ssl=tls) as ws:
        async with httpx.AsyncClient(base_url=base, verify=False) as api:
            posted = await api.post(
                "/api/v1/statuses", data={"status": text}, headers={"Authorization": f"Bearer {token}"}
            )
            assert posted.status_code == 200, posted.text
        event = json.loads(await asyncio.wait_for(ws.recv(), 15))
        return str(json.loads(event["payload"])["content"])


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/.well-known/nodeinfo").status_code == 200
    except httpx.HTTPError:
        return False


def test_caddyfile_in_front_of_a_running_fedigen(tmp_path: Path) -> None:
    """deploy/caddy/Caddyfile in front of a real `fedigen serve`, with Caddy's own local CA instead of
    ACME (global options added, the site address and upstream port rewritten): pages, media headers,
    the streaming API over WebSocket, and the inbox body limit."""
    caddy = tool("caddy")
    server, token, media_key = fedigen_with_token_and_image(tmp_path)
    https_port, http_port = free_port(), free_port()
    site = (DEPLOY / "caddy" / "Caddyfile").read_text()
    assert "social.example {" in site and "reverse_proxy 127.0.0.1:8000" in site
    site = site.replace("social.example {", "127.0.0.1 {").replace(
        "reverse_proxy 127.0.0.1:8000", f"reverse_proxy 127.0.0.1:{server.port}"
    )
    config = tmp_path / "Caddyfile"
    config.write_text(
        f"{{\n\tadmin off\n\tlocal_certs\n\tskip_install_trust\n\tdefault_sni 127.0.0.1\n"
        f"\thttp_port {http_port}\n\thttps_port {https_port}\n\tstorage file_system {tmp_path}/caddy\n}}\n\n"
        + site
    )
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    base = f"https://127.0.0.1:{https_port}"
    with server:
        proxy = subprocess.Popen(
            [caddy, "run", "--adapter", "caddyfile", "--config", str(config)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            with httpx.Client(base_url=base, verify=False, timeout=10) as client:
                server.wait_until(lambda: _answers(client), what="caddy to answer")
                page = client.get("/.well-known/nodeinfo")
                assert (
                    page.status_code == 200
                    and page.headers["strict-transport-security"] == "max-age=63072000"
                )
                assert page.headers.get("content-encoding") in ("zstd", "gzip") or len(page.content) < 512
                image = client.get(f"/media/{media_key}", headers={"Accept-Encoding": "gzip"})
                assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
                assert image.headers["cache-control"] == "public, max-age=31536000, immutable"
                assert "content-encoding" not in image.headers
                assert image.content == (server.directory / "data" / "media" / media_key).read_bytes()

                headers = {"Content-Type": "application/activity+json"}
                # Refused: 413, or with Caddy 2.6 (Debian 12) sometimes 502 (the limit cuts the body the
                # proxy is sending), or the connection closed before the answer: never accepted.
                try:
                    big = client.post("/inbox", content=b"{" + b" " * 1_100_000 + b"}", headers=headers)
                    assert big.status_code in (413, 502), big.status_code
                except (httpx.RemoteProtocolError, httpx.WriteError, httpx.ReadError):
                    pass
                small = client.post("/inbox", content=b'{"type": "Follow"}', headers=headers)
                assert small.status_code == 401, small.text  # fedigen's answer: no signature

                assert "through caddy" in asyncio.run(stream_one_post(base, token, "through caddy"))
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
