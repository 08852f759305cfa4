"""A floor's own words: one TOML file for its codes, thresholds, privacy and sources.

`analyze`, the worker and the dialer adapters read the same file (`--config FILE` or
`FLOORPULSE_CONFIG`), so the same events give the same numbers everywhere. It is validated in
full before anything runs: every bad key or value is reported, each naming its key and its line.

Exceptions:

    ConfigError(SettingsError)   the file cannot be read or has problems; `.problems` lists them,
                                 one line each
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from producers.asterisk.config import AsteriskSource
from producers.vicidial.config import VicidialSource
from streams.codes import (
    NEGATIVE_DISPOSITIONS,
    PAUSE_REASONS,
    POSITIVE_DISPOSITIONS,
    UNANSWERED_OUTCOMES,
    Codes,
    canonical,
)
from streams.engine import Params
from streams.engine.pacing import PacingLimits
from streams.errors import SettingsError

ENVIRONMENT: Final = "FLOORPULSE_CONFIG"


class ConfigError(SettingsError):
    """The configuration file cannot be used; every problem is one line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"bad configuration in {source}: {problems[0]}")
        else:
            listed = "; ".join(problems)
            super().__init__(f"bad configuration in {source} ({len(problems)} problems): {listed}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Code = str


_EXTRA_CODES: Final = ("positive", "negative", "neutral", "pause_reasons", "unanswered_outcomes")


def _known(*extra: list[str]) -> set[str]:
    contract = PAUSE_REASONS | UNANSWERED_OUTCOMES | POSITIVE_DISPOSITIONS | NEGATIVE_DISPOSITIONS
    return set(contract) | {canonical(code) for codes in extra for code in codes}


class CodesSection(_Section):
    """Codes beyond the contract's (events.md, "Normalised codes"), and a site's words for them."""

    positive: list[Code] = Field(default=[], description="more dispositions that are a success")
    negative: list[Code] = Field(
        default=[], description="more dispositions that are a rejection (they make up a streak)"
    )
    neutral: list[Code] = Field(
        default=[], description="dispositions that count as neither, even if the contract's are"
    )
    pause_reasons: list[Code] = Field(default=[], description="more pause reasons, as labels")
    unanswered_outcomes: list[Code] = Field(default=[], description="more unanswered outcomes")
    aliases: dict[Code, Code] = Field(
        default={},
        description='a site\'s code = the normalised code it means (NAMAZ = "prayer")',
    )

    @field_validator("negative")
    @classmethod
    def _not_both(cls, negative: list[Code], info: ValidationInfo) -> list[Code]:
        both = sorted(
            {canonical(c) for c in info.data.get("positive", [])} & set(map(canonical, negative))
        )
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both positive and negative")
        return negative

    @field_validator("aliases")
    @classmethod
    def _aliases_name_known_codes(
        cls, aliases: dict[Code, Code], info: ValidationInfo
    ) -> dict[Code, Code]:
        known = _known(*(info.data.get(name, []) for name in _EXTRA_CODES))
        unknown = sorted(c for c, target in aliases.items() if canonical(target) not in known)
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} name{'s' if len(unknown) == 1 else ''} no known code: an"
                " alias names a pause reason, an unanswered outcome or a disposition (the"
                " contract's or this file's)"
            )
        return aliases

    def known(self) -> set[str]:
        extra = [
            *self.positive,
            *self.negative,
            *self.neutral,
            *self.pause_reasons,
            *self.unanswered_outcomes,
        ]
        return set(
            PAUSE_REASONS | UNANSWERED_OUTCOMES | POSITIVE_DISPOSITIONS | NEGATIVE_DISPOSITIONS
        ) | {canonical(c) for c in extra}

    def codes(self) -> Codes:
        neutral = {canonical(c) for c in self.neutral}
        return Codes(
            pause_reasons=PAUSE_REASONS | {canonical(c) for c in self.pause_reasons},
            unanswered_outcomes=UNANSWERED_OUTCOMES
            | {canonical(c) for c in self.unanswered_outcomes},
            positive=(POSITIVE_DISPOSITIONS | {canonical(c) for c in self.positive}) - neutral,
            negative=(NEGATIVE_DISPOSITIONS | {canonical(c) for c in self.negative}) - neutral,
            aliases=tuple(sorted(self.aliases.items())),
        )


class ThresholdsSection(_Section):
    """Every parameter of stats.md, with the contract's defaults. The limits keep each one where
    it can mean something: a threshold that would fire on every span, or never, is refused."""

    recovery_s: float = Field(
        default=300,
        ge=60,
        le=3600,
        description="an off-phone period this long is a real break (seconds)",
    )
    stretch_s: float = Field(
        default=5400, ge=1800, le=28800, description="a stretch of work this long asks for a break"
    )
    occupancy_window_s: float = Field(
        default=3600, ge=900, le=14400, description="high occupancy is judged over at least this"
    )
    occupancy_threshold: float = Field(
        default=0.90, ge=0.5, le=0.99, description="the share of time on calls that is too high"
    )
    streak_n: int = Field(
        default=8, ge=3, le=200, description="hard calls in a row that suggest a kind word"
    )
    session_gap_s: float = Field(
        default=1800, ge=600, le=14400, description="a logout this long ends a shift"
    )
    shift_s: float = Field(
        default=32400, ge=14400, le=57600, description="a shift this long suggests a check-in"
    )
    abandon_after_ms: int = Field(
        default=2000,
        ge=0,
        le=10000,
        description="a connect this late after a person answered counts as abandoned",
    )
    service_level_ms: int = Field(
        default=20000, ge=1000, le=600000, description="callers answered within this are served"
    )
    short_abandon_ms: int = Field(
        default=5000, ge=0, le=60000, description="callers who hang up sooner are left out"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ThresholdsSection:
        if self.stretch_s <= self.recovery_s:
            raise ValueError(
                "stretch_s must be longer than recovery_s: a break would end every stretch"
            )
        if self.session_gap_s < self.recovery_s:
            raise ValueError("session_gap_s must be at least recovery_s")
        if self.short_abandon_ms >= self.service_level_ms:
            raise ValueError("short_abandon_ms must be shorter than service_level_ms")
        return self


class PacingSection(_Section):
    """The two limits the pacing advice keeps (docs/pacing.md)."""

    abandon_target: float = Field(
        default=0.02,
        ge=0.005,
        le=0.03,
        description="expected abandoned calls per call a person answers: under the 3% line",
    )
    occupancy_ceiling: float = Field(
        default=0.85,
        ge=0.5,
        le=0.95,
        description="expected share of working time on calls and wrap-up",
    )

    def limits(self) -> PacingLimits:
        return PacingLimits(self.abandon_target, self.occupancy_ceiling)


class PrivacySection(_Section):
    min_group_size: int = Field(
        default=5,
        ge=3,
        le=100,
        description="a team's numbers show to people only when it has this many people",
    )


class SourcesSection(_Section):
    """What the dialer adapters read: which queue or campaign is which, and who is in which
    team. Each dialer's own section is defined beside its adapter."""

    asterisk: AsteriskSource | None = None
    vicidial: VicidialSource | None = None


class FloorConfig(_Section):
    codes: CodesSection = CodesSection()
    thresholds: ThresholdsSection = ThresholdsSection()
    privacy: PrivacySection = PrivacySection()
    pacing: PacingSection = PacingSection()
    sources: SourcesSection = SourcesSection()

    def params(self) -> Params:
        """The engine's parameters under this configuration."""
        t = self.thresholds
        return Params(
            recovery_s=t.recovery_s,
            stretch_s=t.stretch_s,
            occupancy_window_s=t.occupancy_window_s,
            occupancy_threshold=t.occupancy_threshold,
            streak_n=t.streak_n,
            session_gap_s=t.session_gap_s,
            shift_s=t.shift_s,
            abandon_after_ms=t.abandon_after_ms,
            service_level_ms=t.service_level_ms,
            short_abandon_ms=t.short_abandon_ms,
            codes=self.codes.codes(),
        )

    def fingerprint(self) -> str:
        """Identifies the rules that change numbers (codes and thresholds): state built under
        one fingerprint mixed with events applied under another would follow two sets of rules."""
        rules = {"codes": self.codes.model_dump(), "thresholds": self.thresholds.model_dump()}
        text = json.dumps(rules, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Loaded:
    """A configuration and where it came from (None: the contract's defaults)."""

    config: FloorConfig
    path: Path | None


def load(path: str | Path | None = None) -> Loaded:
    """The configuration of `path`, else of $FLOORPULSE_CONFIG, else the contract's defaults."""
    chosen = path if path is not None else os.environ.get(ENVIRONMENT) or None
    if chosen is None:
        return Loaded(FloorConfig(), None)
    file = Path(chosen)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(str(file), [f"cannot read it: {reason}"]) from None
    return Loaded(parse(text, str(file)), file)


def parse(text: str, source: str = "the configuration") -> FloorConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not TOML: {exc}"]) from None
    try:
        return FloorConfig.model_validate(data)
    except ValidationError as exc:
        lines = _key_lines(text)
        problems = []
        for error in exc.errors():
            loc = [str(part) for part in error["loc"] if not str(part).startswith("function-")]
            key = ".".join(loc) or "(top level)"
            line = _line_of(lines, loc)
            where = f" (line {line})" if line else ""
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key: check its spelling and its section"
            elif error["type"] in _WHY_BOUND and loc[-1] in _WHY:
                message += f": {_WHY[loc[-1]][_WHY_BOUND[error['type']]]}"
            problems.append(f"{key}{where}: {message}")
        raise ConfigError(source, problems) from None


def _toml(value: object) -> str:
    """A value as TOML: JSON's strings, numbers and arrays are TOML's; tables are written."""
    if isinstance(value, dict):
        pairs = (f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }" if value else "{}"
    return json.dumps(value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


_WHY_BOUND: Final = {"greater_than_equal": 0, "less_than_equal": 1}
_WHY: Final = {
    "recovery_s": (
        "a pause of under a minute is no real break",
        "almost no pause would count as a real break, so every stretch would look long",
    ),
    "stretch_s": (
        "it would suggest a break after nearly every short stretch of work",
        "no shift has a stretch that long, so it would never be suggested",
    ),
    "occupancy_window_s": (
        "a few busy minutes would look like a hard hour",
        "it would be judged too late to help",
    ),
    "occupancy_threshold": (
        "most spans of work would count as too busy",
        "a floor is never that busy, so it would never be suggested",
    ),
    "streak_n": (
        "it would suggest a word after nearly every short run of calls",
        "no shift has that many rejections in a row, so it would never be suggested",
    ),
    "session_gap_s": ("a short break would end a shift", "a shift would never end"),
    "shift_s": ("almost every shift would count as long", "no shift is that long"),
    "abandon_after_ms": ("", "the two-second rule would no longer be the rule"),
    "service_level_ms": ("no queue could meet it", "every caller would count as served"),
    "short_abandon_ms": ("", "callers who waited would be left out of the queue's ratios"),
    "abandon_target": (
        "almost no pace could keep it: the advice would always be the slowest",
        "it would be over the 3% line",
    ),
    "occupancy_ceiling": (
        "the advice would leave people idle most of the time",
        "it would leave no breathing room between calls",
    ),
    "min_group_size": (
        "a team's numbers could point at one person",
        "almost no team would show its numbers",
    ),
}

_TABLE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)\s*=")


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line of each key (as a path of names) and of each table header, as written."""
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _TABLE.match(line)
        if header:
            table = tuple(part.strip().strip("\"'") for part in header.group(1).split("."))
            found.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            found.setdefault((*table, key.group(1).strip("\"'")), number)
    return found


def _line_of(lines: dict[tuple[str, ...], int], loc: list[str]) -> int | None:
    for end in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:end]))
        if line:
            return line
    return None


def describe(loaded: Loaded) -> str:
    """The effective configuration, as TOML-like text for a person."""
    config = loaded.config
    lines = [
        f"# floorpulse configuration: {loaded.path or 'the contract defaults'}",
        f"# fingerprint of the rules: {config.fingerprint()}",
    ]
    for name, section in (
        ("codes", config.codes),
        ("thresholds", config.thresholds),
        ("privacy", config.privacy),
        ("pacing", config.pacing),
    ):
        lines += ["", f"[{name}]"]
        for key, value in section.model_dump().items():
            lines.append(f"{key} = {_toml(value)}")
    for name, source in config.sources.model_dump(exclude_none=True).items():
        lines += ["", f"[sources.{name}]"]
        lines += [f"{key} = {_toml(value)}" for key, value in source.items()]
    return "\n".join(lines) + "\n"
