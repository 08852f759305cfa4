"""`floorpulse demo` stops everything it started, whatever happened to its output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from streams.localkafka import free_ports
from streams.processes import terminate
from tests.integration.live import wait_for

pytestmark = pytest.mark.kafka


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def test_ctrl_c_after_its_reader_is_gone_still_stops_everything(tmp_path: Path) -> None:
    # As `make demo 2>&1 | tee demo.log` and Ctrl-C: tee dies first, then the demo is
    # interrupted with its output a closed pipe.
    broker, web = free_ports(2)
    env = {
        **os.environ,
        "FLOORPULSE_KAFKA_BOOTSTRAP": f"127.0.0.1:{broker}",
        "FLOORPULSE_WEB_PORT": str(web),
    }
    demo = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "demo", "--agents", "10"],
        cwd=tmp_path,  # its state (.floorpulse) in a directory of the test's own
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert demo.stdout is not None
        seen = []
        for raw in demo.stdout:
            seen.append(raw.decode())
            if "the floor is live" in seen[-1]:
                break
        else:
            pytest.fail(f"the demo ended early: {''.join(seen)}")
        started = [f"http://127.0.0.1:{web}/metrics", f"http://127.0.0.1:{broker}"]
        assert answers(started[0])
        demo.stdout.close()  # the reader is gone
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=120) == 0
        wait_for(
            "the worker to stop answering",
            lambda: None if answers(started[0]) else True,
            deadline_s=30,
        )
        # The broker this demo started is stopped too (its pid file goes with it).
        assert not (tmp_path / ".floorpulse" / "kafka" / "broker.pid").exists()
    finally:
        terminate(demo)
        stop = ["kafka", "stop", "--data-dir", str(tmp_path / ".floorpulse" / "kafka")]
        subprocess.run(
            [sys.executable, "-m", "streams.cli", *stop], env=env, capture_output=True, check=False
        )
