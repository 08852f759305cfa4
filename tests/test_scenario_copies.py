"""The project's copy of the example floors is the contract's, byte for byte."""

from __future__ import annotations

import pytest

from tests.scenarios import SCENARIOS, SHARED_SCENARIOS


@pytest.mark.skipif(not SHARED_SCENARIOS.is_dir(), reason="shared/ is not beside this clone")
def test_copies_match_the_contract() -> None:
    copies = sorted(
        p.relative_to(SCENARIOS)
        for p in SCENARIOS.rglob("*")
        if p.is_file() and p.name != "README.md"
    )
    assert copies
    for relative in copies:
        original = SHARED_SCENARIOS / relative
        assert original.is_file(), f"{relative} is not in {SHARED_SCENARIOS}"
        assert (SCENARIOS / relative).read_bytes() == original.read_bytes(), f"{relative} drifted"
