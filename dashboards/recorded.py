"""Names of the recording rules (deploy/prometheus/rules/recording.yml) shared with the alerts.

A panel and the alert about the same thing read the same recorded series, so what an alert says
is what the dashboard shows. A test checks that each name here is recorded there.
"""

from __future__ import annotations

from typing import Final

OCCUPANCY: Final = "team:floorpulse_occupancy:ratio_rate15m"
"""(on_call + wrap_up) / (on_call + wrap_up + ready) seconds over 15 minutes, by team."""
WITHOUT_BREAK_90M: Final = "team:floorpulse_without_break_90m:ratio"
"""Share of a team's working people without a real break for over 90 minutes."""
ABANDON_15M: Final = "campaign:floorpulse_abandon:ratio_rate15m"
"""Abandoned per call answered by a person, over 15 minutes, by campaign."""
ABANDON: Final = "campaign_window:floorpulse_abandon:ratio"
"""The worker's 24-hour and 30-day abandon ratios, by campaign and window."""
QUEUE_SERVICE_LEVEL: Final = "campaign:floorpulse_queue_service_level:ratio_rate15m"
"""Inbound callers answered within the service level (20 s), per caller answered or abandoned
(short abandons left out, stats.md), over 15 minutes, by campaign."""
QUEUE_ANSWER_SPEED: Final = "campaign:floorpulse_queue_wait_seconds:mean_rate15m"
"""Average speed of answer: the mean wait of inbound calls answered in 15 minutes, by campaign."""
LINES_PER_READY: Final = "campaign:floorpulse_lines_per_ready:ratio_avg15m"
"""Lines ringing per person ready, both averaged over 15 minutes, by campaign: the pace the
pacing advice speaks of (docs/pacing.md)."""
EVENT_DELAY_P95: Final = "topic:floorpulse_event_delay_seconds:p95_rate5m"
"""95th percentile of how far behind live the worker applies events, by topic."""

ABANDON_LINE: Final = 0.03
"""The 3% abandoned-call line of dialer regulations (answered by a person, 30 days)."""
SERVICE_LEVEL_LINE: Final = 0.8
"""The service level a queue aims for (80% of callers answered within 20 seconds): under it for
15 minutes, callers are waiting long and the floor needs more people on the phones."""
SERVICE_LEVEL_S: Final = 20
"""The service level's wait (stats.md, `service_level_ms`)."""
PACE_ABOVE_ADVICE: Final = 1.25
"""A campaign ringing this many times its advised lines per ready person for half an hour is
well above the pace that leaves people room to breathe (the alert CampaignPacedAboveAdvice)."""
