"""The engine: a fold of events into per-entity tracks (agents, calls, campaigns).

Pure: standard library and the event types only, no clock; time comes from events. Each event
touches only its own entity's tracks, so a floor can be split by partition key, folded in parts
and merged (`merge`), which is what the live pipeline does across workers.
"""

from __future__ import annotations

import enum

from streams.engine.agent import AgentFold, AgentTrack
from streams.engine.calls import CallFold, CallTrack, CampaignTrack
from streams.engine.checkins import Checkin
from streams.engine.params import DEFAULT_PARAMS, Params
from streams.events import (
    AgentDisposition,
    AgentStateChanged,
    CallAnswered,
    CallConnected,
    CallDialed,
    CallDropped,
    CallEnded,
    CallUnanswered,
    Event,
)


class Outcome(enum.IntEnum):
    APPLIED = 0
    LATE = 1
    """Applied at its entity's latest time (events.md, "Duplicates and lateness")."""
    DUPLICATE = 2
    """Seen before: ignored."""


class Floor:
    """The state of a floor (or of the partitions one worker owns) and how events change it."""

    def __init__(self, params: Params = DEFAULT_PARAMS) -> None:
        self.params = params
        self.agents: dict[str, AgentTrack] = {}
        self.calls: dict[str, CallTrack] = {}
        self.campaigns: dict[str, CampaignTrack] = {}
        self._campaign_calls: dict[str, dict[str, None]] = {}
        self.effects: list[Checkin] = []
        """Check-in openings and closings, in the order they were decided; the caller drains it."""
        self.first_ts = 0
        self.last_ts = 0
        self._agent_fold = AgentFold(params, self.effects)
        self._call_fold = CallFold(params)

    def apply(self, event: Event) -> Outcome:
        # One isinstance rather than a match over eight classes: this is the hot path.
        if isinstance(event, (AgentStateChanged, AgentDisposition)):
            outcome, ts = self._apply_agent(event)
        else:
            outcome, ts = self._apply_call(event)
        if outcome is not Outcome.DUPLICATE:
            if not self.first_ts or ts < self.first_ts:
                self.first_ts = ts
            if ts > self.last_ts:
                self.last_ts = ts
        return outcome

    def tick(self, agent_id: str, now: int) -> None:
        """Let an agent's time pass to `now` with no event (live partitions only)."""
        track = self.agents.get(agent_id)
        if track is not None and now > track.clock:
            self._agent_fold.advance(track, now, final=False)

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
        self.calls |= other.calls
        self.campaigns |= other.campaigns
        self._campaign_calls |= other._campaign_calls
        self.effects += other.effects
        if other.first_ts and (not self.first_ts or other.first_ts < self.first_ts):
            self.first_ts = other.first_ts
        self.last_ts = max(self.last_ts, other.last_ts)

    def _apply_agent(self, event: AgentStateChanged | AgentDisposition) -> tuple[Outcome, int]:
        track = self.agents.get(event.agent_id)
        if track is None:
            track = self.agents[event.agent_id] = AgentTrack(event.agent_id)
        ts = event.ts
        if track.seen(event.event_id, ts):
            return Outcome.DUPLICATE, ts
        outcome = Outcome.APPLIED
        if ts < track.clock:
            ts, outcome = track.clock, Outcome.LATE
        if isinstance(event, AgentStateChanged):
            self._agent_fold.state(track, event, ts)
        else:
            self._agent_fold.disposition(track, event, ts)
        return outcome, ts

    def _apply_call(
        self,
        event: CallDialed | CallAnswered | CallUnanswered | CallDropped | CallConnected | CallEnded,
    ) -> tuple[Outcome, int]:
        call = self.calls.get(event.call_id)
        if call is None:
            call = self.calls[event.call_id] = CallTrack(event.campaign_id)
            members = self._campaign_calls.get(event.campaign_id)
            if members is None:
                members = self._campaign_calls[event.campaign_id] = {}
            members[event.call_id] = None
        elif event.event_id in call.ids:
            return Outcome.DUPLICATE, event.ts
        call.ids.append(event.event_id)
        ts, outcome = event.ts, Outcome.APPLIED
        if ts < call.last_ts:
            ts, outcome = call.last_ts, Outcome.LATE
        call.last_ts = ts
        campaign = self.campaigns.get(event.campaign_id)
        if campaign is None:
            campaign = self.campaigns[event.campaign_id] = CampaignTrack()
        self._call_fold.apply(call, campaign, event, ts)
        if campaign.clock >= campaign.next_sweep:
            members = self._campaign_calls.get(event.campaign_id)
            if members is not None:
                self._call_fold.retire(self.calls, members, campaign)
        return outcome, ts
