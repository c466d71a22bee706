"""Mergeable summaries of a column, built batch by batch, for data larger than memory.

Categorical columns are counted exactly (counts add up across batches), so the
chi-square test, Jensen-Shannon distance and PSI are exactly what the in-memory
comparison gives. Numeric columns are summarised in two passes over the
reference: the first keeps a uniform random sample (to place ``FINE_BINS`` bins
at reference quantiles), the exact minimum, maximum, mean and variance; the
second counts both sides into those bins. From the bin counts:

* KS: the empirical CDFs are exact at every bin edge, so the statistic there is
  exact and the true statistic is at most the largest bin share above it (the
  report states that bound); its p-value is the asymptotic one;
* Wasserstein: the area between the CDFs with each CDF linear inside a bin,
  and exact beyond the reference's range (where only the current data lies);
* PSI: exact counts in bins cut at the (approximate) reference deciles.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from . import stats
from .columns import SMALL_RANGE, Counts

FINE_BINS = 4096
SAMPLE_SIZE = 65_536
MAX_TRACKED = 100_000  # distinct categories counted one by one; later newcomers are pooled
UNTRACKED = "(untracked)"


@dataclasses.dataclass
class Moments:
    """Count, mean and sum of squared deviations, merged with Chan's formula."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, values: np.ndarray) -> None:
        if not len(values):
            return
        n_b = len(values)
        mean_b = float(values.mean())
        m2_b = float(((values - mean_b) ** 2).sum())
        total = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / total
        self.m2 += m2_b + delta * delta * self.n * n_b / total
        self.n = total
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n else math.nan


class CategoryTally:
    """Exact counts per category across batches (at most ``MAX_TRACKED`` distinct ones)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.missing = 0
        self.pooled = 0

    def add(self, found: Counts) -> None:
        self.missing += found.missing
        for label, count in zip(found.labels, found.counts.tolist(), strict=True):
            if label in self.counts:
                self.counts[label] += count
            elif len(self.counts) < MAX_TRACKED:
                self.counts[label] = count
            else:
                self.pooled += count

    def result(self) -> Counts:
        labels = list(self.counts)
        counts = np.fromiter(self.counts.values(), dtype=np.int64, count=len(labels))
        if self.pooled:
            labels.append(UNTRACKED)
            counts = np.append(counts, self.pooled)
        return Counts(labels, counts, self.missing)


class ReferenceSample:
    """First reference pass over a numeric column: moments, a bottom-k random sample, small-range
    counts."""

    def __init__(self, seed: int) -> None:
        self.moments = Moments()
        self.missing = 0
        self.rng = np.random.default_rng(seed)
        self.values = np.empty(0)
        self.keys = np.empty(0)
        self.whole = True
        self.small: dict[int, int] | None = {}

    def add(self, values: np.ndarray, missing: int) -> None:
        self.missing += missing
        if not len(values):
            return
        self.moments.add(values)
        if self.whole and not np.all(values == np.floor(values)):
            self.whole = False
        if self.small is not None:
            if not self.whole or self.moments.high - self.moments.low >= SMALL_RANGE:
                self.small = None
            else:
                found, counts = np.unique(values.astype(np.int64), return_counts=True)
                for v, c in zip(found.tolist(), counts.tolist(), strict=True):
                    self.small[v] = self.small.get(v, 0) + c
        keys = self.rng.random(len(values))
        self.values = np.concatenate([self.values, values])
        self.keys = np.concatenate([self.keys, keys])
        if len(self.keys) > SAMPLE_SIZE:
            keep = np.argpartition(self.keys, SAMPLE_SIZE)[:SAMPLE_SIZE]
            self.values, self.keys = self.values[keep], self.keys[keep]

    @property
    def small_range(self) -> bool:
        return self.small is not None and self.moments.n > 0

    def small_counts(self) -> Counts:
        items = sorted((self.small or {}).items())
        return Counts(
            [str(v) for v, _ in items],
            np.array([c for _, c in items], dtype=np.int64),
            self.missing,
        )

    def edges(self) -> np.ndarray:
        """Bin edges at the sample's quantiles, the exact extremes included."""
        ordered = np.sort(self.values)
        if not len(ordered):
            return np.empty(0)
        positions = np.linspace(0, len(ordered) - 1, min(FINE_BINS, len(ordered)) + 1).astype(
            np.int64
        )
        inner = ordered[positions]
        return np.unique(np.concatenate([[self.moments.low], inner, [self.moments.high]]))


class BinnedSide:
    """Counts of one side's values in fixed bins ``(-inf, e0], (e0, e1], ..., (e_last, inf)``."""

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = edges
        self.counts = np.zeros(len(edges) + 1, dtype=np.int64)
        self.moments = Moments()
        self.missing = 0
        # how far values lie beyond the outer edges: the Wasserstein tails, exactly
        self.below = 0.0
        self.above = 0.0

    def add(self, values: np.ndarray, missing: int) -> None:
        self.missing += missing
        if not len(values):
            return
        self.moments.add(values)
        if not len(self.edges):
            return
        # sorting the batch (cheap) and cutting it at the edges beats looking up each value among
        # 4,096 edges
        ordered = np.sort(values)
        self.counts += stats.binned_counts(ordered, self.edges)
        low, high = self.edges[0], self.edges[-1]
        under = int(np.searchsorted(ordered, low, side="left"))
        over = int(np.searchsorted(ordered, high, side="right"))
        self.below += float(under * low - ordered[:under].sum())
        self.above += float(ordered[over:].sum() - (len(ordered) - over) * high)


def _cdf(side: BinnedSide) -> np.ndarray:
    """The side's empirical CDF at each edge (exact: counts of values <= edge)."""
    return np.cumsum(side.counts[:-1]) / max(side.moments.n, 1)


def _area(f: np.ndarray, widths: np.ndarray) -> float:
    """Integral of |f| for f linear on each segment (values at the segment ends)."""
    a, b = f[:-1], f[1:]
    same = a * b >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(
            np.abs(a) + np.abs(b) > 0, (a * a + b * b) / (2 * (np.abs(a) + np.abs(b))), 0.0
        )
    return float(np.sum(np.where(same, (np.abs(a) + np.abs(b)) / 2, crossing) * widths))


def binned_numeric_stats(ref: BinnedSide, cur: BinnedSide) -> dict[str, Any]:
    """KS, Wasserstein (normed) and PSI from two sides binned on the same edges."""
    n1, n2 = ref.moments.n, cur.moments.n
    f_ref, f_cur = _cdf(ref), _cdf(cur)
    diff = f_ref - f_cur
    d = float(np.max(np.abs(diff))) if len(diff) else 0.0
    bound = float(max(np.max(ref.counts) / max(n1, 1), np.max(cur.counts) / max(n2, 1)))
    ks = {
        "statistic": d,
        "p_value": stats.ks_asymptotic_p(d, n1, n2),
        "method": f"binned: {len(ref.edges) - 1:,} reference-quantile bins, D exact at their "
        "edges and at most "
        f"{bound:.2g} below the exact statistic; asymptotic p-value",
    }
    # inside the reference range each CDF is taken as linear within a bin; beyond it (the edges
    # include the
    # reference minimum and maximum) the reference CDF is 0 or 1 and the tails are exact
    distance = _area(diff, np.diff(ref.edges)) if len(ref.edges) > 1 else 0.0
    distance += (ref.below + ref.above) / max(n1, 1) + (cur.below + cur.above) / max(n2, 1)
    # PSI bins: the edges closest to the reference deciles
    cum_ref = np.cumsum(ref.counts)
    picks = np.unique(
        np.searchsorted(cum_ref[:-1], np.arange(1, stats.PSI_BINS) * n1 / stats.PSI_BINS)
    )
    picks = picks[picks < len(ref.edges)]
    ref_psi = np.diff(np.concatenate([[0], cum_ref[picks], [cum_ref[-1]]]))
    cum_cur = np.cumsum(cur.counts)
    cur_psi = np.diff(np.concatenate([[0], cum_cur[picks], [cum_cur[-1]]]))
    return {
        "ks": ks,
        "wasserstein": stats.normalised_wasserstein(distance, ref.moments.std),
        "wasserstein_raw": distance,
        "psi": stats.psi(ref_psi, cur_psi),
        "mean": [ref.moments.mean, cur.moments.mean],
        "std": ref.moments.std,
        "method": "binned",
    }


def binned_histogram(ref: BinnedSide, cur: BinnedSide, kind: str, bins: int = 30) -> dict[str, Any]:
    """Chart shares per equal-width bin, read off the binned CDFs."""
    edges = ref.edges
    f_ref = np.concatenate([[0.0], _cdf(ref), [1.0]])
    f_cur = np.concatenate([[0.0], _cdf(cur), [1.0]])
    points = np.concatenate(
        [[min(ref.moments.low, cur.moments.low)], edges, [max(ref.moments.high, cur.moments.high)]]
    )
    points = np.maximum.accumulate(points)
    low = float(np.interp(0.005, f_ref, points))
    high = float(np.interp(0.995, f_ref, points))
    if high <= low:
        low, high = low - 0.5, low + 0.5
    chart = np.linspace(low, high, bins + 1)
    at_ref = np.interp(chart, points, f_ref)
    at_cur = np.interp(chart, points, f_cur)
    at_ref[0] = at_cur[0] = 0.0
    at_ref[-1] = at_cur[-1] = 1.0
    return {
        "kind": kind,
        "edges": chart.tolist(),
        "reference": np.diff(at_ref).tolist(),
        "current": np.diff(at_cur).tolist(),
    }
