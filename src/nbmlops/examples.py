"""Synthetic, realistic example data for tutorials: a credit-approval book with planted problems.

``credit_applications`` draws loan applications whose default risk follows a
plausible scorecard (credit score, debt-to-income, past defaults, income,
employment, loan size). Two problems are planted on purpose so the examples
have something to find:

* **bias**: the historical labels charge applicants with ``gender == "F"`` an
  extra default probability that their features do not explain (historical
  decisions that were unfair). Gender is not a model feature, but occupation
  and income are proxies for it, so a model trained on these labels flags women
  as risky more often than men;
* **drift**: batches after ``drift_start`` come from a changed population
  (incomes up about 15%, credit scores down in the ``south`` region, a new loan
  purpose ``crypto``) and a changed relation between debt and default (concept
  drift), so a model trained before that date degrades.

Everything is generated from a seed; nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

REGIONS = ["north", "south", "east", "west"]
OCCUPATIONS = ["care", "teaching", "admin", "sales", "trades", "engineering"]
# how often each gender works in each occupation: occupation becomes a proxy for gender
OCCUPATION_P = {
    "F": [0.28, 0.22, 0.22, 0.14, 0.06, 0.08],
    "M": [0.06, 0.08, 0.12, 0.18, 0.30, 0.26],
}
PURPOSES = ["car", "home", "education", "business", "personal"]
AGE_BANDS = ["18-25", "26-40", "41-60", "60+"]
FEATURES = [
    "age",
    "income",
    "employment_years",
    "loan_amount",
    "loan_term_months",
    "credit_score",
    "debt_to_income",
    "open_accounts",
    "past_defaults",
    "region",
    "purpose",
    "occupation",
]


def credit_applications(
    rows: int = 20_000,
    *,
    seed: int = 0,
    drifted: bool = False,
    start: str = "2026-01-01",
    days: int = 90,
    bias: float = 0.15,
) -> Any:
    """A DataFrame of loan applications with a ``default`` label (1 = the loan defaulted).

    ``drifted=True`` draws from the changed population and risk relation; ``bias`` is the
    extra default probability charged to women in the historical labels (0 removes it).

    Example:
        >>> from nbmlops.examples import credit_applications
        >>> df = credit_applications(1000, seed=1)
        >>> sorted(df["gender"].unique().tolist()), bool(0.1 < df["default"].mean() < 0.5)
        (['F', 'M'], True)
    """
    import pandas as pd  # lazy: start-up time

    rng = np.random.default_rng(seed)
    n = rows
    gender = rng.choice(["F", "M"], size=n, p=[0.48, 0.52])
    age = np.clip(rng.normal(41, 12, n), 18, 85).round().astype(int)
    region = rng.choice(REGIONS, size=n, p=[0.3, 0.25, 0.25, 0.2])
    purposes = PURPOSES + (["crypto"] if drifted else [])
    purpose_p = np.array([0.3, 0.25, 0.1, 0.15, 0.2] + ([0.08] if drifted else []))
    purpose = rng.choice(purposes, size=n, p=purpose_p / purpose_p.sum())
    occupation = np.where(
        gender == "F",
        rng.choice(OCCUPATIONS, size=n, p=OCCUPATION_P["F"]),
        rng.choice(OCCUPATIONS, size=n, p=OCCUPATION_P["M"]),
    )
    employment_years = np.clip(rng.gamma(2.0, 3.5, n), 0, age - 17).round(1)
    pay_gap = np.where(gender == "F", -0.08, 0.0)
    income = np.exp(rng.normal(10.8 + 0.012 * np.minimum(employment_years, 25) + pay_gap, 0.45, n))
    if drifted:
        income *= 1.15  # wage inflation
    income = income.round(-1)
    credit_score = np.clip(
        rng.normal(680 + 1.5 * np.minimum(employment_years, 20), 60, n), 300, 850
    )
    if drifted:
        credit_score = np.where(
            region == "south", np.clip(credit_score - 45, 300, 850), credit_score
        )
    credit_score = credit_score.round().astype(int)
    loan_term = rng.choice([12, 24, 36, 60], size=n, p=[0.15, 0.3, 0.35, 0.2])
    loan_amount = (income * rng.uniform(0.1, 0.9, n) * np.where(purpose == "home", 2.5, 1.0)).round(
        -2
    )
    debt_to_income = np.clip(
        rng.beta(2, 5, n) + loan_amount / income / loan_term * 6, 0, 1.5
    ).round(3)
    open_accounts = rng.poisson(4, n)
    past_defaults = rng.choice([0, 1, 2, 3], size=n, p=[0.8, 0.13, 0.05, 0.02])

    dti_weight = 5.5 if drifted else 2.2  # concept drift: debt matters more after the change
    logit = (
        -1.6
        - 0.012 * (credit_score - 680)
        + dti_weight * (debt_to_income - 0.35)
        + 0.55 * past_defaults
        - 0.35 * np.log(income / 50_000)
        - 0.03 * np.minimum(employment_years, 20)
        + 0.25 * (loan_term == 60)
        + np.select([purpose == "business", purpose == "crypto"], [0.3, 0.9], 0.0)
    )
    risk = 1 / (1 + np.exp(-logit))
    risk = np.clip(risk + bias * (gender == "F"), 0, 1)  # the planted historical bias
    default = (rng.random(n) < risk).astype(int)

    begin = dt.datetime.fromisoformat(start)
    offsets = np.sort(rng.uniform(0, days * 86_400, n))
    frame = pd.DataFrame(
        {
            "application_id": np.arange(n, dtype=np.int64)
            + (1_000_000 if drifted else 0)
            + seed * 10_000_000,
            "application_date": pd.to_datetime(begin) + pd.to_timedelta(offsets, unit="s"),
            "gender": pd.Categorical(gender, categories=["F", "M"]),
            "age": age,
            "age_band": pd.Categorical(
                pd.cut(age, [17, 25, 40, 60, 200], labels=AGE_BANDS).astype(str),
                categories=AGE_BANDS,
            ),
            "region": region,
            "purpose": purpose,
            "occupation": occupation,
            "income": income,
            "employment_years": employment_years,
            "loan_amount": loan_amount,
            "loan_term_months": loan_term,
            "credit_score": credit_score,
            "debt_to_income": debt_to_income,
            "open_accounts": open_accounts,
            "past_defaults": past_defaults,
            "default": default,
        }
    )
    frame["region"] = frame["region"].astype("string")
    frame["purpose"] = frame["purpose"].astype("string")
    frame["occupation"] = frame["occupation"].astype("string")
    return frame


def features_and_target(frame: Any) -> tuple[Any, Any]:
    """One-hot encode the model features and return ``(X, y)``; sensitive columns are left out of X.

    Example:
        >>> X, y = features_and_target(credit_applications(500))
        >>> "gender" in X.columns, len(X) == len(y)
        (False, True)
    """
    import pandas as pd  # lazy: start-up time

    X = pd.get_dummies(frame[FEATURES], columns=["region", "purpose", "occupation"], dtype=float)
    expected = (
        [f"purpose_{p}" for p in [*PURPOSES, "crypto"]]
        + [f"region_{r}" for r in REGIONS]
        + [f"occupation_{o}" for o in OCCUPATIONS]
    )
    for column in expected:
        if column not in X:
            X[column] = 0.0  # the same columns before and after drift
    return X[sorted(X.columns)], frame["default"]
