"""The committed JSON Schema: current, valid draft 2020-12, and in agreement with the decoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from streams.cli import main
from streams.codec import InvalidEvent, decode, encode
from streams.events import AgentState, Event
from streams.logfile import open_log
from streams.schema import event_schema, render
from tests.scenarios import scenario_logs
from tests.strategies import EVENTS, json_values, mutated_bytes, mutated_objects

ROOT: Final = Path(__file__).resolve().parents[1]
SCHEMA_FILE: Final = ROOT / "docs" / "events.schema.json"
REGENERATE: Final = "floorpulse schema --out docs/events.schema.json"


def _integer(checker: object, instance: object) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator: Final = jsonschema.validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _integer),
)
"""Draft 2020-12 with one change: "integer" is a JSON integer, as the contract says.

The draft counts 1.0 as an integer (a number with a zero fractional part), so jsonschema's own
Draft202012Validator accepts `"ts": 1.0` and `"v": 1.0`, which the decoder refuses. The agreement
tests would be dishonest without this; integrators using a stock validator should know that such
values pass it and are still refused by floorpulse.
"""

VALIDATOR: Final = StrictValidator(event_schema())

NOT_JSON: Final = object()
"""What `parse_strict` returns for bytes that are not one strict JSON value."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_strict(data: bytes) -> Any:
    """The JSON value in `data` as a strict parser reads it, or NOT_JSON.

    Python's json module takes NaN and Infinity, and unpaired surrogate escapes such as "\\ud800",
    which strict JSON (and the decoder) refuse; it also reads bytes in UTF-16 or with a byte order
    mark. Those are closed off here so that the schema is compared with the decoder fairly.
    A repeated key keeps its last value, as the contract says.
    """
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return NOT_JSON
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not _is_utf8_encodable(item):
            return NOT_JSON
    return value


def _is_utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def schema_accepts(data: bytes) -> bool:
    value = parse_strict(data)
    return value is not NOT_JSON and VALIDATOR.is_valid(value)


def decoder_accepts(data: bytes) -> bool:
    try:
        decode(data)
    except InvalidEvent:
        return False
    return True


def assert_agree(data: bytes) -> None:
    by_decoder, by_schema = decoder_accepts(data), schema_accepts(data)
    assert by_decoder == by_schema, f"decoder accepts: {by_decoder}, schema: {by_schema}: {data!r}"


# --- the committed file ---


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.is_file(), f"{SCHEMA_FILE} is missing: run `{REGENERATE}`"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), (
        f"{SCHEMA_FILE.name} is out of date with the event types: run `{REGENERATE}`"
    )


def test_render_is_stable_sorted_json_with_a_trailing_newline() -> None:
    text = render()
    assert text == render()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    schema = json.loads(text)
    assert schema == event_schema()
    assert list(schema) == sorted(schema)


def test_schema_is_valid_draft_2020_12() -> None:
    schema = event_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    Draft202012Validator.check_schema(schema)


def test_the_cli_prints_and_writes_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == render()
    out = tmp_path / "events.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert out.read_bytes() == render().encode()
    assert main(["schema", "--out", str(tmp_path / "missing" / "events.schema.json")]) == 1
    assert "cannot write" in capsys.readouterr().err


# --- agreement with the decoder ---


@pytest.mark.parametrize("log", scenario_logs(), ids=lambda path: path.name)
def test_schema_and_decoder_agree_on_every_scenario_line(log: Path) -> None:
    disagreements = []
    with open_log(str(log)) as lines:
        for number, line in enumerate(lines, start=1):
            by_decoder, by_schema = decoder_accepts(line), schema_accepts(line)
            if by_decoder != by_schema:
                disagreements.append(f"line {number}: decoder {by_decoder}, schema {by_schema}")
    assert not disagreements, "\n".join(disagreements[:20])


@pytest.mark.parametrize(
    "data",
    [
        b'{"v": 1.0, "type": "call.dialed", "event_id": "e", "ts": 5, "source": "s",'
        b' "call_id": "c", "campaign_id": "k"}',
        b'{"v": 1, "type": "call.dialed", "event_id": "e", "ts": 5.0, "source": "s",'
        b' "call_id": "c", "campaign_id": "k"}',
        b'{"v": true, "type": "call.dialed", "event_id": "e", "ts": 5, "source": "s",'
        b' "call_id": "c", "campaign_id": "k"}',
    ],
)
def test_floats_and_booleans_are_not_integers(data: bytes) -> None:
    assert not decoder_accepts(data)
    assert not schema_accepts(data)


def test_a_stock_validator_takes_1_0_as_an_integer() -> None:
    # Why StrictValidator exists: if this ever fails, the custom type checker can go.
    obj = {"v": 1.0, "type": "call.dialed", "event_id": "e", "ts": 5.0, "source": "s"}
    obj |= {"call_id": "c", "campaign_id": "k"}
    assert Draft202012Validator(event_schema()).is_valid(obj)


@pytest.mark.parametrize(
    "data",
    [
        b'{"v": NaN}',
        b'{"v": 1, "type": "call.dialed", "event_id": "\\ud800", "ts": 5, "source": "s",'
        b' "call_id": "c", "campaign_id": "k"}',
        b'{"v": 1, "type": "call.dialed", "event_id": "e", "ts": 5, "source": "s",'
        b' "call_id": "c", "campaign_id": "k", "x": Infinity}',
        b"\xef\xbb\xbf{}",
        '{"v": 1}'.encode("utf-16"),
    ],
)
def test_what_python_json_takes_but_strict_json_does_not(data: bytes) -> None:
    assert parse_strict(data) is NOT_JSON
    assert not decoder_accepts(data)


@pytest.mark.parametrize("state", [*AgentState, "break"])
@pytest.mark.parametrize("reason", [None, "lunch"])
@pytest.mark.parametrize("call_id", [None, "c1"])
def test_schema_and_decoder_agree_on_reason_and_call_id(
    state: str, reason: str | None, call_id: str | None
) -> None:
    obj = {"v": 1, "type": "agent.state", "event_id": "e", "ts": 5, "source": "s", "state": state}
    obj |= {"agent_id": "a", "team_id": "t", "campaign_id": "k"}
    obj |= {} if reason is None else {"reason": reason}
    obj |= {} if call_id is None else {"call_id": call_id}
    assert_agree(json.dumps(obj).encode())


@settings(max_examples=300, deadline=None)
@given(EVENTS)
def test_schema_accepts_every_valid_event(event: Event) -> None:
    data = encode(event)
    assert schema_accepts(data), data


@settings(max_examples=500, deadline=None)
@given(mutated_objects())
def test_schema_and_decoder_agree_on_mutated_events(data: bytes) -> None:
    assert_agree(data)


@settings(max_examples=300, deadline=None)
@given(
    mutated_bytes()
    | st.binary(max_size=100)
    | json_values(finite=False).map(lambda value: json.dumps(value).encode())
)
def test_schema_and_decoder_agree_on_other_bytes(data: bytes) -> None:
    assert_agree(data)
