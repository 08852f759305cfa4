"""Without ../shared/dialers a test that needs it skips and says why; in CI it fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import dialer_fixtures


def test_an_absent_folder_skips_the_test_outside_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialer_fixtures, "DIALERS", tmp_path / "dialers")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"lives in \.\./shared/dialers"):
        dialer_fixtures.dialer_path("asterisk", "floor-a")
    assert dialer_fixtures.dialer_names("asterisk/floor-a", "*.txt") == [
        "(no *.txt in asterisk/floor-a)"
    ]


def test_an_absent_folder_fails_the_test_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialer_fixtures, "DIALERS", tmp_path / "dialers")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run every test"):
        dialer_fixtures.dialer_path("asterisk", "floor-a")


def test_a_present_file_is_used_where_it_lies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "asterisk").mkdir()
    (tmp_path / "asterisk" / "queue_log").write_text("")
    monkeypatch.setattr(dialer_fixtures, "DIALERS", tmp_path)
    assert (
        dialer_fixtures.dialer_path("asterisk", "queue_log") == tmp_path / "asterisk" / "queue_log"
    )
