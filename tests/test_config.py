"""The floor's configuration file: parsed, refused line by line, and changing the numbers as the
contract says (aliases, extra codes, each threshold)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from producers.floor import HOUR, FloorConfig
from producers.simulator import simulate
from streams.analyze import analyze
from streams.codec import encode
from streams.config import ConfigError, describe, load, parse
from streams.engine import DEFAULT_PARAMS
from tests.engine.builders import (
    answered,
    connected,
    dialed,
    dispo,
    ended,
    lines,
    paused,
    queued,
    ready,
    unanswered,
)
from tests.scenarios import scenario_logs

EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "floorpulse.example.toml"


def report_with(events: list[Any], text: str) -> dict[str, Any]:
    return analyze(lines(events), parse(text).params())


def floorpulse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, check=False
    )


# parsing ----------------------------------------------------------------------------------------


def test_the_example_file_is_valid_and_its_effective_form_reads_back_the_same() -> None:
    loaded = load(EXAMPLE)
    assert loaded.config.thresholds.streak_n == 14
    assert loaded.config.sources.vicidial is not None
    again = parse(describe(loaded))
    assert again == loaded.config
    assert again.fingerprint() == loaded.config.fingerprint()


def test_no_file_means_the_contract_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOORPULSE_CONFIG", raising=False)
    loaded = load()
    assert loaded.path is None
    assert loaded.config.params() == DEFAULT_PARAMS


def test_the_environment_names_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOORPULSE_CONFIG", str(EXAMPLE))
    assert load().path == EXAMPLE


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[thresholds]\nstreak_n = 1\n", "thresholds.streak_n (line 2): Input should be greater"),
        ("[thresholds]\nstreak_n = 1\n", "nearly every short run of calls"),
        ("[thresholds]\n\nstretch_s = 99999\n", "thresholds.stretch_s (line 3): Input should"),
        ("[thresholds]\nstreak_n = 'eight'\n", "thresholds.streak_n (line 2): Input should be"),
        ("[thresholds]\nstreak = 8\n", "thresholds.streak (line 2): unknown key"),
        ("[threshold]\nstreak_n = 8\n", "threshold (line 1): unknown key"),
        (
            "[thresholds]\nrecovery_s = 1800\nstretch_s = 1800\n",
            "stretch_s must be longer than recovery_s",
        ),
        ("[codes.aliases]\nNAMAZ = 'prayers'\n", "codes.aliases (line 1): NAMAZ names no known"),
        ("[codes]\npositive = ['x']\nnegative = ['X ']\n", "x cannot be both positive"),
        ("[privacy]\nmin_group_size = 1\n", "could point at one person"),
        ("[sources.vicidial]\nuser_groups = 3\n", "sources.vicidial.user_groups (line 2)"),
        ("[thresholds\n", "not TOML"),
    ],
)
def test_each_kind_of_bad_value_is_one_clear_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, "floor.toml")
    assert any(problem in line for line in caught.value.problems), caught.value.problems
    assert all("\n" not in line for line in caught.value.problems)
    assert str(caught.value).startswith("bad configuration in floor.toml")


def test_every_problem_is_reported_at_once() -> None:
    text = "[thresholds]\nstreak_n = 1\nshift_s = 1\n[privacy]\nmin_group_size = 0\n"
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert [p.split(" ")[0] for p in caught.value.problems] == [
        "thresholds.streak_n",
        "thresholds.shift_s",
        "privacy.min_group_size",
    ]


def test_config_check_prints_the_configuration_or_every_problem(tmp_path: Path) -> None:
    done = floorpulse("config", "check", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert "streak_n = 14" in done.stdout
    assert "fingerprint" in done.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds]\nstreak_n = 1\nstretch_ss = 2\n")
    done = floorpulse("config", "check", str(bad))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "2 problem(s)" in done.stderr
    assert "Traceback" not in done.stderr
    missing = floorpulse("analyze", "-", "--config", str(tmp_path / "none.toml"))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "cannot read it" in missing.stderr


# what it changes --------------------------------------------------------------------------------


def test_aliases_turn_a_sites_codes_into_the_contracts() -> None:
    events = [
        ready("a1", 0),
        paused("a1", 60, reason="NAMAZ"),
        paused("a1", 400, reason="BRK"),
        ready("a1", 700),
        dispo("a1", 710, "NI"),
    ]
    plain = report_with(events, "")["teams"]["T1"]
    assert set(plain["breaks"]["by_reason"]) == {"other"}
    assert plain["dispositions"]["negative"] == 0
    mapped = report_with(
        events, "[codes.aliases]\nNAMAZ = 'prayer'\nBRK = 'break'\nNI = 'not_interested'\n"
    )
    team = mapped["teams"]["T1"]
    assert team["breaks"]["by_reason"] == {
        "prayer": {"count": 1, "seconds": 340.0},
        "break": {"count": 1, "seconds": 300.0},
    }
    assert team["dispositions"]["negative"] == 1


def test_extra_codes_add_classes_reasons_and_outcomes() -> None:
    events = [
        ready("a1", 0),
        dispo("a1", 5, "upsell"),
        dispo("a1", 6, "sale"),
        paused("a1", 10, reason="one to one"),
        ready("a1", 100),
        dialed("c1", 0),
        unanswered("c1", 20, "carrier-blocked"),
    ]
    text = (
        "[codes]\npositive = ['UPSELL']\nneutral = ['sale']\npause_reasons = ['one_to_one']\n"
        "unanswered_outcomes = ['carrier_blocked']\n"
    )
    report = report_with(events, text)
    assert report["teams"]["T1"]["dispositions"] == {"positive": 1, "negative": 0, "neutral": 1}
    assert set(report["teams"]["T1"]["breaks"]["by_reason"]) == {"one_to_one"}
    assert report["campaigns"]["C1"]["unanswered_by_outcome"] == {"carrier_blocked": 1}


def streak(n: int) -> list[Any]:
    return [ready("a1", 0), *(dispo("a1", 10 + i, "not_interested") for i in range(n))]


@pytest.mark.parametrize(
    ("events", "setting", "look", "default", "configured"),
    [
        (
            streak(10),
            "streak_n = 10",
            lambda r: r["teams"]["T1"]["checkins"]["rejection_streak"],
            1,
            1,
        ),
        (
            streak(9),
            "streak_n = 10",
            lambda r: r["teams"]["T1"]["checkins"]["rejection_streak"],
            1,
            0,
        ),
        (
            [ready("a1", 0), ready("a1", 2 * 3600)],
            "stretch_s = 7201",
            lambda r: r["teams"]["T1"]["checkins"]["long_stretch"],
            1,
            0,
        ),
        (
            [ready("a1", 0), paused("a1", 3000), ready("a1", 3200), ready("a1", 6000)],
            "recovery_s = 180",
            lambda r: r["teams"]["T1"]["checkins"]["long_stretch"],
            1,
            0,
        ),
        (
            [dialed("c1", 0), answered("c1", 1), connected("c1", 3.5), ended("c1", 60)],
            "abandon_after_ms = 3000",
            lambda r: r["campaigns"]["C1"]["late_connected"],
            1,
            0,
        ),
        (
            [queued("c1", 0), connected("c1", 25)],
            "service_level_ms = 30000",
            lambda r: r["campaigns"]["C1"]["inbound"]["answered_within_sl"],
            0,
            1,
        ),
        (
            [queued("c1", 0), connected("c1", 1), queued("c2", 0), ended("c2", 7)],
            "short_abandon_ms = 8000",
            lambda r: r["campaigns"]["C1"]["inbound"]["abandoned_short"],
            0,
            1,
        ),
        (
            [ready("a1", 0), ready("a1", 9.5 * 3600)],
            "shift_s = 36000",
            lambda r: r["teams"]["T1"]["checkins"]["long_shift"],
            1,
            0,
        ),
    ],
)
def test_each_threshold_moves_its_statistic(
    events: list[Any], setting: str, look: Any, default: int, configured: int
) -> None:
    assert look(report_with(events, "")) == default
    assert look(report_with(events, f"[thresholds]\n{setting}\n")) == configured


def test_every_threshold_reaches_the_engine() -> None:
    changed = {
        "recovery_s": 600,
        "stretch_s": 7200,
        "occupancy_window_s": 1800,
        "occupancy_threshold": 0.8,
        "streak_n": 12,
        "session_gap_s": 3600,
        "shift_s": 36000,
        "abandon_after_ms": 1000,
        "service_level_ms": 30000,
        "short_abandon_ms": 1000,
    }
    assert set(changed) == set(load(EXAMPLE).config.thresholds.model_dump())
    text = "[thresholds]\n" + "".join(f"{k} = {v}\n" for k, v in changed.items())
    params = parse(text).params()
    for key, value in changed.items():
        assert getattr(params, key) == value, key


def test_the_example_configuration_gives_check_ins_a_lead_can_act_on() -> None:
    config = FloorConfig(agents=40, teams=4, campaigns=2, duration_ms=8 * HOUR)
    day = [encode(event) + b"\n" for event in simulate(config, random.Random(1))]

    def streaks(params: Any) -> int:
        report = analyze(day, params)
        return sum(t["checkins"]["rejection_streak"] for t in report["teams"].values())

    at_default, at_example = streaks(DEFAULT_PARAMS), streaks(load(EXAMPLE).config.params())
    assert at_default > 30
    # About one a team a day: each one a moment worth a word, not noise.
    assert 1 <= at_example <= 15


# privacy ----------------------------------------------------------------------------------------


def test_teams_under_the_minimum_size_never_show_in_the_text_report() -> None:
    from streams.report_text import render_text

    events = [
        *(ready(f"big-{n}", 0, team="BIG") for n in range(6)),
        *(ready(f"small-{n}", 0, team=f"SMALL{n % 2}") for n in range(4)),
        ready("alone", 0, team="ALONE"),
        *(paused(f"big-{n}", 3600) for n in range(6)),
        *(paused(f"small-{n}", 1800) for n in range(4)),
        paused("alone", 600),
    ]
    report = analyze(lines(events))
    text = render_text(report, 5)
    assert "BIG" in text
    for small in ("SMALL0", "SMALL1", "ALONE"):
        assert small not in text
    together = next(line for line in text.splitlines() if "teams under 5 people, together" in line)
    assert together.split("together")[1].split()[0] == "5"
    # Two teams of two people alone are fewer than five together: no number of theirs shows.
    report["teams"].pop("ALONE")
    text = render_text(report, 5)
    assert "together" not in text
    assert "2 teams with fewer than 5 people in all: not shown" in text
    assert "SMALL" not in text


def test_the_json_report_stays_complete() -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("basic"))
    done = floorpulse("analyze", str(log), "--config", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert '"T1"' in done.stdout  # one person's team: in the engineers' JSON, never in the text
    text = floorpulse("analyze", str(log), "--format", "text", "--config", str(EXAMPLE))
    assert "T1 " not in text.stdout


def test_the_pacing_limits_reach_the_advice() -> None:
    limits = parse("[pacing]\nabandon_target = 0.01\noccupancy_ceiling = 0.8\n").pacing.limits()
    assert (limits.abandon_target, limits.occupancy_ceiling) == (0.01, 0.8)
    with pytest.raises(ConfigError, match=r"pacing.abandon_target \(line 2\).*3% line"):
        parse("[pacing]\nabandon_target = 0.05\n")
