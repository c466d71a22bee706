"""The slice stability report: spread per metric, flagged slices, one chart per view."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..result import Block, Chart, Fields, Heading, Note, Table, fmt
from . import charts
from .reports import Report

RELATIVE = ("mean_absolute_error", "root_mean_squared_error")
NAMES = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "mean_absolute_error": "MAE",
    "root_mean_squared_error": "RMSE",
    "r2": "R²",
}
LOWER_IS_BETTER = RELATIVE


def spread_text(metric: str, value: float) -> str:
    """``0.041 -> '4.1 points'`` for rates, ``'4.1%'`` of the overall value for error metrics."""
    if math.isnan(value):
        return "n/a"
    return f"{value * 100:.1f}%" if metric in RELATIVE else f"{value * 100:.1f} points"


@dataclasses.dataclass(repr=False)
class SliceReport(Report):
    """Metrics across random disjoint subsets and user slices, with their spread."""

    task: str
    rows: int
    folds: int
    seed: int
    max_spread: float
    metrics: list[str]
    overall: dict[str, float]
    fold_rows: list[dict[str, Any]]
    fold_spread: dict[str, float]
    sections: list[dict[str, Any]]
    min_slice_size: int
    notes: list[str] = dataclasses.field(default_factory=list)
    subject: dict[str, Any] | None = None
    evaluation_id: int | None = None

    @property
    def headline(self) -> str:
        return self.metrics[0]

    def _too_wide(self, value: float) -> bool:
        return not math.isnan(value) and value > self.max_spread

    def flagged_slices(self, section: dict[str, Any]) -> list[dict[str, Any]]:
        """Slices whose headline metric is worse than overall by more than the allowed spread."""
        m, overall = self.headline, self.overall[self.headline]
        out = []
        for s in section["slices"]:
            if s["small"]:
                continue
            gap = (s[m] - overall) / abs(overall) if m in RELATIVE and overall else s[m] - overall
            if (gap > self.max_spread) if m in LOWER_IS_BETTER else (gap < -self.max_spread):
                out.append(s)
        return out

    @property
    def passed(self) -> bool:
        spreads = [
            *self.fold_spread.values(),
            *(v for s in self.sections for v in s["spread"].values()),
        ]
        return not any(self._too_wide(v) for v in spreads)

    @property
    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": self.rows, "folds": self.folds}
        finite = [v for v in self.fold_spread.values() if not math.isnan(v)]
        out["max_fold_spread"] = max(finite) if finite else math.nan
        for m, v in self.fold_spread.items():
            out[f"{m}_fold_spread"] = v
        slice_spreads = []
        for section in self.sections:
            for m, v in section["spread"].items():
                out[f"{section['feature']}.{m}_slice_spread"] = v
                if not math.isnan(v):
                    slice_spreads.append(v)
            values = [s[self.headline] for s in section["slices"] if not s["small"]]
            if values:
                worst = max(values) if self.headline in LOWER_IS_BETTER else min(values)
                out[f"{section['feature']}.worst_slice_{self.headline}"] = worst
        if self.sections:
            out["max_slice_spread"] = max(slice_spreads) if slice_spreads else math.nan
        out["flagged"] = sum(
            self._too_wide(v) for v in [*self.fold_spread.values(), *slice_spreads]
        )
        return out

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        rows = [{"view": "random subsets", **r} for r in self.fold_rows]
        rows += [{"view": s["feature"], **r} for s in self.sections for r in s["slices"]]
        return pd.DataFrame(rows)

    def explain(self) -> list[Note]:
        m = self.headline
        name = NAMES[m]
        values = [r[m] for r in self.fold_rows]
        size = self.rows // self.folds
        spread = self.fold_spread[m]
        verdict = (
            f"above the limit of {spread_text(m, self.max_spread)}"
            if self._too_wide(spread)
            else f"within the limit of {spread_text(m, self.max_spread)}"
        )
        notes = [
            Note(
                f"{name.capitalize() if name.islower() else name} moves by "
                f"{spread_text(m, spread)} across "
                f"{self.folds} random subsets of about {size} rows (from "
                f"{fmt(round(min(values), 4))} to "
                f"{fmt(round(max(values), 4))}), {verdict}.",
                "warn" if self._too_wide(spread) else "ok",
            )
        ]
        if m == "accuracy" and size:
            p = self.overall[m]
            noise = 2 * math.sqrt(max(p * (1 - p), 0) / size)
            notes.append(
                Note(
                    f"With {size} rows per subset, chance alone moves accuracy by about "
                    f"±{noise * 100:.1f} "
                    "points, so smaller differences are noise."
                )
            )
        for section in self.sections:
            flagged = self.flagged_slices(section)
            s = section["spread"][m]
            text = f"Across {section['feature']}, {name} spans {spread_text(m, s)}" + (
                f"; weaker slices: {', '.join(f['slice'] for f in flagged[:5])}."
                if flagged
                else "."
            )
            notes.append(Note(text, "warn" if self._too_wide(s) or flagged else "ok"))
            small = [r["slice"] for r in section["slices"] if r["small"]]
            if small:
                notes.append(
                    Note(
                        f"{len(small)} {section['feature']} slice(s) have fewer than "
                        f"{self.min_slice_size} rows "
                        f"({', '.join(map(str, small[:5]))}); they are shown but left out of "
                        "the spread.",
                        "warn",
                    )
                )
        notes.extend(Note(n, "warn") for n in self.notes)
        return notes

    def _table(
        self,
        title: str,
        rows: list[dict[str, Any]],
        spread: dict[str, float],
        flagged: list[dict[str, Any]] = (),
    ) -> Table:  # type: ignore[assignment]
        columns = ["slice", "rows", *[NAMES[m] for m in self.metrics], "note"]
        body, marked_rows, marked_cells = [], set(), set()
        flagged_names = {f["slice"] for f in flagged}
        for i, r in enumerate(rows):
            note = (
                "small slice"
                if r.get("small")
                else ("weaker than overall" if r["slice"] in flagged_names else "")
            )
            body.append([r["slice"], r["count"], *[r[m] for m in self.metrics], note])
            if r.get("small"):
                marked_rows.add(i)
            if r["slice"] in flagged_names:
                marked_cells.add((i, 2))
        body.append(["spread", None, *[spread_text(m, spread[m]) for m in self.metrics], ""])
        for j, m in enumerate(self.metrics):
            if self._too_wide(spread[m]):
                marked_cells.add((len(body) - 1, 2 + j))
        return Table(columns, body, title=title, marked_rows=marked_rows, marked_cells=marked_cells)

    def _chart(self, title: str, rows: list[dict[str, Any]], flagged: list[bool]) -> Chart:
        m = self.headline
        overall = self.overall[m]
        band = self.max_spread * abs(overall) if m in RELATIVE else self.max_spread
        figure = charts.spread(
            [str(r["slice"]) for r in rows],
            [r[m] for r in rows],
            flagged,
            overall=overall,
            band=band,
            title=title,
            axis=NAMES[m],
        )
        return Chart(figure, "")

    def blocks(self) -> list[Block]:
        subject = self.subject or {}
        out: list[Block] = [
            Heading("Slice stability" + (f": {subject['model']}" if subject.get("model") else ""))
        ]
        out.extend(self.explain())
        data = subject.get("data") or {}
        fields: list[tuple[str, Any]] = []
        if data:
            fields.append(("data", data.get("ref") or data.get("path") or data.get("name")))
        fields += [
            ("rows", self.rows),
            ("random subsets", f"{self.folds} (seed {self.seed})"),
            ("allowed spread", spread_text(self.headline, self.max_spread)),
        ]
        fields += [(f"overall {NAMES[m]}", v) for m, v in self.overall.items()]
        if self.evaluation_id is not None:
            fields.append(("evaluation", f"#{self.evaluation_id}"))
        out.append(Fields(fields))
        out.append(self._table("Random subsets", self.fold_rows, self.fold_spread))
        wide = self._too_wide(self.fold_spread[self.headline])
        out.append(
            self._chart(
                f"{NAMES[self.headline]} on each random subset",
                self.fold_rows,
                [wide] * len(self.fold_rows),
            )
        )
        for section in self.sections:
            flagged = self.flagged_slices(section)
            out.append(
                self._table(
                    f"Slices by {section['feature']}", section["slices"], section["spread"], flagged
                )
            )
            names = {f["slice"] for f in flagged}
            out.append(
                self._chart(
                    f"{NAMES[self.headline]} by {section['feature']}",
                    section["slices"],
                    [r["slice"] in names for r in section["slices"]],
                )
            )
        return out
