"""Push the dashboards to a running Grafana over its HTTP API with grafana-client.

The token comes from FLOORPULSE_GRAFANA_TOKEN only: never a flag (shell history, process lists)
and never a file in the repository. No message ever holds it, whatever the server answers: the
only text of an answer a message repeats is Grafana's own `message` field, cut to one line; no
message names a URL with a query string; and every message is scrubbed of the token (as sent,
URL-encoded, JSON-escaped or in base64) and of anything shaped like a credential. An answer that
is not what Grafana answers (no `url`, not JSON) is one line too, never a traceback.

Exceptions:

    PublishError(Exception)   the one error `publish` raises; its message says what to fix
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import quote, quote_plus, urljoin, urlsplit

from dashboards.panels import Dashboard

TOKEN_VARIABLE: Final = "FLOORPULSE_GRAFANA_TOKEN"
FOLDER_UID: Final = "floorpulse"
"""The folder the dashboards live in; file provisioning (deploy/grafana) uses the same uid."""
FOLDER_TITLE: Final = "floorpulse"
SERVER_MESSAGE_CHARS: Final = 160
"""The most of Grafana's own `message` a message repeats."""
HIDDEN: Final = "[hidden]"

T = TypeVar("T")

# Anything shaped like a credential, whatever the token: an Authorization value, a Grafana
# service account token or a JWT, a query parameter or a JSON field that carries one, and any
# query string of a URL.
_CREDENTIALS: Final = (
    (re.compile(r"(?i)\b(bearer|basic)(\s+|%20|\+)[^\s'\"`,;}\]]+"), rf"\1\2{HIDDEN}"),
    (re.compile(r"\bglsa_[A-Za-z0-9_]+|\beyJ[A-Za-z0-9_=-]{16,}"), HIDDEN),
    (re.compile(r"(?i)\b([a-z_]*(?:token|key|password|secret)=)[^\s&'\"`,;}]+"), rf"\1{HIDDEN}"),
    (
        re.compile(
            r"(?i)([\"'][a-z_-]*(?:token|key|password|secret|authorization)[\"']\s*:\s*[\"'])[^\"']+"
        ),
        rf"\1{HIDDEN}",
    ),
    (re.compile(r"(https?://[^\s?#'\"`]*)[?#][^\s'\"`]*"), r"\1?" + HIDDEN),
)


class PublishError(Exception):
    """Publishing failed; the message names the URL or the variable to fix."""


@dataclass(frozen=True, slots=True)
class Published:
    uid: str
    version: int
    url: str


def token_from(environ: Mapping[str, str] = os.environ) -> str:
    token = environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise PublishError(
            f"{TOKEN_VARIABLE} is not set: create a service account token with the Editor role "
            f"in Grafana (Administration, Service accounts) and export it as {TOKEN_VARIABLE}"
        )
    return token


def publish(
    url: str, token: str, dashboards: Sequence[Dashboard], *, timeout_s: float = 10.0
) -> list[Published]:
    """Create or overwrite each dashboard (by its fixed uid) in the floorpulse folder.
    PublishError, its message scrubbed of the token, for anything that goes wrong."""
    try:
        return _publish(url, token, dashboards, timeout_s)
    except PublishError as exc:
        raise type(exc)(redact(str(exc), token)) from None
    except Exception as exc:  # whatever a server's answer makes a library raise: one line
        raise PublishError(
            redact(
                f"publishing to {_shown(url)} failed on an unexpected answer "
                f"({type(exc).__name__}): check --url",
                token,
            )
        ) from None


def redact(text: str, token: str) -> str:
    """`text` without the token in any of the forms an answer may echo it, nor anything shaped
    like a credential."""
    if token:
        forms = {
            token,
            quote(token, safe=""),
            quote_plus(token),
            json.dumps(token)[1:-1],
            base64.b64encode(token.encode()).decode(),
        }
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, HIDDEN)
        # Percent-encoded in any mix, as a server may echo a URL or a form.
        if token.isascii():
            encoded = "".join(f"(?:{re.escape(c)}|%{ord(c):02x})" for c in token)
            text = re.sub(encoded, HIDDEN, text, flags=re.IGNORECASE)
    for pattern, replacement in _CREDENTIALS:
        text = pattern.sub(replacement, text)
    return text


def _publish(
    url: str, token: str, dashboards: Sequence[Dashboard], timeout_s: float
) -> list[Published]:
    from grafana_client.api import GrafanaApi

    base = _checked(url)
    # A string credential is sent as "Authorization: Bearer <token>".
    api = GrafanaApi.from_url(base, credential=token, timeout=timeout_s)
    # GET /api/health needs no token: it tells "not Grafana" apart from "wrong token".
    health = _call(base, "the health check", lambda: api.client.GET("/health"))
    if not isinstance(health, dict) or "database" not in health:
        raise PublishError(f"{base} answered, but not as Grafana does: check --url")
    _ensure_folder(api, base)
    published = []
    for dashboard in dashboards:
        body = {
            "dashboard": dashboard.model(),
            "folderUid": FOLDER_UID,
            "overwrite": True,
            "message": "floorpulse dashboards publish",
        }
        what = f"saving dashboard {dashboard.uid}"
        saved = _call(base, what, functools.partial(api.dashboard.update_dashboard, body))
        version, path = _saved(base, what, saved)
        # Grafana's url is a path that already holds any sub-path Grafana is served under.
        published.append(Published(dashboard.uid, version, redact(urljoin(base, path), token)))
    return published


def _saved(base: str, what: str, answer: object) -> tuple[int, str]:
    """The version and the dashboard's path from Grafana's answer to a save."""
    if not isinstance(answer, dict):
        raise PublishError(
            f"{base} answered {what} with {_kind(answer)}, not Grafana's answer: check --url"
        )
    version, path = answer.get("version"), answer.get("url")
    missing = [
        name
        for name, ok in (
            ("version", isinstance(version, int) and not isinstance(version, bool)),
            ("url", isinstance(path, str) and path.startswith("/") and not path.startswith("//")),
        )
        if not ok
    ]
    if missing:
        raise PublishError(
            f"{base} answered {what} without a valid {' or '.join(missing)}, not as Grafana "
            "does: check --url"
        )
    assert isinstance(version, int) and isinstance(path, str)
    # A path only: what follows ? or # is left out of the link shown.
    return version, urlsplit(path).path


def _kind(answer: object) -> str:
    if isinstance(answer, str):
        return f"text ({len(answer):,} characters)" if answer else "nothing"
    return f"a JSON {type(answer).__name__}" if answer is not None else "nothing"


def _checked(url: str) -> str:
    shown = _shown(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port that is not one)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError(
            f"--url {shown!r} is not a Grafana address: expected http(s)://host[:port][/path], "
            "the address you open Grafana at"
        )
    if parts.username or parts.password:
        raise PublishError(f"--url must not carry a user or password: use {TOKEN_VARIABLE}")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise PublishError(
            f"--url must be Grafana's address without a query (?...) or fragment (#...): "
            f"{shown}; the token goes in {TOKEN_VARIABLE}"
        )
    return url.rstrip("/")


def _shown(url: str) -> str:
    """`url` as a message may show it: no user or password, nothing after ? or #."""
    kept = re.split(r"[?#]", url, maxsplit=1)[0]
    return re.sub(r"^([a-z][a-z0-9+.-]*://)?[^/@]*@", r"\1", kept, count=1, flags=re.IGNORECASE)


def _ensure_folder(api: Any, base: str) -> None:
    # Reading the folder is also the first request that needs the token.
    try:
        _call(base, f"reading folder {FOLDER_UID}", lambda: api.folder.get_folder(FOLDER_UID))
    except _Missing:
        _call(
            base,
            f"creating folder {FOLDER_UID}",
            lambda: api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID),
        )


class _Missing(PublishError):
    """Grafana answered 404 Not Found."""


def _call(base: str, what: str, request: Callable[[], T]) -> T:
    """Run one API request, turning each way it can fail into a message that says what to fix."""
    from grafana_client.client import (
        GrafanaClientError,
        GrafanaException,
        GrafanaServerError,
        GrafanaTimeoutError,
        GrafanaUnauthorizedError,
    )

    try:
        return request()
    except GrafanaUnauthorizedError:
        raise PublishError(
            f"Grafana at {base} refused the token (401 Unauthorized) during {what}: check "
            f"{TOKEN_VARIABLE}; it must be a service account token of this Grafana"
        ) from None
    except GrafanaClientError as exc:
        if exc.status_code == 403:
            raise PublishError(
                f"Grafana at {base} accepted the token but forbids {what} (403 Forbidden): the "
                "service account needs the Editor role"
            ) from None
        if exc.status_code == 404:
            raise _Missing(
                f"nothing at {base}/api for {what} (404 Not Found): check --url, including "
                "any sub-path Grafana is served under"
            ) from None
        raise PublishError(
            f"Grafana at {base} refused {what} ({exc.status_code}){_server_said(exc)}"
        ) from None
    except GrafanaServerError as exc:
        raise PublishError(
            f"Grafana at {base} failed {what} ({exc.status_code}){_server_said(exc)}"
        ) from None
    except GrafanaTimeoutError:
        raise PublishError(f"no answer from {base} during {what}: is Grafana running?") from None
    except GrafanaException:
        # A connection-level failure; its text names the request, which is not repeated here.
        raise PublishError(
            f"cannot talk to Grafana at {base} during {what}: check --url and that Grafana is "
            "running"
        ) from None
    except json.JSONDecodeError:
        # Checked before OSError: niquests' decoding error is both.
        raise PublishError(
            f"{base} answered {what}, but not as Grafana does: check --url"
        ) from None
    except OSError as exc:
        # niquests' connection errors (refused, unknown host, TLS) are OSErrors.
        raise PublishError(
            f"cannot reach Grafana at {base}: {type(exc).__name__}; check --url and that "
            "Grafana is running"
        ) from None


def _server_said(exc: Any) -> str:
    """Grafana's own `message` from an error answer, as `: message`, one short line; nothing of
    any other answer (it may echo the request, token included)."""
    answer = getattr(exc, "response", None)
    said = answer.get("message") if isinstance(answer, dict) else None
    if not isinstance(said, str) or not said.strip():
        return ""
    flat = " ".join(said.split())
    if len(flat) > SERVER_MESSAGE_CHARS:
        flat = flat[: SERVER_MESSAGE_CHARS - 1] + "…"
    return f": {flat}"
