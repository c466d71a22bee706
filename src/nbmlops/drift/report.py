"""The drift report: a per-column table, the dataset verdict, prediction and performance drift,
charts.

The report is plain data, stored whole as the evaluation's report, so opening a
stored drift evaluation (``open_report``) shows exactly what was shown when it
ran.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..evaluate.reports import Report
from ..result import Block, Chart, Fields, Heading, Note, Table, fmt_duration, status_cell
from . import charts
from .methods import METHODS, P_VALUES
from .performance import HIGHER_IS_BETTER


def _share(value: float | None) -> str:
    return (
        "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"
    )


def _num(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def column_row(r: dict[str, Any]) -> list[Any]:
    """One table row: what was compared, the deciding score, the other statistics, missing
    shares, notes."""
    found = r["stats"]
    test = found.get("ks") or found.get("chi2")
    distance = found.get("wasserstein", found.get("jensenshannon"))
    missing = r["missing"]
    missing_text = f"{_share(missing['reference'])} → {_share(missing['current'])}"
    kind = (
        r["kind"]
        if r.get("compared_as", r["kind"]) == r["kind"]
        else f"{r['kind']} (as categories)"
    )
    notes = "; ".join([*r["reasons"], *r["notes"]])
    return [
        r["column"],
        kind,
        METHODS.get(r["method"], r["method"]),
        _num(r["score"]),
        r["threshold"],
        status_cell("DRIFT" if r["drifted"] else "ok"),
        _num(test["p_value"]) if test else None,
        _num(distance),
        _num(found.get("psi")),
        missing_text,
        notes,
    ]


COLUMNS = [
    "column",
    "kind",
    "decided by",
    "score",
    "threshold",
    "drift",
    "p-value (KS/chi²)",
    "distance (W/JS)",
    "PSI",
    "missing ref → cur",
    "notes",
]


@dataclasses.dataclass(repr=False)
class DriftReport(Report):
    """Per-column drift between a reference and a current sample, with the dataset verdict."""

    reference: dict[str, Any]
    current: dict[str, Any]
    columns: list[dict[str, Any]]
    schema: dict[str, Any]
    options: dict[str, Any]
    rows: dict[str, Any] = dataclasses.field(default_factory=dict)
    target: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    performance: dict[str, Any] | None = None
    mode: str = "in memory"
    time_column: str | None = None
    window: str | None = None
    model: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    period: list[float] | None = (
        None  # first and last time of the current data's time column (epoch seconds)
    )
    seconds: float | None = None
    subject: dict[str, Any] | None = None
    evaluation_id: int | None = None

    # ---------------------------------------------------------------- verdicts

    @property
    def share_threshold(self) -> float:
        return float(self.options["thresholds"]["share"])

    @property
    def drifted_columns(self) -> list[str]:
        return [r["column"] for r in self.columns if r["drifted"]]

    @property
    def drift_share(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.columns) and self.drift_share >= self.share_threshold

    @property
    def performance_dropped(self) -> list[str]:
        return list((self.performance or {}).get("dropped", []))

    @property
    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "drift_share": self.drift_share,
            "drifted_columns": len(self.drifted_columns),
            "columns_compared": len(self.columns),
            "dataset_drift": self.dataset_drift,
            "share_threshold": self.share_threshold,
            "schema_changes": sum(
                len(self.schema.get(k, []))
                for k in ("only_reference", "only_current", "type_changed")
            ),
        }
        if self.prediction is not None:
            out["prediction_drift"] = self.prediction["drifted"]
            out["prediction_score"] = self.prediction["score"]
        if self.target is not None:
            out["target_drift"] = self.target["drifted"]
        for row in (self.performance or {}).get("metrics", []):
            out[row["metric"]] = row["current"]
            out[f"{row['metric']}_reference"] = row["reference"]
        return out

    @property
    def passed(self) -> bool | None:
        return not self.dataset_drift and not self.performance_dropped

    def column(self, name: str) -> dict[str, Any]:
        """The result of one column (features, target or prediction)."""
        for r in [*self.columns, *(x for x in (self.target, self.prediction) if x)]:
            if r["column"] == name:
                return r
        raise KeyError(name)

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        rows = [column_row(r) for r in self.ordered()]
        frame = pd.DataFrame(rows, columns=COLUMNS)
        frame["drift"] = [r["drifted"] for r in self.ordered()]
        return frame

    # ---------------------------------------------------------------- display

    def ordered(self) -> list[dict[str, Any]]:
        return sorted(self.columns, key=lambda r: not r["drifted"])

    def verdict(self) -> Note:
        n, k = len(self.columns), len(self.drifted_columns)
        if not n:
            return Note("No column could be compared.", "warn")
        text = (
            f"Drift in {k} of {n} columns ({self.drift_share:.0%}); the dataset counts as "
            "drifted at "
            f"{self.share_threshold:.0%}"
        )
        if self.dataset_drift:
            return Note(text + ": dataset drift detected.", "alert")
        return Note(
            text + (": no dataset drift, but some columns moved." if k else ": no drift."),
            "warn" if k else "ok",
        )

    def schema_notes(self) -> list[Note]:
        out = []
        s = self.schema
        if s.get("only_reference"):
            out.append(
                Note(
                    "Missing from the current data (not compared): "
                    f"{', '.join(s['only_reference'])}.",
                    "warn",
                )
            )
        if s.get("only_current"):
            out.append(
                Note(
                    f"New in the current data (not compared): {', '.join(s['only_current'])}.",
                    "warn",
                )
            )
        for change in s.get("type_changed", []):
            out.append(
                Note(
                    f"{change['column']} changed type ({change['reference']} → "
                    f"{change['current']}): "
                    f"{change['reason']}; not compared.",
                    "warn",
                )
            )
        if s.get("excluded"):
            out.append(Note(f"Not compared on purpose: {', '.join(s['excluded'])}."))
        return out

    def _special(self, r: dict[str, Any], what: str) -> Note:
        verb = "drifted" if r["drifted"] else "did not drift"
        detail = (
            f" ({'; '.join(r['reasons'])})"
            if r["reasons"]
            else f" ({r['method']} {r['score']:.3g})"
        )
        return Note(
            f"The {what} ({r['column']}) {verb}{detail}.", "warn" if r["drifted"] else "info"
        )

    def performance_blocks(self) -> list[Block]:
        perf = self.performance
        if not perf or not perf["metrics"]:
            return []
        out: list[Block] = [Heading("Model quality (labels present)", 4)]
        dropped = perf["dropped"]
        if dropped:
            cause = (
                "while the inputs did not drift: the relation between inputs and target changed "
                "(concept drift)"
                if not self.drifted_columns
                else f"with {len(self.drifted_columns)} drifted input column(s): data drift "
                "explains part of it, "
                "concept drift may add to it"
            )
            out.append(
                Note(f"Quality fell against the reference ({', '.join(dropped)}) {cause}.", "alert")
            )
        else:
            out.append(Note("Quality held against the reference.", "ok"))
        rows, marked = [], set()
        for i, m in enumerate(perf["metrics"]):
            rows.append(
                [
                    m["metric"],
                    _num(m["reference"]),
                    _num(m["current"]),
                    _num(m["change"]),
                    "higher" if m["metric"] in HIGHER_IS_BETTER else "lower",
                ]
            )
            if m["worse"]:
                marked.add(i)
        out.append(
            Table(
                ["metric", "reference", "current", "change", "better when"],
                rows,
                marked_rows=marked,
            )
        )
        windows = perf.get("windows") or []
        if len(windows) >= 2:
            names = [m["metric"] for m in perf["metrics"] if m["metric"] in HIGHER_IS_BETTER][
                :4
            ] or [m["metric"] for m in perf["metrics"]][:2]
            reference = {m["metric"]: m["reference"] for m in perf["metrics"]}
            figure = charts.metric_windows(
                windows, reference, names, title=f"Quality per {self.window} window"
            )
            text = "; ".join(
                f"{charts.iso_time(w['start'])[:10]}: "
                + ", ".join(f"{n}={w['metrics'].get(n, math.nan):.3f}" for n in names)
                for w in windows[-6:]
            )
            out.append(Chart(figure, f"Per window (latest {min(len(windows), 6)}): {text}"))
        return out

    def blocks(self) -> list[Block]:
        out: list[Block] = [
            Heading(f"Drift: {self.reference.get('label')} → {self.current.get('label')}")
        ]
        out.append(self.verdict())
        out.extend(self.schema_notes())
        if self.prediction is not None:
            out.append(self._special(self.prediction, "prediction"))
        if self.target is not None:
            out.append(self._special(self.target, "target"))
        out.extend(Note(n) for n in self.notes)
        fields: list[tuple[str, Any]] = [
            (
                "reference",
                f"{self.reference.get('label')} ({self.rows.get('reference', '?'):,} rows)"
                if isinstance(self.rows.get("reference"), int)
                else self.reference.get("label"),
            ),
            (
                "current",
                f"{self.current.get('label')} ({self.rows.get('current', '?'):,} rows)"
                if isinstance(self.rows.get("current"), int)
                else self.current.get("label"),
            ),
            (
                "computed",
                self.mode
                + (f" in {fmt_duration(self.seconds)}" if self.seconds is not None else ""),
            ),
        ]
        if self.model:
            fields.append(("model", self.model))
        if self.time_column:
            fields.append(
                (
                    "time column",
                    self.time_column + (f" (windows of {self.window})" if self.window else ""),
                )
            )
        if self.evaluation_id is not None:
            fields.append(("evaluation", f"#{self.evaluation_id}"))
        out.append(Fields(fields))
        ordered = self.ordered()
        marked = {i for i, r in enumerate(ordered) if r["drifted"]}
        thresholds = self.options["thresholds"]
        footer = (
            f"Tests drift when p < {thresholds['ks']:g} (KS) / {thresholds['chi2']:g} (chi²); "
            "distances when at "
            f"least {thresholds['wasserstein']:g} (Wasserstein, in reference standard "
            "deviations) / "
            f"{thresholds['jensenshannon']:g} (Jensen-Shannon); PSI at {thresholds['psi']:g}."
        )
        out.append(
            Table(
                COLUMNS,
                [column_row(r) for r in ordered],
                title="Columns",
                marked_rows=marked,
                footer=footer,
            )
        )
        out.extend(self.performance_blocks())
        figure = charts.histograms(
            [r for r in ordered if r["drifted"]]
            or sorted(self.columns, key=_severity, reverse=True)[:6]
        )
        if figure is not None:
            names = [
                b["label"] for b in figure["layout"].get("updatemenus", [{}])[0].get("buttons", [])
            ] or [figure["layout"]["title"]["text"].split(":")[0]]
            out.append(
                Chart(
                    figure,
                    "Histograms (reference vs current, pick a column in the chart): "
                    f"{', '.join(names)}",
                )
            )
        return out


def _severity(r: dict[str, Any]) -> float:
    score = r["score"]
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return -1.0
    return float(1 - score if r["method"] in P_VALUES else score)
