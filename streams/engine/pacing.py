"""Humane pacing advice: the dial level that keeps abandoned calls under a target and leaves
people room to breathe between calls (docs/pacing.md derives the model).

Pure: a function of a campaign's recent numbers, no clock, no I/O. The model is a Markov chain
of the people ready and the lines ringing for them, reduced to a birth-death chain of the people
ready with the lines still ringing after a person was taken followed on average:

- `people` work the campaign's calls; a busy person (talking or wrapping up) is free again after
  `handle_seconds` on average, so the ready count k grows at rate (people - k) / handle;
- the dialer keeps `dial_level` lines ringing per ready person, and places none while more lines
  ring than that: the lines dialed for a person who has just taken a call go on ringing (the
  excess) until they end; a line rings `ring_seconds` on average and a person answers it with
  probability `answer_ratio`;
- an answer finds a ready person, who takes the call, or nobody: the call is abandoned.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from streams.engine.agent import AgentTrack
from streams.engine.totals import PACE_MARK_MS, CampaignTotals, PaceMark

LOWEST: Final = 0.25
"""The fewest lines per ready person the advice considers (below one: a line for some people)."""
HIGHEST: Final = 20.0
"""The most lines per ready person the advice considers."""
STEPS: Final = 18
"""Bisection steps over [LOWEST, HIGHEST]: the advice to about 0.0001 of a line."""
WINDOW_MS: Final = 3_600_000
"""The recent window a live advice reads: the campaign's last hour."""
MIN_DIALED: Final = 30
MIN_ANSWERED: Final = 5
MIN_TALKED: Final = 5
"""Fewer calls than these in the window: too little to advise on."""


class Limit(enum.StrEnum):
    """What set the advised pace."""

    ABANDON = "abandon"
    """More lines would leave more people who answer with nobody to talk to."""
    OCCUPANCY = "occupancy"
    """More lines would leave people too little time between calls."""
    HIGHEST = "highest"
    """Neither limit is near: the advice stops at the most lines it considers."""


@dataclass(frozen=True)
class PacingLimits:
    """The two limits the advice keeps; the floor's configuration file will set them."""

    abandon_target: float = 0.02
    """Expected abandoned calls per call a person answers: a margin under the 3% line."""
    occupancy_ceiling: float = 0.85
    """Expected share of working time on calls and wrap-up; the rest is time between calls."""

    def __post_init__(self) -> None:
        if not 0 < self.abandon_target < 1:
            raise ValueError("abandon_target must be between 0 and 1")
        if not 0 < self.occupancy_ceiling < 1:
            raise ValueError("occupancy_ceiling must be between 0 and 1")


DEFAULT_LIMITS: Final = PacingLimits()


@dataclass(frozen=True)
class PaceInputs:
    """A campaign's recent numbers, as the model reads them."""

    people: float
    """People working the dialer's calls (ready, talking or wrapping up), on average."""
    answer_ratio: float
    """Calls a person answered per line dialed."""
    ring_seconds: float
    """How long a dialed line rings before its outcome (answer, no answer...) is known."""
    handle_seconds: float
    """Talk and wrap-up per call."""

    @property
    def usable(self) -> bool:
        return (
            self.people >= 1
            and 0 < self.answer_ratio < 1
            and self.ring_seconds > 0
            and self.handle_seconds > 0
            and all(map(math.isfinite, (self.people, self.ring_seconds, self.handle_seconds)))
        )


@dataclass(frozen=True)
class Expectation:
    """What the model expects at a dial level."""

    abandon_ratio: float
    occupancy_ratio: float
    lines_per_agent: float
    """Lines ringing per ready person, on average, as a dashboard measures it: a little above
    the dial level, since lines dialed for a person who has just taken a call ring on."""


@dataclass(frozen=True)
class PacingAdvice:
    """The advised pace for one campaign and what the model expects of it."""

    dial_level: float
    """Lines the dialer keeps ringing per ready person (its setting)."""
    lines_per_agent: float
    """Lines ringing per ready person as a dashboard measures it, at that level."""
    abandon_ratio: float
    occupancy_ratio: float
    limit: Limit
    within_limits: bool
    """False when even the fewest lines considered would not keep both limits."""


@dataclass(frozen=True)
class CampaignPacing:
    """A campaign's advice checked against the pace it ran over the same window."""

    advice: PacingAdvice
    """The advice, made more careful by `calibration`."""
    model_lines_per_agent: float
    """The model's advice before the check: what a dialer ringing only for people ready could
    run with the same care."""
    observed_lines_per_agent: float
    """Lines ringing per ready person over the window."""
    observed_abandon_ratio: float | None
    expected_abandon_at_observed: float
    """What the model expects at the observed pace."""
    calibration: float
    """How many times the campaign's abandoned calls exceeded that expectation (at least 1)."""


def checked_advice(
    inputs: PaceInputs,
    observed_lines_per_agent: float,
    answered: int,
    abandoned: int,
    limits: PacingLimits = DEFAULT_LIMITS,
) -> CampaignPacing | None:
    """The advice for a campaign whose pace over the inputs' window is known: if it abandoned
    more calls than the model expects at that pace (a dialer that also rings for people still
    wrapping up does), the advice is made more careful by as much; never bolder."""
    model = advise(inputs, limits)
    if model is None:
        return None
    level = level_for(inputs, observed_lines_per_agent)
    expected = expect(inputs, level).abandon_ratio
    checked = calibration(inputs, level, answered, abandoned)
    advice = advise(inputs, limits, checked) if checked > 1 else model
    assert advice is not None
    return CampaignPacing(
        advice=advice,
        model_lines_per_agent=model.lines_per_agent,
        observed_lines_per_agent=observed_lines_per_agent,
        observed_abandon_ratio=abandoned / answered if answered else None,
        expected_abandon_at_observed=expected,
        calibration=checked,
    )


def expect(inputs: PaceInputs, dial_level: float, calibration: float = 1.0) -> Expectation:
    """The abandon ratio, occupancy and lines per ready person at `dial_level`.

    `calibration` (at least 1) multiplies the expected abandon ratio: a dialer that follows the
    advice can check it against its own abandoned calls (see `calibration`)."""
    n = inputs.people
    low = math.floor(n)
    share = n - low
    abandon, occupancy, lines = _chain(low, dial_level, inputs)
    if share > 0:
        # Between two whole numbers of people, the expectation moves in a straight line.
        a2, o2, l2 = _chain(low + 1, dial_level, inputs)
        abandon += share * (a2 - abandon)
        occupancy += share * (o2 - occupancy)
        lines += share * (l2 - lines)
    return Expectation(min(1.0, abandon * calibration), occupancy, lines)


def advise(
    inputs: PaceInputs, limits: PacingLimits = DEFAULT_LIMITS, calibration: float = 1.0
) -> PacingAdvice | None:
    """The most lines per ready person that keep both limits; None without usable numbers.

    A bisection over a fixed range and number of steps: the abandon ratio and the occupancy
    both grow with the dial level, so the advice is the lower of the two limits' levels, and
    numbers that raise either expectation never raise the advice."""
    if not inputs.usable:
        return None

    def broken(level: float) -> Limit | None:
        seen = expect(inputs, level, calibration)
        if seen.abandon_ratio > limits.abandon_target:
            return Limit.ABANDON
        if seen.occupancy_ratio > limits.occupancy_ceiling:
            return Limit.OCCUPANCY
        return None

    low, high = LOWEST, HIGHEST
    limit = broken(high)
    if limit is None:
        return _advice(inputs, high, Limit.HIGHEST, True, calibration)
    first = broken(low)
    if first is not None:
        return _advice(inputs, low, first, False, calibration)
    for _ in range(STEPS):
        middle = (low + high) / 2
        found = broken(middle)
        if found is None:
            low = middle
        else:
            high, limit = middle, found
    return _advice(inputs, low, limit, True, calibration)


def level_for(inputs: PaceInputs, lines_per_agent: float) -> float:
    """The dial level at which the model expects `lines_per_agent` lines per ready person."""
    low, high = 0.0, HIGHEST
    for _ in range(STEPS):
        middle = (low + high) / 2
        if expect(inputs, middle).lines_per_agent < lines_per_agent:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def calibration(
    inputs: PaceInputs, dial_level: float, answered: int, abandoned: int, prior: float = 1.0
) -> float:
    """How many times the abandoned calls a dialer saw at `dial_level` exceed the model's
    expectation, never under 1: (abandoned + prior) / (expected + prior), so that a few calls
    move it little. A dialer that follows the advice passes it back to `advise`."""
    if not inputs.usable or answered <= 0:
        return 1.0
    expected = expect(inputs, dial_level).abandon_ratio * answered
    return max(1.0, (abandoned + prior) / (expected + prior))


def _advice(
    inputs: PaceInputs, level: float, limit: Limit, within: bool, calibration: float
) -> PacingAdvice:
    seen = expect(inputs, level, calibration)
    return PacingAdvice(
        dial_level=level,
        lines_per_agent=seen.lines_per_agent,
        abandon_ratio=seen.abandon_ratio,
        occupancy_ratio=seen.occupancy_ratio,
        limit=limit,
        within_limits=within,
    )


def _chain(n: int, level: float, inputs: PaceInputs) -> tuple[float, float, float]:
    """(abandon ratio, occupancy, lines per ready person) for n people at `level`.

    Each level k (people ready) carries the mean excess of lines ē_k. An excess enters level k
    from above when a ready person takes a call (the lines for them, less the one answered, ring
    on: ē_{k+1} + level - 1) or from below when a person comes free (their level of lines is
    owed first: ē_{k-1} - level), and drains while the chain stays at k: lines end at rate
    (level·k + e) / ring, and only those nobody answered keep k. The people ready then form a
    birth-death chain with death rate answer·(level·k + ē_k) / ring; answers at k = 0 are
    abandoned. A fluid drain and a product form are the two approximations (docs/pacing.md)."""
    p, ring, handle = inputs.answer_ratio, inputs.ring_seconds, inputs.handle_seconds
    # People ready beyond the fluid mean plus ten deviations carry no weight: stop there.
    fluid = n * ring / (ring + p * level * handle)
    top = min(n, math.ceil(fluid + 10 * math.sqrt(fluid + 1) + 10))
    born = [(n - k) / handle for k in range(top + 1)]
    excess = [0.0] * (top + 2)
    carried = [0.0] * (top + 2)
    drain = (1 - p) / ring
    for _ in range(2):  # the second pass sees the excess brought up from below
        for k in range(top, -1, -1):
            lines = level * k
            leave = born[k] + p * lines / ring
            if k == 0:
                # Nobody ready: every line that ends, answered or not, lowers the excess.
                from_above = carried[1] + level - 1
                kept = from_above * leave / (leave + 1 / ring) if from_above > 0 else 0.0
                excess[0] = carried[0] = kept
                continue
            above = born[k] / leave if k < top else 0.0
            up = _through(carried[k + 1] + level - 1, lines, leave, drain)
            down = _through(excess[k - 1] - level, lines, leave, drain)
            excess[k] = above * up[0] + (1 - above) * down[0]
            carried[k] = above * up[1] + (1 - above) * down[1]
    weights = [0.0] * (top + 1)
    log_weight = 0.0
    for k in range(1, top + 1):
        log_weight += math.log(born[k - 1] * ring / (p * (level * k + excess[k])))
        weights[k] = log_weight
    most = max(weights)
    pi = [math.exp(w - most) for w in weights]
    total = sum(pi)
    ringing = [pi[k] * (level * k + excess[k]) for k in range(top + 1)]
    ready = sum(k * w for k, w in enumerate(pi)) / total
    all_lines = sum(ringing)
    abandon = ringing[0] / all_lines if all_lines else 0.0
    per_ready = all_lines / total / ready if ready else math.inf
    return abandon, 1 - ready / n, per_ready


def _through(entering: float, lines: float, leave: float, drain: float) -> tuple[float, float]:
    """An excess `entering` a level with `lines` kept ringing, left at rate `leave`, draining as
    de/dt = -drain·(lines + e): its mean over the stay, and its mean when a call leaves the level
    downwards (weighted by the lines ringing then)."""
    if entering <= 0:
        return 0.0, 0.0
    start = entering + lines
    gone = math.log(start / lines) / drain  # when the excess has rung out

    def integral(rate: float) -> float:
        return (1 - math.exp(-rate * gone)) / rate

    mean = leave * (start * integral(drain + leave) - lines * integral(leave))
    weighted = start * start * integral(2 * drain + leave) - lines * start * integral(drain + leave)
    weight = start * integral(drain + leave) + lines * math.exp(-leave * gone) / leave
    return mean, weighted / weight


# Reading a campaign's numbers ---------------------------------------------------------------


def state_ms(agents: Iterable[AgentTrack]) -> dict[str, list[int]]:
    """Per campaign: the people's closed intervals, milliseconds ready, on a call, wrapping up and
    paused (their campaign as each interval's opening event named it)."""
    totals: dict[str, list[int]] = {}
    for track in agents:
        for share in track.shares.values():
            for campaign, ms in share.state_ms.items():
                found = totals.setdefault(campaign, [0, 0, 0, 0])
                for i, value in enumerate(ms):
                    found[i] += value
    return totals


def wrap_per_talk(by_campaign: Mapping[str, list[int]]) -> dict[str, float]:
    """Per campaign (from `state_ms`): seconds of wrap-up per second on calls.

    Wrap-up belongs to people's timelines (agent events), which the calls never show; part of a
    campaign's people is enough to estimate it, since it is a ratio."""
    return {c: ms[2] / ms[1] for c, ms in by_campaign.items() if ms[1] > 0}


def campaign_inputs(
    totals: CampaignTotals, now: int, wrap: float, window_ms: int | None = WINDOW_MS
) -> PaceInputs | None:
    """The model's inputs from a campaign's calls over the `window_ms` up to `now` (its whole
    history with None), with `wrap` seconds of wrap-up per second of talk; None when the window
    holds too few calls to advise on.

    People are counted from the calls: each person's time from one call's connect to their
    next, when they were back within `recovery_s`, is working time (a longer gap was a break);
    over the window that is the people working, on average. On a blended campaign the dialer has
    the share of that time its own calls took. A line's ringing time is counted when it ends,
    and shared among the lines dialed."""
    marks = totals.pace
    if not marks:
        return None
    if window_ms is None:
        base = PaceMark(totals.pace_since)
    else:
        before = [mark for mark in marks if mark.ts <= now - window_ms]
        base = before[-1] if before else marks[0]
    span = now - base.ts
    n = _since(totals.pace_now(now), base)
    if (
        span < PACE_MARK_MS
        or n.dialed < MIN_DIALED
        or n.answered_human < MIN_ANSWERED
        or n.talked < MIN_TALKED
        or n.connected <= n.inbound
    ):
        return None
    inputs = PaceInputs(
        people=n.person_ms / span * (n.connected - n.inbound) / n.connected,
        answer_ratio=n.answered_human / n.dialed,
        ring_seconds=n.rung_ms / n.dialed / 1000,
        handle_seconds=n.talk_ms / n.talked / 1000 * (1 + wrap),
    )
    return inputs if inputs.usable else None


def _since(now: PaceMark, then: PaceMark) -> PaceMark:
    return PaceMark(*(getattr(now, f) - getattr(then, f) for f in PaceMark.__struct_fields__))
