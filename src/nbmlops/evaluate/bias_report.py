"""The bias report: numbers, plain-language sentences, tables and charts.

The report holds only JSON-friendly data, so it is stored as is and rebuilt
from the store looking exactly as it did when it was computed.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..result import Block, Chart, Fields, Heading, Note, Table, fmt
from . import charts
from .reports import Report

MEANINGS = {
    "demographic_parity_difference": "gap between the highest and the lowest selection rate",
    "demographic_parity_ratio": "lowest selection rate divided by the highest (four-fifths "
    "rule: at least 0.8)",
    "equalized_odds_difference": "largest gap in true-positive or false-positive rate",
    "equalized_odds_ratio": "smallest ratio of true-positive or false-positive rates",
    "equal_opportunity_difference": "gap in true-positive rate: how often real positives are "
    "caught",
    "mean_absolute_error_difference": "gap between the largest and the smallest mean absolute "
    "error",
    "mean_absolute_error_ratio": "smallest mean absolute error divided by the largest",
    "root_mean_squared_error_difference": "gap between the largest and the smallest RMSE",
    "mean_prediction_difference": "gap between the highest and the lowest average prediction",
}
SHORT = {
    "count": "rows",
    "selection_rate": "selection rate",
    "accuracy": "accuracy",
    "true_positive_rate": "TPR",
    "false_positive_rate": "FPR",
    "precision": "precision",
    "base_rate": "base rate",
    "mean_prediction": "mean prediction",
    "mean_error": "mean error",
    "mean_absolute_error": "MAE",
    "root_mean_squared_error": "RMSE",
}


def pct(value: float, threshold: float | None = None) -> str:
    """``0.712 -> '71%'``; one decimal when rounding would hide which side of a threshold it is
    on."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    text = f"{value * 100:.0f}%"
    if threshold is not None and (round(value * 100) >= threshold * 100) != (value >= threshold):
        text = f"{value * 100:.1f}%"
    return text


@dataclasses.dataclass(repr=False)
class BiasReport(Report):
    """Per-group metrics and disparities for one model on one set of rows."""

    task: str
    features: list[str]
    rows: int
    outcome: str
    positive: Any
    one_vs_rest: bool
    overall: dict[str, float]
    overall_ci: dict[str, list[float]] | None
    sections: list[dict[str, Any]]
    min_group_size: int
    threshold: float
    bootstrap: dict[str, Any] | None = None
    subject: dict[str, Any] | None = None
    evaluation_id: int | None = None

    # ------------------------------------------------------------ headline numbers

    @property
    def main(self) -> dict[str, Any]:
        """The section the headline numbers come from: the intersection when there are several
        columns."""
        return self.sections[0]

    @property
    def passed(self) -> bool | None:
        """Whether the four-fifths rule holds (classifiers); ``None`` for regressors."""
        if self.task != "classification":
            return None
        ratio = self.main["disparities"]["demographic_parity_ratio"]
        return bool(ratio >= self.threshold) if not math.isnan(ratio) else False

    @property
    def summary(self) -> dict[str, Any]:
        """Flat headline numbers; promotion gates read these (``demographic_parity_ratio>=0.8``)."""
        groups = self.main["groups"]
        out: dict[str, Any] = {
            "rows": self.rows,
            "groups": len(groups),
            "small_groups": sum(g["small"] for g in groups),
        }
        out.update({k: v for k, v in self.overall.items() if k != "count"})
        out.update(self.main["disparities"])
        key = "accuracy" if self.task == "classification" else "mean_absolute_error"
        values = [g[key] for g in groups]
        out[f"worst_group_{key}"] = min(values) if key == "accuracy" else max(values)
        out[f"{key}_difference"] = max(values) - min(values)
        if self.task == "classification":
            out["four_fifths"] = self.passed
        if len(self.sections) > 1:
            for section in self.sections[1:]:
                for name, value in section["disparities"].items():
                    out[f"{section['features'][0]}.{name}"] = value
        return out

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame(
            [{k: v for k, v in g.items() if k != "values"} for g in self.main["groups"]]
        )

    # ------------------------------------------------------------ sentences

    def explain(self) -> list[Note]:
        """One or two sentences per finding, for readers who are not specialists."""
        notes = (
            self._explain_classifier()
            if self.task == "classification"
            else self._explain_regressor()
        )
        groups = self.main["groups"]
        small = [g for g in groups if g["small"]]
        if small:
            listed = ", ".join(f"{g['group']}: {g['count']}" for g in small[:6]) + (
                ", ..." if len(small) > 6 else ""
            )
            notes.append(
                Note(
                    f"{len(small)} group{'s have' if len(small) > 1 else ' has'} fewer than "
                    f"{self.min_group_size} rows "
                    f"({listed}); rates from so few rows swing by chance, so they are marked "
                    "rather than trusted.",
                    "warn",
                )
            )
        for g in groups:
            if g.get("undefined"):
                names = " and ".join(SHORT[m] for m in g["undefined"])
                notes.append(
                    Note(
                        f"In group {g['group']} the {names} cannot be computed (no rows to "
                        "divide by); "
                        "it is shown as 0, as fairlearn does.",
                        "warn",
                    )
                )
        if any("(missing)" in map(str, g["values"]) for g in groups):
            notes.append(
                Note("Rows with no value in a sensitive column are kept as the group (missing).")
            )
        if self.one_vs_rest:
            notes.append(
                Note(
                    f"Every label other than {self.positive!r} counts as the negative outcome "
                    "(one label against the rest), for accuracy too."
                )
            )
        if self.bootstrap:
            b = self.bootstrap
            notes.append(
                Note(
                    f"Intervals are {b['confidence']:.0%} bootstrap confidence intervals from "
                    f"{b['n_boot']} resamples (seed {b['seed']})."
                )
            )
        return notes

    def _explain_classifier(self) -> list[Note]:
        groups, disp = self.main["groups"], self.main["disparities"]
        word = self.outcome.strip().capitalize() or "Selection"
        rates = [g["selection_rate"] for g in groups]
        lo = min(range(len(rates)), key=rates.__getitem__)
        hi = max(range(len(rates)), key=rates.__getitem__)
        ratio, limit = disp["demographic_parity_ratio"], f"{self.threshold:.0%}"
        notes = []
        if math.isnan(ratio):
            notes.append(
                Note(
                    f"The model predicts {self.positive!r} for nobody, so {word.lower()} rates "
                    "cannot be "
                    "compared between groups.",
                    "warn",
                )
            )
        else:
            head = (
                f"{word} rate for group {groups[lo]['group']} "
                f"({pct(rates[lo])}{self._few(groups[lo])}) is "
                f"{pct(ratio, self.threshold)} of group {groups[hi]['group']}'s "
                f"({pct(rates[hi])}{self._few(groups[hi])})"
            )
            if ratio >= self.threshold:
                notes.append(Note(f"{head}, within the four-fifths rule (at least {limit}).", "ok"))
            else:
                notes.append(
                    Note(f"{head}; the four-fifths rule asks for at least {limit}.", "alert")
                )
        tpr = [g["true_positive_rate"] for g in groups]
        t_lo = min(range(len(tpr)), key=tpr.__getitem__)
        t_hi = max(range(len(tpr)), key=tpr.__getitem__)
        notes.append(
            Note(
                f"Of the rows that truly are {self.positive!r}, the model finds {pct(tpr[t_hi])} "
                "in group "
                f"{groups[t_hi]['group']} but {pct(tpr[t_lo])} in group {groups[t_lo]['group']}; "
                "the largest gap in "
                "true- or false-positive rate (equalized odds difference) is "
                f"{fmt(round(disp['equalized_odds_difference'], 4))}."
            )
        )
        acc = [g["accuracy"] for g in groups]
        a_lo = min(range(len(acc)), key=acc.__getitem__)
        a_hi = max(range(len(acc)), key=acc.__getitem__)
        notes.append(
            Note(
                f"Accuracy ranges from {pct(acc[a_lo])} (group {groups[a_lo]['group']}) to "
                f"{pct(acc[a_hi])} (group {groups[a_hi]['group']})."
            )
        )
        return notes

    @staticmethod
    def _few(group: dict[str, Any]) -> str:
        """Said next to a small group's rate, so a headline never rests on a number too noisy to
        trust."""
        return f", only {group['count']} rows" if group["small"] else ""

    def _explain_regressor(self) -> list[Note]:
        groups, disp = self.main["groups"], self.main["disparities"]
        mae = [g["mean_absolute_error"] for g in groups]
        worst = max(range(len(mae)), key=mae.__getitem__)
        best = min(range(len(mae)), key=mae.__getitem__)
        ratio = disp["mean_absolute_error_ratio"]
        tone = "warn" if not math.isnan(ratio) and ratio < self.threshold else "info"
        notes = [
            Note(
                f"Predictions are off by {fmt(round(mae[worst], 4))} on average for group "
                f"{groups[worst]['group']} "
                f"but {fmt(round(mae[best], 4))} for group {groups[best]['group']} (mean "
                "absolute error); the best "
                f"group's error is {pct(ratio)} of the worst's.",
                tone,
            )
        ]
        over = [g for g in groups if g["mean_error"] > 0]
        under = [g for g in groups if g["mean_error"] < 0]
        if over and under:
            o = max(over, key=lambda g: g["mean_error"])
            u = min(under, key=lambda g: g["mean_error"])
            notes.append(
                Note(
                    f"The model over-predicts group {o['group']} by "
                    f"{fmt(round(o['mean_error'], 4))} on "
                    f"average and under-predicts group {u['group']} by "
                    f"{fmt(round(-u['mean_error'], 4))}."
                )
            )
        return notes

    # ------------------------------------------------------------ display

    def blocks(self) -> list[Block]:
        subject = self.subject or {}
        title = "Bias report" + (f": {subject['model']}" if subject.get("model") else "")
        out: list[Block] = [Heading(title)]
        out.extend(self.explain())
        fields: list[tuple[str, Any]] = []
        data = subject.get("data") or {}
        if data:
            fields.append(("data", data.get("ref") or data.get("path") or data.get("name")))
        fields += [("rows", self.rows), ("sensitive", " × ".join(self.features))]
        if self.task == "classification":
            fields += [
                ("positive label", self.positive),
                ("accuracy", self.overall["accuracy"]),
                ("selection rate", self.overall["selection_rate"]),
            ]
        else:
            fields += [
                ("MAE", self.overall["mean_absolute_error"]),
                ("RMSE", self.overall["root_mean_squared_error"]),
            ]
        if self.evaluation_id is not None:
            fields.append(("evaluation", f"#{self.evaluation_id}"))
        out.append(Fields(fields))
        out.append(self._measures_table())
        for i, section in enumerate(self.sections):
            out.extend(self._section_blocks(section, full=i == 0))
        return out

    def _measures_table(self) -> Table:
        disp, ci = self.main["disparities"], (self.main.get("ci") or {}).get("disparities")
        columns = (
            ["measure", "value"]
            + ([f"{self.bootstrap['confidence']:.0%} CI"] if ci and self.bootstrap else [])
            + ["meaning"]
        )
        rows = []
        order = [k for k in MEANINGS if k in disp] + [k for k in disp if k not in MEANINGS]
        disp = {k: disp[k] for k in order}  # stored reports come back with sorted keys
        for name, value in disp.items():
            row: list[Any] = [name, value]
            if ci and self.bootstrap:
                lo, hi = ci[name]
                row.append(f"{fmt(lo)} – {fmt(hi)}")
            rows.append([*row, MEANINGS.get(name, "")])
        marked = {
            (i, 1)
            for i, (name, value) in enumerate(disp.items())
            if name == "demographic_parity_ratio" and not value >= self.threshold
        }
        title = "Fairness measures" + (
            f" across {' × '.join(self.main['features'])}" if len(self.sections) > 1 else ""
        )
        return Table(columns, rows, title=title, marked_cells=marked)

    def _section_blocks(self, section: dict[str, Any], *, full: bool) -> list[Block]:
        groups, label = section["groups"], " × ".join(section["features"])
        classify = self.task == "classification"
        metrics = (
            [
                "count",
                "selection_rate",
                "accuracy",
                "true_positive_rate",
                "false_positive_rate",
                "precision",
                "base_rate",
            ]
            if classify
            else [
                "count",
                "mean_prediction",
                "mean_error",
                "mean_absolute_error",
                "root_mean_squared_error",
            ]
        )
        ci = (section.get("ci") or {}).get("groups")
        key = "selection_rate" if classify else "mean_absolute_error"
        columns = (
            ["group", *[SHORT[m] for m in metrics]]
            + ([f"{SHORT[key]} CI"] if ci else [])
            + ["note"]
        )
        values = [g[key] for g in groups]
        line = self.threshold * max(values) if classify and values and max(values) > 0 else None
        rows, marked_rows, marked_cells = [], set(), set()
        for i, g in enumerate(groups):
            notes = (["small group"] if g["small"] else []) + [
                f"{SHORT[m]} undefined" for m in g.get("undefined", [])
            ]
            row = [g["group"], *[g[m] for m in metrics]]
            if ci:
                row.append(f"{fmt(ci[key][0][i])} – {fmt(ci[key][1][i])}")
            rows.append([*row, ", ".join(notes)])
            if g["small"]:
                marked_rows.add(i)
            if line is not None and g[key] < line:
                marked_cells.add((i, 1 + metrics.index(key)))
        out: list[Block] = [
            Table(
                columns,
                rows,
                title=f"Groups by {label}",
                marked_rows=marked_rows,
                marked_cells=marked_cells,
            )
        ]
        names = [g["group"] for g in groups]
        small = [g["small"] for g in groups]
        if classify:
            figure = charts.group_bars(
                names,
                values,
                title=f"{self.outcome.capitalize()} rate by {label}",
                axis=f"{self.outcome} rate",
                line=line,
                small=small,
                line_text=f"{self.threshold:.0%} of the highest rate",
                ci=ci[key] if ci else None,
            )
            out.append(Chart(figure, ""))
            if full:
                series = {
                    SHORT[m]: [g[m] for g in groups]
                    for m in ("accuracy", "true_positive_rate", "false_positive_rate")
                }
                out.append(
                    Chart(
                        charts.grouped_bars(
                            names, series, title=f"Accuracy and error rates by {label}", axis="rate"
                        ),
                        "",
                    )
                )
        else:
            figure = charts.group_bars(
                names,
                values,
                title=f"Mean absolute error by {label}",
                axis="MAE",
                line=self.overall["mean_absolute_error"],
                flag_below=False,
                small=small,
                line_text="overall MAE",
                ci=ci[key] if ci else None,
            )
            out.append(Chart(figure, ""))
        return out
