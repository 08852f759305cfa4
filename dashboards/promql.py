"""Small PromQL spelling helpers the dashboard modules share, so each query reads as its meaning."""

from __future__ import annotations


def rate(series: str, window: str) -> str:
    return f"rate({series}[{window}])"


def ratio(numerator: str, denominator: str, by: str) -> str:
    """sum(numerator) / sum(denominator) by the `by` labels; no point where the denominator is 0.

    `> 0` turns "nothing to divide by" into a gap rather than a spike to infinity or NaN.
    """
    return f"sum by ({by}) ({numerator}) / (sum by ({by}) ({denominator}) > 0)"


def quantile(q: float, buckets: str, by: str = "") -> str:
    """The q-quantile of a histogram from the `_bucket` rates in `buckets`, by the `by` labels."""
    keep = f"{by}, le" if by else "le"
    return f"histogram_quantile({q}, sum by ({keep}) ({buckets}))"


def total(expr: str, by: str = "") -> str:
    return f"sum by ({by}) ({expr})" if by else f"sum({expr})"
