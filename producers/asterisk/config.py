"""`[sources.asterisk]` of a floor's configuration: which queue is which campaign, who is who.

Asterisk has no notion of a campaign or a team, and its queue_log names a member by its
interface on some lines and by its name on others; this table says what each one is. Every key
is optional, with the defaults below. The floor's configuration loader (streams.config) reads
it with the rest of the file.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
)

DEFAULT_TEAM: Final = "unassigned"
NO_REASON: Final = "unspecified"

Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Seconds = Annotated[float, Field(ge=0, le=3600)]


class AsteriskSource(BaseModel):
    """How an Asterisk floor (app_queue) maps onto floorpulse's campaigns and teams."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(
        default="asterisk",
        min_length=1,
        max_length=48,
        description="the `source` of the events, and the start of their ids",
    )
    site: Name | None = Field(default=None, description="the `site_id` of agent events, if any")
    campaigns: dict[str, Name] = Field(
        default={}, description="queue = campaign; an unmapped queue is a campaign of its name"
    )
    outbound_queues: list[str] = Field(
        default=[],
        description="queues whose callers a dialer placed (VICIdial's queue_log): entering the "
        "queue is the answer, leaving it unanswered a drop, and the two-second rule applies",
    )
    teams: dict[str, Name] = Field(
        default={}, description="member name or interface = team; unmapped: default_team"
    )
    default_team: Name = Field(default=DEFAULT_TEAM, description="the team of unmapped members")
    interfaces: dict[str, Name] = Field(
        default={},
        description="interface = member name, for queue_log's ADDMEMBER and REMOVEMEMBER lines, "
        "which name the interface unless queues.conf has log_membername_as_agent = yes",
    )
    interface_patterns: list[str] = Field(
        default=[],
        description='interfaces that contain the member name, such as "PJSIP/{name}" or '
        '"Local/{name}@agents/n"; interfaces maps the exceptions',
    )
    wrapup_s: dict[str, Seconds] = Field(
        default={}, description="queue = its wrapuptime in seconds (queues.conf)"
    )
    default_wrapup_s: Seconds = Field(
        default=0, description="the wrap-up of queues not in wrapup_s (Asterisk's default is 0)"
    )
    _patterns: tuple[re.Pattern[str], ...] = PrivateAttr(default=())

    no_reason: Name = Field(
        default=NO_REASON,
        description="the pause reason of a pause that has none (an alias in [codes] may map it)",
    )

    @field_validator("interface_patterns")
    @classmethod
    def _one_name_each(cls, patterns: list[str]) -> list[str]:
        wrong = [p for p in patterns if p.count("{name}") != 1]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))}: each pattern needs {{name}} once")
        return patterns

    def campaign(self, queue: str) -> str:
        return self.campaigns.get(queue, queue)

    def team(self, member: str, interface: str = "") -> str:
        found = self.teams.get(member) or (self.teams.get(interface) if interface else None)
        return found or self.default_team

    def wrapup_ms(self, queue: str) -> int:
        return round(self.wrapup_s.get(queue, self.default_wrapup_s) * 1000)

    def member_name(self, interface: str) -> str:
        """The member an interface stands for: mapped, matched by a pattern, or itself (what
        Asterisk calls a member added without a name)."""
        name = self.interfaces.get(interface)
        if name is not None:
            return name
        for pattern in self._patterns:
            match = pattern.fullmatch(interface)
            if match:
                return match.group("name")
        return interface

    def model_post_init(self, context: Any, /) -> None:
        self._patterns = tuple(
            re.compile(re.escape(p).replace(re.escape("{name}"), "(?P<name>.+?)"))
            for p in self.interface_patterns
        )
