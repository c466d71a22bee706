"""Which statistic decides whether a column drifted, and at what threshold.

Every column gets all the statistics of its kind; one of them decides:

=================  ==========================  =======================  ========
method             applies to                  drifted when             default
=================  ==========================  =======================  ========
``ks``             numeric, datetime           p-value below            0.05
``wasserstein``    numeric, datetime           normed distance at least 0.1
``psi``            every kind                  PSI at least             0.2
``chi2``           categorical                 p-value below            0.05
``jensenshannon``  categorical                 distance at least        0.1
=================  ==========================  =======================  ========

``auto`` (the default) uses the tests (``ks``, ``chi2``) while the smaller
sample has at most ``SMALL_SAMPLE`` values and the distances (``wasserstein``,
``jensenshannon``) above: with a million rows a test calls a shift of 0.02
standard deviations significant, which is rarely worth an alert, while the
distances measure how large the shift is. Three more thresholds: ``missing``
(the smallest change of the missing share that counts as drift, when its test
is also significant), ``share`` (the share of drifted columns at which the
dataset counts as drifted) and ``performance`` (the quality drop against the
reference that counts: absolute for rates such as accuracy, relative for errors).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InvalidInput
from .columns import CATEGORICAL, DATETIME, NUMERIC

SMALL_SAMPLE = 1000
METHODS = {
    "ks": "K-S p-value",
    "wasserstein": "Wasserstein (normed)",
    "psi": "PSI",
    "chi2": "chi-square p-value",
    "jensenshannon": "Jensen-Shannon distance",
}
APPLIES = {
    NUMERIC: ("ks", "wasserstein", "psi"),
    DATETIME: ("ks", "wasserstein", "psi"),
    CATEGORICAL: ("chi2", "jensenshannon", "psi"),
}
P_VALUES = ("ks", "chi2")
DEFAULTS = {
    "ks": 0.05,
    "chi2": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.2,
    "missing": 0.05,
    "share": 0.5,
    "performance": 0.05,
}
RANGES = {  # key -> (low, high, inclusive high, what it is)
    "ks": (0.0, 1.0, False, "a p-value threshold lies strictly between 0 and 1"),
    "chi2": (0.0, 1.0, False, "a p-value threshold lies strictly between 0 and 1"),
    "wasserstein": (0.0, math.inf, False, "a normed Wasserstein threshold is a positive number"),
    "jensenshannon": (
        0.0,
        math.sqrt(math.log(2)),
        True,
        "a Jensen-Shannon threshold lies above 0 and at most 0.833",
    ),
    "psi": (0.0, math.inf, False, "a PSI threshold is a positive number"),
    "missing": (0.0, 1.0, True, "a missing-share change lies above 0 and at most 1"),
    "share": (0.0, 1.0, True, "a share of drifted columns lies above 0 and at most 1"),
    "performance": (0.0, 1.0, True, "a tolerated quality drop lies above 0 and at most 1"),
}
ALIASES = {
    "kolmogorov-smirnov": "ks",
    "k-s": "ks",
    "chisquare": "chi2",
    "chi-square": "chi2",
    "chi2_contingency": "chi2",
    "js": "jensenshannon",
    "jensen-shannon": "jensenshannon",
    "wasserstein_distance": "wasserstein",
    "population-stability-index": "psi",
}


def method_name(text: str) -> str:
    """The canonical method for a name or alias (``chisquare`` -> ``chi2``).

    Example:
        >>> method_name("Jensen-Shannon")
        'jensenshannon'
    """
    key = str(text).strip().lower()
    key = ALIASES.get(key, key)
    if key != "auto" and key not in METHODS:
        raise InvalidInput(f"Unknown drift test {text!r}; use auto, {', '.join(METHODS)}.")
    return key


def check_threshold(key: str, value: Any) -> float:
    """A threshold value in range for its key, or one sentence saying the allowed range."""
    key = ALIASES.get(str(key).strip().lower(), str(key).strip().lower())
    if key not in RANGES:
        raise InvalidInput(
            f"Unknown threshold {key!r}; use one of {', '.join(RANGES)} (e.g. --threshold ks=0.01)."
        )
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"The {key} threshold must be a number, not {value!r}.") from None
    low, high, inclusive, what = RANGES[key]
    if not (number > low and (number <= high if inclusive else number < high)) or math.isnan(
        number
    ):
        raise InvalidInput(
            f"The {key} threshold {value} is out of range: {what} (default {DEFAULTS[key]})."
        )
    return number


def _pairs(
    items: Mapping[str, Any] | Iterable[str] | None, what: str
) -> list[tuple[str | None, str]]:
    if items is None:
        return []
    if isinstance(items, Mapping):
        return [(str(k), str(v)) for k, v in items.items()]
    if isinstance(items, str):
        items = [items]
    out: list[tuple[str | None, str]] = []
    for item in items:
        key, sep, value = str(item).rpartition("=")
        if sep and not key.strip():
            raise InvalidInput(
                f"{what} {item!r} has nothing before '='; write COLUMN=TEST or TEST."
            )
        out.append((key.strip() if sep else None, value.strip()))
    return out


@dataclasses.dataclass
class Options:
    """The decision rules of one drift comparison (what the user asked for, validated)."""

    tests: dict[str, str] = dataclasses.field(default_factory=dict)  # column -> method
    kind_tests: dict[str, str] = dataclasses.field(default_factory=dict)  # kind -> method
    thresholds: dict[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULTS))

    @classmethod
    def parse(
        cls,
        tests: Mapping[str, Any] | Iterable[str] | None = None,
        thresholds: Mapping[str, Any] | Iterable[str] | None = None,
    ) -> Options:
        """Read ``--test`` (``col=ks`` or a bare ``ks`` for every column it applies to) and
        ``--threshold``.

        Example:
            >>> Options.parse(["income=psi", "chi2"], ["ks=0.01"]).kind_tests
            {'categorical': 'chi2'}
        """
        options = cls()
        for column, text in _pairs(tests, "--test"):
            method = method_name(text)
            if column is not None:
                options.tests[column] = method
            elif method == "auto":
                options.kind_tests.clear()
            else:
                for kind, allowed in APPLIES.items():
                    if method in allowed:
                        options.kind_tests[kind] = method
        for key, value in _pairs(thresholds, "--threshold"):
            if key is None:
                raise InvalidInput(
                    f"--threshold {value!r} needs a name: write e.g. ks=0.01 or share=0.3."
                )
            canonical = ALIASES.get(key.lower(), key.lower())
            options.thresholds[canonical] = check_threshold(canonical, value)
        return options

    def check_columns(self, kinds: Mapping[str, str], all_columns: Iterable[str]) -> None:
        """Refuse a per-column test for a column that is absent or of the wrong kind."""
        known = list(all_columns)
        for column, method in self.tests.items():
            if column not in kinds:
                if column in known:
                    continue  # present on one side only or not comparable: the schema notes say so
                shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
                raise InvalidInput(
                    f"--test {column}={method} names no column of the data (columns: {shown})."
                )
            allowed = APPLIES[kinds[column]]
            if method != "auto" and method not in allowed:
                raise InvalidInput(
                    f"--test {column}={method}: {method} does not compare {kinds[column]} columns "
                    f"such as {column}; use {', '.join(allowed)}."
                )

    def method_for(self, column: str, kind: str, smaller_sample: int) -> str:
        """The deciding method for one column."""
        method = self.tests.get(column) or self.kind_tests.get(kind) or "auto"
        if method != "auto":
            return method
        if kind == CATEGORICAL:
            return "chi2" if smaller_sample <= SMALL_SAMPLE else "jensenshannon"
        return "ks" if smaller_sample <= SMALL_SAMPLE else "wasserstein"

    def decide(self, method: str, score: float) -> tuple[float, bool]:
        """The threshold of ``method`` and whether ``score`` crosses it."""
        threshold = self.thresholds[method]
        if score is None or (isinstance(score, float) and math.isnan(score)):
            return threshold, False
        return threshold, bool(score < threshold if method in P_VALUES else score >= threshold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tests": dict(self.tests),
            "kind_tests": dict(self.kind_tests),
            "thresholds": dict(self.thresholds),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Options:
        return cls(
            dict(data.get("tests", {})),
            dict(data.get("kind_tests", {})),
            {**DEFAULTS, **data.get("thresholds", {})},
        )
