"""What a dashboard shows a business reader: the model in production, its goals, trend, drift,
fairness.

Built from the registry and the stored evaluations only (read-only). Every
missing piece is a sentence saying what is missing and how it gets there.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from .. import registry
from ..evaluate.reports import open_report
from ..evaluate.storage import list_evaluations
from ..registry.gates import facts, lookup
from ..registry.views import ModelOverview
from ..result import Block, Chart, Fields, Heading, Html, Note, Result, Table, fmt, timestamp
from .goals import GoalResult, evaluate_goals, parse_goals

if TYPE_CHECKING:
    from ..store import Store

PRODUCTION_ALIASES = ("production", "prod", "champion")
TREND_VERSIONS = 20
PALETTE = ["#1f5fa8", "#b42318", "#1a7f37", "#8250df", "#9a6700", "#0a7ea4"]


def _goal_cell(goal: GoalResult) -> Html:
    if goal.met is None:
        return Html('<span style="color:#6e7781;font-weight:600">NO DATA</span>', "NO DATA")
    colour, word = ("#1a7f37", "MET") if goal.met else ("#b42318", "NOT MET")
    return Html(
        f'<span class="nbm-goal-{word.replace(" ", "-").lower()}" '
        f'style="color:{colour};font-weight:700">'
        f"{word}</span>",
        word,
    )


@dataclasses.dataclass(repr=False)
class DashboardView(Result):
    """The dashboard of one model: production version, goals, trend, drift, fairness, approvals."""

    model: str
    title: str
    production: dict[str, Any] | None
    goals: list[GoalResult]
    trend: dict[str, Any] | None
    drift: dict[str, Any] | None
    fairness: dict[str, Any] | None
    approvals: list[dict[str, Any]]
    notes: list[str] = dataclasses.field(default_factory=list)

    def blocks(self) -> list[Block]:
        out: list[Block] = [Heading(self.title, 2)]
        p = self.production
        if p is None:
            out.append(
                Note(
                    f"No version of {self.model} is in production yet; the goals below are "
                    "checked on the "
                    "latest version.",
                    "warn",
                )
            )
        else:
            since = fmt(timestamp(p["since"])) if p["since"] else "an unknown date"
            out.append(
                Note(
                    f"Version {p['version']} of {self.model} is in {p['alias']} since {since}.",
                    "info",
                )
            )
            out.append(
                Fields(
                    [
                        ("model", f"{self.model} v{p['version']} ({p['class_name']})"),
                        ("registered", f"{fmt(timestamp(p['created_at']))} by {p['created_by']}"),
                    ]
                )
            )
        out.extend(Note(n, "warn") for n in self.notes)
        out.append(Heading("Goals", 3))
        if not self.goals:
            out.append(
                Note('No goals were set; publish the dashboard with --goal "accuracy>=0.85".')
            )
        else:
            met = sum(g.met is True for g in self.goals)
            tone = "ok" if met == len(self.goals) else "alert"
            out.append(Note(f"{met} of {len(self.goals)} goals are met.", tone))
            rows = [[g.goal, g.target, g.value, _goal_cell(g), g.sentence] for g in self.goals]
            out.append(Table(["goal", "target", "current", "status", "what it means"], rows))
        out.append(Heading("Trend over versions", 3))
        if self.trend is None:
            out.append(
                Note(
                    "Only one version has these numbers so far; the trend appears with the next "
                    "version."
                )
            )
        else:
            text = "; ".join(
                f"{name}: " + " → ".join(fmt(v) for v in values if v is not None)
                for name, values in self.trend["series"].items()
            )
            out.append(Chart(self.trend["figure"], text))
        out.append(Heading("Input data drift", 3))
        if self.drift is None:
            out.append(
                Note(
                    f"No drift check is stored for {self.model} yet; run mlops drift with "
                    f"--model {self.model}@production to add one."
                )
            )
        else:
            out.append(Note(self.drift["sentence"], self.drift["tone"]))
        out.append(Heading("Fairness", 3))
        if self.fairness is None:
            out.append(
                Note(
                    f"No fairness report is stored for {self.model} yet; run mlops evaluate bias "
                    "on it."
                )
            )
        else:
            out.append(Note(self.fairness["sentence"], self.fairness["tone"]))
        out.append(Heading("Recent decisions", 3))
        if not self.approvals:
            out.append(Note("No promotion or approval is recorded yet."))
        else:
            rows = [
                [
                    timestamp(a["at"]),
                    f"v{a['version']}",
                    a["alias"],
                    a["action"],
                    a["status"],
                    a["user"],
                    a["note"],
                ]
                for a in self.approvals
            ]
            out.append(
                Table(["when", "version", "alias", "decision", "result", "by", "note"], rows)
            )
        return out


def _production(overview: ModelOverview, store: Store) -> tuple[str | None, dict[str, Any] | None]:
    alias = next((a for a in PRODUCTION_ALIASES if a in overview.aliases), None)
    if alias is None:
        return None, None
    version = overview.aliases[alias]
    since = next(
        (
            t["at"]
            for t in registry.history(overview.name, store=store).transitions
            if t["alias"] == alias
            and t["version"] == version
            and t["status"] == "done"
            and t["action"] != "demote"
        ),
        None,
    )
    row = next(v for v in overview.versions if v["version"] == version)
    return f"{overview.name}@{alias}", {"alias": alias, "version": version, "since": since, **row}


def _trend(overview: ModelOverview, gates: list[Any], store: Store) -> dict[str, Any] | None:
    versions = sorted(overview.versions, key=lambda v: v["version"])[-TREND_VERSIONS:]
    series: dict[str, list[float | None]] = {g.metric: [] for g in gates}
    for v in versions:
        known = facts(
            registry.resolve_version(f"{overview.name}@{v['version']}", store=store), store
        )
        for g in gates:
            found = lookup(g, known)
            value = found[0] if found else None
            series[g.metric].append(
                float(value) if isinstance(value, (int, float)) and value == value else None
            )
    if len(versions) < 2 or not any(sum(x is not None for x in s) >= 2 for s in series.values()):
        return None
    labels = [f"v{v['version']}" for v in versions]
    data, shapes = [], []
    for i, (name, values) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": labels,
                "y": values,
                "line": {"color": colour, "width": 2},
            }
        )
        target = next(g.threshold for g in gates if g.metric == name)
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": target,
                "y1": target,
                "line": {"dash": "dash", "color": colour, "width": 1.5},
            }
        )
    figure = {
        "data": data,
        "layout": {
            "template": "plotly_white",
            "height": 340,
            "shapes": shapes,
            "title": {"text": "Goal metrics by version (dashed: the goal)"},
            "xaxis": {"title": {"text": "model version"}, "type": "category"},
            "legend": {"orientation": "h", "y": -0.25},
            "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        },
    }
    return {"figure": figure, "series": series}


def _latest(kind: str, version_id: int, store: Store) -> Any:
    found = list_evaluations(kind, model_version_id=version_id, limit=1, store=store)
    return found[0] if found else None


def _drift(version_id: int, store: Store) -> dict[str, Any] | None:
    found = _latest("drift", version_id, store)
    if found is None:
        return None
    s = found.summary
    share, limit = float(s.get("drift_share", 0.0)), float(s.get("share_threshold", 0.5))
    when = fmt(timestamp(found.created_at))[:10]
    text = (
        f"On {when}, {s.get('drifted_columns', 0)} of {s.get('columns_compared', 0)} input "
        "columns had moved "
        f"({share:.0%}); the alarm level is {limit:.0%}"
    )
    if s.get("dataset_drift"):
        return {
            "sentence": text
            + ": the data the model sees has changed; its results may no longer hold.",
            "tone": "alert",
            "evaluation": found.id,
        }
    tone = "warn" if s.get("drifted_columns") else "ok"
    return {
        "sentence": text
        + (
            ": some inputs moved, within tolerance."
            if tone == "warn"
            else ": the inputs look like the training data."
        ),
        "tone": tone,
        "evaluation": found.id,
    }


def _fairness(version_id: int, store: Store) -> dict[str, Any] | None:
    found = _latest("bias", version_id, store)
    if found is None:
        return None

    report = open_report(found.id, store=store)
    first = report.explain()[0]  # type: ignore[attr-defined]
    return {"sentence": first.text, "tone": first.tone, "evaluation": found.id}


def overview(
    model: str, goals: list[str] | tuple[str, ...] = (), *, title: str | None = None, store: Store
) -> DashboardView:
    """The dashboard content for ``model`` with its ``goals``, read from ``store``.

    Example:
        >>> overview("churn", ["accuracy>=0.85"],
        ...          store=open_current(readonly=True))  # doctest: +SKIP
    """
    gates = parse_goals(list(goals))
    shown = registry.show(model, store=store)
    assert isinstance(shown, ModelOverview)
    notes = []
    if not shown.versions:
        return DashboardView(
            model,
            title or f"{model}: model health",
            None,
            [],
            None,
            None,
            None,
            [],
            [f"{model} has no versions yet."],
        )
    ref, production = _production(shown, store)
    ref = ref or f"{model}@latest"
    version = registry.resolve_version(ref, store=store)
    for p in shown.pending:
        notes.append(
            f"Version {p['version']} awaits approval to become {p['alias']} (requested by "
            f"{p['user']})."
        )
    decisions = [
        t
        for t in registry.history(model, store=store).transitions
        if t["action"] in ("promote", "approve", "reject", "request")
    ][:10]
    return DashboardView(
        model=model,
        title=title or f"{model}: model health",
        production=production,
        goals=evaluate_goals(gates, version, store),
        trend=_trend(shown, gates, store) if gates else None,
        drift=_drift(version.id, store),
        fairness=_fairness(version.id, store),
        approvals=decisions,
        notes=notes,
    )
