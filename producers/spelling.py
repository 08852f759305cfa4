"""How dialers spell codes: one code arrives in several spellings that all normalise back to it."""

from __future__ import annotations

import random


def spellings(code: str) -> tuple[str, ...]:
    """The spellings a multi-vendor floor sends for `code`, the canonical one most often.

    Every spelling normalises (trim, lower-case, spaces and `-` to `_`) back to `code`; the padded
    one is what fixed-width legacy exports look like.
    """
    words = code.split("_")
    title = " ".join(word.capitalize() for word in words)
    return (
        code,
        code,
        code,
        title,
        title,
        " ".join(words).upper(),
        "-".join(words),
        code.upper(),
        f"{title} ",
    )


class Speller:
    """Picks a spelling per event; the tables are built once per code since codes repeat."""

    __slots__ = ("_random", "_table")

    def __init__(self, rng: random.Random) -> None:
        self._random = rng.random
        self._table: dict[str, tuple[str, ...]] = {}

    def say(self, code: str) -> str:
        """One spelling of `code`, chosen at random."""
        choices = self._table.get(code)
        if choices is None:
            choices = self._table[code] = spellings(code)
        return choices[int(self._random() * len(choices))]
