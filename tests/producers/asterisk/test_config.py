"""[sources.asterisk]: defaults, lookups, and problems named by their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.asterisk.config import AsteriskSource
from streams.config import ConfigError, load


def load_source(path: Path | None = None) -> AsteriskSource:
    return load(path).config.sources.asterisk or AsteriskSource()


EXAMPLE = """\
[codes.aliases]
NAMAZ = "prayer"

[sources.asterisk]
source = "asterisk-lahore"
site = "lahore-1"
campaigns = { sales = "sales-inbound", care = "customer-care" }
outbound_queues = ["vdad"]
teams = { agent101 = "team-a", "PJSIP/7002" = "team-b" }
default_team = "floor"
interfaces = { "SIP/7001" = "agent101" }
interface_patterns = ["PJSIP/{name}", "Local/{name}@agents/n"]
wrapup_s = { sales = 8, care = 6 }
default_wrapup_s = 5
no_reason = "none"
"""


def test_the_defaults() -> None:
    config = AsteriskSource()
    assert (config.source, config.site, config.default_team, config.no_reason) == (
        "asterisk",
        None,
        "unassigned",
        "unspecified",
    )
    assert config.campaign("sales") == "sales"
    assert config.team("agent101", "PJSIP/agent101") == "unassigned"
    assert config.wrapup_ms("sales") == 0
    assert config.member_name("Local/agent101@agents/n") == "Local/agent101@agents/n"


def test_every_key_of_the_example(tmp_path: Path) -> None:
    path = tmp_path / "floor.toml"
    path.write_text(EXAMPLE)
    config = load_source(path)
    assert config.campaign("care") == "customer-care" and config.campaign("other") == "other"
    assert config.team("agent101") == "team-a"
    assert config.team("bea", "PJSIP/7002") == "team-b"  # by its interface
    assert config.team("cem") == "floor"
    assert config.member_name("SIP/7001") == "agent101"
    assert config.member_name("PJSIP/7002") == "7002"
    assert config.member_name("Local/agent103@agents/n") == "agent103"
    assert (config.wrapup_ms("care"), config.wrapup_ms("other")) == (6000, 5000)
    assert config.outbound_queues == ["vdad"] and config.site == "lahore-1"


def test_a_file_without_the_table_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "floor.toml"
    path.write_text('[codes.aliases]\nBRK = "break"\n')
    assert load_source(path) == AsteriskSource()
    monkeypatch.setenv("FLOORPULSE_CONFIG", str(path))
    assert load_source() == AsteriskSource()
    monkeypatch.delenv("FLOORPULSE_CONFIG")
    assert load_source() == AsteriskSource()


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("wrapup_sec = 8", "sources.asterisk.wrapup_sec (line 2): unknown key"),
        (
            "wrapup_s = { sales = -1 }",
            "sources.asterisk.wrapup_s.sales (line 2): Input should be greater",
        ),
        ('interface_patterns = ["PJSIP/7001"]', "each pattern needs {name} once"),
        ('source = ""', "sources.asterisk.source (line 2): String should have at least 1"),
        ("teams = { a = 3 }", "sources.asterisk.teams.a (line 2): Input should be a valid string"),
    ],
)
def test_a_bad_value_is_one_line_naming_its_key(tmp_path: Path, table: str, problem: str) -> None:
    path = tmp_path / "floor.toml"
    path.write_text(f"[sources.asterisk]\n{table}\n")
    with pytest.raises(ConfigError) as caught:
        load_source(path)
    message = str(caught.value)
    assert problem in message and "\n" not in message
    assert message.startswith(f"bad configuration in {path}: ")


def test_a_file_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_source(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("[sources.asterisk\n")
    with pytest.raises(ConfigError, match="not TOML"):
        load_source(tmp_path / "bad.toml")
