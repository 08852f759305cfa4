"""The floor board in a real browser, over a real floor (issue 15's proof).

A worker fed by the simulator (team-01 skipping its breaks) on a broker of this module's own, a
real Prometheus with the project's rules scraping it, and `floorpulse board` reading both; two
people of a third team, team-tiny, under the minimum group size. Debian's chromium, driven
headless by Selenium through Debian's chromedriver, loads the pages as a person would: the floor
shows the numbers Prometheus holds; a team lead signs in with the team's token and sees the
check-ins open now, one opened during the test appearing within seconds and leaving the list when
it closes; a wrong token sees nothing; team-tiny never shows. Every request the pages make goes
to the board itself (the browser's network log says so). Screenshots of both pages are saved
(FLOORPULSE_BOARD_SCREENSHOTS, else the test's tmp dir).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from streams.board.checkins import Book
from streams.engine.checkins import Checkin
from streams.localkafka import free_ports
from streams.pipeline.wire import checkin_value
from streams.processes import terminate
from streams.topics import CHECKINS
from tests.integration.live import consume_until, produce_lines, wait_for
from tests.integration.prometheus import Prometheus, scraped_worker
from tests.integration.test_dashboards_live import settle, simulate

pytestmark = pytest.mark.kafka

TOKENS: Final = {"team-01": "token-of-team-01", "team-tiny": "token-of-team-tiny"}
APPLY_DEADLINE_S: Final = 240.0
SEEN_WITHIN_S: Final = 15.0
"""A check-in shows on its team's page within seconds: the board reads it at once, and the page
reloads itself every 5 s."""


@dataclass(frozen=True)
class Live:
    bootstrap: str
    prometheus: Prometheus
    board_url: str
    shots: Path


def installed(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(
            f"{tool} is not installed: apt-get install chromium chromium-driver", pytrace=False
        )
    return found


def tiny_team(now_ms: int) -> list[bytes]:
    """Two people of team-tiny, ready: a team under the minimum size of five."""
    return [
        json.dumps(
            {
                "type": "agent.state",
                "agent_id": f"tiny-{n}",
                "team_id": "team-tiny",
                "campaign_id": "campaign-01",
                "state": "ready",
                "v": 1,
                "event_id": f"tiny-{n}",
                "ts": now_ms - 1_000,
                "source": "test",
            }
        ).encode()
        for n in (1, 2)
    ]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    installed("chromium")
    installed("chromedriver")
    workdir = tmp_path_factory.mktemp("board-live")
    shots = Path(os.environ.get("FLOORPULSE_BOARD_SCREENSHOTS") or workdir / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    (board_port,) = free_ports(1)
    with ExitStack() as stack:
        bootstrap, worker, server = scraped_worker(stack, workdir)
        try:
            events = simulate(bootstrap)
            events += produce_lines(bootstrap, tiny_team(time.time_ns() // 1_000_000))
            wait_for(
                f"the worker to apply all {events} events",
                lambda: True if worker.samples().applied() >= events else None,
                deadline_s=APPLY_DEADLINE_S,
            )
            settle(server, events)
        except AssertionError:
            print(f"worker log:\n{worker.log_tail()}\nprometheus log:\n{server.log_tail()}")
            raise
        board_log = workdir / "board.log"
        with board_log.open("ab") as out:
            board = subprocess.Popen(
                [
                    *(sys.executable, "-m", "streams.cli", "board"),
                    *("--port", str(board_port), "--prometheus", server.url),
                ],
                env={
                    **os.environ,
                    "FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap,
                    "FLOORPULSE_BOARD_TOKENS": ",".join(f"{t}={k}" for t, k in TOKENS.items()),
                },
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        stack.callback(terminate, board)
        url = f"http://127.0.0.1:{board_port}"
        try:
            wait_for("the board to read floor.checkins", lambda: _healthy(url), deadline_s=60)
        except AssertionError:
            print(f"board log:\n{board_log.read_text(errors='replace')[-3000:]}")
            raise
        yield Live(bootstrap, server, url, shots)
        log = board_log.read_text(errors="replace")
        assert not any(token in log for token in TOKENS.values()), "a token reached the log"


def _healthy(url: str) -> bool | None:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return True if response.status == 200 else None
    except urllib.error.HTTPError as exc:
        exc.close()
        return None


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = installed("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--window-size=1600,1100"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(installed("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


def requested(driver: Any) -> list[str]:
    """Every URL the browser asked for since the last call (its performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def only_the_board(driver: Any, board_url: str) -> None:
    """Every request went to the board, and the browser blocked nothing (the policy allows the
    page's one script by its hash)."""
    elsewhere = [u for u in requested(driver) if not u.startswith(f"{board_url}/")]
    assert not elsewhere, f"the page asked for something beyond the board: {elsewhere}"
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"the browser reported errors (a blocked script?): {errors}"


ROWS: Final = """
const rows = {};
for (const row of document.querySelectorAll(`section[aria-labelledby=${arguments[0]}] tbody tr`)) {
  rows[row.querySelector("th").textContent] =
    Array.from(row.querySelectorAll("td"), (cell) => cell.textContent);
}
return rows;
"""
OPEN: Final = """
return Array.from(
  document.querySelectorAll('ul[aria-label="Open check-ins"] .message'), (m) => m.textContent);
"""


def read_page(driver: Any, script: str, *args: str) -> Any:
    """What `script` reads of the page, in one step (the page reloads itself, so elements found
    one call earlier may be gone); None while the page is being replaced."""
    from selenium.common.exceptions import WebDriverException

    try:
        return driver.execute_script(script, *args)
    except WebDriverException:
        return None


def rows(driver: Any, section: str) -> dict[str, list[str]]:
    """A table's rows by their header cell: the other cells' text."""
    found: dict[str, list[str]] = wait_for(
        f"the {section} table", lambda: read_page(driver, ROWS, section), deadline_s=10
    )
    return found


def sign_in(driver: Any, board_url: str, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{board_url}/login")
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    field.submit()


def open_messages(driver: Any) -> list[str] | None:
    found: list[str] | None = read_page(driver, OPEN)
    return found


def shows(driver: Any, message: str) -> bool | None:
    """Whether `message` is among the open check-ins (None: the page is reloading)."""
    messages = open_messages(driver)
    return None if messages is None else message in messages


def open_on_topic(bootstrap: str, team: str) -> list[str]:
    book = Book()
    for message in consume_until(bootstrap, CHECKINS, "the check-ins", lambda _read: True):
        if message.value is not None:
            book.add(message.value)
    return sorted(c.message for c in book.open(team))


def test_the_floor_shows_what_prometheus_holds(live: Live, browser: Any) -> None:
    browser.get(live.board_url)
    campaigns = rows(browser, "campaigns")
    teams = rows(browser, "teams")
    wanted_campaigns = live.prometheus.by(
        "campaign", "count by (campaign) (floorpulse_calls_dialed_total)"
    )
    assert sorted(campaigns) == sorted(wanted_campaigns)
    assert sorted(teams) == ["team-01", "team-02"], "team-tiny (two people) must never show"
    assert "team-tiny" not in browser.page_source

    def states_match() -> bool | None:
        browser.refresh()
        shown = rows(browser, "teams")
        held = live.prometheus.query("sum by (team, state) (floorpulse_agents)")
        by_team: dict[str, dict[str, str]] = {}
        for series in held:
            labels = series["metric"]
            by_team.setdefault(labels["team"], {})[labels["state"]] = series["value"][1]
        for team in ("team-01", "team-02"):
            states = by_team[team]
            expected = [states.get(s, "0") for s in ("ready", "on_call", "wrap_up", "paused")]
            if shown[team][:4] != expected:
                return None
        return True

    wait_for(
        "the floor page to show the people by state Prometheus holds", states_match, deadline_s=30
    )
    for cells in campaigns.values():
        assert "%" in cells[2] and "3%" in cells[2], "the 24-hour ratio against the 3% line"
    browser.save_screenshot(str(live.shots / "board-floor.png"))
    only_the_board(browser, live.board_url)


def test_a_team_lead_sees_the_checkins_come_and_go(live: Live, browser: Any) -> None:
    sign_in(browser, live.board_url, TOKENS["team-01"])
    assert browser.current_url == f"{live.board_url}/team/team-01", "no token in the URL"

    def same_as_topic() -> bool | None:
        browser.refresh()
        on_topic = open_on_topic(live.bootstrap, "team-01")
        return True if sorted(open_messages(browser) or []) == on_topic and on_topic else None

    wait_for("the tired team's open check-ins on its page", same_as_topic, deadline_s=30)

    now_ms = time.time_ns() // 1_000_000
    opened = Checkin(
        "agent-0003",
        "team-01",
        "rejection_streak",
        now_ms,
        None,
        "A run of hard calls: a kind word would help now.",
    )
    produce(live.bootstrap, checkin_value(opened))
    wait_for(
        "the new check-in on its team's page",
        lambda: True if shows(browser, opened.message) else None,
        deadline_s=SEEN_WITHIN_S,
    )
    browser.save_screenshot(str(live.shots / "board-team.png"))
    closed = Checkin(
        opened.agent_id,
        opened.team_id,
        opened.kind,
        opened.opened_ts,
        now_ms + 1_000,
        opened.message,
    )
    produce(live.bootstrap, checkin_value(closed))
    wait_for(
        "the closed check-in to leave the open list",
        lambda: True if shows(browser, opened.message) is False else None,
        deadline_s=SEEN_WITHIN_S,
    )
    assert opened.message in browser.page_source, "a closed check-in fades out, not at once"
    only_the_board(browser, live.board_url)


def test_a_wrong_token_sees_nothing_of_a_team(live: Live, browser: Any) -> None:
    sign_in(browser, live.board_url, "token-of-nobody")
    assert "opens no team" in browser.page_source
    browser.get(f"{live.board_url}/team/team-01")
    page = browser.page_source
    assert "Sign in first" in page and "agent-" not in page and not open_messages(browser)


def test_a_team_under_the_minimum_size_never_shows(live: Live, browser: Any) -> None:
    sign_in(browser, live.board_url, TOKENS["team-tiny"])
    page = browser.page_source
    assert "not shown" in page and "tiny-" not in page and not open_messages(browser)
    browser.get(live.board_url)
    assert "team-tiny" not in browser.page_source


def produce(bootstrap: str, value: bytes) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        producer.send(CHECKINS, key=b"agent-0003", value=value).get(timeout=30)
    finally:
        producer.close(timeout=10)


def test_the_terminal_lists_the_same_open_checkins(live: Live) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "checkins", "--team", "team-01", "--json"],
        env={**os.environ, "FLOORPULSE_KAFKA_BOOTSTRAP": live.bootstrap},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = [json.loads(line) for line in done.stdout.splitlines()]
    assert listed and all(c["team_id"] == "team-01" and c["closed_ts"] is None for c in listed)
    assert sorted(c["message"] for c in listed) == open_on_topic(live.bootstrap, "team-01")
