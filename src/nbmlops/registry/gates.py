"""Promotion gates: ``metric OP number`` conditions checked against what is stored for a version.

A gate names a number the store holds for the version: a metric of its source
run (``accuracy``), or a headline of its latest bias, perf or slices evaluation
(``demographic_parity_ratio``, ``p95_latency_ms``, ``max_fold_spread``). A bare
name is looked up in that order; a prefix picks the source: ``metrics.accuracy``,
``bias.accuracy``, ``perf.p95_latency_ms``, ``slices.max_fold_spread``,
``model.size_bytes``. A gate whose number is missing fails, saying what to run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
import re
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..evaluate.reports import Report
from ..evaluate.storage import list_evaluations
from ..result import Block, Heading, Note, Table, fmt, status_cell
from ..verdict import Finding, Verdict

if TYPE_CHECKING:
    from ..store import Store

OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
SOURCES = ("metrics", "bias", "perf", "slices")
HINTS = {"bias": "evaluate bias", "perf": "evaluate perf", "slices": "evaluate slices"}
_GATE = re.compile(r"^\s*([A-Za-z_][\w.\-@]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")


@dataclasses.dataclass(frozen=True)
class Gate:
    """One condition, such as ``p95_latency_ms <= 20``."""

    metric: str
    op: str
    threshold: float

    @property
    def text(self) -> str:
        return f"{self.metric}{self.op}{fmt(self.threshold)}"

    def holds(self, value: float) -> bool:
        return bool(OPERATORS[self.op](value, self.threshold))


def parse_gate(text: str) -> Gate:
    """``"accuracy>=0.85"`` -> ``Gate("accuracy", ">=", 0.85)``.

    Example:
        >>> parse_gate("p95_latency_ms <= 20").text
        'p95_latency_ms<=20'
    """
    match = _GATE.match(text) if isinstance(text, str) else None
    threshold = None
    if match:
        raw = match.group(3).lower()
        try:
            threshold = {"true": 1.0, "false": 0.0}.get(raw)
            threshold = float(raw) if threshold is None else threshold
        except ValueError:
            threshold = None
    if match is None or threshold is None or not math.isfinite(threshold):
        raise InvalidInput(
            f"The gate {text!r} is not understood; write metric, operator, number, e.g. "
            "accuracy>=0.85 "
            f"(operators: {', '.join(OPERATORS)})."
        )
    return Gate(match.group(1), match.group(2), threshold)


def facts(version: Any, store: Store) -> dict[str, dict[str, tuple[Any, str]]]:
    """Numbers stored for a version, by source: run metrics and the latest evaluation of each
    kind."""
    found: dict[str, dict[str, tuple[Any, str]]] = {s: {} for s in SOURCES}
    found["model"] = {"size_bytes": (version.size, "artifact")}
    for key, value in json.loads(version.metrics).items():
        found["metrics"][key] = (value, "source run")
    for e in list_evaluations(model_version_id=version.id, limit=500, store=store):
        if e.kind in SOURCES and not found[e.kind]:
            found[e.kind] = {k: (v, f"{e.kind} evaluation #{e.id}") for k, v in e.summary.items()}
    return found


def lookup(gate: Gate, known: dict[str, dict[str, tuple[Any, str]]]) -> tuple[Any, str] | None:
    source, _, key = gate.metric.partition(".")
    if key and source in known and key in known[source]:
        return known[source][key]
    for source in SOURCES:
        if gate.metric in known[source]:
            return known[source][gate.metric]
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and not math.isnan(value):
        return float(value)
    return None


def evaluate_gates(version: Any, gates: list[str], store: Store) -> list[dict[str, Any]]:
    """Each gate's value, source and verdict, with a sentence for the ones that fail."""
    known = facts(version, store)
    results: list[dict[str, Any]] = []
    for text in gates:
        gate = parse_gate(text)
        found = lookup(gate, known)
        if found is None:
            source = gate.metric.partition(".")[0] if "." in gate.metric else None
            hint = HINTS.get(
                source or "", "evaluate bias, perf or slices, or log it in the source run"
            )
            results.append(
                {
                    "gate": gate.text,
                    "value": None,
                    "source": "",
                    "passed": False,
                    "reason": f"no stored value for {gate.metric}; run {hint} for "
                    f"{version.name}@{version.version}",
                }
            )
            continue
        value, source = found
        number = _number(value)
        if number is None:
            results.append(
                {
                    "gate": gate.text,
                    "value": value,
                    "source": source,
                    "passed": False,
                    "reason": f"{gate.metric} is {fmt(value)}, not a number",
                }
            )
            continue
        ok = gate.holds(number)
        results.append(
            {
                "gate": gate.text,
                "value": number,
                "source": source,
                "passed": ok,
                "reason": "" if ok else f"{gate.metric} is {fmt(number)}",
            }
        )
    return results


@dataclasses.dataclass(repr=False)
class GateReport(Verdict, Report):
    """The verdict of a model's gates on one version."""

    ref: str
    alias: str | None
    results: list[dict[str, Any]]
    subject: dict[str, Any] | None = None
    evaluation_id: int | None = None

    @property
    def findings(self) -> list[Finding]:
        return [
            Finding("gate failed", r["gate"], r["reason"]) for r in self.results if not r["passed"]
        ]

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if not r["passed"]]

    @property
    def summary(self) -> dict[str, Any]:
        return {
            "gates": len(self.results),
            "failed": len(self.failures),
            "failing": [r["gate"] for r in self.failures],
        }

    def sentence(self) -> str:
        """``'2 of 3 gates fail: p95_latency_ms<=20 (p95_latency_ms is 34.2), ...'``."""
        if not self.results:
            return "No gates are set for this model."
        if self.passed:
            return f"All {len(self.results)} gate{'s' if len(self.results) > 1 else ''} pass."
        failed = "; ".join(f"{r['gate']} ({r['reason']})" for r in self.failures)
        return f"{len(self.failures)} of {len(self.results)} gates fail: {failed}."

    def blocks(self) -> list[Block]:
        target = f" → {self.alias}" if self.alias else ""
        out: list[Block] = [
            Heading(f"Gates for {self.ref}{target}"),
            Note(self.sentence(), "ok" if self.passed else "alert"),
        ]
        rows = [
            [r["gate"], r["value"], r["source"], status_cell("PASS" if r["passed"] else "FAIL")]
            for r in self.results
        ]
        if rows:
            out.append(
                Table(
                    ["gate", "value", "from", "result"],
                    rows,
                    marked_rows={i for i, r in enumerate(self.results) if not r["passed"]},
                )
            )
        return out
