"""Normalised codes (events.md): free-text dialer codes become a small, known set of labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

OTHER: Final = "other"

PAUSE_REASONS: Final = frozenset(
    {
        "break",
        "lunch",
        "prayer",
        "restroom",
        "training",
        "coaching",
        "meeting",
        "technical",
        "personal",
        OTHER,
    }
)
UNANSWERED_OUTCOMES: Final = frozenset({"no_answer", "busy", "failed", "invalid", OTHER})
POSITIVE_DISPOSITIONS: Final = frozenset({"sale", "appointment", "interested", "callback"})
NEGATIVE_DISPOSITIONS: Final = frozenset({"not_interested", "hung_up", "abusive", "do_not_call"})
DISPOSITION_CLASSES: Final = ("positive", "negative", "neutral")


def canonical(code: str) -> str:
    """Trim, lower-case, and turn U+0020 spaces and `-` into `_`."""
    return code.strip().lower().replace(" ", "_").replace("-", "_")


class _Lookup:
    """Maps raw codes to labels, remembering answers: dialers repeat a handful of codes."""

    __slots__ = ("_default", "_labels", "_seen")

    def __init__(
        self, labels: Mapping[str, str], default: str, aliases: Mapping[str, str] | None = None
    ) -> None:
        self._labels = {canonical(code): label for code, label in labels.items()}
        # A site's own code names one of the contract's normalised codes (NAMAZ = "prayer"); an
        # alias whose target is not in this set belongs to another kind of code.
        for code, target in (aliases or {}).items():
            label = self._labels.get(canonical(target))
            if label is not None:
                self._labels.setdefault(canonical(code), label)
        self._default = default
        self._seen: dict[str, str] = {}

    def __call__(self, raw: str) -> str:
        found = self._seen.get(raw)
        if found is None:
            found = self._labels.get(canonical(raw), self._default)
            if len(self._seen) < 10_000:  # free text must not grow memory without bound
                self._seen[raw] = found
        return found


@dataclass(frozen=True)
class Codes:
    """The code sets in force. A deployment may extend them; the defaults are the contract's."""

    pause_reasons: frozenset[str] = PAUSE_REASONS
    unanswered_outcomes: frozenset[str] = UNANSWERED_OUTCOMES
    positive: frozenset[str] = POSITIVE_DISPOSITIONS
    negative: frozenset[str] = NEGATIVE_DISPOSITIONS
    aliases: tuple[tuple[str, str], ...] = ()
    """(site code, normalised code) pairs: a site's word for one of the codes above."""
    reason: _Lookup = field(init=False, repr=False, compare=False)
    outcome: _Lookup = field(init=False, repr=False, compare=False)
    disposition_class: _Lookup = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A frozen dataclass sets its derived fields through object.__setattr__.
        classes = {c: "positive" for c in self.positive} | {c: "negative" for c in self.negative}
        aliases = dict(self.aliases)
        reasons = _Lookup({c: c for c in self.pause_reasons}, OTHER, aliases)
        outcomes = _Lookup({c: c for c in self.unanswered_outcomes}, OTHER, aliases)
        object.__setattr__(self, "reason", reasons)
        object.__setattr__(self, "outcome", outcomes)
        object.__setattr__(self, "disposition_class", _Lookup(classes, "neutral", aliases))


DEFAULT_CODES: Final = Codes()
