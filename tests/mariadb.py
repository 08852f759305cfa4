"""A real MariaDB of the tests' own: Debian's `mariadb-server` binaries run as a user-owned
instance in a temporary directory, on a free port of 127.0.0.1, stopped and removed afterwards
(no system service, nothing left running), holding VICIdial's own schema as VICIdial ships it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pymysql
import pytest

from streams.localkafka import free_ports
from streams.processes import terminate

DATABASE: Final = "asterisk"
"""VICIdial's database name."""
READER: Final = "floorpulse"
"""The read-only user the adapter connects as."""
READY_DEADLINE_S: Final = 60.0


def installed(tool: str) -> str:
    """The path of `tool`, one of Debian's mariadb-server package; the test fails (never skips)
    when it is not installed."""
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin")
    if found is None:
        pytest.fail(
            f"{tool} is not installed: install Debian's mariadb-server package "
            "(`apt-get install mariadb-server`), which ships it",
            pytrace=False,
        )
    return found


@dataclass
class MariaDB:
    process: subprocess.Popen[bytes]
    datadir: Path
    port: int
    log: Path
    connections: list[pymysql.connections.Connection] = field(default_factory=list)
    """Those `connect` opened, closed by `stop`."""

    @classmethod
    def start(cls, workdir: Path) -> MariaDB:
        """Initialise a data directory in `workdir` and start a server on it; root may connect
        without a password over TCP from this machine (the instance lives as long as the test)."""
        server = installed("mariadbd")
        install = installed("mariadb-install-db")
        datadir, log = workdir / "data", workdir / "mariadb.log"
        datadir.mkdir(parents=True)
        as_user = ["--user=root"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [
                install,
                "--no-defaults",
                f"--datadir={datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *as_user,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"mariadb-install-db failed: {done.stderr.strip()[-400:]}", pytrace=False)
        (port,) = free_ports(1)
        process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={datadir}",
                f"--socket={workdir / 'mariadb.sock'}",
                f"--pid-file={workdir / 'mariadb.pid'}",
                "--bind-address=127.0.0.1",
                f"--port={port}",
                f"--log-error={log}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
                *as_user,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        instance = cls(process, datadir, port, log)
        instance._wait_ready()
        return instance

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_DEADLINE_S
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"mariadbd stopped at start: {self._log_tail()}", pytrace=False)
            try:
                self.connect().close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"mariadbd is not ready: {self._log_tail()}", pytrace=False)
                time.sleep(0.1)

    def _log_tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return " | ".join(text.strip().splitlines()[-5:])

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:
        """root's connection, autocommitted (VICIdial's log tables are MyISAM)."""
        connection = pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password="",
            database=database,
            autocommit=True,
            connect_timeout=5,
        )
        self.connections.append(connection)
        return connection

    def load_vicidial(self, schema: Path, reader_password: str) -> None:
        """VICIdial's schema file as it is, in `asterisk` (with sql_mode='', which it needs),
        and a read-only user for the adapter, as the README tells a site to grant."""
        client = installed("mariadb")
        sql = f"SET SESSION sql_mode='';\n{schema.read_text(encoding='utf-8')}"
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {DATABASE}")
                cursor.execute(
                    f"CREATE USER '{READER}'@'127.0.0.1' IDENTIFIED BY %s", (reader_password,)
                )
                cursor.execute(f"GRANT SELECT ON {DATABASE}.* TO '{READER}'@'127.0.0.1'")
        finally:
            connection.close()
        done = subprocess.run(
            [client, "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot", DATABASE],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"VICIdial's schema did not load: {done.stderr.strip()}", pytrace=False)

    def stop(self) -> None:
        for connection in self.connections:
            if connection.open:
                connection.close()
        terminate(self.process, grace_s=30)
