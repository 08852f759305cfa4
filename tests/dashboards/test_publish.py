"""`floorpulse dashboards publish` against a stand-in for Grafana's HTTP API on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest

from dashboards.build import dashboards
from dashboards.publish import (
    FOLDER_UID,
    TOKEN_VARIABLE,
    PublishError,
    publish,
    redact,
    token_from,
)

TOKEN = "glsa_test-token"
SECRET = "test-token"
"""The part of the token no message may show, in any form."""

Answer = tuple[int, Any, str]
"""Status, body (bytes as they are, str as text, anything else as JSON), content type."""


@dataclass
class FakeGrafana:
    """The few endpoints `publish` calls, with Grafana's status codes."""

    url: str = ""
    grafana: bool = True
    role_may_save: bool = True
    folders: set[str] = field(default_factory=set)
    saved: list[dict[str, Any]] = field(default_factory=list)
    on_save: Callable[[str, Any], Answer] | None = None
    """Answers a save instead of Grafana: given the Authorization header and the body."""

    def answer(self, method: str, path: str, auth: str, body: Any) -> tuple[int, Any] | Answer:
        if self.on_save is not None and path == "/api/dashboards/db":
            return self.on_save(auth, body)
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
            answer = fake.answer(
                self.command, self.path, self.headers.get("Authorization", ""), body
            )
            status, reply = answer[:2]
            if isinstance(reply, bytes):
                data = reply
            else:
                data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
            self.send_response(status)
            kind = "text/plain" if isinstance(reply, str) else "application/json"
            self.send_header("Content-Type", answer[2] if len(answer) > 2 else kind)
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


# whatever the server answers --------------------------------------------------------------------


def every_form(secret: str) -> list[str]:
    return [
        secret,
        quote(secret, safe=""),
        base64.b64encode(TOKEN.encode()).decode(),
        base64.b64encode(f"api_key:{TOKEN}".encode()).decode(),
    ]


def assert_hidden(text: str) -> None:
    for form in every_form(SECRET):
        assert form not in text
    assert "glsa_" not in text


ECHOES: dict[str, Callable[[str, Any], Answer]] = {
    # An error answer that echoes the request: its headers, as JSON.
    "400 echoing the headers": lambda auth, body: (
        400,
        {"message": "bad request", "request": {"headers": {"Authorization": auth}}},
        "application/json",
    ),
    "422 with the token in its message": lambda auth, body: (
        422,
        {"message": f"token {auth.split()[-1]} may not save dashboards"},
        "application/json",
    ),
    "412 with the header in its message": lambda auth, body: (
        412,
        {"message": f"precondition failed for Authorization: {auth}"},
        "application/json",
    ),
    "500 echoing the request as text": lambda auth, body: (
        500,
        f"POST /api/dashboards/db HTTP/1.1\r\nAuthorization: {auth}\r\n\r\n{json.dumps(body)}",
        "text/plain",
    ),
    "502 with the token URL-encoded in a link": lambda auth, body: (
        502,
        f'<a href="/login?auth_token={quote(auth.split()[-1], safe="")}">retry</a>',
        "text/html",
    ),
    "503 with the token in base64": lambda auth, body: (
        503,
        {"message": "upstream said " + base64.b64encode(auth.split()[-1].encode()).decode()},
        "application/json",
    ),
    "401 echoing the header": lambda auth, body: (
        401,
        {"message": f"invalid API key {auth}"},
        "application/json",
    ),
    "a save answer whose link carries the token": lambda auth, body: (
        200,
        {"version": 1, "url": f"/d/x/live?auth_token={auth.split()[-1]}#{auth}"},
        "application/json",
    ),
    "a save answer whose link is another site": lambda auth, body: (
        200,
        {"version": 1, "url": f"https://elsewhere.example/d/x?token={auth.split()[-1]}"},
        "application/json",
    ),
}


@pytest.mark.parametrize("answer", ECHOES.values(), ids=ECHOES.keys())
def test_no_message_shows_the_token_whatever_the_server_answers(
    grafana: FakeGrafana, answer: Callable[[str, Any], Answer]
) -> None:
    grafana.on_save = answer
    try:
        done = publish(grafana.url, TOKEN, dashboards())
    except PublishError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(("Grafana at", grafana.url))
    else:
        message = "\n".join(d.url for d in done)
        assert all(d.url.startswith(f"{grafana.url}/d/x/live") for d in done)
    assert_hidden(message)


@pytest.mark.parametrize("answer", ECHOES.values(), ids=ECHOES.keys())
def test_the_command_never_shows_the_token(
    grafana: FakeGrafana, answer: Callable[[str, Any], Answer]
) -> None:
    grafana.on_save = answer
    done = floorpulse("publish", "--url", grafana.url, token=TOKEN)
    assert_hidden(done.stdout + done.stderr)
    assert "Traceback" not in done.stderr
    if done.returncode:
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr


def test_grafanas_own_message_is_kept_in_one_short_line(grafana: FakeGrafana) -> None:
    grafana.on_save = lambda auth, body: (
        412,
        {"message": "The dashboard has been changed by someone else\n" + "x" * 500},
        "application/json",
    )
    with pytest.raises(PublishError) as raised:
        publish(grafana.url, TOKEN, dashboards())
    message = str(raised.value)
    assert "(412): The dashboard has been changed by someone else xxx" in message
    assert "\n" not in message and len(message) < 300


MALFORMED: dict[str, Answer] = {
    "no url": (200, {"uid": "u", "version": 3, "status": "success"}, "application/json"),
    "no version": (200, {"url": "/d/u/x"}, "application/json"),
    "a url that is no path": (200, {"version": 1, "url": 7}, "application/json"),
    "a version that is no number": (200, {"version": "3", "url": "/d/u"}, "application/json"),
    "a JSON list": (200, [{"url": "/d/u"}], "application/json"),
    "not JSON": (200, b"<html>saved!</html>", "application/json"),
    "text": (200, "saved", "text/plain"),
    "nothing": (200, b"", "application/json"),
}


@pytest.mark.parametrize("answer", MALFORMED.values(), ids=MALFORMED.keys())
def test_an_answer_grafana_would_not_give_is_one_clear_line(
    grafana: FakeGrafana, answer: Answer
) -> None:
    grafana.on_save = lambda auth, body: answer
    with pytest.raises(PublishError, match=r"saving dashboard floorpulse-live-floor.*check --url"):
        publish(grafana.url, TOKEN, dashboards())
    done = floorpulse("publish", "--url", grafana.url, token=TOKEN)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("floorpulse dashboards publish: ")


@pytest.mark.parametrize(
    "tail", [f"/?auth_token={TOKEN}", f"?token={TOKEN}", f"/#{TOKEN}", f"/grafana?x=1&key={TOKEN}"]
)
def test_a_url_with_a_query_or_fragment_is_refused_without_showing_it(
    grafana: FakeGrafana, tail: str
) -> None:
    with pytest.raises(PublishError, match=r"without a query \(\?\.\.\.\) or fragment") as raised:
        publish(grafana.url + tail, TOKEN, dashboards())
    assert_hidden(str(raised.value))
    assert grafana.saved == []


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://admin:{TOKEN}@127.0.0.1/",
        f"127.0.0.1:3000/?token={TOKEN}",
        f"http://[::1/?{TOKEN}",
        "http://127.0.0.1:99999/",
    ],
)
def test_a_url_that_is_not_an_address_is_named_without_its_secrets(url: str) -> None:
    with pytest.raises(PublishError, match="--url") as raised:
        publish(url, TOKEN, dashboards())
    assert_hidden(str(raised.value))


def test_redaction_knows_the_usual_shapes_of_a_credential() -> None:
    text = redact(
        'Bearer abc.def basic%20Zm9v glsa_AbC_123 {"Authorization": "xyz", "api_key": "k"} '
        "http://h/x?a=1#f token=zz",
        "unrelated",
    )
    assert text == (
        'Bearer [hidden] basic%20[hidden] [hidden] {"Authorization": "[hidden]", "api_key": '
        '"[hidden]"} http://h/x?[hidden] token=[hidden]'
    )
    assert redact(f"a {quote(TOKEN)} b %67lsa%5Ftest-token c", TOKEN) == "a [hidden] b [hidden] c"
