"""Support for tests against a real Prometheus: the `prometheus` binary as a process of the
test's own, configured from deploy/prometheus/prometheus.yml (same job, same rule files) with
short intervals and the test's workers as targets, and a small client of its HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from streams.localkafka import free_ports
from streams.processes import terminate
from tests.dashboards.rules import PROMETHEUS
from tests.integration.live import WorkerProcess, wait_for

PROJECT_CONFIG: Final = PROMETHEUS / "prometheus.yml"
JOB: Final = "floorpulse-worker"
"""The worker's scrape job in the project's config (the dashboards' `up{job=...}` reads it)."""
INTERVAL: Final = "1s"
"""Scrape and rule evaluation interval of the test's Prometheus."""
READY_DEADLINE_S: Final = 60.0


class QueryError(AssertionError):
    """Prometheus refused a query (it does not parse, or it failed to evaluate)."""


def installed(tool: str) -> str:
    """The path of `tool`, one of Debian's prometheus package; the test fails (never skips)
    when it is not installed."""
    found = shutil.which(tool)
    if found is None:
        pytest.fail(
            f"{tool} is not installed: install Debian's prometheus package "
            "(`apt-get install prometheus`), which ships it",
            pytrace=False,
        )
    return found


def binary() -> str:
    """The `prometheus` executable."""
    return installed("prometheus")


def config(worker_ports: Sequence[int], workdir: Path, interval: str = INTERVAL) -> dict[str, Any]:
    """The project's Prometheus config, with rule files by absolute path, short intervals, and
    the worker job's file_sd pointed at a targets file (in `workdir`) naming the test's ports."""
    project: dict[str, Any] = yaml.safe_load(PROJECT_CONFIG.read_text(encoding="utf-8"))
    here = PROJECT_CONFIG.parent
    project["global"] = {
        **project.get("global", {}),
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "evaluation_interval": interval,
    }
    project["rule_files"] = [str(here / pattern) for pattern in project.get("rule_files", [])]
    targets = workdir / "targets.yml"
    targets.write_text(
        yaml.safe_dump([{"targets": [f"127.0.0.1:{port}" for port in worker_ports]}]),
        encoding="utf-8",
    )
    jobs = [job for job in project["scrape_configs"] if job["job_name"] == JOB]
    assert len(jobs) == 1, f"{PROJECT_CONFIG} has no single scrape job {JOB!r}"
    jobs[0]["file_sd_configs"] = [{"files": [str(targets)]}]
    return project


@dataclass
class Prometheus:
    """A running `prometheus` on 127.0.0.1:`port`, its storage and log under `workdir`."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, worker_ports: Sequence[int], workdir: Path) -> Prometheus:
        """Start Prometheus scraping the workers on `worker_ports`; return once it is ready."""
        executable = binary()
        workdir.mkdir(parents=True, exist_ok=True)
        config_file = workdir / "prometheus.yml"
        config_file.write_text(
            yaml.safe_dump(config(worker_ports, workdir), sort_keys=False), encoding="utf-8"
        )
        (port,) = free_ports(1)
        command = [
            executable,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]
        with (workdir / "prometheus.log").open("ab") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = cls(port, workdir, process)
        try:
            wait_for("Prometheus to be ready", server._ready, deadline_s=READY_DEADLINE_S)
        except AssertionError as exc:
            server.stop()
            raise AssertionError(f"{exc}\n{server.log_tail()}") from None
        return server

    def stop(self) -> None:
        terminate(self.process, grace_s=30)

    def log_tail(self) -> str:
        return (self.workdir / "prometheus.log").read_text(errors="replace")[-3000:]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _ready(self) -> bool | None:
        if self.process.poll() is not None:
            raise AssertionError(
                f"prometheus exited with status {self.process.returncode}:\n{self.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as response:
                return True if response.status == 200 else None
        except urllib.error.HTTPError as exc:  # 503 while it loads its storage
            exc.close()
            return None

    def api(self, path: str, **params: str) -> Any:
        """The `data` of a successful answer of /api/v1/`path`; QueryError with Prometheus'
        own message otherwise."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=30) as answer:
                body = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            with exc:
                body = json.loads(exc.read() or b"{}")
            raise QueryError(
                f"{path} {params}: HTTP {exc.code}: {body.get('errorType')}: {body.get('error')}"
            ) from None
        if body.get("status") != "success":
            raise QueryError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result of an instant query at the current time: a list of {metric, value}
        (a scalar or string result comes back as a list of one)."""
        data = self.api("query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The one value of an expression that gives at most one series (None when empty)."""
        result = self.query(expr)
        assert len(result) <= 1, f"{expr} gives {len(result)} series: {result}"
        return float(result[0]["value"][1]) if result else None

    def by(self, label: str, expr: str) -> dict[str, float]:
        """Each series' value, keyed by its `label`."""
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}

    def targets(self) -> list[dict[str, Any]]:
        """The active targets: labels, scrapeUrl, health ("up", "down", "unknown"),
        lastError, lastScrape."""
        targets: list[dict[str, Any]] = self.api("targets", state="active")["activeTargets"]
        return targets

    def rule_groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = self.api("rules")["groups"]
        return groups

    def wait_until_up(self, worker_ports: Sequence[int], deadline_s: float = 60.0) -> None:
        """Until every worker's target has been scraped successfully."""
        wanted = {f"127.0.0.1:{port}" for port in worker_ports}

        def probe() -> bool | None:
            up = {
                t["labels"]["instance"]
                for t in self.targets()
                if t["labels"].get("job") == JOB and t["health"] == "up"
            }
            return True if wanted <= up else None

        try:
            wait_for(f"Prometheus to scrape {sorted(wanted)}", probe, deadline_s=deadline_s)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\ntargets: {self.targets()}") from None

    def wait_for_rules_after(self, moment: datetime, deadline_s: float = 30.0) -> None:
        """Until every rule group has been evaluated after `moment` (an aware datetime)."""

        def probe() -> bool | None:
            groups = self.rule_groups()
            assert groups, f"Prometheus loaded no rule groups:\n{self.log_tail()}"
            done = all(_parse_time(g["lastEvaluation"]) > moment for g in groups)
            return True if done else None

        wait_for("every rule group evaluated", probe, deadline_s=deadline_s)


def _parse_time(text: str) -> datetime:
    """An RFC 3339 time of Prometheus' API (nanoseconds cut to what datetime holds)."""
    head, _, rest = text.partition(".")
    if not rest:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    digits = "".join(c for c in rest if c.isdigit())
    zone = rest[len(digits) :].replace("Z", "+00:00")
    return datetime.fromisoformat(f"{head}.{digits[:6].ljust(6, '0')}{zone}")


def scraped_worker(stack: ExitStack, workdir: Path) -> tuple[str, WorkerProcess, Prometheus]:
    """A broker of its own with floorpulse's topics, a worker on it, and Prometheus scraping
    that worker (up once this returns); `stack` stops each. Returns the broker's bootstrap."""
    from streams.localkafka import Ports, start, stop
    from streams.topics_admin import ensure_topics

    broker, controller, web = free_ports(3)
    started = start(workdir / "kafka", Ports(broker, controller))
    stack.callback(stop, workdir / "kafka", wipe=True)
    ensure_topics(started.bootstrap, 6)
    worker = WorkerProcess(started.bootstrap, web, workdir / "worker.log").start()
    stack.callback(worker.stop)
    server = Prometheus.start([web], workdir / "prometheus")
    stack.callback(server.stop)
    server.wait_until_up([web])
    return started.bootstrap, worker, server
