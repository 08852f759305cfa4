"""The Asterisk Manager Interface's wire format: `Key: value` lines, a blank line after each
message, CRLF (LF accepted). Pure: text in, messages out, and actions as bytes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

Message = dict[str, str]
"""One AMI message; a repeated key keeps its last value."""

LINE_END: Final = "\r\n"


def parse(lines: Iterable[str]) -> Message:
    """The headers of one message's lines (without their line ends). A line without a colon (a
    banner, command output) is not a header."""
    message: Message = {}
    for line in lines:
        key, colon, value = line.partition(":")
        if colon and key and " " not in key:
            message[key] = value.strip()
    return message


def action(name: str, action_id: str, **fields: str) -> bytes:
    """An action to send; ValueError if a value would break the framing (a line end in it),
    naming the field and never its value (it may be a secret)."""
    headers = {"Action": name, "ActionID": action_id, **fields}
    for key, value in headers.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"{key} contains a line end")
    text = "".join(f"{key}: {value}{LINE_END}" for key, value in headers.items())
    return (text + LINE_END).encode()


def timestamp_ms(message: Message) -> int | None:
    """The event's own time, which Asterisk adds with `timestampevents = yes` in manager.conf
    (`Timestamp: 1796399646.645123`, seconds); None without it."""
    text = message.get("Timestamp")
    if not text:
        return None
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or not (fraction == "" or fraction.isdigit()):
        return None
    return int(whole) * 1000 + int(fraction[:3].ljust(3, "0") if fraction else "0")
