"""The example credit data really carries its planted bias and drift (checked with fairlearn and
scipy)."""

from __future__ import annotations

import warnings

import pandas as pd
from fairlearn.metrics import demographic_parity_ratio
from scipy.stats import chi2_contingency, ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score

from nbmlops.examples import credit_applications, features_and_target


def test_same_seed_same_data_and_columns_stable_across_drift():
    pd.testing.assert_frame_equal(
        credit_applications(500, seed=3), credit_applications(500, seed=3)
    )
    before, _ = features_and_target(credit_applications(300, seed=1))
    after, _ = features_and_target(credit_applications(300, seed=2, drifted=True))
    assert list(before.columns) == list(after.columns)


def test_planted_bias_drift_and_degradation():
    train = credit_applications(12_000, seed=0)
    later = credit_applications(4_000, seed=1, drifted=True)
    X, y = features_and_target(train)
    X_later, y_later = features_and_target(later)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = HistGradientBoostingClassifier(random_state=0).fit(X[:9000], y[:9000])
    held_out = model.predict(X[9000:])
    # bias: women are flagged as defaulters markedly more often (four-fifths rule fails)
    assert (
        demographic_parity_ratio(y[9000:], held_out, sensitive_features=train["gender"][9000:])
        < 0.85
    )
    # data drift where it was planted, none where it was not
    assert ks_2samp(train["income"], later["income"]).pvalue < 1e-6
    assert ks_2samp(train["age"], later["age"]).pvalue > 1e-3
    table = pd.crosstab(
        pd.concat([train["purpose"], later["purpose"]]),
        ["train"] * len(train) + ["later"] * len(later),
    )
    assert chi2_contingency(table).pvalue < 1e-6 and "crypto" in set(later["purpose"]) - set(
        train["purpose"]
    )
    # concept drift: the model is worse on the later batch
    assert (
        accuracy_score(y_later, model.predict(X_later)) < accuracy_score(y[9000:], held_out) - 0.01
    )
