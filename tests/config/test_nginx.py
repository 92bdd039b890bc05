"""deploy/nginx.conf run by a real nginx: it accepts the file, hands requests and the
WebSocket upgrade to the api with the headers Django relies on, and serves /static/ itself.

The api is stood in for by a small websockets server (HTTP answers plus an echo socket).
Needs Debian's nginx (`apt-get install nginx-light`): skipped without it, except in CI."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import Request, Response, ServerConnection, serve

from tests import REPO, free_port

NGINX_CONF = REPO / "deploy" / "nginx.conf"
STARTUP_LIMIT_S = 10.0


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        message = "nginx is not installed (apt-get install nginx-light)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def site() -> Iterator[Path]:
    """A scratch nginx prefix. World-readable: nginx's workers drop root privileges."""
    root = Path(tempfile.mkdtemp(prefix="nginx-test-"))
    root.chmod(0o755)
    (root / "static").mkdir(mode=0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx.conf should contain {old!r} exactly once"
    return text.replace(old, new)


def local_config(site: Path, port: int, upstream_port: int) -> Path:
    """deploy/nginx.conf with the container specifics pointed at this machine."""
    text = NGINX_CONF.read_text()
    text = _replace_once(text, "listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;")
    text = _replace_once(text, "http://api:8000", f"http://127.0.0.1:{upstream_port}")
    text = _replace_once(text, "alias /srv/static/;", f"alias {site}/static/;")
    temp_paths = "".join(
        f"    {kind}_temp_path {site}/{kind}_temp;\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = _replace_once(text, "\nhttp {\n", "\nhttp {\n" + temp_paths)
    config = site / "nginx.conf"
    config.write_text(f"pid {site}/nginx.pid;\n{text}")
    return config


@contextmanager
def running_nginx(nginx_binary: str, site: Path, upstream_port: int) -> Iterator[int]:
    port = free_port()
    config = local_config(site, port, upstream_port)
    log = site / "nginx.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [nginx_binary, "-p", str(site), "-c", str(config), "-e", str(log), "-g", "daemon off;"],
            stdout=output,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"nginx exited with {process.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"nginx did not listen on {port}:\n{log.read_text()}")
                time.sleep(0.02)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class FakeApi:
    """What reached the api: each request's path and headers."""

    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        self.seen.append((request.path, headers))
        if headers.get("upgrade", "").lower() == "websocket":
            return None  # go on with the WebSocket handshake
        return connection.respond(200, json.dumps({"path": request.path}))

    async def echo(self, connection: ServerConnection) -> None:
        async for message in connection:
            await connection.send(f"echo:{message!s}")


def test_nginx_accepts_the_config(nginx_binary: str, site: Path) -> None:
    config = local_config(site, free_port(), 8000)

    result = subprocess.run(
        [nginx_binary, "-t", "-p", str(site), "-c", str(config), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


async def test_requests_reach_the_api_with_their_host_and_client(nginx_binary: str, site: Path) -> None:
    api = FakeApi()
    async with serve(api.echo, "127.0.0.1", 0, process_request=api.process_request) as upstream:
        with running_nginx(nginx_binary, site, upstream.sockets[0].getsockname()[1]) as port:
            async with httpx.AsyncClient(trust_env=False) as client:
                response = await client.get(
                    f"http://127.0.0.1:{port}/api/v1/opportunities/?limit=5", headers={"Host": "arb.example.test"}
                )

    assert response.status_code == 200
    assert response.json() == {"path": "/api/v1/opportunities/?limit=5"}
    ((path, headers),) = api.seen
    assert path == "/api/v1/opportunities/?limit=5"
    # Django checks Host against ALLOWED_HOSTS; daphne --proxy-headers reads the rest.
    assert headers["host"] == "arb.example.test"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"


async def test_websocket_upgrade_is_proxied_both_ways(nginx_binary: str, site: Path) -> None:
    api = FakeApi()
    async with serve(api.echo, "127.0.0.1", 0, process_request=api.process_request) as upstream:
        with running_nginx(nginx_binary, site, upstream.sockets[0].getsockname()[1]) as port:
            async with connect(f"ws://127.0.0.1:{port}/ws/opportunities/", proxy=None, open_timeout=10) as socket_:
                await socket_.send("first")
                first = await socket_.recv()
                await socket_.send("second")
                second = await socket_.recv()

    assert (first, second) == ("echo:first", "echo:second")
    ((path, headers),) = api.seen
    assert path == "/ws/opportunities/"
    assert headers["upgrade"].lower() == "websocket"
    assert headers["connection"].lower() == "upgrade"


async def test_static_files_are_served_without_the_api(nginx_binary: str, site: Path) -> None:
    stylesheet = site / "static" / "admin.css"
    stylesheet.write_text("body { color: black; }\n")
    stylesheet.chmod(0o644)
    api = FakeApi()
    async with serve(api.echo, "127.0.0.1", 0, process_request=api.process_request) as upstream:
        with running_nginx(nginx_binary, site, upstream.sockets[0].getsockname()[1]) as port:
            async with httpx.AsyncClient(trust_env=False) as client:
                found = await client.get(f"http://127.0.0.1:{port}/static/admin.css")
                missing = await client.get(f"http://127.0.0.1:{port}/static/nope.css")

    assert found.status_code == 200
    assert found.text == "body { color: black; }\n"
    assert found.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404
    assert api.seen == []


async def test_every_response_carries_the_security_headers(nginx_binary: str, site: Path) -> None:
    api = FakeApi()
    async with serve(api.echo, "127.0.0.1", 0, process_request=api.process_request) as upstream:
        with running_nginx(nginx_binary, site, upstream.sockets[0].getsockname()[1]) as port:
            async with httpx.AsyncClient(trust_env=False) as client:
                page = await client.get(f"http://127.0.0.1:{port}/")
                missing = await client.get(f"http://127.0.0.1:{port}/static/nope.css")

    for response in (page, missing):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_password_guessing_is_rate_limited_per_address_and_the_rest_is_not(nginx_binary: str, site: Path) -> None:
    api = FakeApi()
    async with serve(api.echo, "127.0.0.1", 0, process_request=api.process_request) as upstream:
        with running_nginx(nginx_binary, site, upstream.sockets[0].getsockname()[1]) as port:
            async with httpx.AsyncClient(trust_env=False) as client:
                # GET: the stand-in api answers nothing else; nginx limits every method alike.
                tries = [
                    (await client.get(f"http://127.0.0.1:{port}/api/v1/auth/token/")).status_code for _ in range(12)
                ]
                pages = [(await client.get(f"http://127.0.0.1:{port}/")).status_code for _ in range(12)]

    # A burst of 5 on top of the first: the 7th try within the minute is refused.
    assert tries[:6] == [200] * 6
    assert set(tries[6:]) == {429}
    assert pages == [200] * 12


async def test_the_scheme_a_tls_proxy_in_front_reports_is_passed_on(nginx_binary: str, site: Path) -> None:
    api = FakeApi()
    async with serve(api.echo, "127.0.0.1", 0, process_request=api.process_request) as upstream:
        with running_nginx(nginx_binary, site, upstream.sockets[0].getsockname()[1]) as port:
            async with httpx.AsyncClient(trust_env=False) as client:
                await client.get(f"http://127.0.0.1:{port}/", headers={"X-Forwarded-Proto": "https"})

    ((_, headers),) = api.seen
    assert headers["x-forwarded-proto"] == "https"
