"""The whole local stack in one process tree: broker, worker, simulator and Prometheus.

Each part is started the way an operator would start it, as its own process, and Ctrl-C stops
exactly what this started: a broker or Prometheus that was already running is left alone.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from streams.localkafka import Ports, start, stop
from streams.processes import terminate
from streams.settings import Settings
from streams.topics_admin import ensure_topics, servers

RULES: Final = Path(__file__).resolve().parents[1] / "deploy/prometheus/rules"
STATE_DIR: Final = Path(".floorpulse")


def prometheus_config(rules: Path, web_port: int) -> str:
    """deploy/prometheus/prometheus.yml's job and rules, aimed at this demo's worker port."""
    return (
        "global: {scrape_interval: 5s, evaluation_interval: 5s}\n"
        f'rule_files: ["{rules.resolve()}/*.yml"]\n'
        "scrape_configs:\n"
        "  - job_name: floorpulse-worker\n"
        f'    static_configs: [{{targets: ["127.0.0.1:{web_port}"]}}]\n'
    )


@dataclass
class Stack:
    """What the demo started, so that it stops those and nothing else."""

    say: Callable[[str], None]
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    broker_data_dir: Path | None = None

    def tell(self, line: str) -> None:
        """Say a line, if anyone still listens: `make demo | tee demo.log` interrupted by
        Ctrl-C loses `tee` first, and a message into the closed pipe must not keep the demo
        from stopping what it started."""
        try:
            self.say(line)
        except OSError:  # BrokenPipeError, or any other way the output has gone
            self.say = _silent

    def spawn(self, name: str, command: list[str], log: Path) -> subprocess.Popen[bytes]:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            # A session of its own: Ctrl-C reaches the demo, which stops the parts in order.
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append((name, process))
        return process

    def stop(self) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                self.tell(f"stopping the {name}")
                terminate(process, grace_s=30)
        if self.broker_data_dir is not None:
            self.tell("stopping the broker this demo started")
            stop(self.broker_data_dir)


def run_demo(
    settings: Settings,
    speed: str,
    agents: int,
    say: Callable[[str], None],
    board_port: int = 8080,
) -> int:
    stack = Stack(say)
    say = stack.tell
    # SIGTERM (a service manager, `timeout`) stops what the demo started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        port = servers(settings.kafka_bootstrap)[0][1]
        broker = start(STATE_DIR / "kafka", Ports(port, port + 1), report=say)
        if not broker.already_running:
            stack.broker_data_dir = STATE_DIR / "kafka"
        ensure_topics(broker.bootstrap, settings.partitions)
        say(f"Kafka answers at {broker.bootstrap}")

        cli = [sys.executable, "-m", "streams.cli"]
        logs = STATE_DIR / "logs"
        stack.spawn("worker", [*cli, "worker"], logs / "worker.log")
        metrics = f"http://127.0.0.1:{settings.web_port}/metrics"
        _wait_until_answers(metrics, stack)
        say(f"worker: {metrics} (log: {logs / 'worker.log'})")

        simulate = [*cli, "simulate", "--speed", speed, "--agents", str(agents)]
        stack.spawn("simulator", [*simulate, "--preset", "no-breaks"], logs / "simulator.log")
        say(f"simulator: {agents} agents at speed {speed}, one team skipping its breaks")

        prometheus = shutil.which("prometheus")
        if prometheus is None:
            say("Prometheus is not installed (Debian: apt-get install prometheus); skipping it")
        elif _answers("http://127.0.0.1:9090/-/ready"):
            say("a Prometheus already answers on 127.0.0.1:9090; leaving it alone")
        else:
            config = STATE_DIR / "prometheus.yml"
            config.write_text(prometheus_config(RULES, settings.web_port))
            stack.spawn(
                "Prometheus",
                [
                    prometheus,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={STATE_DIR / 'prometheus'}",
                    "--web.listen-address=127.0.0.1:9090",
                ],
                logs / "prometheus.log",
            )
            _wait_until_answers("http://127.0.0.1:9090/-/ready", stack)
            say("Prometheus: http://127.0.0.1:9090 (try: sum by (team, state) (floorpulse_agents))")
        board = f"http://127.0.0.1:{board_port}/"
        process = stack.spawn(
            "board",
            [*cli, "board", "--port", str(board_port), "--prometheus", "http://127.0.0.1:9090"],
            logs / "board.log",
        )
        give_up = time.monotonic() + 60
        while process.poll() is None and not _answers(board) and time.monotonic() < give_up:
            time.sleep(0.5)
        if process.poll() is None and _answers(board):
            say(f"the floor board: {board} (team leads: set FLOORPULSE_BOARD_TOKENS to sign in)")
        else:  # its port is taken, say: the floor runs on without it
            terminate(process, grace_s=10)
            stack.processes.remove(("board", process))
            say(f"the floor board did not start (see {logs / 'board.log'}); try --board-port")
        say("the floor is live; Ctrl-C stops everything this demo started")
        while all(process.poll() is None for _, process in stack.processes):
            time.sleep(1)  # the demo's own heartbeat: it only watches its children
        ended = [name for name, process in stack.processes if process.poll() is not None]
        say(f"the {', '.join(ended)} stopped; see {logs}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


def _silent(_line: str) -> None:
    """Where a demo's messages go once its output is closed."""


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def _wait_until_answers(url: str, stack: Stack, deadline_s: float = 90.0) -> None:
    give_up = time.monotonic() + deadline_s
    while not _answers(url):
        if any(process.poll() is not None for _, process in stack.processes):
            raise SystemExit(f"floorpulse demo: a part stopped early; see {STATE_DIR / 'logs'}")
        if time.monotonic() > give_up:
            raise SystemExit(f"floorpulse demo: {url} did not answer in {deadline_s:.0f} s")
        time.sleep(0.5)
