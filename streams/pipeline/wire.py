"""What the worker writes besides state: dead letters and check-ins, each with an id that is the
same when a restarted worker writes it again, so that readers can drop repeats."""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Final

import msgspec

from streams.engine import Checkin
from streams.topics import DEAD_LETTER_MAX_BYTES

DEAD_LETTER_LIMIT: Final = DEAD_LETTER_MAX_BYTES - 64 * 1024
"""A wrapper larger than this is sent truncated: the rest of the limit is left for the record's
own overhead and key."""
TRUNCATED_KEEPS: Final = 4096
"""How many of a too-large message's first bytes its truncated dead letter keeps."""

_encoder: Final = msgspec.json.Encoder()


def dead_letter(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: str,
    limit: int = DEAD_LETTER_LIMIT,
) -> bytes:
    """The contract's dead-letter wrapper: the error, where the message was, and its bytes.

    When the wrapper would be larger than `limit`, it keeps the message's size, its SHA-256 and
    its first bytes instead, with `error: "too_large"` and the reason under `reason`: a message
    that cannot be dead-lettered whole must never stop the floor."""
    raw = value or b""
    wrapper: dict[str, Any] = {
        "id": f"{topic}:{partition}:{offset}",
        "error": error,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": _key_text(key),
        **_raw(raw),
    }
    data = _encoder.encode(wrapper)
    if len(data) <= limit:
        return data
    wrapper.update(
        error="too_large",
        reason=error,
        size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        truncated=True,
        **_raw(raw[:TRUNCATED_KEEPS]),
    )
    if len(key or b"") > TRUNCATED_KEEPS:
        wrapper["key"] = _key_text((key or b"")[:TRUNCATED_KEEPS])
        wrapper["key_truncated"] = True
    return _encoder.encode(wrapper)


def _raw(raw: bytes) -> dict[str, str]:
    try:
        return {"raw": raw.decode("utf-8"), "raw_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"raw": base64.b64encode(raw).decode("ascii"), "raw_encoding": "base64"}


def _key_text(key: bytes | None) -> str | None:
    return None if key is None else key.decode("utf-8", "backslashreplace")


def checkin_id(checkin: Checkin) -> str:
    """The same opening (or closing) of the same check-in has the same id, whoever sends it."""
    phase = "opened" if checkin.closed_ts is None else f"closed:{checkin.closed_ts}"
    identity = f"{checkin.agent_id}\x00{checkin.kind}\x00{checkin.opened_ts}\x00{phase}"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def checkin_value(checkin: Checkin) -> bytes:
    """A check-in as published on floor.checkins (stats.md), with its id."""
    return _encoder.encode({"id": checkin_id(checkin), **msgspec.structs.asdict(checkin)})
