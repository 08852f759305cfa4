"""The pieces of a VICIdial round trip: a simulated day at VICIdial's whole seconds, and the
adapter run as a user runs it."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pymysql

from producers.floor import FloorConfig
from producers.simulator import simulate
from streams.analyze import analyze
from streams.codec import encode
from streams.config import load
from streams.engine import Params
from streams.events import AgentStateChanged, Event
from tests.conftest import READER_PASSWORD
from tests.mariadb import DATABASE, MariaDB
from tests.vicidial.writer import Statement, Writer, campaign_statuses, execute, floor_toml

ADAPTER_DEADLINE_S = 300
DAY = FloorConfig(agents=10, teams=2, campaigns=2, duration_ms=12 * 3_600_000)
"""A day that ends: everyone logs out and every call ends before the simulation stops."""
CAMPAIGNS = ("campaign-01", "campaign-02")


SEED = 7


def whole_seconds(events: Sequence[Event]) -> list[Event]:
    """The events as VICIdial's tables hold them: every time floored to the second."""
    return [msgspec.structs.replace(e, ts=e.ts // 1000 * 1000) for e in events]


def simulated_day(seed: int = SEED) -> list[Event]:
    return list(simulate(DAY, random.Random(seed)))


@dataclass
class Day:
    """A simulated day as VICIdial writes it, and where its test keeps its files."""

    held: list[Event]
    """The simulator's events at whole seconds: what the tables can hold."""
    statements: list[Statement]
    config: Path
    params: Params
    out: Path
    checkpoint: Path

    @classmethod
    def simulate(cls, folder: Path, seed: int = SEED) -> Day:
        held = whole_seconds(simulated_day(seed))
        config = folder / "floor.toml"
        teams = {e.team_id for e in held if isinstance(e, AgentStateChanged)}
        config.write_text(floor_toml(CAMPAIGNS, teams), encoding="utf-8")
        params = load(config).config.params()
        statements = Writer().render(held)
        return cls(held, statements, config, params, folder / "day.jsonl", folder / "cp.json")

    def site(self, mariadb: MariaDB) -> pymysql.connections.Connection:
        """VICIdial's connection, on a site whose campaigns define their own statuses."""
        connection = mariadb.connect(DATABASE)
        execute(connection, campaign_statuses(CAMPAIGNS))
        return connection

    def command(self, dsn: str, *options: str) -> list[str]:
        """`floorpulse connect vicidial` as a site runs it, from the day's start."""
        return [
            *(sys.executable, "-m", "streams.cli", "connect", "vicidial", "--dsn", dsn),
            *("--config", str(self.config), "--checkpoint", str(self.checkpoint)),
            *("--since", str(self.held[0].ts), "--poll", "0.05", "--until-idle", "3"),
            *options,
        ]

    def report(self) -> dict[str, Any]:
        return analyze([encode(e) for e in self.held], self.params)


def environment(password: str = READER_PASSWORD, **extra: str) -> dict[str, str]:
    return {**os.environ, "FLOORPULSE_VICIDIAL_PASSWORD": password, **extra}


def write_while_polling(
    connection: pymysql.connections.Connection,
    statements: Sequence[Statement],
    process: subprocess.Popen[str],
    steps: int = 40,
) -> str:
    """Run VICIdial's statements in `steps` bursts while the adapter polls, then wait for it to
    stop (it runs with --until-idle); its standard error. Fails when it fails."""
    size = len(statements) // steps + 1
    try:
        for first in range(0, len(statements), size):
            execute(connection, statements[first : first + size])
        _, stderr = process.communicate(timeout=ADAPTER_DEADLINE_S)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    return stderr


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
