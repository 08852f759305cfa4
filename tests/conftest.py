"""Fixtures of more than one folder: a VICIdial site for each test that asks, that is a real
MariaDB of the test's own holding VICIdial's schema (from ../shared/dialers, as VICIdial ships
it) and a read-only user for the adapter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dialer_fixtures import dialer_path
from tests.mariadb import DATABASE, READER, MariaDB

READER_PASSWORD = "Rd-0nly-9f3k"


@pytest.fixture
def mariadb(tmp_path: Path) -> Iterator[MariaDB]:
    schema = dialer_path("vicidial", "MySQL_AST_CREATE_tables.sql")
    server = MariaDB.start(tmp_path / "mariadb")
    try:
        server.load_vicidial(schema, READER_PASSWORD)
        yield server
    finally:
        server.stop()


@pytest.fixture
def dsn(mariadb: MariaDB) -> str:
    return f"mysql://{READER}@127.0.0.1:{mariadb.port}/{DATABASE}"
