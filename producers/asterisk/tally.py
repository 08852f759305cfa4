"""How a translation went: records translated, records with nothing to say, and what was not
understood, each problem named by where it was (a line, an AMI event)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

KEPT: Final = 20
"""Problems named one by one in a summary; the rest are counted."""


@dataclass
class Tally:
    records: int = 0
    translated: Counter[str] = field(default_factory=Counter)
    """Records understood, by verb or event name (some give no event: a ring, say)."""
    quiet: Counter[str] = field(default_factory=Counter)
    """Records floorpulse knows and does not need (PAUSEALL, QueueMemberStatus...)."""
    unknown: Counter[str] = field(default_factory=Counter)
    """Records of a kind the translation does not know."""
    problems: int = 0
    """Records that could not be read, or lacked what their kind must carry."""
    named: list[str] = field(default_factory=list)
    """The first problems and the first record of each unknown kind, with where they were."""
    hints: list[str] = field(default_factory=list)
    """What the floor's configuration might be missing, found at the end."""

    def problem(self, where: str, what: str) -> None:
        self.problems += 1
        self._name(f"{where}: {what}")

    def unknown_kind(self, kind: str, where: str | None) -> None:
        if not self.unknown[kind] and where is not None:
            self._name(f"{where}: unknown {kind!r}")
        self.unknown[kind] += 1

    def _name(self, text: str) -> None:
        if len(self.named) < KEPT:
            self.named.append(text)

    def not_translated(self) -> int:
        return self.problems + sum(self.unknown.values())
