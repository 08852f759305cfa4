"""`floorpulse dashboards publish` against a stand-in for Grafana's HTTP API on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dashboards.build import dashboards
from dashboards.publish import FOLDER_UID, TOKEN_VARIABLE, PublishError, publish, token_from

TOKEN = "glsa_test-token"


@dataclass
class FakeGrafana:
    """The few endpoints `publish` calls, with Grafana's status codes."""

    url: str = ""
    grafana: bool = True
    role_may_save: bool = True
    folders: set[str] = field(default_factory=set)
    saved: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, method: str, path: str, auth: str, body: Any) -> tuple[int, Any]:
        if not self.grafana:
            return 404, "404 page not found"
        if path == "/api/health":
            return 200, {"commit": "abc", "database": "ok", "version": "11.6.0"}
        if auth != f"Bearer {TOKEN}":
            return 401, {"message": "invalid API key"}
        if method == "GET" and path.startswith("/api/folders/"):
            uid = path.rsplit("/", 1)[1]
            return (200, {"uid": uid}) if uid in self.folders else (404, {"message": "not found"})
        if not self.role_may_save:
            return 403, {"message": "Access denied"}
        if method == "POST" and path == "/api/folders":
            self.folders.add(body["uid"])
            return 200, {"uid": body["uid"], "title": body["title"]}
        if method == "POST" and path == "/api/dashboards/db":
            self.saved.append(body)
            uid = body["dashboard"]["uid"]
            return 200, {"uid": uid, "version": len(self.saved), "url": f"/d/{uid}/x"}
        return 404, {"message": "not found"}


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, reply = fake.answer(
                self.command, self.path, self.headers.get("Authorization", ""), body
            )
            data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
            self.send_response(status)
            kind = "text/plain" if isinstance(reply, str) else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_publishes_every_dashboard_into_the_floorpulse_folder(grafana: FakeGrafana) -> None:
    done = publish(grafana.url, TOKEN, dashboards())
    assert [d.uid for d in done] == [d.uid for d in dashboards()]
    assert grafana.folders == {FOLDER_UID}
    for body, dashboard in zip(grafana.saved, dashboards(), strict=True):
        assert body["dashboard"] == dashboard.model()
        assert body["overwrite"] is True and body["folderUid"] == FOLDER_UID
    assert done[0].url == f"{grafana.url}/d/{done[0].uid}/x"


def test_publishing_twice_overwrites(grafana: FakeGrafana) -> None:
    publish(grafana.url + "/", TOKEN, dashboards())
    again = publish(grafana.url, TOKEN, dashboards())
    assert [d.version for d in again] == [5, 6, 7, 8]


def test_a_wrong_token_is_named(grafana: FakeGrafana) -> None:
    with pytest.raises(PublishError, match=rf"refused the token \(401.*{TOKEN_VARIABLE}"):
        publish(grafana.url, "glsa_wrong", dashboards())
    assert grafana.saved == []


def test_a_token_without_the_editor_role_is_named(grafana: FakeGrafana) -> None:
    grafana.role_may_save = False
    with pytest.raises(PublishError, match=r"403 Forbidden.*Editor role"):
        publish(grafana.url, TOKEN, dashboards())


def test_a_url_where_grafana_is_not(grafana: FakeGrafana) -> None:
    grafana.grafana = False
    with pytest.raises(PublishError, match=r"404 Not Found.*check --url"):
        publish(grafana.url, TOKEN, dashboards())


def test_a_url_nothing_answers_at() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PublishError, match=rf"cannot reach Grafana at http://127.0.0.1:{port}"):
        publish(f"http://127.0.0.1:{port}", TOKEN, dashboards(), timeout_s=5)


@pytest.mark.parametrize("url", ["127.0.0.1:3000", "ftp://127.0.0.1", "http://", ""])
def test_a_url_that_is_not_an_address(url: str) -> None:
    with pytest.raises(PublishError, match="--url"):
        publish(url, TOKEN, dashboards())


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(PublishError, match=TOKEN_VARIABLE):
        publish("http://admin:admin@127.0.0.1:3000", TOKEN, dashboards())


def test_the_token_comes_from_the_environment_only() -> None:
    assert token_from({TOKEN_VARIABLE: f" {TOKEN}\n"}) == TOKEN
    with pytest.raises(PublishError, match=TOKEN_VARIABLE):
        token_from({})
    with pytest.raises(PublishError, match=TOKEN_VARIABLE):
        token_from({TOKEN_VARIABLE: "  "})


def floorpulse(*args: str, token: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VARIABLE}
    if token is not None:
        env[TOKEN_VARIABLE] = token
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "dashboards", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_command_publishes_and_says_where(grafana: FakeGrafana) -> None:
    done = floorpulse("publish", "--url", grafana.url, token=TOKEN)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("published ") == 4 and grafana.url in done.stdout


def test_the_command_fails_in_one_line_without_a_token(grafana: FakeGrafana) -> None:
    done = floorpulse("publish", "--url", grafana.url, token=None)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and TOKEN_VARIABLE in done.stderr
    assert grafana.saved == []


def test_the_command_has_no_token_flag() -> None:
    done = floorpulse("publish", "--url", "http://127.0.0.1:3000", "--token", TOKEN, token=None)
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr
