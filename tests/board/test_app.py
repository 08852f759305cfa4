"""The board's pages against a stand-in Prometheus: what shows, to whom, and what never does."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient, TestServer

from streams.board.app import COOKIE, Board, make_app
from streams.engine.checkins import Checkin
from streams.pipeline.wire import checkin_value
from tests.board.fake_prometheus import FakeFloor

TOKENS = {"team-a": "secret-of-a", "team-tiny": "secret-of-tiny"}
NOW_MS = 10_000_000


def board_with(prometheus_url: str) -> Board:
    board = Board(prometheus_url, TOKENS, 5, clock_ms=lambda: NOW_MS)
    board.book.add(
        checkin_value(
            Checkin("agent-7", "team-a", "long_stretch", NOW_MS - 120_000, None, "Offer a break.")
        )
    )
    board.book.add(
        checkin_value(
            Checkin("agent-9", "team-tiny", "long_stretch", NOW_MS - 60_000, None, "Tiny's.")
        )
    )
    return board


def with_board(test: Callable[[TestClient, FakeFloor], Awaitable[None]]) -> None:
    async def main() -> None:
        floor = FakeFloor()
        async with TestServer(floor.app()) as prometheus:
            board = board_with(str(prometheus.make_url("")))
            async with TestClient(TestServer(make_app(board))) as client:
                await test(client, floor)

    asyncio.run(main())


def test_the_floor_shows_campaigns_queues_and_large_teams_only() -> None:
    async def check(client: TestClient, floor: FakeFloor) -> None:
        response = await client.get("/")
        page = await response.text()
        assert response.status == 200
        assert "campaign-01" in page and "team-a" in page
        assert "team-tiny" not in page
        assert "1.2%" in page and "under 3%" in page and "3.4%" in page and "over 3%" in page
        assert "87.5%" in page and "42 s" in page and "82.0%" in page
        assert "agent-" not in page  # no person on the floor page
        assert all(">= 5)" in q for q in floor.queries if "team" in q)
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]

    with_board(check)


def test_a_team_lead_signs_in_and_sees_the_open_checkins() -> None:
    async def check(client: TestClient, _floor: FakeFloor) -> None:
        response = await client.post("/login", data={"token": "secret-of-a"}, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/team/team-a"
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert "secret" not in cookie and "secret" not in response.headers["Location"]
        page = await (await client.get("/team/team-a")).text()
        assert "Offer a break." in page and "opened 2 min 00 s ago" in page
        assert "Tiny's." not in page

    with_board(check)


def test_a_wrong_token_sees_nothing_of_a_team() -> None:
    async def check(client: TestClient, _floor: FakeFloor) -> None:
        response = await client.post("/login", data={"token": "secret-of-b"})
        assert response.status == 403
        assert "Set-Cookie" not in response.headers
        response = await client.get("/team/team-a")
        page = await response.text()
        assert response.status == 403 and "Offer a break." not in page and "agent-7" not in page
        client.session.cookie_jar.update_cookies({COOKIE: "made-up"})
        response = await client.get("/team/team-a")
        assert response.status == 403

    with_board(check)


def test_one_teams_session_opens_no_other_team() -> None:
    async def check(client: TestClient, _floor: FakeFloor) -> None:
        await client.post("/login", data={"token": "secret-of-tiny"}, allow_redirects=False)
        response = await client.get("/team/team-a")
        assert response.status == 403
        assert "Offer a break." not in await response.text()

    with_board(check)


def test_a_team_under_the_minimum_size_is_not_shown_even_to_its_lead() -> None:
    async def check(client: TestClient, _floor: FakeFloor) -> None:
        await client.post("/login", data={"token": "secret-of-tiny"}, allow_redirects=False)
        page = await (await client.get("/team/team-tiny")).text()
        assert "not shown" in page and "Tiny's." not in page and "agent-9" not in page

    with_board(check)


def test_signing_out_ends_the_session() -> None:
    async def check(client: TestClient, _floor: FakeFloor) -> None:
        await client.post("/login", data={"token": "secret-of-a"}, allow_redirects=False)
        await client.post("/logout", allow_redirects=False)
        assert (await client.get("/team/team-a")).status == 403

    with_board(check)


def test_prometheus_down_is_one_line_on_the_floor_page() -> None:
    async def main() -> None:
        board = board_with("http://127.0.0.1:9")
        async with TestClient(TestServer(make_app(board))) as client:
            page = await (await client.get("/")).text()
            notices = re.findall(r'role="status"[^>]*>([^<]*)<', page)
            assert len(notices) == 1 and "\n" not in notices[0]

    asyncio.run(main())


def test_the_live_part_comes_alone_and_the_one_script_is_allowed_by_hash() -> None:
    async def check(client: TestClient, _floor: FakeFloor) -> None:
        whole = await client.get("/")
        page = await whole.text()
        policy = whole.headers["Content-Security-Policy"]
        script = re.search(r"<script>(.*?)</script>", page, re.S)
        assert script is not None
        digest = base64.b64encode(hashlib.sha256(script[1].encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy and "connect-src 'self'" in policy
        assert '<noscript><meta http-equiv="refresh"' in page
        part = await (await client.get("/", headers={"X-Board-Fragment": "1"})).text()
        assert "campaign-01" in part and "<html" not in part and "<script" not in part
        assert part in page

        await client.post("/login", data={"token": "secret-of-a"}, allow_redirects=False)
        part = await (await client.get("/team/team-a", headers={"X-Board-Fragment": "1"})).text()
        assert "Offer a break." in part and "<html" not in part
        assert 'data-summary="1 check-in open now."' in part

    with_board(check)


def test_a_session_ends_after_a_long_shift() -> None:
    now = [NOW_MS]
    board = Board("http://127.0.0.1:9", TOKENS, 5, clock_ms=lambda: now[0])
    session = board.sign_in("team-a")
    assert board.team_of(session) == "team-a"
    now[0] += 12 * 3_600_000
    assert board.team_of(session) is None and not board.sessions
    assert board.team_of("made-up") is None


def test_the_pace_shows_beside_the_advice_in_words() -> None:
    from streams.board.pages import _pace

    assert _pace(None, None) == "-"
    assert _pace(1.5, None) == "1.50"
    assert _pace(1.5, 1.4) == "1.50 (1.40)"
    assert _pace(2.0, 1.4) == "2.00 (1.40, above: ease the dialer)"
