"""The engine: a fold of events into per-entity tracks (agents, calls, campaigns).

Pure: standard library and the event types only, no clock; time comes from events. Each event
touches only its own entity's tracks, so a floor can be split by partition key, folded in parts
and merged (`merge`), which is what the live pipeline does across workers and `analyze --jobs`
across processes (a floor pickles).
"""

from __future__ import annotations

import enum
from typing import Any

from streams.engine.agent import AgentFold, AgentTrack
from streams.engine.calls import CallFold, CallTrack, CampaignTrack
from streams.engine.checkins import Checkin
from streams.engine.params import DEFAULT_PARAMS, Params
from streams.events import AgentDisposition, AgentStateChanged, CallEvent, Event


class Outcome(enum.IntEnum):
    APPLIED = 0
    LATE = 1
    """Applied at its entity's latest time (events.md, "Duplicates and lateness")."""
    DUPLICATE = 2
    """Seen before: ignored."""


APPLIED, LATE, DUPLICATE = Outcome.APPLIED, Outcome.LATE, Outcome.DUPLICATE


class Floor:
    """The state of a floor (or of the partitions one worker owns) and how events change it."""

    def __init__(self, params: Params = DEFAULT_PARAMS) -> None:
        self.params = params
        self.agents: dict[str, AgentTrack] = {}
        self.campaigns: dict[str, CampaignTrack] = {}
        self.effects: list[Checkin] = []
        """Check-in openings and closings, in the order they were decided; the caller drains it."""
        self.first_ts = 0
        self.last_ts = 0
        self._agent_fold = AgentFold(params, self.effects)
        self._call_fold = CallFold(params)

    def __getstate__(self) -> dict[str, Any]:
        # A floor crosses processes (analyze --jobs) without its folds: they hold nothing but the
        # parameters, and the list of effects they append to.
        state = self.__dict__.copy()
        del state["_agent_fold"], state["_call_fold"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._agent_fold = AgentFold(self.params, self.effects)
        self._call_fold = CallFold(self.params)

    def apply(self, event: Event) -> Outcome:
        # The hot path: exact types, as isinstance against classes that do not match is slow.
        if type(event) is AgentStateChanged or type(event) is AgentDisposition:
            return self._apply_agent(event)
        return self._apply_call(event)

    def tick(self, agent_id: str, now: int) -> None:
        """Let an agent's time pass to `now` with no event (live partitions only)."""
        track = self.agents.get(agent_id)
        if track is not None and now > track.clock:
            self._agent_fold.advance(track, now, final=False)

    def tick_campaign(self, campaign_id: str, now: int) -> None:
        """Let a campaign's time pass to `now` with no event (live partitions only): its queue's
        callers go on waiting."""
        track = self.campaigns.get(campaign_id)
        if track is not None and now > track.now:
            track.ticked = now

    def finalize(self, end_ts: int | None = None) -> None:
        """Close every open interval at the window end (offline report). Ends the fold."""
        end = self.last_ts if end_ts is None else end_ts
        for track in self.agents.values():
            self._agent_fold.finalize(track, max(end, track.clock))

    def merge(self, other: Floor) -> None:
        """Take over another floor's entities (disjoint keys, as partitions are)."""
        overlap = (self.agents.keys() & other.agents.keys()) or (
            self.campaigns.keys() & other.campaigns.keys()
        )
        if overlap:
            raise ValueError(f"floors share entities: {sorted(overlap)[:5]}")
        self.agents |= other.agents
        self.campaigns |= other.campaigns
        self.effects += other.effects
        if other.first_ts and (not self.first_ts or other.first_ts < self.first_ts):
            self.first_ts = other.first_ts
        self.last_ts = max(self.last_ts, other.last_ts)

    def _apply_agent(self, event: AgentStateChanged | AgentDisposition) -> Outcome:
        track = self.agents.get(event.agent_id)
        if track is None:
            track = self.agents[event.agent_id] = AgentTrack(event.agent_id)
        ts = event.ts
        if track.seen(event.event_id, ts):
            return DUPLICATE
        outcome = APPLIED
        if ts < track.clock:
            ts, outcome = track.clock, LATE
        if type(event) is AgentStateChanged:
            self._agent_fold.state(track, event, ts)
        else:
            self._agent_fold.disposition(track, event, ts)
        # The floor's span, written out in both paths: a call would cost more than the test.
        if ts > self.last_ts:
            self.last_ts = ts
        if ts < self.first_ts or not self.first_ts:
            self.first_ts = ts
        return outcome

    def _apply_call(self, event: CallEvent) -> Outcome:
        call_id, ts = event.call_id, event.ts
        campaign = self.campaigns.get(event.campaign_id)
        if campaign is None:
            campaign = self.campaigns[event.campaign_id] = CampaignTrack()
        call = campaign.calls.get(call_id)
        if call is None:
            call = campaign.calls[call_id] = CallTrack(ts, ids=[event.event_id])
            self._call_fold.begin(call, campaign, event)
            outcome = APPLIED
        else:
            if event.event_id in call.ids:
                return DUPLICATE
            call.ids.append(event.event_id)
            outcome = APPLIED
            if ts < call.last_ts:
                ts, outcome = call.last_ts, LATE
            call.last_ts = ts
        self._call_fold.apply(call, campaign, event, ts)
        if campaign.clock >= campaign.next_sweep:
            self._call_fold.retire(campaign)
        # The floor's span, written out in both paths: a call would cost more than the test.
        if ts > self.last_ts:
            self.last_ts = ts
        if ts < self.first_ts or not self.first_ts:
            self.first_ts = ts
        return outcome
