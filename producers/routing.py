"""Raw log lines to their topic and key (events.md, "Topics and keys"), read only as far as that.

A replay sends lines as they are, invalid ones included, so that a worker's dead-letter path sees
them. Routing therefore reads just `type`, the key field and `ts`, and asks nothing else of the
line:

- `agent.*` goes to dialer.agent-events keyed by `agent_id`, `call.*` to dialer.call-events keyed
  by `campaign_id`; an unknown type with a known prefix (`call.parked`) is routed the same way,
  and the worker dead-letters it.
- A line with such a type whose key field is missing or not a string goes with a null key. It is
  invalid whatever else it holds (the key field is required), so it has no order to keep, and
  the worker dead-letters it with the null key it came with.
- A line that is not a JSON object, or whose `type` is missing, not a string, or has neither
  prefix, cannot be routed at all: `route_line` returns None and `unroutable_reason` says why.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import msgspec

from streams.events import MAX_TS
from streams.topics import AGENT_EVENTS, CALL_EVENTS


class Routed(NamedTuple):
    topic: str
    key: bytes | None
    ts: int | None
    """The event time when `ts` is a valid one (an integer, 0 < ts < 2^53), else None."""


# Every field typed Any, so that decoding never fails on a wrong type: wrong types are the
# worker's to report. Repeated keys keep the last value, as events.md says.
class _Fields(msgspec.Struct, gc=False):
    type: Any = None
    agent_id: Any = None
    campaign_id: Any = None
    ts: Any = None


_decoder: Final = msgspec.json.Decoder(_Fields)
_DECODE_ERRORS: Final = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def route_line(line: bytes) -> Routed | None:
    """Topic, key and event time of one line (without its newline), or None when unroutable."""
    try:
        fields = _decoder.decode(line)
    except _DECODE_ERRORS:
        return None
    kind = fields.type
    if type(kind) is not str:
        return None
    if kind.startswith("call."):
        topic, key = CALL_EVENTS, fields.campaign_id
    elif kind.startswith("agent."):
        topic, key = AGENT_EVENTS, fields.agent_id
    else:
        return None
    ts = fields.ts
    return Routed(
        topic,
        # surrogatepass: a JSON escape such as \ud800 decodes to a lone surrogate.
        key.encode("utf-8", "surrogatepass") if type(key) is str else None,
        ts if type(ts) is int and 0 < ts < MAX_TS else None,
    )


def unroutable_reason(line: bytes) -> str:
    """Why `route_line` refused a line, in a few words."""
    try:
        value: Any = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return "not JSON"
    except UnicodeDecodeError:
        return "not UTF-8"
    except RecursionError:
        return "nested too deeply"
    if not isinstance(value, dict):
        return f"a JSON {_json_kind(value)}, not an object"
    if "type" not in value:
        return "no type"
    kind = value["type"]
    if not isinstance(kind, str):
        return f"type is a JSON {_json_kind(kind)}"
    return f"type {kind[:40]!r} is neither agent.* nor call.*"


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
