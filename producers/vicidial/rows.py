"""The columns of VICIdial's log tables that the translation reads, one typed row each.

The queries (producers/vicidial/database.py) select exactly these columns, in this order, so a
row of the database becomes a row here by position.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple


class AgentLogRow(NamedTuple):
    """vicidial_agent_log: one cycle pause -> wait -> talk -> dispo of one person."""

    agent_log_id: int
    user: str
    campaign_id: str | None
    user_group: str | None
    pause_epoch: int | None
    pause_sec: int | None
    wait_epoch: int | None
    wait_sec: int | None
    talk_epoch: int | None
    talk_sec: int | None
    dispo_epoch: int | None
    dispo_sec: int | None
    status: str | None
    sub_status: str | None
    uniqueid: str | None
    comments: str | None

    def newest_epoch(self) -> int:
        """The latest moment the row tells of."""
        return max(
            self.pause_epoch or 0,
            self.wait_epoch or 0,
            self.talk_epoch or 0,
            (self.dispo_epoch or 0) + (self.dispo_sec or 0),
        )


class UserLogRow(NamedTuple):
    """vicidial_user_log: a LOGIN or LOGOUT."""

    user_log_id: int
    user: str
    event: str
    campaign_id: str | None
    event_epoch: int
    user_group: str | None


class CallLogRow(NamedTuple):
    """vicidial_log: one call the dialer placed."""

    uniqueid: str
    campaign_id: str | None
    start_epoch: int | None
    end_epoch: int | None
    status: str | None
    user: str | None
    user_group: str | None


class CarrierLogRow(NamedTuple):
    """vicidial_carrier_log: a dial's carrier record, written when the call ends."""

    uniqueid: str
    dial_epoch: int


class CloserLogRow(NamedTuple):
    """vicidial_closer_log: one caller in an in-group (an inbound queue)."""

    closecallid: int
    campaign_id: str | None
    start_epoch: int | None
    end_epoch: int | None
    status: str | None
    user: str | None
    user_group: str | None
    queue_seconds: Decimal | None
    uniqueid: str | None
