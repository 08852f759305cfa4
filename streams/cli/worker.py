"""`floorpulse worker`: a stream worker that computes the floor's statistics live."""

from __future__ import annotations

import argparse
import errno
import importlib.util
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run a stream worker: dialer topics in, /metrics and check-ins out",
        description=(
            "Consume dialer.agent-events and dialer.call-events, apply every statistic of the"
            " contract with the same engine as `floorpulse analyze`, keep per-agent and"
            " per-campaign state in changelog-backed tables, publish check-ins on"
            " floor.checkins and invalid events on dialer.dead-letter, and serve Prometheus"
            " metrics on GET /metrics. Start several on different web ports to share the"
            " partitions. Ctrl-C (or SIGTERM) stops it cleanly.\n\n"
            "Settings: FLOORPULSE_KAFKA_BOOTSTRAP, FLOORPULSE_WEB_PORT (6066),"
            " FLOORPULSE_WEB_BIND (127.0.0.1), FLOORPULSE_DATA_DIR (unset: state in memory),"
            " FLOORPULSE_REPLICATION_FACTOR and FLOORPULSE_MIN_INSYNC_REPLICAS of the changelogs"
            " (unset: 3 and 2 on a cluster of three brokers or more, 1 on one),"
            " FLOORPULSE_RETENTION_DAYS (35: campaigns, queues, people and teams with no event"
            " for that long in event time leave the state and /metrics),"
            " FLOORPULSE_KAFKA_SECURITY_* (SASL/SCRAM, TLS)."
        ),
    )
    parser.add_argument("--web-port", type=int, metavar="N", help="HTTP port for /metrics (6066)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep table state in RocksDB in DIR, so that a restart reads back only the"
        " changelog written since (one directory per worker); without it, state lives in memory"
        " and is rebuilt from the changelog topics at start",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the floor's configuration (codes, thresholds); default $FLOORPULSE_CONFIG, else"
        " the contract's defaults. State built under other rules is named at start",
    )
    parser.add_argument(
        "--consumer",
        choices=("bulk", "faust"),
        default="bulk",
        help="how events reach the statistics: `bulk` (the default) hands each fetch from Kafka"
        " to them at once; `faust` takes them through Faust's agents a message at a time, about"
        " a tenth as fast, kept for comparison",
    )
    parser.add_argument(
        "--log-level",
        choices=("crit", "error", "warn", "info", "debug"),
        default="warn",
        help="how much the worker logs (warn)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from streams.config import load
    from streams.settings import load_settings

    config = load(args.config).config

    overrides: dict[str, object] = {}
    if args.web_port is not None:
        overrides["web_port"] = args.web_port
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    settings = load_settings(**overrides)
    if settings.data_dir is not None:
        _check_data_dir(settings.data_dir)
    _check_web(settings.web_bind, settings.web_port)

    # uvloop, when installed (`pip install floorpulse[uvloop]`), runs the event loop faster; it
    # must be chosen before anything makes a loop.
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    if loop == "uvloop":
        import mode.loop

        mode.loop.use("uvloop")

    import faust

    from streams.kafka_config import KafkaSecurity
    from streams.outage_log import install as install_outage_log
    from streams.pipeline.worker import Worker
    from streams.topics_admin import BrokerUnreachable, TopicsError, replication

    try:
        # Unset, the replication follows the cluster's size: the worker's Faust app needs it
        # as numbers, for the topics it would create itself.
        chosen = replication(
            settings.kafka_bootstrap,
            replication_factor=settings.replication_factor,
            min_insync_replicas=settings.min_insync_replicas,
            timeout_s=15.0,
            security=KafkaSecurity.from_settings(settings),
        )
        settings = settings.model_copy(
            update={"replication_factor": chosen.factor, "min_insync_replicas": chosen.min_insync}
        )
        worker = Worker(settings, config, consumer=args.consumer)
        worker.ensure_changelogs()
    except (BrokerUnreachable, TopicsError) as exc:
        print(f"floorpulse worker: {exc}", file=sys.stderr)
        return 1
    print(
        f"floorpulse worker: metrics on http://{settings.web_bind}:{settings.web_port}/metrics"
        f" ({args.consumer} consumer, {loop} event loop)",
        file=sys.stderr,
        flush=True,
    )
    runner = faust.Worker(worker.app, loglevel=args.log_level, quiet=True)
    # Faust's terminal spinner sets the root logger to DEBUG, so every library's debug call
    # builds a record: a few percent of the worker's time, and escape codes in its log.
    runner.spinner = None
    # While Kafka is away its clients log every failed attempt: one line when it starts, one a
    # minute, one when it ends.
    install_outage_log()
    runner.execute_from_commandline()


def _check_data_dir(data_dir: Path) -> None:
    """A data dir the worker can create and write in, or one line that says what to fix."""
    from streams.errors import SettingsError

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        raise SettingsError(
            f"bad setting: FLOORPULSE_DATA_DIR / --data-dir: cannot write in {data_dir}"
            f" ({exc.strerror or exc}): give a directory this user may write"
        ) from None


def _check_web(bind: str, port: int) -> None:
    """The web port is free at the bind address, or one line that says what to fix (Faust
    would fail on it only after joining the group, with a traceback)."""
    from streams.errors import SettingsError

    try:
        infos = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM)
        family, kind, proto, _name, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
            fix = "FLOORPULSE_WEB_BIND: give an address of this machine (127.0.0.1, 0.0.0.0)"
        else:
            fix = "FLOORPULSE_WEB_PORT / --web-port: choose a free port"
        raise SettingsError(
            f"bad setting: cannot serve on {bind}:{port} ({reason}): {fix}"
        ) from None
