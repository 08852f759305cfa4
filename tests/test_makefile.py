"""`make test` and `make demo`: never one broker or its data for both; what `make test` lacks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dry_run(*targets: str) -> str:
    done = subprocess.run(
        ["make", "--dry-run", "--always-make", "--no-print-directory", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )
    return done.stdout


def test_the_tests_broker_is_not_the_demos() -> None:
    tests = dry_run("test-broker", "pytest")
    demo = dry_run("demo")
    assert "floorpulse demo" in demo
    start = next(line for line in tests.splitlines() if "kafka start" in line)
    assert "--data-dir .floorpulse/test-kafka" in start
    # The demo's broker: .floorpulse/kafka on FLOORPULSE_KAFKA_BOOTSTRAP (9092 by default).
    ports = set(re.findall(r"FLOORPULSE_KAFKA_BOOTSTRAP=127\.0\.0\.1:(\d+)", tests))
    assert ports and "9092" not in ports
    pytest_line = next(line for line in tests.splitlines() if line.endswith("bin/pytest"))
    assert f"FLOORPULSE_KAFKA_BOOTSTRAP=127.0.0.1:{ports.pop()}" in pytest_line


def test_make_test_says_it_leaves_its_broker_running() -> None:
    assert "still runs at" in dry_run("test")


def test_make_test_without_its_tools_says_in_one_line_what_to_install(tmp_path: Path) -> None:
    make = shutil.which("make")
    assert make is not None
    only_promtool = tmp_path / "bin"
    only_promtool.mkdir()
    # promtool is there (a stand-in: the check only looks for the name), the rest is not.
    (only_promtool / "promtool").symlink_to("/bin/true")

    done = subprocess.run(
        [make, "--no-print-directory", "-s", "test-tools"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(only_promtool), "HOME": str(ROOT)},
    )

    assert done.returncode != 0
    said = [line for line in done.stderr.splitlines() if not line.startswith("make:")]
    assert said == [
        "make test needs prometheus chromium chromedriver mariadb-install-db mariadb: "
        "apt-get install prometheus chromium chromium-driver mariadb-server (Debian's packages)"
    ]
