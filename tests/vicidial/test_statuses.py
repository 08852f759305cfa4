"""VICIdial's system statuses as it ships them (its schema's `vicidial_statuses` and
`cpd_statuses.sql`): what the default mapping makes of a dialer call that ends with each, against
VICIdial's own flags for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from producers.vicidial.config import VicidialSource
from producers.vicidial.translate import Translator
from tests.dialer_fixtures import dialer_path
from tests.vicidial.test_translate import call, seen

STATUS_ROW = re.compile(
    r"INSERT INTO vicidial_statuses \(([^)]*)\)\s*values\s*\(([^)]*)\);", re.IGNORECASE
)
# Statuses a lead has before or instead of a call (VICIdial's hopper and lead lists): never the
# end of a dialer's call.
LEAD_ONLY = {"NEW", "QUEUE", "INCALL", "DNCL", "DNCC", "LSMERG"}
# In-group outcomes: they end a caller's wait in vicidial_closer_log, not a dialer's call.
QUEUE_ONLY = {"TIMEOT", "AFTHRS", "NANQUE", "MAXCAL", "QVMAIL", "RQXFER"}
# What VICIdial flags as neither a person nor a machine, and floorpulse counts as a person's
# answer by default: broadcast, survey and agent-error outcomes (the README says how a floor that
# uses them lists them).
HUMAN_HERE_NOT_THERE = {"PU", "PM", "ERI", "SVYEXT", "SVYVM", "SVYHU", "SVYREC"}


def shipped(*files: Path) -> dict[str, dict[str, str]]:
    statuses = {}
    for path in files:
        for columns, values in STATUS_ROW.findall(path.read_text(encoding="utf-8")):
            row = dict(
                zip(
                    [c.strip() for c in columns.split(",")],
                    [v.strip().strip("'") for v in values.split(",")],
                    strict=True,
                )
            )
            statuses[row["status"]] = row
    return statuses


@pytest.fixture(scope="module")
def statuses() -> dict[str, dict[str, str]]:
    found = shipped(
        dialer_path("vicidial", "MySQL_AST_CREATE_tables.sql"),
        dialer_path("vicidial", "cpd_statuses.sql"),
    )
    assert len(found) >= 60
    return found


def ending(status: str) -> tuple[str, str]:
    """What a dialer's call ended with `status` is: its second event, and what it says."""
    kind, _, what = seen(Translator(VicidialSource()).call_rows([call(status)], {}))[1]
    return kind, what


def test_every_call_progress_status_is_a_call_nobody_answered(
    statuses: dict[str, dict[str, str]],
) -> None:
    progress = [s for s in statuses if s.startswith("CPD")]
    assert len(progress) == 13
    for status in progress:
        assert ending(status)[0] == "call.unanswered", status


def test_every_status_vicidial_counts_as_a_persons_answer_is_one_here(
    statuses: dict[str, dict[str, str]],
) -> None:
    human = [s for s, row in statuses.items() if row["human_answered"] == "Y"]
    assert {"SALE", "NI", "DROP", "XDROP", "CALLBK"} <= set(human)
    for status in human:
        assert ending(status) == ("call.answered", "human"), status


def test_every_answering_machine_status_is_a_machine_here(
    statuses: dict[str, dict[str, str]],
) -> None:
    machines = [s for s, row in statuses.items() if row.get("answering_machine") == "Y"]
    assert sorted(machines) == ["A", "AL", "AM"]
    for status in machines:
        assert ending(status) == ("call.answered", "machine"), status


def test_where_vicidial_sees_no_person_but_floorpulse_does_is_exactly_what_the_readme_names(
    statuses: dict[str, dict[str, str]],
) -> None:
    differ = {
        status
        for status, row in statuses.items()
        if row["human_answered"] != "Y"
        and status not in LEAD_ONLY | QUEUE_ONLY
        and ending(status) == ("call.answered", "human")
    }
    assert differ == HUMAN_HERE_NOT_THERE
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for status in sorted(differ):
        assert f"`{status}`" in readme, status
