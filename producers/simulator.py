"""A seeded simulated floor: a discrete-event run that yields contract events in event-time order.

Every action runs at its own time and emits events only at that time, so the events come out with
`ts` non-decreasing overall. All randomness comes from the one `random.Random` passed in: the same
seed and config give the same events.

Campaigns with an inbound queue (producers.inbound) also take callers: `call.queued`, then
`call.connected` to the agent who takes them and talk as for a dialed call, or `call.abandoned`
(sometimes only `call.ended`) when their patience runs out. A dialer never sends an event for them.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterator
from typing import Final, TypeVar, cast

from producers.dialer import (
    ABANDON_AFTER_MS,
    BRIDGING,
    CONNECTED,
    DONE,
    HUMAN,
    INBOUND,
    MACHINE,
    QUEUED,
    WAITING,
    Call,
    CampaignDialer,
)
from producers.emit import UNSET, Emitter, run_tag
from producers.floor import (
    DAY,
    HOUR,
    IDLE,
    MINUTE,
    OUT,
    PAUSED,
    RESERVED,
    TALKING,
    UNDERSTAFFED_FROM,
    WRAPPING,
    Agent,
    FloorConfig,
    Pause,
    build_teams,
    campaign_id,
    plan_shift,
)
from producers.inbound import (
    ENDED_WHILE_WAITING,
    MAX_WAIT_MS,
    PICK_UP_MS,
    InboundQueue,
    default_rate,
)
from producers.spelling import Speller
from producers.talk import Conversations
from streams.events import AgentState, AnsweredBy, Event

UNREPORTED_ANSWER: Final = 0.01
"""Share of answers by a person that the dialer never reports; a connect or drop implies them."""
SLOW_BRIDGE: Final = 0.006
"""Share of answered calls the dialer is slow to bridge although an agent is free."""
ENDED_WITHOUT_DISPOSITION: Final = 0.12
"""Share of connected calls whose `call.ended` leaves out the (optional) disposition."""
IN_TRAINING: Final = 0.8
"""Share of an understaffed queue's people in the training session (one person at least stays)."""

_T = TypeVar("_T")
_Action = Callable[[int, object], None]


def simulate(config: FloorConfig, rng: random.Random) -> Iterator[Event]:
    """The floor's events in event-time order, from `config.start_ms` to the end of the duration."""
    return iter(Simulation(config, rng))


class Simulation:
    """The run's state: people, dialers, and a heap of timed actions. Iterate it once."""

    def __init__(self, config: FloorConfig, rng: random.Random) -> None:
        self._rng = rng
        self._random = rng.random
        self._randint = rng.randint
        self._speller = Speller(rng)
        self._talk = Conversations(rng)
        self._emit = Emitter(config.source, run_tag(config.start_ms))
        self._end = config.start_ms + config.duration_ms
        self._heap: list[tuple[int, int, _Action, object]] = []
        self._seq = itertools.count()

        start = config.start_ms
        teams = build_teams(config, rng)
        queues = {campaign_id(n): blended for n, blended in config.queues().items()}
        dialers = {t.campaign_id: CampaignDialer(t.campaign_id, rng, start) for t in teams}
        self.dialers = dialers
        """Each campaign's dialer, by campaign id."""
        for dialer in dialers.values():
            if config.pacing == "advised":
                dialer.follow_advice(config.pacing_limits)
            if queues.get(dialer.campaign_id, True):
                self._at(start + self._randint(0, 1_000), self._tick, dialer)
        people: dict[str, list[Agent]] = {c: [] for c in dialers}
        for n in range(config.agents):
            team = teams[n % len(teams)]
            agent = Agent(f"agent-{n + 1:04d}", team, dialers[team.campaign_id])
            people[team.campaign_id].append(agent)
            late = self._randint(10, 40) * MINUTE if self._random() < 0.1 else 0
            self._at(start + self._randint(0, 10 * MINUTE) + late, self._login, agent)
        understaffed = None if config.understaffed is None else campaign_id(config.understaffed)
        for campaign, blended in queues.items():
            rate = config.inbound_rate
            if rate is None:
                rate = default_rate(len(people[campaign]), blended)
            queue = InboundQueue(dialers[campaign], people[campaign], rate, rng, start)
            self._at(queue.next_arrival(), self._ring_in, queue)
            if campaign == understaffed:
                self._at(start + UNDERSTAFFED_FROM, self._training, queue)

    def __iter__(self) -> Iterator[Event]:
        heap, out, end, pop = self._heap, self._emit.out, self._end, heapq.heappop
        while heap and heap[0][0] <= end:
            t, _, action, arg = pop(heap)
            action(t, arg)
            if out:
                yield from out
                out.clear()

    def _at(self, t: int, action: Callable[[int, _T], None], arg: _T) -> None:
        # Sound: `arg` is exactly what `action` takes. The counter keeps ties in scheduling order.
        heapq.heappush(self._heap, (t, next(self._seq), cast(_Action, action), arg))

    # The dialer's side.

    def _tick(self, t: int, dialer: CampaignDialer) -> None:
        advised = dialer.advised
        if advised is not None:
            advised.sample(t, dialer)
        if t >= dialer.review_at:
            dialer.review(t)
        lines = dialer.lines_to_dial(t)
        for _ in range(lines):
            ring = dialer.ring(self._random())
            call = Call(self._emit.call_id(), dialer, ring.code, t)
            self._emit.dialed(t, call)
            lo, hi = ring.delay
            self._at(t + self._randint(lo, hi), self._ring_end, call)
            dialer.ringing += 1
        if advised is not None and lines:
            advised.at(t).dialed += lines
        # Jittered so that the dialers of several campaigns do not fire in lockstep.
        self._at(t + self._randint(700, 1_300), self._tick, dialer)

    def _ring_end(self, t: int, call: Call) -> None:
        dialer = call.dialer
        dialer.ringing -= 1
        if dialer.advised is not None:
            minute = dialer.advised.at(t)
            minute.rung_ms += t - call.dialed_at
            minute.human += call.ring == HUMAN
        if call.ring == HUMAN:
            if self._random() >= UNREPORTED_ANSWER:
                self._emit.answered(t, call, AnsweredBy.HUMAN)
            call.answered_at = t
            dialer.answered += 1
            if dialer.idle:
                agent = dialer.idle.popleft()
                slow = self._random() < SLOW_BRIDGE
                delay = self._randint(2_100, 3_600) if slow else self._randint(80, 900)
                self._bridge(t + delay, call, agent)
            else:
                call.status = WAITING
                dialer.waiting.append(call)
                self._at(t + dialer.hold_ms, self._hold_expired, call)
        elif call.ring == MACHINE:
            self._emit.answered(t, call, AnsweredBy.MACHINE)
            self._at(t + self._randint(1_500, 4_000), self._machine_hangup, call)
        else:
            self._emit.unanswered(t, call, self._speller.say(call.ring))
            self._end_call(t, call)

    def _end_call(self, t: int, call: Call, disposition: str = "") -> None:
        call.status = DONE
        self._emit.ended(t, call, disposition or UNSET)

    def _machine_hangup(self, t: int, call: Call) -> None:
        self._end_call(t, call, self._speller.say("answering_machine"))

    def _hold_expired(self, t: int, call: Call) -> None:
        if call.status != WAITING:
            return
        dialer = call.dialer
        dialer.abandoned += 1
        if dialer.advised is not None:
            dialer.advised.at(t).abandoned += 1
        self._emit.dropped(t, call)
        self._end_call(t, call)
        waiting = dialer.waiting
        while waiting and waiting[0].status != WAITING:
            waiting.popleft()

    def _bridge(self, t: int, call: Call, agent: Agent) -> None:
        call.status = BRIDGING
        call.agent = agent
        agent.phase = RESERVED
        agent.dialer.busy += 1
        self._at(t, self._connect, call)

    def _connect(self, t: int, call: Call) -> None:
        agent = call.agent
        assert agent is not None
        inbound = call.ring == INBOUND
        late = not inbound and t - call.answered_at > ABANDON_AFTER_MS
        if late:
            call.dialer.abandoned += 1
        advised = call.dialer.advised
        if advised is not None:
            minute = advised.at(t)
            minute.connected += 1
            minute.outbound += not inbound
            minute.abandoned += late
        call.status = CONNECTED
        call.connected_at = t
        self._emit.connected(t, call, agent)
        agent.phase = TALKING
        self._emit.state(t, agent, AgentState.ON_CALL, call_id=call.call_id)
        if inbound:
            talk = self._talk.inbound()
        else:
            agent.rough = self._talk.rough_patch(agent.rough)
            talk = self._talk.next(agent.rough)
        call.code = self._speller.say(talk.code)
        self._at(t + talk.talk_ms, self._hang_up, call)
        self._at(t + talk.talk_ms + talk.wrap_ms, self._wrapped_up, call)

    # The inbound queue's side.

    def _ring_in(self, t: int, queue: InboundQueue) -> None:
        self._at(queue.next_arrival(), self._ring_in, queue)
        dialer = queue.dialer
        call = Call(self._emit.call_id(), dialer, INBOUND)
        self._emit.queued(t, call)
        if dialer.idle:
            self._bridge(t + self._randint(*PICK_UP_MS), call, dialer.idle.popleft())
            return
        queue.join(call)
        patience = queue.patience()
        gives_up = self._time_out if patience >= MAX_WAIT_MS else self._give_up
        self._at(t + patience, gives_up, call)

    def _give_up(self, t: int, call: Call) -> None:
        """The caller's patience ran out: they hang up."""
        if call.status != QUEUED:
            return
        self._leave_queue(call)
        if self._random() < ENDED_WHILE_WAITING:
            self._emit.ended(t, call)
        else:
            self._emit.abandoned(t, call)

    def _time_out(self, t: int, call: Call) -> None:
        """The queue gives up on a caller who has waited its longest: it offers voicemail."""
        if call.status == QUEUED:
            self._leave_queue(call)
            self._emit.abandoned(t, call)

    def _leave_queue(self, call: Call) -> None:
        queue = call.dialer.queue
        assert queue is not None
        queue.leave(call)

    def _training(self, t: int, queue: InboundQueue) -> None:
        """An understaffed hour: most of the queue's people present go to a training session."""
        self._at(t + DAY, self._training, queue)
        present = [a for a in queue.agents if a.phase != OUT and not a.leaving]
        self._rng.shuffle(present)
        session = Pause(0, "training", HOUR, until=t + HOUR)
        staying = max(1, round(len(present) * (1 - IN_TRAINING)))
        for agent in present[staying:]:
            if agent.phase == IDLE:
                agent.dialer.idle.remove(agent)
                self._pause(t, agent, session)
            else:
                agent.pending.appendleft(session)  # once their call, or their pause, is over

    # The agent's side.

    def _hang_up(self, t: int, call: Call) -> None:
        agent = call.agent
        assert agent is not None
        keep = self._random() >= ENDED_WITHOUT_DISPOSITION
        self._end_call(t, call, call.code if keep else "")
        agent.phase = WRAPPING
        agent.dialer.wrapping += 1
        self._emit.state(t, agent, AgentState.WRAP_UP)

    def _wrapped_up(self, t: int, call: Call) -> None:
        agent = call.agent
        assert agent is not None
        dialer = agent.dialer
        dialer.wrapping -= 1
        dialer.busy -= 1
        if dialer.advised is not None:
            minute = dialer.advised.at(t)
            minute.handled += 1
            minute.handle_ms += t - call.connected_at
        self._emit.disposition(t, agent, call)
        self._next_step(t, agent)

    def _login(self, t: int, agent: Agent) -> None:
        self._at(t + DAY + self._randint(-10 * MINUTE, 10 * MINUTE), self._login, agent)
        if agent.phase != OUT:
            return
        shift = plan_shift(self._rng, agent.team)
        agent.plan.extend(shift.pauses)
        for pause in shift.pauses:
            self._at(t + pause.at, self._pause_due, agent)
        self._at(t + shift.length, self._shift_end, agent)
        self._ready(t, agent)

    def _ready(self, t: int, agent: Agent) -> None:
        self._emit.state(t, agent, AgentState.READY)
        dialer = agent.dialer
        queue = dialer.queue
        # The longest-waiting caller comes before any call of the dialer's.
        caller = None if queue is None else queue.take()
        if caller is not None:
            self._bridge(t + self._randint(*PICK_UP_MS), caller, agent)
            return
        waiting = dialer.waiting
        while waiting:
            call = waiting.popleft()
            if call.status == WAITING:
                self._bridge(t + self._randint(50, 400), call, agent)
                return
        agent.phase = IDLE
        dialer.idle.append(agent)

    def _next_step(self, t: int, agent: Agent) -> None:
        """After a call or a pause: leave, take a pause that came due, or get ready."""
        pending = agent.pending
        while pending and pending[0].until is not None and pending[0].until - t < MINUTE:
            pending.popleft()  # a session that is over, or nearly, by the time they are free
        if agent.leaving:
            self._log_out(t, agent)
        elif agent.pending:
            self._pause(t, agent, agent.pending.popleft())
        else:
            self._ready(t, agent)

    def _pause_due(self, t: int, agent: Agent) -> None:
        if not agent.plan:
            return
        pause = agent.plan.popleft()
        if agent.phase == IDLE:
            agent.dialer.idle.remove(agent)
            self._pause(t, agent, pause)
        elif agent.phase != OUT:
            agent.pending.append(pause)

    def _pause(self, t: int, agent: Agent, pause: Pause) -> None:
        agent.phase = PAUSED
        if pause.reason is None:
            self._emit.state(t, agent, AgentState.LOGGED_OUT)
        else:
            self._emit.state(t, agent, AgentState.PAUSED, reason=self._speller.say(pause.reason))
        length = pause.length if pause.until is None else pause.until - t
        self._at(t + length, self._pause_end, agent)

    def _pause_end(self, t: int, agent: Agent) -> None:
        if agent.phase == PAUSED:
            self._next_step(t, agent)

    def _shift_end(self, t: int, agent: Agent) -> None:
        if agent.phase == IDLE:
            agent.dialer.idle.remove(agent)
            self._log_out(t, agent)
        elif agent.phase != OUT:
            agent.leaving = True

    def _log_out(self, t: int, agent: Agent) -> None:
        self._emit.state(t, agent, AgentState.LOGGED_OUT)
        agent.phase = OUT
        agent.leaving = False
        agent.plan.clear()
        agent.pending.clear()
