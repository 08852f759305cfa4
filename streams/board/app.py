"""The board's aiohttp application: the floor page, sign-in, and each team's check-ins."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

import aiohttp
from aiohttp import web

from streams.board import pages
from streams.board.checkins import Book
from streams.board.floor import Floor, read_floor, team_is_shown
from streams.board.prometheus import Prometheus, PrometheusError
from streams.board.tokens import team_of

COOKIE: Final = "floorpulse_board"
SECURITY_HEADERS: Final = {
    # Nothing but the board itself: no script, no font, no image from anywhere.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:;"
    f" script-src 'sha256-{pages.LIVE_SCRIPT_HASH}'; connect-src 'self'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
FLOOR_REFRESH_S: Final = 10
TEAM_REFRESH_S: Final = 5
SESSION_MS: Final = 12 * 3_600_000
"""A sign-in lasts a long shift."""
MAX_SESSIONS: Final = 10_000


@dataclass
class Board:
    """What the pages read: Prometheus, the check-in book, the tokens and the sessions."""

    prometheus_url: str
    tokens: Mapping[str, str]
    min_group_size: int
    book: Book = field(default_factory=Book)
    sessions: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Session id -> (team, when it ends, ms): in memory only, so a restart signs everyone
    out."""
    checkins_ready: bool = False
    clock_ms: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)

    def sign_in(self, team: str) -> str:
        """A new session for `team`; the oldest go when there are too many."""
        while len(self.sessions) >= MAX_SESSIONS:
            del self.sessions[next(iter(self.sessions))]
        session = secrets.token_urlsafe(32)
        self.sessions[session] = (team, self.clock_ms() + SESSION_MS)
        return session

    def team_of(self, session: str) -> str | None:
        team, ends = self.sessions.get(session, ("", 0))
        if ends <= self.clock_ms():
            self.sessions.pop(session, None)
            return None
        return team


KEY: Final = web.AppKey("board", Board)
PROMETHEUS: Final = web.AppKey("prometheus", Prometheus)


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def is_fragment(request: web.Request) -> bool:
    """The page's own script asks for the live part only."""
    return request.headers.get("X-Board-Fragment") == "1"


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response


async def floor(request: web.Request) -> web.Response:
    board = request.app[KEY]
    problem = None
    try:
        snapshot = await read_floor(request.app[PROMETHEUS], board.min_group_size)
    except PrometheusError as exc:
        snapshot, problem = Floor(), f"No numbers right now: {exc}"
    return html(
        pages.floor_page(
            snapshot, board.min_group_size, FLOOR_REFRESH_S, problem, fragment=is_fragment(request)
        )
    )


async def login_form(request: web.Request) -> web.Response:
    return html(pages.login_page())


async def login(request: web.Request) -> web.StreamResponse:
    board = request.app[KEY]
    form = await request.post()
    given = form.get("token")
    team = team_of(board.tokens, given) if isinstance(given, str) else None
    if team is None:
        return html(pages.login_page("That token opens no team's check-ins."), status=403)
    session = board.sign_in(team)
    response = see_other(f"/team/{quote(team, safe='')}")
    response.set_cookie(
        COOKIE, session, httponly=True, samesite="Strict", path="/", max_age=SESSION_MS // 1000
    )
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    request.app[KEY].sessions.pop(request.cookies.get(COOKIE, ""), None)
    response = see_other("/")
    response.del_cookie(COOKIE, path="/")
    return response


async def team(request: web.Request) -> web.Response:
    board = request.app[KEY]
    wanted = request.match_info["team"]
    signed_in = board.team_of(request.cookies.get(COOKIE, ""))
    if signed_in != wanted:
        return html(
            pages.message_page("Sign in first", "A team's check-ins need that team's token."),
            status=403,
        )
    try:
        shown = await team_is_shown(request.app[PROMETHEUS], wanted, board.min_group_size)
    except PrometheusError:
        shown = False  # unknown size: show nothing rather than a group that may be one person
    if not shown:
        return html(pages.not_shown_page(wanted, board.min_group_size))
    now = board.clock_ms()
    return html(
        pages.team_page(
            wanted,
            board.book.open(wanted),
            board.book.recently_closed(wanted, now),
            now,
            TEAM_REFRESH_S,
            fragment=is_fragment(request),
        )
    )


async def health(request: web.Request) -> web.Response:
    ready = request.app[KEY].checkins_ready
    return web.json_response({"checkins_read": ready}, status=200 if ready else 503)


def make_app(
    board: Board, checkins: Callable[[Board], Coroutine[Any, Any, None]] | None = None
) -> web.Application:
    """The application; `checkins` (when given) runs beside it for its whole life."""
    app = web.Application(middlewares=[security_headers])
    app[KEY] = board

    async def context(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[PROMETHEUS] = Prometheus(board.prometheus_url, session)
            task = asyncio.create_task(checkins(board)) if checkins is not None else None
            yield
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.cleanup_ctx.append(context)
    app.router.add_get("/", floor)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/team/{team}", team)
    app.router.add_get("/health", health)
    return app
