"""The worker's HTTP server: `/metrics` and `/health`, and nothing else.

Faust serves views of its own (tables, router, statistics, an index) from blueprints; the table
views would show one person's whole record. The settings turn most off and this drops the rest,
so per-person signals travel only on floor.checkins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust import web
from prometheus_client import CONTENT_TYPE_LATEST


def serve_metrics_only(
    app: faust.App,
    render_metrics: Callable[[], Awaitable[bytes]],
    health: Callable[[], dict[str, Any]],
) -> None:
    """Serve the rendered exposition on /metrics and a health document on /health."""
    # Private to Faust (checked by tests/pipeline/test_faust_internals.py): the blueprints it
    # mounts at start. With its view settings off, only an index at / is left.
    app.web.blueprints._enabled.clear()

    @app.page("/metrics")
    async def metrics(view: web.View, request: web.Request) -> web.Response:
        body = await render_metrics()
        return view.bytes(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/health")
    async def healthy(view: web.View, request: web.Request) -> web.Response:
        return view.json(health())
