"""Calls and campaigns: dials, answers, drops, the two-second rule, talk time and, for inbound
calls (revision 1.1), the queue: waits, answers and abandons (stats.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import msgspec

from streams.engine.params import Params, ms
from streams.engine.totals import (
    PACE_KEEP_MS,
    PACE_MARK_MS,
    QUEUE_WAIT_BOUNDS_MS,
    TALK_BOUNDS_MS,
    CampaignTotals,
    DayBucket,
    QueueTotals,
)
from streams.events import (
    AnsweredBy,
    CallAbandoned,
    CallAnswered,
    CallConnected,
    CallDialed,
    CallDropped,
    CallEnded,
    CallEvent,
    CallQueued,
    CallUnanswered,
)

DAY_MS: Final = 86_400_000
HOUR_MS: Final = 3_600_000
NO_PHASE, DIALING, WAITING, TALKING = -1, 0, 1, 2
PHASES: Final = ("dialing", "waiting", "talking")


class CallTrack(msgspec.Struct, array_like=True):
    """What the engine remembers of one call while it may still receive events."""

    last_ts: int = 0
    human_ts: int = 0
    """First human answer, explicit or implied; 0 for none."""
    answered: bool = False
    met: bool = False
    """A `call.connected` or `call.dropped` has been seen."""
    connected_ts: int = 0
    talked: bool = False
    done: bool = False
    phase: int = NO_PHASE
    ids: list[str] = msgspec.field(default_factory=list)
    queued_ts: int = 0
    """An inbound call's queued time (its first `call.queued`); 0 for an outbound call."""
    waiting: bool = False
    """An inbound call whose outcome (answered or abandoned) is not decided yet."""
    dialed_ts: int = 0
    """When the call began to ring (entered `dialing`): its ringing time goes to the pace."""
    agent: str = ""
    """The person of its first `call.connected`, whose working time the pace counts."""


class PersonPace(msgspec.Struct, array_like=True):
    """A person's latest call on a campaign, as seen from the calls (for the pacing advice)."""

    connected_ts: int = 0
    ended_ts: int = 0
    """0 while that call goes on."""


class CampaignTrack(msgspec.Struct):
    """A campaign: its totals, its calls, and its event-time clock (its latest event).

    Calls live inside their campaign because call events are keyed by campaign in Kafka: one
    partition owns a campaign and everything its statistics need.
    """

    totals: CampaignTotals = msgspec.field(default_factory=CampaignTotals)
    calls: dict[str, CallTrack] = msgspec.field(default_factory=dict)
    clock: int = 0
    next_sweep: int = 0
    """Campaign time of the next sweep for quiet calls."""
    ticked: int = 0
    """How far live ticks have moved the campaign's time past `clock`, so that the oldest wait of
    its queue grows between events; 0 for none. A tick alone decides nothing, so it is written
    only with the campaign's next change."""
    people: dict[str, PersonPace] = msgspec.field(default_factory=dict)
    """The people who took the campaign's calls lately, by agent id (forgotten with the calls)."""

    @property
    def now(self) -> int:
        return max(self.clock, self.ticked)

    def oldest_queued_ts(self) -> int | None:
        """The queued time of the longest-waiting inbound call, or None when none waits."""
        queue = self.totals.queue
        if queue is None or not queue.waiting:
            return None
        return min(call.queued_ts for call in self.calls.values() if call.waiting)


class CallFold:
    """Applies call events to call and campaign tracks."""

    def __init__(self, params: Params) -> None:
        self.codes = params.codes
        self.abandon_after = params.abandon_after_ms
        self.retention = ms(params.call_retention_s)
        self.open_retention = ms(params.open_call_retention_s)
        self.keep_days = params.keep_days
        self.service_level = params.service_level_ms
        self.short_abandon = params.short_abandon_ms
        self.person_gap = ms(params.recovery_s)
        # A table by type rather than a match: the call path carries most of a floor's events.
        # tests/engine checks that every call event type has its entry.
        self.handlers: dict[type[CallEvent], Callable[[CallTrack, CampaignTotals, Any, int], int]]
        self.handlers = {
            CallDialed: self._dialed,
            CallAnswered: self._answered,
            CallUnanswered: self._unanswered,
            CallDropped: self._dropped,
            CallConnected: self._connected,
            CallEnded: self._ended,
            CallQueued: self._queued,
            CallAbandoned: self._abandoned,
        }

    def begin(self, call: CallTrack, campaign: CampaignTrack, event: CallEvent) -> None:
        """Classify a call by its first applied event: `call.queued` makes it inbound."""
        if type(event) is CallQueued:
            call.queued_ts = event.ts
            call.waiting = True
            # An inbound call has no implied answer: mark it as already met.
            call.met = True
            queue = campaign.totals.queue
            if queue is None:
                queue = campaign.totals.queue = QueueTotals()
            queue.queued += 1
            queue.waiting += 1

    def apply(self, call: CallTrack, campaign: CampaignTrack, event: CallEvent, ts: int) -> None:
        totals = campaign.totals
        if ts > campaign.clock:
            campaign.clock = ts
        phase = self.handlers[type(event)](call, totals, event, ts)
        if call.queued_ts and DIALING <= phase < TALKING:
            # Only the dialer's own calls are dialing or waiting for an agent; inbound callers
            # waiting in a queue are the queue's.
            phase = call.phase
        old = call.phase
        if phase != old:
            # Phase changes also feed the pace: ringing ends, a person takes or ends a call.
            if old != NO_PHASE:
                totals.active[old] -= 1
                if old == DIALING:
                    totals.rung_ms += ts - call.dialed_ts
                elif old == TALKING:
                    self._person_free(campaign, call, ts)
            if phase != NO_PHASE:
                totals.active[phase] += 1
                if phase == DIALING:
                    call.dialed_ts = ts
                elif phase == TALKING:
                    self._person_busy(campaign, call, event, ts)
            call.phase = phase

    # Each handler counts its event and returns the call's phase after it.

    def _dialed(self, call: CallTrack, totals: CampaignTotals, event: CallDialed, ts: int) -> int:
        totals.dialed += 1
        if call.phase == NO_PHASE and not call.done and not call.answered:
            return DIALING
        return call.phase

    def _answered(
        self, call: CallTrack, totals: CampaignTotals, event: CallAnswered, ts: int
    ) -> int:
        call.answered = True
        phase = call.phase
        if event.answered_by is AnsweredBy.HUMAN:
            self._answer(call, totals, ts)
            if phase == DIALING or (phase == NO_PHASE and not call.done):
                return WAITING
            return phase
        totals.answered_machine += 1
        return NO_PHASE if phase == DIALING else phase

    def _unanswered(
        self, call: CallTrack, totals: CampaignTotals, event: CallUnanswered, ts: int
    ) -> int:
        totals.unanswered += 1
        outcome = self.codes.outcome(event.outcome)
        by_outcome = totals.unanswered_by_outcome
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
        call.done = True
        return NO_PHASE

    def _dropped(self, call: CallTrack, totals: CampaignTotals, event: CallDropped, ts: int) -> int:
        self._imply_answer(call, totals, ts)
        totals.dropped += 1
        self._abandon(totals, ts)
        call.done = True
        return NO_PHASE

    def _connected(
        self, call: CallTrack, totals: CampaignTotals, event: CallConnected, ts: int
    ) -> int:
        self._imply_answer(call, totals, ts)
        totals.connected += 1
        if call.waiting:
            self._answered_in_queue(call, totals, ts)
        elif call.human_ts and ts - call.human_ts > self.abandon_after and not call.queued_ts:
            totals.late_connected += 1
            self._abandon(totals, ts)
        if not call.connected_ts:
            call.connected_ts = ts
        if event.team_id not in totals.teams:
            totals.teams.append(event.team_id)
        return call.phase if call.done else TALKING

    def _ended(self, call: CallTrack, totals: CampaignTotals, event: CallEnded, ts: int) -> int:
        if call.connected_ts and not call.talked:
            call.talked = True
            totals.talk.observe(ts - call.connected_ts, TALK_BOUNDS_MS)
        if call.waiting:
            self._abandoned_in_queue(call, totals, ts)
        call.done = True
        return NO_PHASE

    def _queued(self, call: CallTrack, totals: CampaignTotals, event: CallQueued, ts: int) -> int:
        # Counted when the call begins (`begin`); a repeat, or a queue joined by a call the
        # dialer placed, changes nothing.
        return call.phase

    def _abandoned(
        self, call: CallTrack, totals: CampaignTotals, event: CallAbandoned, ts: int
    ) -> int:
        if call.waiting:
            self._abandoned_in_queue(call, totals, ts)
            call.done = True
            return NO_PHASE
        return call.phase

    def _answered_in_queue(self, call: CallTrack, totals: CampaignTotals, ts: int) -> None:
        queue = self._decided(call, totals)
        wait = ts - call.queued_ts
        queue.answered += 1
        queue.wait.observe(wait, QUEUE_WAIT_BOUNDS_MS)
        if wait <= self.service_level:
            queue.answered_within_sl += 1

    def _abandoned_in_queue(self, call: CallTrack, totals: CampaignTotals, ts: int) -> None:
        queue = self._decided(call, totals)
        if ts - call.queued_ts < self.short_abandon:
            queue.abandoned_short += 1
        else:
            queue.abandoned += 1

    @staticmethod
    def _decided(call: CallTrack, totals: CampaignTotals) -> QueueTotals:
        queue = totals.queue
        assert queue is not None, "an inbound call was counted by its queue when it began"
        call.waiting = False
        queue.waiting -= 1
        return queue

    def retire(self, campaign: CampaignTrack) -> None:
        """Forget the campaign's finished calls quiet for `call_retention_s` of its event time
        (open ones after `open_call_retention_s`), so that memory follows open calls. Sweeps at
        most four times per retention period."""
        done_before = campaign.clock - self.retention
        open_before = campaign.clock - self.open_retention
        campaign.next_sweep = campaign.clock + self.retention // 4
        calls = campaign.calls
        # Most calls are recent: one test before the others puts them aside.
        horizon = max(done_before, open_before)
        quiet = [
            call_id
            for call_id, call in calls.items()
            if call.last_ts < horizon
            and (call.last_ts < open_before or (call.done and call.last_ts < done_before))
        ]
        people = campaign.people
        gone = [
            agent
            for agent, p in people.items()
            if (p.ended_ts and p.ended_ts < done_before) or p.connected_ts < open_before
        ]
        for agent in gone:
            del people[agent]  # back after this long, it was a break anyway
        self._mark(campaign)
        for call_id in quiet:
            call = calls.pop(call_id)
            if call.phase != NO_PHASE:
                campaign.totals.active[call.phase] -= 1
            if call.waiting:
                # A caller lost by the dialer for twelve hours no longer waits; no outcome.
                queue = campaign.totals.queue
                assert queue is not None
                queue.waiting -= 1

    @staticmethod
    def _mark(campaign: CampaignTrack) -> None:
        """Mark the pace counters, at most every PACE_MARK_MS, keeping the marks of the last
        PACE_KEEP_MS and the one before them (so that the marks cover the whole hour)."""
        totals, now = campaign.totals, campaign.clock
        marks = totals.pace
        if marks and now - marks[-1].ts < PACE_MARK_MS:
            return
        if not marks:
            totals.pace_since = now
        marks.append(totals.pace_now(now))
        covered = sum(1 for mark in marks if mark.ts <= now - PACE_KEEP_MS)
        if covered > 1:
            del marks[: covered - 1]

    def _imply_answer(self, call: CallTrack, totals: CampaignTotals, ts: int) -> None:
        if not call.met:
            call.met = True
            if not call.answered:
                self._answer(call, totals, ts)

    def _answer(self, call: CallTrack, totals: CampaignTotals, ts: int) -> None:
        totals.answered_human += 1
        if not call.human_ts:
            call.human_ts = ts
        self._day(totals, ts).answered_human += 1
        self._hour(totals, ts).answered_human += 1

    def _abandon(self, totals: CampaignTotals, ts: int) -> None:
        self._day(totals, ts).abandoned += 1
        self._hour(totals, ts).abandoned += 1

    def _person_busy(
        self, campaign: CampaignTrack, call: CallTrack, event: CallEvent, ts: int
    ) -> None:
        """A person took a call: the time since their previous call's connect was working time
        when they came back from it within `recovery_s`."""
        assert isinstance(event, CallConnected), "only a connect starts a call's talk"
        agent = call.agent = event.agent_id
        person = campaign.people.get(agent)
        if person is None:
            campaign.people[agent] = PersonPace(ts)
            return
        if person.ended_ts and ts - person.ended_ts < self.person_gap:
            campaign.totals.person_ms += ts - person.connected_ts
        person.connected_ts, person.ended_ts = ts, 0

    @staticmethod
    def _person_free(campaign: CampaignTrack, call: CallTrack, ts: int) -> None:
        person = campaign.people.get(call.agent)
        if person is not None and person.connected_ts == call.connected_ts:
            person.ended_ts = ts

    def _day(self, totals: CampaignTotals, ts: int) -> DayBucket:
        day = ts // DAY_MS
        bucket = totals.by_day.get(day)
        if bucket is None:
            bucket = totals.by_day[day] = DayBucket()
            if self.keep_days is not None:
                oldest = day - self.keep_days
                totals.by_day = {d: b for d, b in totals.by_day.items() if d > oldest}
        return bucket

    def _hour(self, totals: CampaignTotals, ts: int) -> DayBucket:
        hour = ts // HOUR_MS
        bucket = totals.by_hour.get(hour)
        if bucket is None:
            bucket = totals.by_hour[hour] = DayBucket()
            newest = max(totals.by_hour)
            totals.by_hour = {h: b for h, b in totals.by_hour.items() if h > newest - 24}
        return bucket
