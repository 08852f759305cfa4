"""VICIdial's database, read only: the queries of one poll, with PyMySQL.

Each log table is read by its key: the rows after the last one read, and the rows still open
read again, in one statement per table (so the rows of a table come from one moment). Tables
are read in the order that keeps facts before what depends on them: logouts, then cycles (a
person's connect), then in-group calls, then the dialer's calls.

Exceptions:

    DatabaseError(Exception)   the server cannot be reached, refuses the user, or lacks a
                               table; one line says which and what to do
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import pymysql
import pymysql.err

from producers.vicidial.rows import (
    AgentLogRow,
    CallLogRow,
    CarrierLogRow,
    CloserLogRow,
    UserLogRow,
)

TABLES: Final = (
    "vicidial_agent_log",
    "vicidial_user_log",
    "vicidial_log",
    "vicidial_closer_log",
    "vicidial_carrier_log",
)
BATCH: Final = 5000
"""Rows of a table per statement: a day's backlog is read in steps, each one sent before the
next is read."""
CONNECT_TIMEOUT_S: Final = 5


class DatabaseError(Exception):
    """The database cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Dsn:
    user: str
    host: str
    port: int
    database: str

    def __str__(self) -> str:
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_dsn(text: str) -> Dsn:
    """`mysql://USER@HOST[:PORT]/DATABASE`; a password in it is refused (the environment holds
    it), so that it never shows in a process list or a shell's history."""
    parts = urlsplit(text)
    # Before anything that echoes the text back.
    if parts.password is not None:
        raise ValueError("put no password in --dsn: set FLOORPULSE_VICIDIAL_PASSWORD instead")
    if parts.scheme not in ("mysql", "mariadb"):
        raise ValueError(f"{text!r} is not mysql://USER@HOST:PORT/DATABASE")
    database = parts.path.lstrip("/")
    if not parts.username or not parts.hostname or not database or "/" in database:
        raise ValueError(f"{text!r} is not mysql://USER@HOST:PORT/DATABASE")
    try:
        port = parts.port or 3306
    except ValueError:
        raise ValueError(f"{text!r} has no valid port") from None
    return Dsn(unquote(parts.username), parts.hostname, port, unquote(database))


AGENT_COLUMNS: Final = (
    "agent_log_id, user, campaign_id, user_group, pause_epoch, pause_sec, wait_epoch, wait_sec, "
    "talk_epoch, talk_sec, dispo_epoch, dispo_sec, status, sub_status, uniqueid, comments"
)
USER_COLUMNS: Final = "user_log_id, user, event, campaign_id, event_epoch, user_group"
CALL_COLUMNS: Final = "uniqueid, campaign_id, start_epoch, end_epoch, status, user, user_group"
CLOSER_COLUMNS: Final = (
    "closecallid, campaign_id, start_epoch, end_epoch, status, user, user_group, queue_seconds, "
    "uniqueid"
)


class Database:
    """One read-only connection to VICIdial's database."""

    def __init__(self, dsn: Dsn, password: str) -> None:
        self.dsn = dsn
        try:
            self._connection = pymysql.connect(
                host=dsn.host,
                port=dsn.port,
                user=dsn.user,
                password=password,
                database=dsn.database,
                connect_timeout=CONNECT_TIMEOUT_S,
                autocommit=True,
                charset="utf8mb4",
            )
        except pymysql.err.MySQLError as exc:
            raise DatabaseError(_why(exc, dsn)) from None
        missing = [t for t in TABLES if not self._exists(t)]
        if missing:
            self.close()
            raise DatabaseError(
                f"{dsn} has no {', '.join(missing)}: is it VICIdial's database, and may "
                f"{dsn.user} read it (GRANT SELECT ON {dsn.database}.* TO ...)?"
            )

    def close(self) -> None:
        self._connection.close()

    def _exists(self, table: str) -> bool:
        rows = self._query(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (self.dsn.database, table),
        )
        return bool(rows)

    def _query(self, sql: str, args: Sequence[Any] = ()) -> tuple[tuple[Any, ...], ...]:
        try:
            with self._connection.cursor() as cursor:
                cursor.execute(sql, args)
                return tuple(cursor.fetchall())
        except pymysql.err.MySQLError as exc:
            raise DatabaseError(_why(exc, self.dsn)) from None

    def first_ids(self, since_epoch: int) -> tuple[int, int, int]:
        """The last ids before `since_epoch` of the cycle, login and in-group tables: where a
        first run starts."""

        def before(table: str, key: str, when: str) -> int:
            rows = self._query(
                f"SELECT COALESCE(MAX({key}), 0) FROM {table} WHERE {when} < FROM_UNIXTIME(%s)",
                (since_epoch,),
            )
            return int(rows[0][0])

        return (
            before("vicidial_agent_log", "agent_log_id", "event_time"),
            before("vicidial_user_log", "user_log_id", "event_date"),
            before("vicidial_closer_log", "closecallid", "call_date"),
        )

    def user_rows(self, after: int) -> list[UserLogRow]:
        rows = self._query(
            f"SELECT {USER_COLUMNS} FROM vicidial_user_log WHERE user_log_id > %s "
            f"ORDER BY user_log_id LIMIT {BATCH}",
            (after,),
        )
        return [UserLogRow(*row) for row in rows]

    def agent_rows(self, after: int, open_ids: Sequence[int]) -> list[AgentLogRow]:
        rows = self._new_and_open(
            "vicidial_agent_log", AGENT_COLUMNS, "agent_log_id", after, open_ids
        )
        return [AgentLogRow(*row) for row in rows]

    def closer_rows(self, after: int, open_ids: Sequence[int]) -> list[CloserLogRow]:
        rows = self._new_and_open(
            "vicidial_closer_log", CLOSER_COLUMNS, "closecallid", after, open_ids
        )
        return [CloserLogRow(*row) for row in rows]

    def _new_and_open(
        self, table: str, columns: str, key: str, after: int, open_ids: Sequence[int]
    ) -> tuple[tuple[Any, ...], ...]:
        """The rows after `after` (a batch of them) and the open rows `open_ids`, by `key`."""
        where = f"{key} > %s"
        args: list[Any] = [after]
        if open_ids:
            where += f" OR {key} IN ({', '.join(['%s'] * len(open_ids))})"
            args.extend(open_ids)
        return self._query(
            f"SELECT {columns} FROM {table} WHERE {where} "
            f"ORDER BY {key} LIMIT {BATCH + len(open_ids)}",
            args,
        )

    def call_rows(self, from_epoch: int, open_ids: Sequence[str]) -> list[CallLogRow]:
        # call_date is the indexed column; it holds start_epoch in the server's time zone,
        # which FROM_UNIXTIME uses too.
        where = "call_date >= FROM_UNIXTIME(%s)"
        args: list[Any] = [from_epoch]
        if open_ids:
            where += f" OR uniqueid IN ({', '.join(['%s'] * len(open_ids))})"
            args.extend(open_ids)
        rows = self._query(
            f"SELECT {CALL_COLUMNS} FROM vicidial_log WHERE {where} ORDER BY start_epoch", args
        )
        return [CallLogRow(*row) for row in rows]

    def dials(self, uniqueids: Sequence[str]) -> dict[str, int]:
        if not uniqueids:
            return {}
        rows = self._query(
            "SELECT uniqueid, UNIX_TIMESTAMP(call_date) FROM vicidial_carrier_log "
            f"WHERE uniqueid IN ({', '.join(['%s'] * len(uniqueids))})",
            list(uniqueids),
        )
        return {CarrierLogRow(u, int(e)).uniqueid: int(e) for u, e in rows if e is not None}

    def talk(self, user: str, uniqueid: str) -> tuple[int, str | None] | None:
        """When a person took a call, and their user_group, from their cycle row (read by
        user, VICIdial's index)."""
        rows = self._query(
            "SELECT talk_epoch, user_group FROM vicidial_agent_log "
            "WHERE user = %s AND uniqueid = %s AND talk_epoch IS NOT NULL LIMIT 1",
            (user, uniqueid),
        )
        if not rows:
            return None
        epoch, group = rows[0]
        return int(epoch), group


def _why(exc: pymysql.err.MySQLError, dsn: Dsn) -> str:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    if code == 1045:
        return (
            f"{dsn} refused {dsn.user}'s password: check FLOORPULSE_VICIDIAL_PASSWORD "
            "and the user's grant"
        )
    if code in (1044, 1142, 1143):
        return f"{dsn.user} may not read {dsn.database}: GRANT SELECT ON {dsn.database}.* to it"
    if code == 1049:
        return f"{dsn} has no database {dsn.database!r}"
    if code in (2003, 2005, 2006, 2013):
        return f"cannot reach {dsn.host}:{dsn.port} ({_first_line(exc)}): is MariaDB running there?"
    return f"{dsn}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
