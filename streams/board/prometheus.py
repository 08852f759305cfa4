"""A small client of Prometheus' HTTP API: instant queries, each series' labels and value."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import aiohttp


class PrometheusError(Exception):
    """Prometheus did not answer, or refused a query; the message is one line."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class Prometheus:
    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self.session = session

    async def query(self, expr: str) -> list[Sample]:
        try:
            async with self.session.get(
                f"{self.url}/api/v1/query",
                params={"query": expr},
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                body: Any = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PrometheusError(f"Prometheus at {self.url} did not answer: {exc}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else "no JSON"
            raise PrometheusError(f"Prometheus refused a query: {error}")
        samples = []
        for series in body["data"].get("result", []):
            value = float(series["value"][1])
            if math.isfinite(value):
                samples.append(Sample(dict(series["metric"]), value))
        return samples

    async def by(self, label: str, expr: str) -> dict[str, float]:
        return {s.labels.get(label, ""): s.value for s in await self.query(expr)}

    async def by2(self, first: str, second: str, expr: str) -> dict[tuple[str, str], float]:
        return {
            (s.labels.get(first, ""), s.labels.get(second, "")): s.value
            for s in await self.query(expr)
        }
