"""The lines a person reads at the end of `floorpulse connect asterisk`."""

from __future__ import annotations

from collections import Counter
from typing import Final

from producers.asterisk.tally import KEPT, Tally
from producers.output import Sent
from producers.when import iso
from streams.topics import AGENT_EVENTS, CALL_EVENTS

LISTED: Final = 6
"""Kinds named in a count of left-out records."""


def summary(
    *,
    to: str,
    source: str,
    sent: Sent,
    tally: Tally,
    elapsed_s: float,
    kind: str,
    ended: str | None = None,
    notes: list[str] | None = None,
) -> str:
    """One line, then one per thing to know. `kind` is "line" or "event"."""
    text = (
        f"floorpulse connect asterisk: {sent.total:,} events to {to} "
        f"(agent {sent.by_topic[AGENT_EVENTS]:,}, call {sent.by_topic[CALL_EVENTS]:,})"
    )
    if sent.first_ts is not None and sent.last_ts is not None:
        text += f", event time {iso(sent.first_ts)} to {iso(sent.last_ts)}"
    text += f", from {source}: {_records(tally, kind)}, {elapsed_s:.1f} s wall"
    if ended:
        text += f"; {ended}"
    lines = [text]
    if tally.unknown:
        what = "verb(s) it does not know" if kind == "line" else "kinds it does not use"
        lines.append(
            f"{sum(tally.unknown.values()):,} {kind}(s) of {what}: {_kinds(tally.unknown)}"
        )
    if tally.problems:
        lines.append(f"{tally.problems:,} {kind}(s) could not be translated")
    lines += tally.named
    if tally.problems + len(tally.unknown) > KEPT:
        lines.append(f"(the first {KEPT} named)")
    lines += [f"hint: {hint}" for hint in tally.hints]
    lines += notes or []
    return "\n  ".join(lines)


def _records(tally: Tally, kind: str) -> str:
    parts = [f"{tally.records:,} {kind}s", f"{sum(tally.translated.values()):,} translated"]
    if tally.quiet:
        parts.append(f"{sum(tally.quiet.values()):,} with nothing for floorpulse")
    left_out = tally.not_translated()
    if left_out:
        parts.append(f"{left_out:,} left out")
    return ", ".join(parts)


def _kinds(counts: Counter[str]) -> str:
    listed = ", ".join(f"{name} {count:,}" for name, count in counts.most_common(LISTED))
    more = len(counts) - LISTED
    return listed + (f" and {more} more kinds" if more > 0 else "")
