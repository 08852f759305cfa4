"""Bounded label sets on /metrics: campaigns, queues and teams beyond a maximum become `other`.

Prometheus keeps a series per label value, and a scrape renders every one; a sender that names
50,000 campaigns would make /metrics take seconds to render and Prometheus time out. So each
worker exports at most `limit` values of each label (the first in sorted order, so that the set
is stable from scrape to scrape and only grows into `other`) and sums the rest into `other`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

OTHER: Final = "other"
LARGEST: Final = frozenset({"floorpulse_queue_oldest_wait_seconds"})
"""Gauges whose `other` is the largest of the values folded, not their sum."""
UNFOLDABLE: Final = frozenset({"floorpulse_campaign_abandon_ratio"})
"""Ratios cannot be summed: their folded values are left out."""


def kept(values: Iterable[str], limit: int) -> tuple[frozenset[str], int]:
    """The values exported under their own name, and how many are folded into `other`."""
    ordered = sorted(set(values))
    return frozenset(ordered[:limit]), max(0, len(ordered) - limit)


def fold(metrics: Iterable[Metric], label: str, keep: frozenset[str]) -> Iterator[Metric]:
    """The metrics with every value of `label` outside `keep` turned into `other`, summed."""
    for metric in metrics:
        merged: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        folded = False
        for sample in metric.samples:
            labels = sample.labels
            value = labels.get(label)
            if value is not None and value not in keep:
                if metric.name in UNFOLDABLE:
                    continue
                labels = {**labels, label: OTHER}
                folded = True
            key = (sample.name, tuple(labels.items()))
            if key not in merged:
                merged[key] = sample.value
            elif metric.name in LARGEST:
                merged[key] = max(merged[key], sample.value)
            else:
                merged[key] += sample.value
        if folded:
            metric.samples = [Sample(name, dict(labels), v) for (name, labels), v in merged.items()]
        yield metric
