"""The codec against each decoding rule of the event contract (shared/contract/events.md)."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams import codec
from streams.codec import ERROR_CODES, InvalidEvent, decode, encode
from streams.events import (
    EVENT_TYPES,
    TYPE_NAMES,
    AgentState,
    AgentStateChanged,
    CallDialed,
    CallDropped,
    Event,
    type_name,
)
from tests.strategies import EVENTS, json_values, mutated_bytes, mutated_objects

COMMON = {"v": 1, "event_id": "e-1", "ts": 1767603600000, "source": "dialer-1"}
AGENT = {"agent_id": "a1", "team_id": "T1", "campaign_id": "C1"}
CALL = {"call_id": "c1", "campaign_id": "C1"}


def _obj(event_type: str, **fields: Any) -> dict[str, Any]:
    return {"type": event_type, **COMMON, **fields}


MINIMAL: dict[str, dict[str, Any]] = {
    "agent.state logged_out": _obj("agent.state", **AGENT, state="logged_out"),
    "agent.state ready": _obj("agent.state", **AGENT, state="ready"),
    "agent.state on_call": _obj("agent.state", **AGENT, state="on_call", call_id="c1"),
    "agent.state wrap_up": _obj("agent.state", **AGENT, state="wrap_up"),
    "agent.state paused": _obj("agent.state", **AGENT, state="paused", reason="Lunch"),
    "agent.disposition": _obj("agent.disposition", **AGENT, call_id="c1", disposition="sale"),
    "call.dialed": _obj("call.dialed", **CALL),
    "call.answered": _obj("call.answered", **CALL, answered_by="human"),
    "call.unanswered": _obj("call.unanswered", **CALL, outcome="NO-ANSWER"),
    "call.dropped": _obj("call.dropped", **CALL),
    "call.connected": _obj("call.connected", **CALL, agent_id="a1", team_id="T1"),
    "call.ended": _obj("call.ended", **CALL),
    "call.queued": _obj("call.queued", **CALL),
    "call.abandoned": _obj("call.abandoned", **CALL),
}
"""One valid object per event type (and per agent state) with its required fields only."""

OPTIONAL = {"agent.state": {"site_id": "S1"}, "call.ended": {"disposition": "sale"}}
"""Every optional field that is not bound to `state`, with a valid value."""

ENUM_FIELDS = frozenset({"type", "state", "answered_by"})

TEXT_FIELDS = sorted(
    {
        (obj["type"], field, name)
        for name, obj in MINIMAL.items()
        for field, value in [*obj.items(), *OPTIONAL.get(obj["type"], {}).items()]
        if isinstance(value, str) and field not in ENUM_FIELDS
    }
)
"""(type, field, sample) for every free-text field: identifiers and codes, 1 to 128 code points."""


def dumps(obj: object, *, ensure_ascii: bool = True) -> bytes:
    return json.dumps(obj, ensure_ascii=ensure_ascii).encode()


def with_raw(obj: dict[str, Any], *members: str) -> bytes:
    """`obj` with JSON members appended as written, for what json.dumps cannot write: 1e3, NaN,
    repeated keys."""
    return dumps(obj)[:-1] + "".join(f", {member}" for member in members).encode() + b"}"


def without(obj: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key != field}


def error_code(data: bytes) -> str | None:
    """The InvalidEvent code decoding `data` raises, or None when it decodes."""
    try:
        decode(data)
    except InvalidEvent as exc:
        return exc.code
    return None


# --- valid events and encoding ---


def test_samples_cover_every_type_and_state() -> None:
    assert {obj["type"] for obj in MINIMAL.values()} == TYPE_NAMES
    assert {obj["state"] for obj in MINIMAL.values() if "state" in obj} == set(AgentState)


@pytest.mark.parametrize("name", MINIMAL)
def test_minimal_event_decodes_and_encodes_back_to_the_same_object(name: str) -> None:
    obj = MINIMAL[name]
    event = decode(dumps(obj))
    assert type_name(type(event)) == obj["type"]
    assert json.loads(encode(event)) == obj


@pytest.mark.parametrize("event_type", sorted(OPTIONAL))
def test_optional_fields_may_be_present(event_type: str) -> None:
    for obj in (o for o in MINIMAL.values() if o["type"] == event_type):
        extra = OPTIONAL[event_type]
        event = decode(dumps(obj | extra))
        assert all(getattr(event, field) == value for field, value in extra.items())


def test_encode_is_one_compact_line() -> None:
    data = encode(decode(dumps(MINIMAL["call.dialed"])))
    assert data.startswith(b"{") and data.endswith(b"}")
    assert b"\n" not in data and b", " not in data


# --- required fields, null, types ---


@pytest.mark.parametrize(
    ("name", "field"), [(name, field) for name, obj in MINIMAL.items() for field in obj]
)
def test_missing_required_field(name: str, field: str) -> None:
    # The `version` code is for a `v` that is there and wrong; a missing `v` is a missing field.
    expected = "type" if field == "type" else "schema"
    assert error_code(dumps(without(MINIMAL[name], field))) == expected


@pytest.mark.parametrize(
    ("name", "field"),
    sorted(
        {
            (name, field)
            for name, obj in MINIMAL.items()
            for field in [*obj, *OPTIONAL.get(obj["type"], {})]
            + (["reason", "call_id"] if obj["type"] == "agent.state" else [])
        }
    ),
)
def test_null_is_not_a_value_of_any_field(name: str, field: str) -> None:
    expected = {"v": "version", "type": "type"}.get(field, "schema")
    assert error_code(dumps(MINIMAL[name] | {field: None})) == expected


@pytest.mark.parametrize("raw", ["1.0", "1e3", "1E3", "1767603600000.0", "1.7676036e12", "true"])
def test_ts_must_be_a_json_integer(raw: str) -> None:
    assert error_code(with_raw(without(MINIMAL["call.dialed"], "ts"), f'"ts": {raw}')) == "schema"


@pytest.mark.parametrize("raw", ["1.0", "1e0", "1E0", "true", "false", '"1"', "[1]", "{}"])
def test_v_must_be_the_json_integer_1(raw: str) -> None:
    assert error_code(with_raw(without(MINIMAL["call.dialed"], "v"), f'"v": {raw}')) == "version"


@pytest.mark.parametrize("value", [0, 2, -1, 10, 2**64, 10**40])
def test_v_other_than_1(value: int) -> None:
    assert error_code(dumps(MINIMAL["call.dialed"] | {"v": value})) == "version"


def test_v_is_checked_before_type() -> None:
    assert error_code(dumps({"v": 2, "type": "agent.teleported"})) == "version"


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (-1, "schema"),
        (0, "schema"),
        (1, None),
        (2**53 - 1, None),
        (2**53, "schema"),
        (2**63, "schema"),
        (2**64 + 1, "schema"),
    ],
)
def test_ts_bounds(ts: int, expected: str | None) -> None:
    assert error_code(dumps(MINIMAL["call.dialed"] | {"ts": ts})) == expected


@pytest.mark.parametrize(("event_type", "field", "name"), TEXT_FIELDS)
def test_text_is_1_to_128_code_points(event_type: str, field: str, name: str) -> None:
    obj = MINIMAL[name] | OPTIONAL.get(event_type, {})
    cases = {
        "": "schema",
        "x": None,
        "x" * 128: None,
        "x" * 129: "schema",
        "é" * 128: None,
        # Astral characters: 128 code points are 256 UTF-16 code units, 512 UTF-8 bytes.
        "\U0001f600" * 128: None,
        "\U0001f600" * 129: "schema",
        "\U0001f600" * 127 + "xy": "schema",
    }
    for text, expected in cases.items():
        for ensure_ascii in (True, False):  # escaped surrogate pairs, and raw UTF-8
            data = dumps(obj | {field: text}, ensure_ascii=ensure_ascii)
            assert error_code(data) == expected, (field, len(text), ensure_ascii)


@pytest.mark.parametrize(("event_type", "field", "name"), TEXT_FIELDS)
@pytest.mark.parametrize("value", [1, 1.5, True, ["x"], {"x": "y"}])
def test_text_fields_must_be_strings(event_type: str, field: str, name: str, value: Any) -> None:
    obj = MINIMAL[name] | OPTIONAL.get(event_type, {})
    assert error_code(dumps(obj | {field: value})) == "schema"


# --- type, state rules, enumerations ---


@pytest.mark.parametrize(
    "value",
    ["agent.teleported", "", "AGENT.STATE", "agent.state ", "agent", 5, True, ["call.ended"]],
)
def test_unknown_type(value: object) -> None:
    assert error_code(dumps(MINIMAL["call.dialed"] | {"type": value})) == "type"


def test_unknown_type_wins_over_missing_fields() -> None:
    assert error_code(dumps({"v": 1, "type": "agent.teleported"})) == "type"
    assert error_code(b"{}") == "type"


@pytest.mark.parametrize("state", list(AgentState))
@pytest.mark.parametrize("reason", [None, "lunch"])
@pytest.mark.parametrize("call_id", [None, "c1"])
def test_reason_and_call_id_follow_state(
    state: AgentState, reason: str | None, call_id: str | None
) -> None:
    obj = _obj("agent.state", **AGENT, state=state.value)
    obj |= {} if reason is None else {"reason": reason}
    obj |= {} if call_id is None else {"call_id": call_id}
    valid = (reason is not None) == (state is AgentState.PAUSED) and (call_id is not None) == (
        state is AgentState.ON_CALL
    )
    assert error_code(dumps(obj)) == (None if valid else "schema")


@pytest.mark.parametrize("state", ["Paused", "PAUSED", "break", "on-call", "", "logged out"])
def test_unknown_state(state: str) -> None:
    assert error_code(dumps(MINIMAL["agent.state ready"] | {"state": state})) == "schema"


@pytest.mark.parametrize(
    ("answered_by", "expected"),
    [
        ("human", None),
        ("machine", None),
        ("Human", "schema"),
        ("MACHINE", "schema"),
        ("fax", "schema"),
        ("human ", "schema"),
        ("", "schema"),
        (1, "schema"),
    ],
)
def test_answered_by(answered_by: object, expected: str | None) -> None:
    obj = MINIMAL["call.answered"] | {"answered_by": answered_by}
    assert error_code(dumps(obj)) == expected


# --- unknown fields and repeated keys ---


@pytest.mark.parametrize("name", MINIMAL)
def test_unknown_fields_are_ignored(name: str) -> None:
    obj = MINIMAL[name]
    extra: dict[str, Any] = {
        "x": 1,
        "note": None,
        "V": 2,
        "Type": "agent.teleported",
        "nested": {"a": [1, None, {"b": True}], "v": 2},
        "deep": [[[[[[[[[[[]]]]]]]]]]],
        "": "",
    }
    expected = decode(dumps(obj))
    assert decode(dumps(obj | extra)) == expected
    # Valid JSON numbers that fit no float or int type are still valid in an ignored field.
    assert decode(with_raw(obj, '"huge": 1e400', '"long": 1' + "0" * 40)) == expected


# Each case: members appended to a valid call.dialed, and the expected code (None: valid).
REPEATS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "ts valid twice": (('"ts": 6',), None),
    "ts valid then invalid": (('"ts": 0',), "schema"),
    "ts invalid then valid": (('"ts": "x"', '"ts": 6'), None),
    "ts null then valid": (('"ts": null', '"ts": 6'), None),
    "v 1 then 2": (('"v": 2',), "version"),
    "v 2 then 1": (('"v": 2', '"v": 1'), None),
    "type to another type with the same fields": (('"type": "call.dropped"',), None),
    "type to a type whose fields are missing": (('"type": "agent.state"',), "schema"),
    "type to an unknown type": (('"type": "agent.teleported"',), "type"),
    "type to a number": (('"type": 5',), "type"),
    "type unknown then known": (('"type": "agent.teleported"', '"type": "call.dialed"'), None),
}


@pytest.mark.parametrize("case", REPEATS)
def test_a_repeated_key_counts_by_its_last_value(case: str) -> None:
    members, expected = REPEATS[case]
    assert error_code(with_raw(MINIMAL["call.dialed"], *members)) == expected


def test_repeated_type_decodes_as_the_last_type() -> None:
    event = decode(with_raw(MINIMAL["call.dialed"], '"type": "call.dropped"'))
    assert type(event) is CallDropped
    first_unknown = with_raw(_obj("agent.teleported", **CALL), '"type": "call.dialed"')
    assert type(decode(first_unknown)) is CallDialed


def test_repeated_ts_takes_the_last_value() -> None:
    event = decode(with_raw(MINIMAL["call.dialed"], '"ts": 6', '"ts": 7'))
    assert event.ts == 7


def test_repeated_state_is_checked_against_reason_by_its_last_value() -> None:
    ready = MINIMAL["agent.state ready"]
    paused_last = with_raw(ready, '"reason": "lunch"', '"state": "paused"')
    assert isinstance(decode(paused_last), AgentStateChanged)
    paused_first = with_raw(MINIMAL["agent.state paused"], '"state": "ready"')
    assert error_code(paused_first) == "schema"


# --- bytes that are not one strict JSON object ---

VALID_LINE = dumps(MINIMAL["call.dialed"])

NOT_UTF8 = {
    "byte ff in a value": VALID_LINE.replace(b"dialer-1", b"dialer-\xff"),
    "latin-1 in a value": VALID_LINE.replace(b"dialer-1", "dialer-é".encode("latin-1")),
    "byte ff in an unknown field": VALID_LINE[:-1] + b', "x": "\xff"}',
    "byte ff in a key": VALID_LINE[:-1] + b', "\xff": 1}',
    "overlong slash": VALID_LINE.replace(b"dialer-1", b"dialer\xc0\xaf1"),
    "encoded surrogate": VALID_LINE.replace(b"dialer-1", b"dialer\xed\xa0\x801"),
    "truncated sequence": VALID_LINE.replace(b"dialer-1", b"dialer\xe2\x82"),
    "utf-16": json.dumps(MINIMAL["call.dialed"]).encode("utf-16"),
    "utf-8 byte order mark": b"\xef\xbb\xbf" + VALID_LINE,
}

NOT_STRICT_JSON = {
    "NaN ts": with_raw(without(MINIMAL["call.dialed"], "ts"), '"ts": NaN'),
    "Infinity ts": with_raw(without(MINIMAL["call.dialed"], "ts"), '"ts": Infinity'),
    "NaN in an unknown field": with_raw(MINIMAL["call.dialed"], '"x": NaN'),
    "Infinity in an unknown field": with_raw(MINIMAL["call.dialed"], '"x": Infinity'),
    "-Infinity in an unknown field": with_raw(MINIMAL["call.dialed"], '"x": -Infinity'),
    "lone high surrogate": VALID_LINE.replace(b"dialer-1", b"dialer\\ud83d"),
    "lone low surrogate": VALID_LINE.replace(b"dialer-1", b"dialer\\ude00"),
    "reversed surrogates": VALID_LINE.replace(b"dialer-1", b"\\ude00\\ud83d"),
    "lone surrogate in an unknown field": with_raw(MINIMAL["call.dialed"], r'"x": "\ud800"'),
    "trailing garbage": VALID_LINE + b" x",
    "two objects": VALID_LINE + VALID_LINE,
    "trailing comma after the object": VALID_LINE + b",",
    "trailing comma in the object": VALID_LINE[:-1] + b",}",
    "single quotes": VALID_LINE.replace(b'"source"', b"'source'"),
    "unquoted key": VALID_LINE.replace(b'"source"', b"source"),
    "comment": VALID_LINE[:-1] + b" /* ok */}",
    "leading zero": with_raw(without(MINIMAL["call.dialed"], "ts"), '"ts": 01'),
    "plus sign": with_raw(without(MINIMAL["call.dialed"], "ts"), '"ts": +1'),
    "hex": with_raw(without(MINIMAL["call.dialed"], "ts"), '"ts": 0x10'),
    "raw tab in a string": VALID_LINE.replace(b"dialer-1", b"dialer\t1"),
    "raw newline in a string": VALID_LINE.replace(b"dialer-1", b"dialer\n1"),
    "truncated": VALID_LINE[:-10],
    "unclosed": VALID_LINE[:-1],
    "empty": b"",
    "white space only": b" \n",
}

NOT_AN_OBJECT = {
    "array holding a valid event": b"[" + VALID_LINE + b"]",
    "empty array": b"[]",
    "string": json.dumps(VALID_LINE.decode()).encode(),
    "integer": b"1",
    "float": b"1.5",
    "true": b"true",
    "null": b"null",
}


@pytest.mark.parametrize("case", NOT_UTF8)
def test_not_utf8(case: str) -> None:
    assert error_code(NOT_UTF8[case]) == "json"


@pytest.mark.parametrize("case", NOT_STRICT_JSON)
def test_not_strict_json(case: str) -> None:
    assert error_code(NOT_STRICT_JSON[case]) == "json"


@pytest.mark.parametrize("case", NOT_AN_OBJECT)
def test_not_an_object(case: str) -> None:
    assert error_code(NOT_AN_OBJECT[case]) == "json"


def test_white_space_around_the_object_is_json() -> None:
    assert decode(b" \t" + VALID_LINE + b"\r\n") == decode(VALID_LINE)


def test_deep_nesting_is_refused_as_json_not_raised() -> None:
    # msgspec raises RecursionError on deep nesting, even inside an ignored field.
    depth = 100_000
    assert (
        error_code(with_raw(MINIMAL["call.dialed"], '"x": ' + "[" * depth + "]" * depth)) == "json"
    )
    nested_after_a_bad_field = with_raw(
        MINIMAL["call.dialed"], '"ts": "x"', '"x": ' + "[" * depth + "]" * depth
    )
    assert error_code(nested_after_a_bad_field) == "json"
    assert error_code(b"[" * depth + b"]" * depth) == "json"


# --- error codes ---

ONE_PER_CODE = {
    "json": b"[]",
    "version": dumps(MINIMAL["call.dialed"] | {"v": 2}),
    "type": dumps(MINIMAL["call.dialed"] | {"type": "agent.teleported"}),
    "schema": dumps(without(MINIMAL["call.dialed"], "source")),
}


def test_error_codes_are_the_documented_ones() -> None:
    assert set(ERROR_CODES) == set(typing.get_args(codec.ErrorCode)) == set(ONE_PER_CODE)


@pytest.mark.parametrize("code", ERROR_CODES)
def test_each_error_code_is_raised_with_a_one_line_message(code: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode(ONE_PER_CODE[code])
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{code}: ")
    assert "\n" not in str(caught.value)


# --- properties ---


@settings(max_examples=400, deadline=None)
@given(EVENTS)
def test_round_trip(event: Event) -> None:
    decoded = decode(encode(event))
    assert type(decoded) is type(event)
    assert decoded == event


@settings(max_examples=500, deadline=None)
@given(
    st.binary(max_size=200)
    | mutated_bytes()
    | mutated_objects()
    | json_values(finite=False).map(lambda value: json.dumps(value).encode())
)
def test_any_bytes_decode_to_an_event_or_raise_invalid_event(data: bytes) -> None:
    try:
        event = decode(data)
    except InvalidEvent as exc:
        assert exc.code in ERROR_CODES
        assert "\n" not in str(exc)
    else:
        assert isinstance(event, EVENT_TYPES)
