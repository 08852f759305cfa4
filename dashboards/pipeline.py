"""Pipeline, for engineers: events in, dead letters, duplicates, delay, and Faust's consumer.

Faust's own sensor metrics (prefix `faust_`, latencies in milliseconds) appear here only, and
are turned into seconds in the query.
"""

from __future__ import annotations

from dashboards import recorded
from dashboards.panels import Dashboard, Panel, Query
from dashboards.promql import quantile, rate, total

UID = "floorpulse-pipeline"
WINDOW = "$__rate_interval"
WORKERS = 'up{job="floorpulse-worker"}'
LAG = "faust_topic_partition_end_offset - faust_topic_partition_offset_commited"
"""Per partition: written but not yet committed. ("commited" is Faust's spelling.)"""
"""The scrape job of deploy/prometheus/prometheus.yml."""


def dashboard() -> Dashboard:
    return Dashboard(
        uid=UID,
        title="floorpulse: pipeline",
        description=(
            "The stream workers: what they read, what they set aside, how far behind live they "
            "run, and Faust's consumer. Topics only: the campaign and team variables do not apply."
        ),
        tags=("floorpulse", "pipeline"),
        time_from="now-3h",
        panels=(
            Panel(
                title="Events applied per second",
                description="Valid events the workers applied, by topic and event type.",
                queries=(
                    Query(
                        total(rate("floorpulse_events_total", WINDOW), "topic, type"),
                        "{{topic}} {{type}}",
                    ),
                ),
                unit="ops",
                stacked=True,
            ),
            Panel(
                title="Dead letters per second, by error",
                description=(
                    "Events that could not be read, by short error code. Nothing is lost: each "
                    "waits on dialer.dead-letter with its error and original bytes."
                ),
                queries=(
                    Query(
                        total(rate("floorpulse_events_invalid_total", WINDOW), "topic, error"),
                        "{{topic}} {{error}}",
                        rare="a worker exports these series only once an invalid event has come in",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                title="Duplicates and late events per second",
                description=(
                    "Events seen before (a redelivery or a dialer retry) and ignored, and late "
                    "events applied at their own time, by topic."
                ),
                queries=(
                    Query(
                        total(rate("floorpulse_events_duplicate_total", WINDOW), "topic"),
                        "{{topic}} duplicates",
                    ),
                    Query(
                        total(rate("floorpulse_events_late_total", WINDOW), "topic"),
                        "{{topic}} late",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                title="How far behind live",
                description=(
                    "Wall-clock time when an event was applied minus the time it happened, "
                    "over 5 minutes: what the dashboards lag the floor by. A replay of an old "
                    "log runs far behind by design."
                ),
                queries=(
                    Query(recorded.EVENT_DELAY_P95, "{{topic}} p95"),
                    Query(
                        quantile(0.5, rate("floorpulse_event_delay_seconds_bucket", "5m"), "topic"),
                        "{{topic}} median",
                    ),
                ),
                unit="s",
            ),
            Panel(
                title="Consumer lag",
                description=(
                    "Messages written to each topic but not yet committed by the workers (from "
                    "Faust's sensor). Growing lag means the workers fall behind the dialers."
                ),
                queries=(
                    Query(
                        total(LAG, "topic"),
                        "{{topic}}",
                    ),
                ),
            ),
            Panel(
                title="Rebalances",
                description=(
                    "Rebalances finished in the last hour and under way now (from Faust's "
                    "sensor). Each one happens when a worker starts, stops or is too slow to "
                    "answer; many in a row mean workers are restarting."
                ),
                queries=(
                    Query(
                        total("increase(faust_rebalance_done_latency_count[1h])"),
                        "finished in the last hour",
                    ),
                    Query(
                        total("faust_total_rebalances + faust_total_rebalances_recovering"),
                        "under way",
                    ),
                ),
                width=8,
            ),
            Panel(
                title="Rebalance time",
                description=(
                    "How long rebalances took to finish, recovery included, over the last hour "
                    "(95th percentile). The floor's numbers pause while it runs."
                ),
                queries=(
                    Query(
                        quantile(0.95, rate("faust_rebalance_done_latency_bucket", "1h"))
                        + " / 1000",
                        "p95",
                        rare="only in an hour in which a rebalance finished (a worker started, "
                        "stopped, or was too slow to answer)",
                    ),
                ),
                unit="s",
                width=8,
            ),
            Panel(
                title="Workers answering",
                description="Workers Prometheus can scrape now.",
                queries=(Query(total(WORKERS), "workers"),),
                kind="stat",
                width=8,
            ),
        ),
    )
