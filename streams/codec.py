"""Bytes to events and back: the one place where the wire format is validated.

Exceptions:

    InvalidEvent(ValueError)   the bytes are not a valid contract-v1 event; `.code` says why:
        json      not UTF-8, not strict JSON, or not a JSON object
        version   `v` is present but is not the integer 1
        type      `type` is missing or names no known event type
        schema    a field is missing, of the wrong type, or outside its rule
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from streams.events import TYPE_NAMES, Event

ErrorCode = Literal["json", "version", "type", "schema"]
ERROR_CODES: Final[tuple[ErrorCode, ...]] = ("json", "version", "type", "schema")


class InvalidEvent(ValueError):
    """The bytes are not a valid event. `code` is one of ERROR_CODES; the message is one line."""

    def __init__(self, code: ErrorCode, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code: ErrorCode = code
        self.reason = reason


# Annotated because msgspec's stubs type a decoder of a union as Decoder[Any].
_decoder: Final[msgspec.json.Decoder[Event]] = msgspec.json.Decoder(Event)
_any_decoder: Final = msgspec.json.Decoder()
_encoder: Final = msgspec.json.Encoder()


def decode(data: bytes) -> Event:
    """Decode and validate one event, raising InvalidEvent (and nothing else) when it is not one."""
    # msgspec checks UTF-8 only in the strings it keeps, and raises UnicodeDecodeError there;
    # the contract requires the whole message to be UTF-8.
    if not data.isascii():
        _require_utf8(data)
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError:
        return _decode_slowly(data)
    except RecursionError:
        # msgspec refuses deep nesting (even inside an ignored field) with RecursionError.
        raise InvalidEvent("json", "nested too deeply") from None


def decode_all(lines: list[bytes], text: bytes) -> list[Event] | None:
    """Every line decoded by one loop in C rather than one call each from Python, or None when
    one of them is not a valid event as it stands: then `decode` each, which says why, or accepts
    an object that repeats a key. `text` is the lines joined by newlines, checked for UTF-8 at
    once (a newline is no part of any character, so the lines are UTF-8 when the whole is)."""
    if not _is_utf8(text):
        return None
    try:
        return list(map(_decoder.decode, lines))
    except (msgspec.DecodeError, RecursionError):
        return None


def decode_lines(text: bytes, lines: int) -> list[Event] | None:
    """The events of `lines` lines each known to hold one JSON value and nothing else (as the
    lines `analyze --jobs` routes do), decoded by one call, or None as for `decode_all`.

    Only for such lines: msgspec's `decode_lines` skips blank lines and reads several values on
    one line, so for any other text its events could not be matched with the lines."""
    if not _is_utf8(text):
        return None
    try:
        events = _decoder.decode_lines(text)
    except (msgspec.DecodeError, RecursionError):
        return None
    return events if len(events) == lines else None


def encode(event: Event) -> bytes:
    """The event as one compact JSON object (no trailing newline)."""
    return _encoder.encode(event)


def _is_utf8(text: bytes) -> bool:
    if text.isascii():
        return True
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _require_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent("json", f"not UTF-8 at byte {exc.start}") from None


def _decode_slowly(data: bytes) -> Event:
    """The fast decoder said no: say why, or accept an event that repeats a key.

    Where an object repeats a key the last value counts; the fast decoder reads a repeated `type`
    by its first value, so an object it refused may still be valid once read as a plain mapping.
    """
    try:
        obj: Any = _any_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidEvent("json", str(exc)) from None
    except RecursionError:
        raise InvalidEvent("json", "nested too deeply") from None
    if not isinstance(obj, dict):
        raise InvalidEvent("json", f"expected a JSON object, got {type(obj).__name__}")
    try:
        event: Event = msgspec.convert(obj, Event)
        return event
    except msgspec.ValidationError as exc:
        reason = str(exc)
    if "v" in obj and not (type(obj["v"]) is int and obj["v"] == 1):
        raise InvalidEvent("version", f"unsupported version {obj['v']!r}: expected 1")
    event_type = obj.get("type")
    if not isinstance(event_type, str) or event_type not in TYPE_NAMES:
        shown = "missing" if event_type is None and "type" not in obj else repr(event_type)
        raise InvalidEvent("type", f"unknown event type {shown}")
    raise InvalidEvent("schema", reason)
