"""Retention: campaigns (and so their queues), people and teams with no event for longer than
the retention leave a live worker's state and /metrics, so that its series do not grow forever.
The offline report keeps everything.

Quiet is judged in event time, as every statistic is: a worker's now is the newest event time of
the partitions it owns, never its wall clock. A log replayed into an empty worker is then
judged by its own days, whatever the date, and gives the same result at any speed; a log
replayed into a live floor is older than now and takes nothing live away. What leaves:

- a campaign, with its queue: when its latest call event (`CampaignTrack.clock`) is more than
  the retention before now, whether or not calls were still open (none lasts that long);
- a person: when the latest of their events is (`latest_event`);
- a team, or one campaign's part of a team's series: when the latest event of anyone that
  named it (`TeamShare.seen`) is, among the people of the worker's partitions and the shares
  of the people who left.

No series that stays goes down: a campaign or person leaves whole, and what it counted (events
applied, a person's shares of their teams) moves to its partition's `Retired` record, in the
write that marks it as leaving; its key is deleted (a changelog tombstone, which compaction then
drops) once that record has been delivered, so that a worker that dies in between counts it
once. A team, or a part of one, leaves when all of it is quiet at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from streams.engine.agent import AgentTrack
from streams.engine.totals import TeamShare

DEFAULT_RETENTION_DAYS: Final = 35
"""Beyond the 30-day abandon ratio, which covers a campaign's last 30 days of calls."""


def latest_event(track: AgentTrack) -> int:
    """The time of a person's latest event: each names a team and campaign (`TeamShare.seen`)."""
    return max((ts for share in track.shares.values() for ts in share.seen.values()), default=0)


def forget_quiet_teams(holders: Sequence[dict[str, TeamShare]], horizon: int) -> list[bool]:
    """Drop from each holder's shares the teams, and the campaigns' parts of teams, that no
    share names at `horizon` or later; say which holders changed."""
    latest: dict[tuple[str, str], int] = {}
    for shares in holders:
        for team, share in shares.items():
            for campaign, ts in share.seen.items():
                if ts > latest.get((team, campaign), 0):
                    latest[team, campaign] = ts
    live_teams = {team for (team, _), ts in latest.items() if ts >= horizon}
    return [_forget(shares, latest, live_teams, horizon) for shares in holders]


def _forget(
    shares: dict[str, TeamShare],
    latest: Mapping[tuple[str, str], int],
    live_teams: set[str],
    horizon: int,
) -> bool:
    changed = False
    for team in list(shares):
        if team not in live_teams:
            del shares[team]
            changed = True
            continue
        share = shares[team]
        for campaign in {*share.seen, *share.state_ms, *share.wait}:
            if latest.get((team, campaign), 0) < horizon:
                share.seen.pop(campaign, None)
                share.state_ms.pop(campaign, None)
                share.wait.pop(campaign, None)
                changed = True
    return changed
