"""The deliveries' own HTTP/1.1 client against canned loopback answers: keep-alive and its expiry, the
ways an answer's body is framed, the size cap, no redirects, the address guard, and a kept-alive
connection the peer closed."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import resource
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from activitypub.delivery_http import DeliveryClient, DeliveryHTTPError, idle_room
from activitypub.errors import ContentTypeError, UnsafeURLError
from activitypub.fetch import Fetcher
from activitypub.schemes import Software

Reply = Callable[[int], bytes]  # the n-th request on a connection (from 0) -> bytes to write back


class Canned:
    """A loopback server answering each request with ``reply(n)``; counts connections and requests."""

    def __init__(self, reply: Reply, close_after: int | None = None) -> None:
        self.reply = reply
        self.close_after = close_after  # close the connection after this many requests on it
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.reply(n))
                await writer.drain()
                n += 1
                if self.close_after is not None and n >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:  # the server closes while a client still holds the connection
            writer.close()
            return
        writer.close()


@asynccontextmanager
async def serving(canned: Canned) -> AsyncIterator[str]:
    server = await asyncio.start_server(canned.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/inbox"


def client(**options: object) -> DeliveryClient:
    return DeliveryClient(allow_private_addresses=True, user_agent="fedigen-test", **options)  # type: ignore[arg-type]


ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"


async def test_requests_to_a_host_share_one_kept_alive_connection_until_it_idles_out() -> None:
    canned = Canned(lambda n: ACCEPTED)
    poster = client(keepalive_expiry=0.3)
    async with serving(canned) as url:
        answers = [await poster.post(url, {"Content-Type": "application/activity+json"}, b'{"n": %d}' % i)
                   for i in range(5)]  # fmt: skip
        assert [(a.status, a.body) for a in answers] == [(202, b"ok")] * 5
        assert canned.connections == 1 and poster.opened == 1 and poster.open_connections() == 1
        request = canned.requests[0]
        assert request.startswith(b"POST /inbox HTTP/1.1\r\n")
        assert b"\r\nContent-Length: 8\r\n" in request and request.endswith(b'\r\n\r\n{"n": 0}')
        await asyncio.sleep(0.5)  # idle longer than keepalive_expiry: closed
        assert poster.open_connections() == 0
        assert (await poster.post(url, {}, b"{}")).status == 202
        assert canned.connections == 2
        await poster.aclose()


async def test_chunked_and_close_delimited_bodies_and_the_size_cap() -> None:
    chunked = (
        b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nbad \r\n9\r\nsignature\r\n0\r\n\r\n"
    )
    canned = Canned(lambda n: chunked)
    poster = client(max_bytes=6)
    async with serving(canned) as url:
        answer = await poster.post(url, {}, b"{}")
        assert (answer.status, answer.body) == (400, b"bad si")  # cut at max_bytes, and not used again
        assert poster.open_connections() == 0
        big = client(max_bytes=100)
        assert (await big.post(url, {}, b"{}")).body == b"bad signature"
        assert (await big.post(url, {}, b"{}")).body == b"bad signature"
        assert big.opened == 1  # the chunked answer was read whole: the connection was kept
        await big.aclose()
    to_the_end = Canned(lambda n: b"HTTP/1.0 500 Oops\r\nX-A: 1\r\n\r\nall of it", close_after=1)
    async with serving(to_the_end) as url:
        answer = await poster.post(url, {}, b"{}")
        assert (answer.status, answer.header("x-a"), answer.body) == (500, "1", b"all of")
    await poster.aclose()


async def test_a_redirect_is_returned_not_followed() -> None:
    canned = Canned(
        lambda n: b"HTTP/1.1 308 Moved\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n"
    )
    poster = client()
    async with serving(canned) as url:
        answer = await poster.post(url, {}, b"{}")
        assert (answer.status, answer.header("location")) == (308, "http://127.0.0.1:1/elsewhere")
        assert len(canned.requests) == 1
    await poster.aclose()


async def test_a_private_address_is_refused_before_connecting() -> None:
    canned = Canned(lambda n: ACCEPTED)
    guarded = DeliveryClient(allow_private_addresses=False, user_agent="fedigen-test")
    async with serving(canned) as url:
        with pytest.raises(UnsafeURLError):
            await guarded.post(url, {}, b"{}")
        with pytest.raises(UnsafeURLError):
            await guarded.post("file:///etc/passwd", {}, b"{}")
    assert canned.connections == 0


async def test_a_kept_alive_connection_the_peer_closed_is_replaced() -> None:
    canned = Canned(lambda n: ACCEPTED, close_after=1)  # closes every connection after one answer
    poster = client()
    async with serving(canned) as url:
        for _ in range(3):
            assert (await poster.post(url, {}, b"{}")).status == 202
        assert len(canned.requests) == 3 and canned.connections == 3
    await poster.aclose()


async def test_garbage_and_a_silent_peer_fail_and_close_the_connection() -> None:
    poster = client()
    async with serving(Canned(lambda n: b"SMTP ready\r\n\r\n")) as url:
        with pytest.raises(DeliveryHTTPError):
            await poster.post(url, {}, b"{}")
    assert poster.open_connections() == 0
    async with serving(Canned(lambda n: b"HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\nok")) as url:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await poster.post(url, {}, b"{}")
    assert poster.open_connections() == 0
    with pytest.raises(DeliveryHTTPError):
        await poster.post(url, {}, b"{}")  # the server is gone: nothing to connect to
    await poster.aclose()


def test_the_open_files_limit_is_raised_for_idle_connections_or_bounds_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits = {"soft": 1024, "hard": 20_000}
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (limits["soft"], limits["hard"]))

    def setrlimit(_which: int, values: tuple[int, int]) -> None:
        if values[0] > limits["hard"]:
            raise ValueError("over the hard limit")
        limits["soft"] = values[0]

    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    assert idle_room(4096) == 4096 and limits["soft"] == 4096 + 512  # raised towards the hard limit
    limits.update(soft=1024, hard=1024)
    assert idle_room(4096) == 256  # cannot be raised: half of what the limit leaves


def _jrd(body: bytes, content_type: str = "application/json") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        content_type.encode(),
        len(body),
        body,
    )


async def test_nodeinfo_is_read_through_the_delivery_client_on_the_connection_the_delivery_uses() -> None:
    served: dict[bytes, bytes] = {}
    canned = Canned(lambda n: served[canned.requests[-1].split(b" ")[1]])
    poster = client()
    fetcher = Fetcher(httpx.AsyncClient())  # the httpx client is never used here
    fetcher.delivery = poster
    async with serving(canned) as url:
        base = url.removesuffix("/inbox")
        schema = "http://nodeinfo.diaspora.software/ns/schema/2.1"
        served[b"/.well-known/nodeinfo"] = (
            b"HTTP/1.1 302 Found\r\nLocation: /moved\r\nContent-Length: 0\r\n\r\n"
        )
        served[b"/moved"] = _jrd(json.dumps({"links": [{"rel": schema, "href": f"{base}/ni"}]}).encode())
        served[b"/ni"] = _jrd(
            b'{"software": {"name": "mastodon", "version": "4.5.0"}}', "application/json; profile=x"
        )
        served[b"/inbox"] = ACCEPTED
        assert await fetcher.fetch_software(base) == Software("mastodon", "4.5.0")
        assert (await poster.post(url, {}, b"{}")).status == 202
        assert [r.split(b" ")[:2] for r in canned.requests] == [
            [b"GET", b"/.well-known/nodeinfo"], [b"GET", b"/moved"], [b"GET", b"/ni"], [b"POST", b"/inbox"]
        ]  # fmt: skip
        assert canned.connections == 1  # the probe's connection carried the delivery
        served[b"/ni"] = _jrd(b"<html></html>", "text/html")
        with pytest.raises(ContentTypeError):
            await fetcher.fetch_software(base)
    await poster.aclose()


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` (an IP address) and its key, in PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    names = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(names, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


async def test_https_verifies_the_certificate_against_the_host(tmp_path: Path) -> None:
    cert_file, key_file = _self_signed(tmp_path, "127.0.0.1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    canned = Canned(lambda n: ACCEPTED)
    server = await asyncio.start_server(canned.handle, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    trusting = client(ssl_context=ssl.create_default_context(cafile=str(cert_file)))
    untrusting = client(
        ssl_context=ssl.create_default_context(cafile=str(_self_signed(tmp_path, "127.0.0.2")[0]))
    )
    async with server:
        for _ in range(2):
            assert (await trusting.post(f"https://127.0.0.1:{port}/inbox", {}, b"{}")).status == 202
        assert canned.connections == 1  # kept alive over TLS too
        with pytest.raises(DeliveryHTTPError):
            await untrusting.post(f"https://127.0.0.1:{port}/inbox", {}, b"{}")
        assert len(canned.requests) == 2
        await trusting.aclose()
