"""Business goals of a dashboard: ``accuracy>=0.85`` checked against what is stored, said in plain
words.

A goal reads like a promotion gate (same syntax, same lookup: the source run's
metrics, then the latest bias, perf and slices evaluations of the version), so
a goal on the dashboard and a gate in the registry never disagree about a number.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..evaluate.bias_report import MEANINGS
from ..registry.gates import Gate, facts, lookup, parse_gate
from ..result import fmt

if TYPE_CHECKING:
    from ..store import Store

# what a number means to someone who does not train models
PLAIN = {
    "accuracy": "the share of cases the model gets right",
    "balanced_accuracy": "the share of cases the model gets right, counting each class equally",
    "f1": "how well the model balances catching cases and avoiding false alarms (1 is perfect)",
    "precision": "of the cases the model flags, the share that are real",
    "recall": "of the real cases, the share the model catches",
    "roc_auc": "how well the model ranks real cases above the rest (0.5 is chance, 1 is perfect)",
    "r2": "how much of the variation the model explains (1 is perfect)",
    "rmse": "the typical size of the model's errors",
    "mae": "the average size of the model's errors",
    "p95_latency_ms": "how long 95% of predictions take, in milliseconds",
    "throughput_rows_per_s": "how many predictions the model makes per second",
    "drift_share": "the share of input columns whose distribution has moved",
    **MEANINGS,
}
WORDS = {
    ">=": "at least",
    ">": "above",
    "<=": "at most",
    "<": "below",
    "==": "exactly",
    "!=": "not",
}


@dataclasses.dataclass
class GoalResult:
    """One goal against the version's stored number."""

    goal: str
    metric: str
    op: str
    target: float
    value: float | None
    source: str
    met: bool | None

    @property
    def sentence(self) -> str:
        """``'Accuracy, the share of cases ... , must be at least 0.85; it is 0.91: met.'``"""
        bare = self.metric.split(".", 1)[-1]
        meaning = PLAIN.get(bare)
        name = bare.replace("_", " ").capitalize() + (f" ({meaning})" if meaning else "")
        wanted = f"{name} should be {WORDS[self.op]} {fmt(self.target)}"
        if self.value is None:
            return f"{wanted}; there is no measurement yet, so the goal cannot be checked."
        verdict = "the goal is met" if self.met else "the goal is NOT met"
        return f"{wanted}; it is {fmt(round(self.value, 4))}, so {verdict}."


def parse_goals(goals: list[str] | tuple[str, ...]) -> list[Gate]:
    """Goals in gate syntax; a malformed one is refused with the gate's own sentence."""
    if isinstance(goals, str):
        goals = [goals]
    return [parse_gate(text) for text in goals]


def known_metrics(version: Any, store: Store) -> list[str]:
    """Every number a goal can name for this version (bare names and ``source.name``)."""
    found = facts(version, store)
    names = {k for source in found.values() for k in source}
    names |= {f"{source}.{k}" for source, keys in found.items() for k in keys}
    return sorted(names)


def check_known(gates: list[Gate], version: Any, store: Store, ref: str) -> None:
    """Refuse a goal naming a number nothing stores for ``ref``, listing the ones that exist."""
    known = facts(version, store)
    for gate in gates:
        if lookup(gate, known) is None:
            names = [n for n in known_metrics(version, store) if "." not in n]
            raise InvalidInput(
                f"The goal {gate.text!r} names {gate.metric!r}, which nothing stores for {ref}; "
                f"known metrics are {', '.join(names) or 'none yet'}."
            )


def evaluate_goals(gates: list[Gate], version: Any, store: Store) -> list[GoalResult]:
    """Each goal's current value and whether it is met (``None`` when nothing is measured)."""
    known = facts(version, store)
    out = []
    for gate in gates:
        found = lookup(gate, known)
        value = found[0] if found else None
        number = float(value) if isinstance(value, (int, float)) and value == value else None
        out.append(
            GoalResult(
                gate.text,
                gate.metric,
                gate.op,
                gate.threshold,
                number,
                found[1] if found else "",
                gate.holds(number) if number is not None else None,
            )
        )
    return out
