"""queue_log lines to events, one rule at a time, on lines written as app_queue writes them."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from producers.asterisk import state as saved
from producers.asterisk.config import AsteriskSource
from producers.asterisk.queue_log import QueueLogTranslator, parse
from streams.analyze import analyze
from streams.codec import decode, encode
from streams.events import Event
from tests.producers.asterisk.views import encoded

T = 1_796_399_600
CONFIG = AsteriskSource(
    interface_patterns=["PJSIP/{name}"], wrapup_s={"sales": 8}, teams={"ali": "team-a"}
)


def run(
    lines: list[str], config: AsteriskSource = CONFIG, translator: QueueLogTranslator | None = None
) -> tuple[list[dict[str, Any]], QueueLogTranslator]:
    """Every event of the lines (times relative to T) with the log's end, as plain objects."""
    translator = translator or QueueLogTranslator(config)
    events: list[Event] = []
    offset = 0
    for number, line in enumerate(lines, 1):
        epoch, _, rest = line.partition("|")
        raw = f"{T + int(epoch)}|{rest}\n".encode() if epoch.isdigit() else f"{line}\n".encode()
        events += translator.line(raw, "f", offset, number)
        offset += len(raw)
    events += translator.finish()
    for event in events:
        assert decode(encode(event)) == event
    return [msgspec.to_builtins(e) for e in events], translator


def states(events: list[dict[str, Any]], agent: str = "ali") -> list[tuple[int, str, str]]:
    return [
        (e["ts"] // 1000 - T, e["state"], e.get("reason") or e.get("call_id") or "")
        for e in events
        if e["type"] == "agent.state" and e["agent_id"] == agent
    ]


def test_a_line_is_split_on_bars() -> None:
    line = parse("1796399655|1796399651.1|sales|agent101|CONNECT|3|1796399652.2|3")
    assert (line.ts, line.callid, line.queue, line.agent, line.verb) == (
        1796399655000,
        "1796399651.1",
        "sales",
        "agent101",
        "CONNECT",
    )
    assert line.data == ("3", "1796399652.2", "3") and line.seconds(0) == 3000


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1796399655|x|sales", r"3 field\(s\)"),
        ("yesterday|x|sales|agent|PAUSE|BREAK", "is no epoch time"),
        ("0|x|sales|agent|PAUSE|BREAK", "is no epoch time"),
        ("1796399655|x|sales|agent||", "no verb"),
    ],
)
def test_a_line_that_does_not_parse_says_why(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse(text)


def test_lines_it_cannot_translate_are_counted_and_named_never_fatal() -> None:
    events, translator = run(
        [
            "1|NONE|sales|PJSIP/ali|ADDMEMBER|",
            "not a queue_log line",
            "2|NONE|sales|ali|FROBNICATE|x",
            "3|NONE|sales|ali|FROBNICATE|y",
            "4|NONE|NONE|ali|PAUSEALL|BREAK",
            "5|NONE|sales|ali|PAUSE|BREAK",
        ]
    )
    tally = translator.tally
    assert (tally.records, tally.problems, dict(tally.unknown)) == (6, 1, {"FROBNICATE": 2})
    assert tally.quiet == {"PAUSEALL": 1}
    assert tally.named == [
        "line 2: 1 field(s), not epoch|callid|queue|agent|VERB|data...",
        "line 3: unknown 'FROBNICATE'",
    ]
    assert states(events) == [(1, "ready", ""), (5, "paused", "BREAK")]


def test_a_person_is_paused_only_when_paused_in_every_queue() -> None:
    events, _ = run(
        [
            "1|MANAGER|sales|PJSIP/ali|ADDMEMBER|",
            "1|MANAGER|care|PJSIP/ali|ADDMEMBER|",
            "10|NONE|NONE|ali|PAUSEALL|LUNCH",
            "10|NONE|care|ali|PAUSE|LUNCH",
            "10|NONE|sales|ali|PAUSE|LUNCH",
            "20|NONE|sales|ali|PAUSE|NAMAZ",
            "30|NONE|care|ali|UNPAUSE|",
            "40|NONE|care|ali|PAUSE|",
            "50|MANAGER|sales|PJSIP/ali|REMOVEMEMBER|",
            "51|MANAGER|care|PJSIP/ali|REMOVEMEMBER|",
        ]
    )
    assert states(events) == [
        (1, "ready", ""),
        (10, "paused", "LUNCH"),
        (20, "paused", "NAMAZ"),  # a new reason while paused: a new pause
        (30, "ready", ""),  # care can ring again
        (40, "paused", "unspecified"),
        (51, "logged_out", ""),
    ]
    assert {e["team_id"] for e in events} == {"team-a"}
    assert {e["campaign_id"] for e in events} == {"sales"}  # the first queue joined


def test_a_call_then_its_wrap_up_for_the_queues_wrapuptime() -> None:
    events, _ = run(
        [
            "1|MANAGER|sales|PJSIP/ali|ADDMEMBER|",
            "10|c1|sales|NONE|ENTERQUEUE||0300123|1",
            "13|c1|sales|ali|CONNECT|3|c1.2|2",
            "40|c1|sales|ali|COMPLETECALLER|3|27|1",
            "60|NONE|sales|ali|PAUSE|BREAK",
        ]
    )
    assert states(events) == [
        (1, "ready", ""),
        (13, "on_call", "c1"),
        (40, "wrap_up", ""),
        (48, "ready", ""),  # nothing in the log says so: 8 s of wrapuptime did
        (60, "paused", "BREAK"),
    ]
    calls = [(e["type"], e["ts"] // 1000 - T) for e in events if e["type"].startswith("call.")]
    assert calls == [("call.queued", 10), ("call.connected", 13), ("call.ended", 40)]
    report = analyze(encoded(_events(events)))
    assert report["campaigns"]["sales"]["inbound"]["answered_wait_seconds"] == 3.0


def test_a_pause_asked_for_during_a_call_starts_when_it_ends() -> None:
    events, _ = run(
        [
            "1|MANAGER|sales|PJSIP/ali|ADDMEMBER|",
            "10|c1|sales|ali|CONNECT|0|c1.2|1",
            "20|NONE|sales|ali|PAUSE|BREAK",
            "40|c1|sales|ali|COMPLETEAGENT|0|30|1",
            "45|NONE|sales|ali|UNPAUSE|",
            "47|NONE|sales|ali|PAUSE|BREAK",
        ]
    )
    assert states(events) == [
        (1, "ready", ""),
        (10, "on_call", "c1"),
        (40, "paused", "BREAK"),
        (45, "wrap_up", ""),  # the wrap-up goes on after the pause, until 48
        (47, "paused", "BREAK"),
    ]


def test_callers_who_leave_unanswered_are_abandoned_whatever_the_verb() -> None:
    events, _ = run(
        [
            "1|c1|sales|NONE|ENTERQUEUE||1|1",
            "9|c1|sales|NONE|ABANDON|1|1|8",
            "10|c2|sales|NONE|ENTERQUEUE||2|1",
            "40|c2|sales|NONE|EXITWITHTIMEOUT|1|1|30",
            "41|c3|sales|NONE|ENTERQUEUE||3|1",
            "42|c3|sales|NONE|EXITEMPTY|1|1|1",
            "50|c4|sales|NONE|EXITWITHKEY|5|1|1|7",  # its ENTERQUEUE is not in this log
        ]
    )
    calls = [(e["type"], e["call_id"], e["ts"] // 1000 - T) for e in events]
    assert calls == [
        ("call.queued", "c1", 1),
        ("call.abandoned", "c1", 9),
        ("call.queued", "c2", 10),
        ("call.abandoned", "c2", 40),
        ("call.queued", "c3", 41),
        ("call.abandoned", "c3", 42),
        ("call.queued", "c4", 43),  # its wait, 7 s, tells when it came
        ("call.abandoned", "c4", 50),
    ]


def test_a_call_met_halfway_is_completed_from_its_durations() -> None:
    events, _ = run(["100|c9|sales|ali|COMPLETEAGENT|12|30|1"])
    assert [(e["type"], e["ts"] // 1000 - T) for e in events] == [
        ("call.queued", 58),
        ("call.connected", 70),
        ("agent.state", 70),
        ("call.ended", 100),
        ("agent.state", 100),
        ("agent.state", 108),
    ]


def test_members_named_by_interface_are_mapped_or_hinted_at() -> None:
    config = AsteriskSource(interfaces={"SIP/7001": "bob"})
    events, translator = run(
        [
            "1|MANAGER|sales|SIP/7001|ADDMEMBER|",
            "1|MANAGER|sales|Local/9@agents/n|ADDMEMBER|PAUSED",
            "5|c1|sales|bob|CONNECT|0|x|0",
            "6|c2|sales|nine|CONNECT|0|y|0",
        ],
        config,
    )
    assert states(events, "bob")[0] == (1, "ready", "")
    assert states(events, "Local/9@agents/n") == [(1, "paused", "unspecified")]
    assert translator.tally.hints == [
        "ADDMEMBER/REMOVEMEMBER name Local/9@agents/n by interface, and no call or pause does: "
        "map them to member names ([sources.asterisk] interfaces or interface_patterns), or set "
        "log_membername_as_agent = yes in queues.conf"
    ]


def test_a_dialers_queue_counts_under_the_two_second_rule() -> None:
    """In an outbound queue a whole-second log counts every connect that may have been late."""
    config = AsteriskSource(outbound_queues=["vdad"])
    events, _ = run(
        [
            "10|o1|vdad|NONE|ENTERQUEUE||1|1",
            "11|o1|vdad|ali|CONNECT|1|x|0",
            "20|o2|vdad|NONE|ENTERQUEUE||2|1",
            "22|o2|vdad|ali|CONNECT|2|y|0",
            "30|o3|vdad|NONE|ENTERQUEUE||3|1",
            "33|o3|vdad|NONE|ABANDON|1|1|3",
        ],
        config,
    )
    types = [e["type"] for e in events if e["type"].startswith("call.")]
    assert types[:2] == ["call.answered", "call.connected"] and types[-1] == "call.dropped"
    vdad = analyze(encoded(_events(events)))["campaigns"]["vdad"]
    assert (vdad["answered_human"], vdad["late_connected"], vdad["dropped"]) == (3, 1, 1)
    assert "inbound" not in vdad


def test_a_caller_in_a_second_queue_is_another_call() -> None:
    events, _ = run(
        [
            "1|c1|sales|NONE|ENTERQUEUE||1|1",
            "31|c1|sales|NONE|EXITWITHTIMEOUT|1|1|30",
            "31|c1|care|NONE|ENTERQUEUE||1|1",
            "35|c1|care|ali|CONNECT|4|x|1",
        ]
    )
    assert [(e["call_id"], e["campaign_id"]) for e in events if e["type"] == "call.queued"] == [
        ("c1", "sales"),
        ("c1@care", "care"),
    ]


def test_app_queue_starting_again_ends_the_calls_it_had() -> None:
    events, _ = run(
        [
            "1|MANAGER|sales|PJSIP/ali|ADDMEMBER|",
            "2|c1|sales|ali|CONNECT|0|x|0",
            "3|c2|sales|NONE|ENTERQUEUE||2|1",
            "9|NONE|NONE|NONE|QUEUESTART|",
        ]
    )
    assert [(e["type"], e["ts"] // 1000 - T) for e in events if e["ts"] // 1000 - T == 9] == [
        ("call.ended", 9),
        ("agent.state", 9),
        ("call.abandoned", 9),
    ]


def test_agent_pool_logoff_and_login_take_every_queue() -> None:
    events, _ = run(
        [
            "1|NONE|sales|ali|PAUSE|BREAK",  # a static member, first seen pausing
            "2|NONE|sales|ali|UNPAUSE|",
            "3|NONE|NONE|ali|AGENTLOGOFF|PJSIP/ali|100",
            "9|NONE|NONE|ali|AGENTLOGIN|PJSIP/ali",
        ]
    )
    assert states(events) == [
        (1, "paused", "BREAK"),
        (2, "ready", ""),
        (3, "logged_out", ""),
        (9, "ready", ""),
    ]


def test_ids_are_the_lines_and_a_checkpointed_state_goes_on_as_if_never_stopped() -> None:
    lines = [
        "1|MANAGER|sales|PJSIP/ali|ADDMEMBER|",
        "10|c1|sales|NONE|ENTERQUEUE||1|1",
        "12|c1|sales|ali|CONNECT|2|x|1",
        "30|c1|sales|ali|COMPLETEAGENT|2|18|1",
        "33|NONE|sales|ali|PAUSE|BREAK",
        "50|NONE|sales|ali|UNPAUSE|",
    ]
    whole, _ = run(lines)
    first = QueueLogTranslator(CONFIG)
    head, _ = run(lines[:4], translator=_unfinished(first))
    restored = QueueLogTranslator(CONFIG, saved.load(saved.dump(first.state)))
    tail, _ = run(lines, translator=_skipping(restored, 4))
    assert head + tail == whole
    second, third = (
        len(f"{T + 1}|MANAGER|sales|PJSIP/ali|ADDMEMBER|\n"),
        len(f"{T + 10}|c1|sales|NONE|ENTERQUEUE||1|1\n"),
    )
    assert [e["event_id"] for e in whole][:3] == [
        "asterisk:f:0:state",
        f"asterisk:f:{second}:queued",
        f"asterisk:f:{second + third}:connected",
    ]


def _events(objects: list[dict[str, Any]]) -> list[Event]:
    return [decode(msgspec.json.encode(o)) for o in objects]


def _unfinished(translator: QueueLogTranslator) -> QueueLogTranslator:
    """The translator, whose end of log is not the end (a checkpoint is taken before it)."""
    translator.finish = lambda: []  # type: ignore[method-assign]
    return translator


def _skipping(translator: QueueLogTranslator, count: int) -> QueueLogTranslator:
    """The translator, given every line but translating from line `count + 1` on, at the same
    offsets, as a run resumed from a checkpoint does."""
    line = translator.line

    def later(raw: bytes, file_id: str, offset: int, number: int) -> list[Event]:
        return line(raw, file_id, offset, number) if number > count else []

    translator.line = later  # type: ignore[method-assign]
    return translator
