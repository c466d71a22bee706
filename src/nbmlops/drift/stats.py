"""The drift statistics, vectorised: each compares a reference sample with a current one.

Numeric columns arrive as sorted float64 arrays without NaN (sorting once serves
every statistic); categorical columns as a ``2 x k`` table of counts. The
p-values equal scipy's for the same data:

* :func:`ks_test` gives ``scipy.stats.ks_2samp`` (two-sided, ``method="auto"``):
  scipy itself below 10,000 values per side, where it picks the exact
  distribution; above that the same statistic from one merge of the sorted
  samples and the same asymptotic ``kstwo`` p-value scipy uses there;
* :func:`chi2_homogeneity` gives ``scipy.stats.chi2_contingency`` on the
  contingency table (a test of homogeneity: both samples are noisy, unlike a
  goodness-of-fit test that treats the reference counts as exact), Yates'
  correction included when the table has one degree of freedom.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

EXACT_KS_MAX = 10_000  # scipy's MAX_AUTO_N: ks_2samp(method="auto") is exact up to this size
SMIRNOV_PADDING = 512  # numpy releases the GIL for ufunc loops of more than 500 points
PSI_BINS = 10
PSI_FLOOR = 1e-4  # an empty bin counts as 0.01% so PSI stays finite (the usual convention)


def ks_test(ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    """Two-sample Kolmogorov-Smirnov on sorted samples: statistic, p-value and how it was computed.

    Example:
        >>> r = ks_test(np.sort(np.array([1.0, 2, 3, 4])), np.sort(np.array([3.0, 4, 5, 6])))
        >>> round(r["statistic"], 3), r["method"]
        (0.5, 'exact')
    """
    n1, n2 = len(ref), len(cur)
    if max(n1, n2) <= EXACT_KS_MAX:
        from scipy import stats  # lazy: start-up time

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = stats.ks_2samp(ref, cur)
        method = "asymptotic" if any("Switching" in str(w.message) for w in caught) else "exact"
        return {"statistic": float(res.statistic), "p_value": float(res.pvalue), "method": method}
    d = ks_statistic(ref, cur)
    return {"statistic": d, "p_value": ks_asymptotic_p(d, n1, n2), "method": "asymptotic"}


def ks_statistic(ref: np.ndarray, cur: np.ndarray) -> float:
    """The largest distance between the two empirical CDFs, as ``ks_2samp`` computes it.

    The two-sided maximum is reached just before a current value (where the
    reference CDF is ahead) or at one (where the current CDF is ahead), so one
    ``searchsorted`` of the current sample into the reference gives both sides.
    """
    n1, n2 = len(ref), len(cur)
    right = np.searchsorted(ref, cur, side="right")  # reference values <= each current value
    # a current value equal to a reference value needs the count of values strictly below it too
    scratch = np.subtract(right, 1)
    tied = bool(np.any(np.take(ref, scratch, mode="clip", out=np.empty_like(cur)) == cur))
    del scratch
    step = np.arange(n2, dtype=np.int64)
    step *= n1
    # F_ref - F_cur scaled by n1 * n2 (exact integers): just below current value j (first of its
    # ties) ...
    left = np.searchsorted(ref, cur, side="left") if tied else right
    below = left * n2
    below -= step
    k_max = int(np.argmax(below))
    if tied:  # ... and at current value j (last of its ties)
        at = right * n2
        at -= step
        k_min = int(np.argmin(at))
    else:  # without ties "at" is "below" shifted by n1, so it has the same argmin
        k_min = int(np.argmin(below))
    # evaluate the winners the way scipy does (cdf1 - cdf2 in floats) so D matches to the last bit
    d_plus = max(float(left[k_max] / n1 - k_max / n2), 0.0)
    d_minus = min(max(-float(right[k_min] / n1 - (k_min + 1) / n2), 0.0), 1.0)
    return max(d_plus, d_minus)


def ks_asymptotic_p(d: float, n1: int, n2: int) -> float:
    """Smirnov's asymptotic two-sided p-value, exactly as ``ks_2samp`` uses it for large samples.

    That is ``kstwo.sf(d, round(n1 * n2 / (n1 + n2)))``. In its middle range scipy
    evaluates ``2 * smirnov(n, d)``, an exact sum that takes about half a second at
    n = 500,000 while holding the GIL (numpy keeps the GIL for ufunc calls of 500
    points or fewer); the same call padded with points that return at once (d = 1)
    gives the identical value and lets the other columns' threads run meanwhile.
    """
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = int(np.round(m * n / (m + n)))
    t = en * d
    # scipy's branch in _kolmogn
    if en > 140 and 1.0 < t < en - 1 and d < 0.5 and 2.2 <= t * d < 370.0:
        from scipy.special import smirnov  # lazy: start-up time

        padded = smirnov(np.full(SMIRNOV_PADDING, en), np.r_[d, np.ones(SMIRNOV_PADDING - 1)])
        return float(np.clip(2 * padded[0], 0, 1))
    from scipy.stats import kstwo  # lazy: start-up time

    return float(np.clip(kstwo.sf(d, float(en)), 0, 1))


def wasserstein(ref: np.ndarray, cur: np.ndarray) -> float:
    """The first Wasserstein distance between two sorted samples
    (``scipy.stats.wasserstein_distance``).

    Equal sizes pair the order statistics (the area between the quantile
    functions); other sizes integrate ``|F_ref - F_cur|`` over the merged values.
    """
    n1, n2 = len(ref), len(cur)
    if n1 == n2:
        return float(np.abs(ref - cur).mean())
    merged = np.concatenate([ref, cur])
    order = np.argsort(merged, kind="stable")  # a merge of two sorted runs
    step = np.where(order < n1, n2, -n1).astype(np.int64)
    walk = np.cumsum(step)[:-1]  # n1 * n2 * (F_ref - F_cur) between consecutive merged values
    merged = merged[order]
    return float(np.dot(np.abs(walk).astype(np.float64), np.diff(merged)) / (float(n1) * n2))


def spread(values: np.ndarray) -> float:
    """The reference spread that normalises the Wasserstein distance: the standard deviation
    (ddof=0)."""
    return float(np.std(values)) if len(values) else math.nan


def normalised_wasserstein(distance: float, ref_spread: float) -> float:
    """Wasserstein distance in units of the reference's standard deviation.

    A constant reference has no spread: the distance is then 0 if the current
    sample sits on the same value and infinite otherwise.
    """
    if ref_spread > 0:
        return distance / ref_spread
    return 0.0 if distance == 0 else math.inf


def quantile_edges(sorted_ref: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Inner bin edges at the reference quantiles (deciles by default), duplicates removed."""
    n = len(sorted_ref)
    if n == 0:
        return np.empty(0)
    positions = np.minimum((np.arange(1, bins) * n) // bins, n - 1)
    return np.unique(sorted_ref[positions])


def binned_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in the bins ``(-inf, e0], (e0, e1], ..., (e_last, inf)`` of a sorted sample."""
    cuts = np.searchsorted(sorted_values, edges, side="right")
    return np.diff(np.concatenate([[0], cuts, [len(sorted_values)]]))


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population Stability Index: ``sum((cur% - ref%) * ln(cur% / ref%))``, empty bins floored at
    0.01%.

    Example:
        >>> round(psi(np.array([50, 50]), np.array([40, 60])), 4)
        0.0405
    """
    p = np.maximum(ref_counts / max(ref_counts.sum(), 1), PSI_FLOOR)
    q = np.maximum(cur_counts / max(cur_counts.sum(), 1), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def jensen_shannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log, as ``scipy.spatial.distance.jensenshannon``), from 0
    to 0.833."""
    p = ref_counts / ref_counts.sum()
    q = cur_counts / cur_counts.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        right = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(math.sqrt(max((left + right) / 2, 0.0)))


def chi2_homogeneity(ref_counts: np.ndarray, cur_counts: np.ndarray) -> dict[str, Any]:
    """Chi-square test of homogeneity of the ``2 x k`` table (``scipy.stats.chi2_contingency``).

    Categories empty on both sides are dropped (they carry no information and
    would make an expected count zero). Also reports the share of expected counts
    below 5, where the chi-square approximation gets rough (Cochran's rule: 20%).

    Example:
        >>> round(chi2_homogeneity(np.array([30, 70]), np.array([50, 50]))["p_value"], 4)
        0.0061
    """
    from scipy.stats import chi2_contingency  # lazy: start-up time

    table = np.vstack([ref_counts, cur_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return {"statistic": 0.0, "p_value": 1.0, "dof": 0, "small_expected": 0.0}
    res = chi2_contingency(table)
    small = float((res.expected_freq < 5).mean())
    return {
        "statistic": float(res.statistic),
        "p_value": float(res.pvalue),
        "dof": int(res.dof),
        "small_expected": small,
    }


def missing_share_test(
    ref_missing: int, ref_total: int, cur_missing: int, cur_total: int
) -> dict[str, Any]:
    """Did the share of missing values change? The homogeneity test of the missing/present ``2 x
    2`` table."""
    ref_share = ref_missing / ref_total if ref_total else math.nan
    cur_share = cur_missing / cur_total if cur_total else math.nan
    test = chi2_homogeneity(
        np.array([ref_missing, ref_total - ref_missing]),
        np.array([cur_missing, cur_total - cur_missing]),
    )
    return {"reference": ref_share, "current": cur_share, "p_value": test["p_value"]}
