"""`[sources.vicidial]` of a floor's configuration: what VICIdial's ids and statuses are here.

VICIdial's campaign and in-group ids are at most eight characters and its user groups are the
site's own: this table names the campaign and team each one is. Statuses say how a call ended;
the defaults are VICIdial's system statuses (`vicidial_statuses`, `cpd_statuses.sql`). Every key
is optional. The floor's configuration loader (streams.config) reads it with the rest of the
file.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NO_REASON: Final = "unspecified"

Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]

MACHINE: Final = ["A", "AA", "AM", "AL", "AFAX"]
DROPS: Final = ["DROP", "XDROP", "PDROP"]
QUEUE_DROPS: Final = ["DROP", "XDROP", "TIMEOT", "NANQUE", "AFTHRS", "MAXCAL", "QVMAIL"]
UNANSWERED: Final = {
    "NA": "no_answer",
    "N": "no_answer",
    "CPDNA": "no_answer",
    "AB": "busy",
    "B": "busy",
    "CPDB": "busy",
    "ADC": "invalid",
    "DC": "invalid",
    "ADCT": "invalid",
    "CPDINV": "invalid",
    "CPDSI": "invalid",
    "CPDSV": "invalid",
    "CPDATB": "failed",
    "CPDERR": "failed",
    "CPDREJ": "failed",
    "CPDSNC": "failed",
    "CPDSR": "failed",
    "CPDSUA": "failed",
    "CPDSUK": "failed",
    "CPDUK": "failed",
}


class VicidialSource(BaseModel):
    """How a VICIdial database maps onto floorpulse's campaigns and teams."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(
        default="vicidial",
        min_length=1,
        max_length=48,
        description="the `source` of the events, and the start of their ids",
    )
    site: Name | None = Field(default=None, description="the `site_id` of agent events, if any")
    campaigns: dict[str, Name] = Field(
        default={}, description="VICIdial campaign_id = campaign; unmapped: the campaign_id"
    )
    ingroups: dict[str, Name] = Field(
        default={}, description="in-group (an inbound queue) = campaign; unmapped: the in-group"
    )
    user_groups: dict[str, Name] = Field(
        default={}, description="user_group = team; unmapped: the user_group"
    )
    default_team: Name = Field(
        default="unassigned", description="the team of a person with no user_group"
    )
    no_reason: Name = Field(
        default=NO_REASON,
        description="the pause reason of a pause without a code (an alias in [codes] may map it)",
    )
    machine_statuses: list[str] = Field(
        default=MACHINE, description="statuses of calls a machine answered"
    )
    drop_statuses: list[str] = Field(
        default=DROPS, description="statuses of the dialer's calls answered and dropped"
    )
    queue_drop_statuses: list[str] = Field(
        default=QUEUE_DROPS,
        description="statuses of in-group callers who left, or were let go, before anyone answered",
    )
    unanswered: dict[str, str] = Field(
        default=UNANSWERED,
        description="status = the outcome of a call nobody answered (no_answer, busy, invalid, "
        "failed); every other status of vicidial_log is an answered call's",
    )
    ready_after_s: int = Field(
        default=30,
        ge=1,
        le=600,
        description="a new cycle row still without a pause code this long is a person ready",
    )

    def campaign(self, campaign_id: str) -> str:
        return self.campaigns.get(campaign_id, campaign_id)

    def ingroup(self, group: str) -> str:
        return self.ingroups.get(group, group)

    def team(self, user_group: str | None) -> str:
        if not user_group:
            return self.default_team
        return self.user_groups.get(user_group, user_group)
