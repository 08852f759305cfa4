"""Team tokens from the environment: FLOORPULSE_BOARD_TOKENS="team-a=secret1,team-b=secret2"."""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from typing import Final

from streams.errors import SettingsError

VARIABLE: Final = "FLOORPULSE_BOARD_TOKENS"


def parse(text: str) -> dict[str, str]:
    """Team -> token. A malformed pair is one line naming its position, never the token."""
    tokens: dict[str, str] = {}
    for place, pair in enumerate(filter(None, (p.strip() for p in text.split(","))), start=1):
        team, sep, token = pair.partition("=")
        team, token = team.strip(), token.strip()
        if not sep or not team or not token:
            raise SettingsError(f"{VARIABLE}: pair {place} is not team=token")
        if len(token) < 8:
            raise SettingsError(f"{VARIABLE}: the token of {team} is shorter than 8 characters")
        if team in tokens:
            raise SettingsError(f"{VARIABLE}: {team} is named twice")
        tokens[team] = token
    return tokens


def from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    return parse(environ.get(VARIABLE, ""))


def team_of(tokens: Mapping[str, str], given: str) -> str | None:
    """The team whose token this is, compared in constant time; None for a wrong token."""
    found = None
    for team, token in tokens.items():
        if hmac.compare_digest(token.encode(), given.encode()):
            found = team
    return found
