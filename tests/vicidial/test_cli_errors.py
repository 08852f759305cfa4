"""`floorpulse connect vicidial` when the database cannot be used: one line that says what to
fix, a non-zero exit, never a traceback and never the password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.localkafka import free_ports
from tests.conftest import READER_PASSWORD
from tests.mariadb import READER, MariaDB

PASSWORD_VARIABLE = "FLOORPULSE_VICIDIAL_PASSWORD"


def connect(
    tmp_path: Path, dsn: str, password: str | None = READER_PASSWORD
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_VARIABLE}
    if password is not None:
        env[PASSWORD_VARIABLE] = password
    return subprocess.run(
        [
            *(sys.executable, "-m", "streams.cli", "connect", "vicidial", "--dsn", dsn),
            *("--checkpoint", str(tmp_path / "cp.json"), "--out", str(tmp_path / "out.jsonl")),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def one_line(done: subprocess.CompletedProcess[str], status: int, *words: str) -> str:
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def test_a_wrong_password_is_one_line_without_it(tmp_path: Path, dsn: str) -> None:
    line = one_line(connect(tmp_path, dsn, "not-the-password"), 1, "refused", PASSWORD_VARIABLE)
    assert "not-the-password" not in line
    assert not (tmp_path / "out.jsonl").exists()


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    one_line(
        connect(tmp_path, f"mysql://{READER}@127.0.0.1:{port}/asterisk"),
        1,
        "cannot reach",
        f"127.0.0.1:{port}",
    )


def test_a_database_without_vicidials_tables_is_one_line(tmp_path: Path, mariadb: MariaDB) -> None:
    with mariadb.connect().cursor() as cursor:
        cursor.execute("CREATE DATABASE crm")
        cursor.execute(f"GRANT SELECT ON crm.* TO '{READER}'@'127.0.0.1'")
    one_line(
        connect(tmp_path, f"mysql://{READER}@127.0.0.1:{mariadb.port}/crm"),
        1,
        "has no vicidial_agent_log",
        "GRANT SELECT",
    )


def test_a_database_the_user_may_not_read_is_one_line(tmp_path: Path, mariadb: MariaDB) -> None:
    one_line(
        connect(tmp_path, f"mysql://{READER}@127.0.0.1:{mariadb.port}/mysql"),
        1,
        "may not read mysql",
    )


@pytest.mark.parametrize(
    "dsn", ["mysql://reader:s3cret@db/asterisk", "postgres://reader:s3cret@db/asterisk"]
)
def test_a_password_in_the_dsn_is_refused_without_echoing_it(tmp_path: Path, dsn: str) -> None:
    line = one_line(connect(tmp_path, dsn), 2, PASSWORD_VARIABLE)
    assert "s3cret" not in line


def test_no_password_in_the_environment_says_where_to_put_it(tmp_path: Path) -> None:
    one_line(connect(tmp_path, "mysql://reader@db/asterisk", None), 2, PASSWORD_VARIABLE)
