"""Every drift statistic against scipy computed independently on the same data."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from nbmlops.drift import stats as S


def _samples(n1, n2, *, shift=0.05, discrete=False, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n1), rng.normal(shift, 1.1, size=n2)
    if discrete:
        a, b = np.round(a * 3), np.round(b * 3)
    return np.sort(a), np.sort(b)


@pytest.mark.parametrize(
    ("n1", "n2", "discrete"),
    [
        (8, 11, False),
        (300, 200, True),
        (10_000, 9_000, False),  # scipy's exact distribution
        (20_000, 15_000, False),
        (30_000, 30_000, True),
        (12_000, 50_000, True),
        (10_001, 700, False),  # asymptotic
    ],
)
def test_ks_matches_scipy(n1, n2, discrete):
    a, b = _samples(n1, n2, discrete=discrete, seed=n1 + n2)
    ours = S.ks_test(a, b)
    oracle = stats.ks_2samp(a, b)
    assert ours["statistic"] == oracle.statistic
    assert ours["p_value"] == pytest.approx(oracle.pvalue, rel=1e-12, abs=1e-300)
    assert ours["method"] == ("exact" if max(n1, n2) <= 10_000 else "asymptotic")


@pytest.mark.parametrize("d", [0.0005, 0.0021, 0.004, 0.0089, 0.02, 0.0272, 0.03, 0.4, 0.6, 1.0])
def test_ks_asymptotic_p_value_is_scipys_in_every_branch(d):
    from scipy.stats import kstwo

    for n1, n2 in ((1_000_000, 1_000_000), (600_000, 20_000), (300, 200)):
        en = round(n1 * n2 / (n1 + n2))
        assert S.ks_asymptotic_p(d, n1, n2) == float(np.clip(kstwo.sf(d, en), 0, 1))


def test_ks_statistic_with_ties_across_samples_and_disjoint_samples():
    a = np.sort(np.repeat([1.0, 2.0, 3.0], [5000, 7000, 4000]))
    b = np.sort(np.repeat([2.0, 3.0, 4.0], [6000, 6000, 3000]))
    assert S.ks_statistic(a, b) == stats.ks_2samp(a, b).statistic
    low, high = np.arange(20_000.0), np.arange(20_000.0) + 1e6
    assert S.ks_statistic(low, high) == 1.0 == S.ks_statistic(high, low)


@pytest.mark.parametrize(("n1", "n2"), [(5000, 5000), (4000, 7000), (13, 5)])
def test_wasserstein_matches_scipy(n1, n2):
    a, b = _samples(n1, n2, shift=0.3, seed=3)
    assert S.wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)


def test_normalised_wasserstein_uses_the_reference_spread_and_handles_constants():
    a, b = _samples(2000, 3000, shift=0.5)
    assert S.normalised_wasserstein(S.wasserstein(a, b), S.spread(a)) == pytest.approx(
        stats.wasserstein_distance(a, b) / np.std(a), rel=1e-9
    )
    assert S.normalised_wasserstein(0.0, 0.0) == 0.0
    assert S.normalised_wasserstein(1.5, 0.0) == float("inf")


def test_chi2_is_the_test_of_homogeneity_not_goodness_of_fit():
    rng = np.random.default_rng(7)
    labels = np.array(["a", "b", "c", "d"])
    ref = labels[rng.choice(4, 3000, p=[0.4, 0.3, 0.2, 0.1])]
    cur = labels[rng.choice(4, 1000, p=[0.37, 0.33, 0.2, 0.1])]
    table = pd.crosstab(np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref, cur]).to_numpy()
    oracle = stats.chi2_contingency(table)
    counts = [np.array([(x == v).sum() for v in labels]) for x in (ref, cur)]
    ours = S.chi2_homogeneity(*counts)
    assert (
        ours["p_value"] == oracle.pvalue
        and ours["statistic"] == oracle.statistic
        and ours["dof"] == 3
    )
    gof = stats.chisquare(counts[1], counts[0] * len(cur) / len(ref)).pvalue
    # the reference's own noise is accounted for
    assert gof != pytest.approx(ours["p_value"], rel=0.05)


def test_chi2_two_categories_applies_yates_like_scipy_and_degenerate_tables_pass():
    ours = S.chi2_homogeneity(np.array([30, 70]), np.array([45, 55]))
    assert ours["p_value"] == stats.chi2_contingency(np.array([[30, 70], [45, 55]])).pvalue
    # one category in all
    assert S.chi2_homogeneity(np.array([10, 0]), np.array([7, 0]))["p_value"] == 1.0
    # a category only in current
    new = S.chi2_homogeneity(np.array([50, 50, 0]), np.array([40, 40, 20]))
    assert new["p_value"] == stats.chi2_contingency(np.array([[50, 50, 0], [40, 40, 20]])).pvalue


def test_jensen_shannon_matches_scipy_natural_log():
    p, q = np.array([10, 0, 30, 60]), np.array([20, 5, 25, 50])
    assert S.jensen_shannon(p, q) == pytest.approx(
        distance.jensenshannon(p / p.sum(), q / q.sum()), rel=1e-12
    )
    assert S.jensen_shannon(p, p) == 0.0


def test_psi_formula_and_decile_bins():
    p, q = np.array([100, 200, 0, 700]), np.array([150, 150, 100, 600])
    pp, qq = np.maximum(p / p.sum(), 1e-4), np.maximum(q / q.sum(), 1e-4)
    assert S.psi(p, q) == pytest.approx(float(np.sum((qq - pp) * np.log(qq / pp))), rel=1e-12)
    a, b = _samples(10_000, 8_000, shift=0.2)
    edges = S.quantile_edges(a)
    assert len(edges) == 9
    ref_counts = S.binned_counts(a, edges)
    assert ref_counts.sum() == len(a) and np.all(np.abs(ref_counts - 1000) <= 1)
    # independent count of each decile bin with pandas
    bins = pd.cut(b, np.r_[-np.inf, edges, np.inf], right=True)
    assert S.binned_counts(b, edges).tolist() == pd.Series(bins).value_counts(sort=False).tolist()


def test_missing_share_test_is_the_two_by_two_homogeneity_test():
    found = S.missing_share_test(50, 1000, 120, 1000)
    assert found["reference"] == 0.05 and found["current"] == 0.12
    assert found["p_value"] == stats.chi2_contingency(np.array([[50, 950], [120, 880]])).pvalue
