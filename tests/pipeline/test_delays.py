"""The event delay histogram, observed once per batch: the same buckets and counts as one
observation per event."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.engine.calls import DAY_MS
from streams.pipeline.batch import observe_delays
from streams.pipeline.entries import EVENT_DELAY_BOUNDS_MS, PartitionEntry

NOW_MS = 1_800_000_000_000

# Around every bucket bound, both sides of it, and far ahead of or behind the clock.
offsets = st.one_of(
    st.sampled_from([0, 1, -1, DAY_MS, DAY_MS + 1, *EVENT_DELAY_BOUNDS_MS]).flatmap(
        lambda bound: st.sampled_from([bound - 1, bound, bound + 1])
    ),
    st.integers(min_value=-2 * DAY_MS, max_value=3 * DAY_MS),
)


def one_by_one(progress: PartitionEntry, stamps: list[int], now_ms: int) -> None:
    """What the worker did per event before it observed batches."""
    for ts in stamps:
        delay = now_ms - ts
        if delay < 0:
            progress.ahead += 1
        else:
            progress.delay.observe(delay, EVENT_DELAY_BOUNDS_MS)
            if delay > DAY_MS:
                progress.behind += 1


@given(st.lists(st.lists(offsets, max_size=60), max_size=4))
def test_a_batch_observes_what_its_events_would_one_by_one(batches: list[list[int]]) -> None:
    together, apart = PartitionEntry(), PartitionEntry()
    for delays in batches:
        stamps = [NOW_MS - delay for delay in delays]
        one_by_one(apart, stamps, NOW_MS)
        observe_delays(together, stamps, NOW_MS)
    assert together == apart


def test_every_bucket_takes_its_own_events() -> None:
    progress = PartitionEntry()
    delays = [0, 50, 51, 100, 3_600_000, 3_600_001, DAY_MS + 1, -5]
    observe_delays(progress, [NOW_MS - d for d in delays], NOW_MS)
    assert progress.delay.counts == [2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]
    assert progress.delay.sum_ms == sum(d for d in delays if d >= 0)
    assert (progress.ahead, progress.behind) == (1, 1)
