"""Champion against challenger: both models on the same rows, side by side.

Like shadow deployment, but offline: each model predicts on the same data; the
comparison reports their metrics, how often they agree, which errors the
challenger fixes and which it introduces, their single-row latency and, when
sensitive columns are named, their fairness.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.versions import reads_recorded_on_success
from ..evaluate import groups as G
from ..evaluate.fairness import assess, sensitive_columns
from ..evaluate.inputs import feature_frame, load_model, load_table, predict, split_target
from ..evaluate.labels import binarize, regression_values, task_of
from ..evaluate.reports import Report, record_report
from ..result import Block, Fields, Heading, Note, Table, fmt

if TYPE_CHECKING:
    from ..evaluate.inputs import ModelInput
    from ..store import Store

HIGHER = {"accuracy", "precision", "recall", "f1", "roc_auc", "r2", "demographic_parity_ratio"}
LATENCY_CALLS = 50


def _classification_scores(
    y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None
) -> dict[str, float]:

    cube = G.confusion_cube(np.zeros(len(y), dtype=np.int64), y, pred, 1)
    r = G.rates(cube)
    precision, recall = float(r["precision"][0]), float(r["true_positive_rate"][0])
    out = {
        "accuracy": float(r["accuracy"][0]),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
    }
    if proba is not None and 0 < y.sum() < len(y):
        from sklearn.metrics import roc_auc_score  # lazy: start-up time

        out["roc_auc"] = float(roc_auc_score(y, proba))
    return out


def _regression_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    error = pred - y
    total = float(((y - y.mean()) ** 2).sum())
    return {
        "mean_absolute_error": float(np.abs(error).mean()),
        "root_mean_squared_error": float(np.sqrt((error**2).mean())),
        "r2": 1 - float((error**2).sum()) / total if total else math.nan,
    }


def _latency_ms(model: Any, features: Any) -> float:
    rows = [
        features.iloc[i : i + 1] if hasattr(features, "iloc") else features[i : i + 1]
        for i in range(min(len(features), 16))
    ]
    model.predict(rows[0])
    times = []
    for i in range(LATENCY_CALLS):
        t0 = time.perf_counter_ns()
        model.predict(rows[i % len(rows)])
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return float(np.median(times))


def _positive_proba(model: Any, features: Any, positive: Any) -> np.ndarray | None:
    classes = getattr(model, "classes_", None)
    if (
        classes is None
        or not callable(getattr(model, "predict_proba", None))
        or positive not in list(classes)
    ):
        return None
    return np.asarray(model.predict_proba(features))[:, list(classes).index(positive)]


@dataclasses.dataclass(repr=False)
class Comparison(Report):
    """Two models evaluated on the same rows."""

    a: str
    b: str
    task: str
    rows: int
    metrics: list[dict[str, Any]]
    agreement: float
    fixes: int | None
    breaks: int | None
    positive: Any = None
    subject: dict[str, Any] | None = None
    evaluation_id: int | None = None

    @property
    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": self.rows, "agreement": self.agreement}
        for m in self.metrics:
            out[f"{m['metric']}.a"], out[f"{m['metric']}.b"] = m["a"], m["b"]
        return out

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame(self.metrics)

    def _worse(self, m: dict[str, Any]) -> bool:
        a, b = m["a"], m["b"]
        if (
            a is None
            or b is None
            or (isinstance(a, float) and math.isnan(a))
            or (isinstance(b, float) and math.isnan(b))
        ):
            return False
        return bool(b < a if m["metric"] in HIGHER else b > a)

    def explain(self) -> list[Note]:
        head = self.metrics[0]
        better = "higher" if head["metric"] in HIGHER else "lower"
        verdict = (
            "worse" if self._worse(head) else ("the same" if head["a"] == head["b"] else "better")
        )
        notes = [
            Note(
                f"On {self.rows} rows, {self.b} scores {fmt(round(head['b'], 4))} "
                f"{head['metric']} against "
                f"{fmt(round(head['a'], 4))} for {self.a} ({better} is better): {verdict}.",
                "warn" if verdict == "worse" else "ok",
            )
        ]
        if self.task == "classification":
            notes.append(
                Note(
                    f"The two models agree on {self.agreement:.1%} of rows; {self.b} fixes "
                    f"{self.fixes} of "
                    f"{self.a}'s errors and makes {self.breaks} new ones."
                )
            )
        else:
            notes.append(
                Note(f"Their predictions differ by {fmt(round(self.agreement, 4))} on average.")
            )
        worse = [m["metric"] for m in self.metrics[1:] if self._worse(m)]
        if worse:
            notes.append(Note(f"{self.b} is worse on: {', '.join(worse)}.", "warn"))
        return notes

    def blocks(self) -> list[Block]:
        out: list[Block] = [Heading(f"{self.a} vs {self.b}")]
        out.extend(self.explain())
        data = (self.subject or {}).get("data") or {}
        fields: list[tuple[str, Any]] = [
            ("data", data.get("ref") or data.get("path") or data.get("name")),
            ("rows", self.rows),
        ]
        if self.evaluation_id is not None:
            fields.append(("evaluation", f"#{self.evaluation_id}"))
        out.append(Fields(fields))
        rows, marked = [], set()
        for i, m in enumerate(self.metrics):
            delta = (
                m["b"] - m["a"]
                if isinstance(m["a"], (int, float)) and isinstance(m["b"], (int, float))
                else None
            )
            rows.append(
                [m["metric"], m["a"], m["b"], delta, "higher" if m["metric"] in HIGHER else "lower"]
            )
            if self._worse(m):
                marked.add(i)
        out.append(
            Table(
                ["measure", self.a, self.b, "change", "better"],
                rows,
                marked_rows=marked,
                footer="Marked: measures on which the second model is worse.",
            )
        )
        return out


@reads_recorded_on_success()
def compare(
    a: Any,
    b: Any,
    *,
    data: Any,
    target: Any = None,
    sensitive: str | Sequence[str] | None = None,
    positive: Any = None,
    labels: Sequence[str] = ("a", "b", "data", "target"),
    record: bool = True,
    store: Store | None = None,
) -> Comparison:
    """Evaluate two models on the same rows and show the differences (champion vs challenger).

    Example:
        >>> mo.models.compare("churn@champion", "churn@challenger", data="loans@latest",
        ...                   target="churned")  # doctest: +SKIP
    """

    first, second = load_model(a, labels[0], store=store), load_model(b, labels[1], store=store)
    table = load_table(data, labels[2])
    frame, y_true, y_label = split_target(
        table, target, labels[3] if not isinstance(target, str) else target
    )
    columns = sensitive_columns(sensitive, frame, len(frame), table.label) if sensitive else {}
    models: list[ModelInput] = [first, second]
    features = [feature_frame(m, frame, drop=list(columns)) for m in models]
    preds = [predict(m, f) for m, f in zip(models, features, strict=True)]
    task = task_of(first.model, y_true, preds[0])
    positive_label = None
    fixes: int | None
    breaks: int | None
    if task == "classification":
        classes = getattr(first.model, "classes_", None)
        coded = [
            binarize(y_true, p, positive=positive, classes=classes, y_label=y_label) for p in preds
        ]
        positive_label = coded[0].positive
        scores = [
            _classification_scores(c.y_true, c.y_pred, _positive_proba(m.model, f, c.positive))
            for c, m, f in zip(coded, models, features, strict=True)
        ]
        right = [c.y_true == c.y_pred for c in coded]
        agreement = float(np.mean(preds[0] == preds[1]))
        fixes, breaks = int(np.sum(~right[0] & right[1])), int(np.sum(right[0] & ~right[1]))
    else:
        pairs = [regression_values(y_true, p, y_label) for p in preds]
        scores = [_regression_scores(t, p) for t, p in pairs]
        agreement = float(np.mean(np.abs(pairs[0][1] - pairs[1][1])))
        fixes = breaks = None  # no right or wrong per row for a regressor
    if columns:
        for i, (m, p) in enumerate(zip(models, preds, strict=True)):
            s = assess(
                y_true, p, columns, model=m.model, positive=positive, y_label=y_label
            ).summary
            keys = (
                ("demographic_parity_ratio", "equalized_odds_difference")
                if task == "classification"
                else ("mean_absolute_error_difference",)
            )
            scores[i].update({k: s[k] for k in keys})
    scores[0]["p50_latency_ms"] = _latency_ms(first.model, features[0])
    scores[1]["p50_latency_ms"] = _latency_ms(second.model, features[1])
    metrics = [{"metric": k, "a": scores[0].get(k), "b": scores[1].get(k)} for k in scores[0]]
    result = Comparison(
        a=first.label,
        b=second.label,
        task=task,
        rows=len(frame),
        metrics=metrics,
        agreement=agreement,
        fixes=fixes,
        breaks=breaks,
        positive=positive_label,
        subject={
            "model": f"{first.label} vs {second.label}",
            "model_ref": second.ref,
            "models": [first.ref or first.label, second.ref or second.label],
            "data": table.description,
            "target": y_label,
        },
    )
    if record:
        result.evaluation_id = record_report("compare", result, second, store=store)
    return result
