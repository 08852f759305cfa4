"""Move an event's `ts` in its raw line: only the digits of its top-level `ts` change."""

from __future__ import annotations

import re
from typing import Final

import msgspec

from streams.events import MAX_TS

_WS: Final = rb"[ \t\r\n]*"
# Without a backslash in the line no string can hold a quote, so every `"ts"` followed by a
# colon is a key; when there is only one, it is the event's own `ts`.
_PLAIN_TS: Final = re.compile(rb'"ts"' + _WS + b":" + _WS + rb"(-?\d+)")
# Otherwise: strings (escapes included) and structure, enough to tell top-level keys apart.
_TOKENS: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]:]', re.DOTALL)
_INTEGER: Final = re.compile(_WS + rb"(-?\d+)(?![\d.eE])")


def with_ts(line: bytes, ts: int, new_ts: int) -> bytes:
    """`line`, whose top-level `ts` is the integer `ts`, with `new_ts` in its place.

    Every other byte stays as it was. A new time outside 0 < ts < 2^53 is not written, so
    that shifting never makes a valid event invalid or an invalid one valid.
    """
    if not 0 < new_ts < MAX_TS:
        return line
    span = None
    if b"\\" not in line:
        found = list(_PLAIN_TS.finditer(line))
        if len(found) == 1:
            span = found[0].span(1)
    if span is None:
        span = _top_level_ts(line)
    if span is None or int(line[span[0] : span[1]]) != ts:
        return line  # not reached for a line whose ts routing read as an integer
    start, end = span
    return b"%b%d%b" % (line[:start], new_ts, line[end:])


def _top_level_ts(line: bytes) -> tuple[int, int] | None:
    """Where the digits of the last top-level `ts` member are (the last value counts)."""
    depth, span, key = 0, None, None
    for token in _TOKENS.finditer(line):
        text = token[0]
        if text in (b"{", b"["):
            depth += 1
        elif text in (b"}", b"]"):
            depth -= 1
        elif text == b":" and depth == 1 and key is not None and _is_ts(key):
            number = _INTEGER.match(line, token.end())
            span = None if number is None else number.span(1)
        key = text if text[:1] == b'"' else None
    return span


def _is_ts(key: bytes) -> bool:
    if key == b'"ts"':
        return True
    if b"\\" not in key:
        return False
    try:
        return bool(msgspec.json.decode(key) == "ts")
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False
