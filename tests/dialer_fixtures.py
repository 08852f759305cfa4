"""Real dialers' data (shared/dialers beside this clone), used where it lies, never copied.

Without the folder a test that needs it is skipped and says why, except in CI (CI=true), where
its absence is a failure: CI must run every test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DIALERS = Path(__file__).resolve().parents[2] / "shared" / "dialers"


def dialer_path(*parts: str) -> Path:
    """`shared/dialers/<parts>`; the calling test skips when it is absent (fails under CI)."""
    path = DIALERS.joinpath(*parts)
    if not path.exists():
        why = (
            f"{path} is absent: the real dialers' data lives in ../shared/dialers beside the clone"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{why}, and CI must run every test", pytrace=False)
        pytest.skip(why)
    return path


def dialer_names(folder: str, pattern: str) -> list[str]:
    """Names of the files matching `pattern` in a folder of shared/dialers, for parametrizing;
    a placeholder when the folder is absent, so that the test runs and says so."""
    found = sorted(p.name for p in (DIALERS / folder).glob(pattern))
    return found or [f"(no {pattern} in {folder})"]
