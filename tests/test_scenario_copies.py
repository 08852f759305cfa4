"""The project's copies of the example floors and of the metrics contract are the contract's,
byte for byte."""

from __future__ import annotations

import pytest

from tests.dashboards.contract import METRICS_MD
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


@pytest.mark.skipif(not SHARED_SCENARIOS.is_dir(), reason="shared/ is not beside this clone")
def test_the_metrics_contract_copy_matches() -> None:
    original = SHARED_SCENARIOS.parent / "contract" / "metrics.md"
    assert METRICS_MD.read_bytes() == original.read_bytes(), f"{METRICS_MD} drifted"
