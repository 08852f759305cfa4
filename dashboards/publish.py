"""Push the dashboards to a running Grafana over its HTTP API with grafana-client.

The token comes from FLOORPULSE_GRAFANA_TOKEN only: never a flag (shell history, process lists)
and never a file in the repository.

Exceptions:

    PublishError(Exception)   the one error `publish` raises; its message says what to fix
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urljoin, urlsplit

from dashboards.panels import Dashboard

TOKEN_VARIABLE: Final = "FLOORPULSE_GRAFANA_TOKEN"
FOLDER_UID: Final = "floorpulse"
"""The folder the dashboards live in; file provisioning (deploy/grafana) uses the same uid."""
FOLDER_TITLE: Final = "floorpulse"

T = TypeVar("T")


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
    """Create or overwrite each dashboard (by its fixed uid) in the floorpulse folder."""
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
        saved = _call(
            base,
            f"saving dashboard {dashboard.uid}",
            functools.partial(api.dashboard.update_dashboard, body),
        )
        # Grafana's url is a path that already holds any sub-path Grafana is served under.
        link = urljoin(base, saved["url"])
        published.append(Published(dashboard.uid, int(saved["version"]), link))
    return published


def _checked(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError(
            f"--url {url!r} is not a Grafana address: expected http(s)://host[:port][/path], "
            "the address you open Grafana at"
        )
    if parts.username or parts.password:
        raise PublishError(f"--url must not carry a user or password: use {TOKEN_VARIABLE}")
    return url.rstrip("/")


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
        raise PublishError(f"Grafana at {base} refused {what}: {exc.message}") from None
    except GrafanaServerError as exc:
        raise PublishError(f"Grafana at {base} failed {what}: {exc.message}") from None
    except GrafanaTimeoutError:
        raise PublishError(f"no answer from {base} during {what}: is Grafana running?") from None
    except GrafanaException as exc:
        raise PublishError(f"cannot talk to Grafana at {base}: {exc.message}") from None
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
