"""`floorpulse simulate`: a seeded, realistic simulated floor, into Kafka or a JSON Lines file."""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final, Literal

from streams.cli import argtypes

DEFAULT_FILE_START: Final = "2026-01-05T08:00:00Z"
"""Must match producers.floor.DEFAULT_START_MS (kept as text so that --help needs no import)."""
PRESETS: Final = ("standard", "no-breaks", "understaffed-queue")
PACINGS: Final = ("predictive", "advised")
"""Must match producers.floor.PACINGS."""
UNDERSTAFFED_HOURS: Final = (
    "each day from 2 to 3 hours after the start (10:00 to 11:00 UTC from the default file start)"
)
"""Must match producers.floor.UNDERSTAFFED_FROM."""

DESCRIPTION: Final = f"""\
Simulate a call-centre floor that runs predictive dialers and write its events (contract v1).

Teams of agents each work one campaign (a campaign may span teams). Each campaign's dialer rings
about two lines per agent about to be free and adapts that ratio to keep abandoned calls near 3%;
with --pacing advised it follows the humane pacing advice instead (docs/pacing.md), recomputed
every five minutes from its own last hour: the lines per ready person that keep abandoned calls
under 2% and time on calls at most 85%, so that people have a moment between calls.
Lines end as people, machines, no answer, busy, failed or invalid numbers (spelled the many ways
dialers spell them). A person who answers when nobody is free is held a moment, then connected
late or dropped. Agents talk, wrap up, record dispositions (with the odd rough patch of
rejections), take breaks, lunch and other pauses, and log in and out across their shifts.

Inbound queues (contract revision 1.1): people also call in, to the queue of a blended campaign
(whose people answer it between dialer calls, and whose dialer leaves them free for the callers
waiting and expected) or of an inbound-only one (no dialer). By default the last campaign is
blended. Callers arrive at random, most mid-morning and mid-afternoon, fewer over lunch, none
from eight hours after the start until the next day's. Whoever comes free takes the caller who
has waited longest, before any new dial; a caller whose patience runs out (a minute or two for
most, seconds for a few) hangs up, and the queue gives up on anyone after ten minutes.

The same --seed and options give the same events, byte for byte. Without --start, a file run
starts at {DEFAULT_FILE_START} (reproducible) and a Kafka run starts now at real-time speed (a
live floor); event times then run ahead of the clock only with --speed above 1.

Examples:
  floorpulse simulate                                    a live floor of 40 into Kafka
  floorpulse simulate --speed 60 --preset no-breaks      an hour a minute; team-01 skips breaks
  floorpulse simulate --agents 800 --teams 40 --campaigns 8 --out floor.jsonl.gz
  floorpulse simulate --preset understaffed-queue --out day.jsonl.gz
  floorpulse simulate --inbound-only 2 --inbound-rate 120 --out day.jsonl.gz
  floorpulse simulate --outbound-only                    dialers only, as before revision 1.1
  floorpulse simulate --pacing advised --out day.jsonl.gz  dialers that follow the pacing advice
  floorpulse simulate --duration 90m --out - | head

Broker address: FLOORPULSE_KAFKA_BOOTSTRAP (default 127.0.0.1:9092); topics come from
`floorpulse kafka start`.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a floor of agents and predictive dialers into Kafka or a file",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    floor = parser.add_argument_group("the floor")
    floor.add_argument("--agents", type=_count, default=40, metavar="N", help="people (40)")
    floor.add_argument("--teams", type=_count, default=4, metavar="N", help="teams (4)")
    floor.add_argument(
        "--campaigns", type=_count, default=2, metavar="N", help="campaigns, at most --teams (2)"
    )
    floor.add_argument(
        "--duration",
        type=parse_duration,
        default=8 * 3_600_000,
        metavar="D",
        help="simulated time, e.g. 8h, 90m, 1h30m, 45s or plain seconds (8h)",
    )
    floor.add_argument(
        "--preset",
        choices=PRESETS,
        default="standard",
        help="standard: breaks about hourly; no-breaks: team-01 works over 90 minutes at a "
        "stretch, so wellbeing check-ins have something to notice; understaffed-queue: "
        f"{UNDERSTAFFED_HOURS}, four in five of the people of the first campaign with a queue "
        "are in a training session, so its callers wait longer and fewer are answered within "
        "20 s (standard)",
    )
    floor.add_argument(
        "--pacing",
        choices=PACINGS,
        default="predictive",
        help="predictive: the dialers pace as predictive dialers do, near the 3%% line;"
        " advised: they follow the pacing advice, from their own last hour (predictive)",
    )
    floor.add_argument(
        "--tired-team",
        type=_team_number,
        action="append",
        default=[],
        metavar="TEAM",
        help="a team (team-03 or 3) that skips its real breaks, like no-breaks; repeatable",
    )
    queues = parser.add_argument_group(
        "inbound queues",
        "Without --blended, --inbound-only or --outbound-only, the last campaign is blended.",
    )
    queues.add_argument(
        "--blended",
        type=_campaign_number,
        action="append",
        default=[],
        metavar="CAMPAIGN",
        help="a campaign (campaign-02 or 2) whose people answer its inbound queue between "
        "dialer calls, the longest-waiting caller before any new dial; repeatable",
    )
    queues.add_argument(
        "--inbound-only",
        type=_campaign_number,
        action="append",
        default=[],
        metavar="CAMPAIGN",
        help="a campaign with no dialer, whose people only answer its inbound queue; repeatable",
    )
    queues.add_argument(
        "--outbound-only",
        action="store_true",
        help="no inbound queue: every campaign only dials, as before contract revision 1.1",
    )
    queues.add_argument(
        "--inbound-rate",
        type=_rate,
        metavar="CALLS",
        help="callers an hour into each queue in the busiest hour of the day; the other hours "
        "have fewer (default: 2 per person working a blended campaign, 7 per person on an "
        "inbound-only one)",
    )
    run_group = parser.add_argument_group("the run")
    run_group.add_argument(
        "--seed", type=int, default=1, metavar="N", help="random seed: same seed, same events (1)"
    )
    run_group.add_argument(
        "--start",
        type=parse_start,
        metavar="WHEN",
        help=f"event time of the start: now, epoch milliseconds or an ISO time, UTC unless it "
        f"says otherwise (now with Kafka, {DEFAULT_FILE_START} with --out)",
    )
    run_group.add_argument(
        "--speed",
        type=argtypes.speed,
        metavar="S",
        help="1 is real time, 60 is a simulated minute per second, max is as fast as possible "
        "(1 with Kafka, max with --out)",
    )
    run_group.add_argument(
        "--source",
        default="sim",
        metavar="NAME",
        help="the events' `source`, also the prefix of event and call ids (sim)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--to",
        choices=("kafka",),
        default="kafka",
        help="produce to Kafka, keyed as the contract says (the default)",
    )
    output.add_argument(
        "--out",
        metavar="FILE",
        help="write JSON Lines to FILE instead: gzip when it ends in .gz, - for stdout",
    )
    parser.set_defaults(run=run)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_MS: Final = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}


def parse_duration(text: str) -> int:
    """Milliseconds from `8h`, `90m`, `1h30m`, `45s`, `500ms` or plain seconds (`3600`)."""
    spec = text.strip().lower()
    total = 0.0
    if re.fullmatch(r"\d+(?:\.\d+)?", spec):
        total = float(spec) * 1000
    elif re.fullmatch(f"(?:{_DURATION_PART.pattern})+", spec):
        total = sum(float(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(spec))
    if round(total) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive duration such as 8h, 90m, 1h30m, 45s or 3600, got {text!r}"
        )
    return round(total)


def parse_start(text: str) -> int | Literal["now"]:
    """Epoch milliseconds from digits or ISO 8601; `now` is read when the run starts."""
    spec = text.strip()
    if spec.lower() == "now":
        return "now"
    if spec.isdigit():
        value = int(spec)
        if value < 100_000_000_000:
            raise argparse.ArgumentTypeError(
                f"{spec} looks like seconds since the epoch: give milliseconds "
                f"({value * 1000}), an ISO time or now"
            )
        return value
    try:
        moment = datetime.fromisoformat(spec)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected now, epoch milliseconds or an ISO time such as {DEFAULT_FILE_START}, "
            f"got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a positive number of callers an hour, such as 60, got {text!r}"
        )
    return value


def _campaign_number(text: str) -> int:
    match = re.fullmatch(r"(?:campaign-?)?0*(\d+)", text.strip().lower())
    if match is None or int(match[1]) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a campaign such as campaign-02 or 2, got {text!r}"
        )
    return int(match[1])


def _team_number(text: str) -> int:
    match = re.fullmatch(r"(?:team-?)?0*(\d+)", text.strip().lower())
    if match is None or int(match[1]) < 1:
        raise argparse.ArgumentTypeError(f"expected a team such as team-03 or 3, got {text!r}")
    return int(match[1])


def run(args: argparse.Namespace) -> int:
    import random

    from producers.floor import DEFAULT_START_MS, FloorConfig
    from producers.pacing import Pacer
    from producers.simulator import simulate
    from producers.sinks import JsonLinesSink, KafkaSink, Sink, SinkError
    from streams.codec import encode
    from streams.settings import load_settings
    from streams.topics import CALL_EVENTS, route

    to_file = args.out is not None
    start: int | Literal["now"] | None = args.start
    if start is None:
        start = DEFAULT_START_MS if to_file else _now_ms()
    elif start == "now":
        start = _now_ms()
    chosen: float | Literal["max"] | None = args.speed
    if chosen is None:
        chosen = "max" if to_file else 1.0
    speed = None if chosen == "max" else chosen
    tired = set(args.tired_team) | ({1} if args.preset == "no-breaks" else set())
    if args.outbound_only and (args.blended or args.inbound_only):
        print(
            "floorpulse simulate: --outbound-only leaves out every queue: give it, or "
            "--blended and --inbound-only, not both",
            file=sys.stderr,
        )
        return 2
    chosen_queues = args.outbound_only or args.blended or args.inbound_only
    try:
        config = FloorConfig(
            agents=args.agents,
            teams=args.teams,
            campaigns=args.campaigns,
            duration_ms=args.duration,
            start_ms=start,
            source=args.source,
            tired_teams=frozenset(tired),
            blended=frozenset(args.blended) if chosen_queues else None,
            inbound_only=frozenset(args.inbound_only),
            inbound_rate=args.inbound_rate,
            pacing=args.pacing,
        )
        if args.preset == "understaffed-queue":
            # The first queue; 0, no campaign, when there is none, for FloorConfig to explain.
            config = replace(config, understaffed=min(config.queues(), default=0))
    except ValueError as exc:
        print(f"floorpulse simulate: {exc}", file=sys.stderr)
        return 2
    # Settings come first, so that a bad broker address fails before any connection is tried.
    bootstrap = None if to_file else load_settings().kafka_bootstrap
    where = args.out if bootstrap is None else f"Kafka at {bootstrap}"
    try:
        sink: Sink = JsonLinesSink(args.out) if bootstrap is None else KafkaSink(bootstrap)
    except SinkError as exc:
        print(f"floorpulse simulate: {exc}", file=sys.stderr)
        return 1

    pacer = Pacer(speed, on_wait=sink.flush)
    # Anchored at the start, not at the first event: a live floor's event time is then wall time.
    pacer.start(start)
    wait = None if speed is None else pacer.wait_until
    send = sink.send
    calls = agents = 0
    last_ts = start
    status, note = 0, ""
    began = time.perf_counter()
    try:
        try:
            for event in simulate(config, random.Random(args.seed)):
                if wait is not None:
                    wait(event.ts)
                topic, key = route(event)
                send(topic, key, encode(event))
                last_ts = event.ts
                if topic == CALL_EVENTS:
                    calls += 1
                else:
                    agents += 1
        finally:
            sink.close()
    except BrokenPipeError:
        _silence_stdout()
        note = " (the reader closed the output early)"
    except SinkError as exc:
        print(f"floorpulse simulate: {exc}", file=sys.stderr)
        status = 1
    finally:
        elapsed = time.perf_counter() - began
        written = agents + calls
        print(
            f"floorpulse simulate: {written:,} events to {'stdout' if where == '-' else where} "
            f"(agent {agents:,}, call {calls:,}), event time {_iso(start)} to {_iso(last_ts)} "
            f"({_span(last_ts - start)}), "
            f"{elapsed:.1f} s wall, {written / max(elapsed, 1e-9):,.0f} events/s{note}",
            file=sys.stderr,
        )
    return status


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _span(ms: int) -> str:
    minutes = ms // 60_000
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes else f"{ms / 1000:.0f}s"


def _iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _silence_stdout() -> None:
    """After the reader of stdout has gone: keep Python's exit flush from failing on it again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
