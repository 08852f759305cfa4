"""`floorpulse connect vicidial`: VICIdial's own tables, read live, as contract events."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Final

from streams.cli.argtypes import moment

PASSWORD_VARIABLE: Final = "FLOORPULSE_VICIDIAL_PASSWORD"
NAME: Final = "floorpulse connect vicidial"

VICIDIAL: Final = f"""\
Read a live VICIdial database (MySQL or MariaDB) and send what its floor does as contract
events (revision 1.1) to Kafka: agent events to dialer.agent-events keyed by agent_id, call
events to dialer.call-events keyed by campaign_id. With --out, write JSON Lines instead (gzip
when FILE ends in .gz, - for standard output), for `floorpulse analyze`.

--dsn mysql://USER@HOST:PORT/DATABASE names the database (VICIdial's is usually `asterisk`);
the password comes from {PASSWORD_VARIABLE} only, never a flag. The user needs only to read:
  CREATE USER 'floorpulse'@'10.0.0.%' IDENTIFIED BY '...';
  GRANT SELECT ON asterisk.* TO 'floorpulse'@'10.0.0.%';

What it reads, every --poll seconds: vicidial_user_log (logouts), vicidial_agent_log (each
person's cycles pause -> wait -> talk -> dispo, which VICIdial updates in place: a person's
newest row is read again at every poll), vicidial_closer_log (in-groups: inbound queues),
vicidial_log (the dialer's calls, sent when they end) and vicidial_carrier_log (when a call was
dialled). Event ids name the table, the row and the step (vicidial:agent_log:1234:talk), so
rows read again give duplicates the engine ignores. A checkpoint (--checkpoint FILE, default
under .floorpulse/checkpoints/) keeps the last row read of each table and what was sent of the
rows still open: a restarted adapter goes on where it stopped. A first run starts at --since
(default: the start of the current hour). A backlog is read a minute of VICIdial's time per
poll, so that what a restart after a hard stop sends again stays within what a live worker
recognises as repeats.

The floor's mapping is [sources.vicidial] of --config FILE (or FLOORPULSE_CONFIG): campaign and
in-group ids to campaigns, user groups to teams, which statuses are machines, drops, callers
who left a queue, and the outcomes of calls nobody answered. Dispositions and pause codes go as
VICIdial has them; [codes] aliases map them (NI = "not_interested", NAMAZ = "prayer"). See the
README ("Connecting a VICIdial floor") for what each status becomes.

--until-idle SECONDS stops after that long without a new row; Ctrl-C (or SIGTERM) stops too,
after the poll under way is sent and its checkpoint saved.

Exit status: 0 when every event was delivered; 1 when the database or the sink cannot be used
(a wrong password, an unreachable server, a database without VICIdial's tables); 2 for a bad
option or configuration; 130 after Ctrl-C.

Examples:
  FLOORPULSE_VICIDIAL_PASSWORD=... floorpulse connect vicidial \\
      --dsn mysql://floorpulse@vicidial-db:3306/asterisk --config floor.toml
  floorpulse connect vicidial --dsn mysql://floorpulse@db/asterisk --since now-8h \\
      --until-idle 60 --out day.jsonl.gz

Broker address: FLOORPULSE_KAFKA_BOOTSTRAP (default 127.0.0.1:9092).
"""


def register(dialers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from streams.cli.connect import seconds

    parser = dialers.add_parser(
        "vicidial",
        help="VICIdial: its MySQL/MariaDB tables, read live with a read-only user",
        description=VICIDIAL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dsn", required=True, metavar="URL", help="mysql://USER@HOST:PORT/DATABASE"
    )
    parser.add_argument(
        "--poll", type=seconds, default=1.0, metavar="SECONDS", help="between polls (1)"
    )
    parser.add_argument(
        "--since",
        type=moment,
        metavar="TIME",
        help="where a first run starts (ISO time, epoch ms, now-8h; default: this hour's start)",
    )
    parser.add_argument(
        "--until-idle",
        type=seconds,
        metavar="SECONDS",
        help="stop after this long without a new row",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="where to keep what was read (default .floorpulse/checkpoints/vicidial-DIGEST.json)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the floor's configuration, for [sources.vicidial] (default $FLOORPULSE_CONFIG)",
    )
    parser.add_argument(
        "--out", metavar="FILE", help="write JSON Lines to FILE (.gz, - for stdout), not Kafka"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from producers.sinks import SinkError
    from producers.vicidial import checkpoint
    from producers.vicidial.config import VicidialSource
    from producers.vicidial.database import Database, DatabaseError, parse_dsn
    from producers.vicidial.poll import Loop, start_from
    from producers.vicidial.translate import Translator
    from streams.cli.connect import open_output, stop_on_signals
    from streams.config import ConfigError, load

    try:
        dsn = parse_dsn(args.dsn)
    except ValueError as exc:
        return _fail(f"--dsn: {exc}", 2)
    password = os.environ.get(PASSWORD_VARIABLE)
    if password is None:
        return _fail(f"set the password of {dsn.user} in {PASSWORD_VARIABLE}", 2)
    try:
        config = load(args.config).config.sources.vicidial or VicidialSource()
    except ConfigError as exc:
        return _fail(str(exc), 2)
    path = Path(args.checkpoint) if args.checkpoint else checkpoint.default_path(str(dsn))
    try:
        saved = checkpoint.load(path, str(dsn))
    except checkpoint.CheckpointError as exc:
        return _fail(str(exc), 1)
    began = time.perf_counter()
    try:
        database = Database(dsn, password)
    except DatabaseError as exc:
        return _fail(str(exc), 1)
    translator = Translator(config, saved.state if saved is not None else None)
    try:
        if saved is None:
            since_ms = args.since if args.since is not None else _hour_start_ms()
            start_from(database, translator, since_ms // 1000)
        elif args.since is not None:
            _say(f"--since is for a first run: going on from the checkpoint {path}")
        output, to = open_output(args, client_id="floorpulse-vicidial")
        try:
            with stop_on_signals() as stop:
                loop = Loop(database, translator, output, path, args.poll, args.until_idle, stop)
                loop.run()
        finally:
            output.sink.close()
    except (DatabaseError, SinkError, checkpoint.CheckpointError) as exc:
        return _fail(str(exc), 1)
    finally:
        database.close()
    sent = output.sent
    lines = [
        f"{NAME}: {sent.total:,} events to {to} from {dsn}, "
        f"{time.perf_counter() - began:.1f} s wall; checkpoint {path}"
    ]
    for (campaign, day), percent in sorted(loop.drops.percent().items()):
        lines.append(f"  {campaign} {day}: {percent:.2f}% drops per human answer (VICIdial's)")
    print("\n".join(lines), file=sys.stderr)
    return 130 if stop.is_set() else 0


def _hour_start_ms() -> int:
    import time

    return int(time.time()) // 3600 * 3_600_000


def _fail(problem: str, status: int) -> int:
    print(f"{NAME}: {problem}", file=sys.stderr)
    return status


def _say(text: str) -> None:
    print(f"{NAME}: {text}", file=sys.stderr, flush=True)
