"""Model cards filled from what the store holds: details, data, metrics, fairness, stability, speed,
gates.

Sections follow the usual model-card outline (details, intended use, data,
metrics, evaluations, caveats). Nothing is typed in by hand: a section with no
stored facts says so and names the command that would fill it.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..evaluate.reports import open_report
from ..modelstore.formats import DESCRIPTIONS, JOBLIB
from ..result import Block, Fields, Heading, Note, Result, Table, fmt, fmt_bytes, timestamp
from ..workspace import open_current
from .views import ModelVersion, context_blocks, describe_version, history_table, signature_blocks

if TYPE_CHECKING:
    from ..store import Store

SECTIONS = {"bias": "Fairness", "slices": "Stability across slices", "perf": "Performance and cost"}
FILL = {
    "bias": "evaluate bias {ref} X_test y_test --sensitive <columns>",
    "slices": "evaluate slices {ref} X_test y_test --by <column>",
    "perf": "evaluate perf {ref} X_test",
}


@dataclasses.dataclass(repr=False)
class ModelCard(Result):
    """A model card for one version."""

    version: ModelVersion
    reports: dict[str, Any]
    gate_report: Any = None
    markdown: bool = False

    def __str__(self) -> str:
        return self.to_markdown() if self.markdown else super().__str__()

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version.to_dict(),
            "evaluations": {k: r.to_dict() for k, r in self.reports.items()},
            "gates": self.gate_report.to_dict() if self.gate_report is not None else None,
            "caveats": self.caveats(),
        }

    def caveats(self) -> list[str]:
        """Warnings a reader should see, gathered from the stored facts."""
        v, out = self.version, []
        if v.format == JOBLIB:
            out.append(
                "The artifact is a pickle (joblib): load it only from this registry, where its "
                "digest is checked."
            )
        if not v.signature or v.signature.get("source") != "example":
            out.append(
                "The signature was not taken from training rows, so input types are not recorded."
            )
        if not v.data:
            out.append(
                "No dataset versions are recorded for the source run, so the training data "
                "cannot be traced."
            )
        git = (v.context or {}).get("git") or {}
        if git.get("dirty"):
            out.append(
                "The code had uncommitted changes when the model was trained (the diff is kept "
                "with the run)."
            )
        bias = self.reports.get("bias")
        if bias is not None:
            small = [g["group"] for g in bias.main["groups"] if g["small"]]
            if small:
                out.append(
                    f"Fairness numbers for small groups ({', '.join(small[:5])}) are unreliable."
                )
            if bias.passed is False:
                out.append("The model fails the four-fifths rule on its latest bias evaluation.")
        slices = self.reports.get("slices")
        if slices is not None and not slices.passed:
            out.append("Its scores vary more across subsets or slices than the allowed spread.")
        return out

    def blocks(self) -> list[Block]:
        v = self.version
        out: list[Block] = [Heading(f"Model card: {v.name} v{v.version}", 2)]
        out.append(Heading("Model details", 3))
        out.append(
            Fields(
                [
                    ("name", v.name),
                    ("version", v.version),
                    ("aliases", ", ".join(v.aliases) or "none"),
                    ("model", v.class_name),
                    ("stored as", DESCRIPTIONS.get(v.format, v.format)),
                    ("size", fmt_bytes(v.size)),
                    ("artifact digest", v.artifact),
                    ("registered", f"{fmt(timestamp(v.created_at))} by {v.created_by}"),
                    ("source run", v.run_id or "none"),
                ]
            )
        )
        out.extend(context_blocks(v.context))
        out.append(Heading("Intended use", 3))
        out.append(
            Note(
                v.description
                or "Not described; give a description when registering (--description)."
            )
        )
        out.append(Heading("Training data", 3))
        if v.data:
            out.append(
                Table(
                    ["dataset version", "digest", "rows"],
                    [[d["ref"], d.get("digest"), d.get("rows")] for d in v.data],
                )
            )
        else:
            out.append(Note("No dataset versions are recorded for the source run."))
        out.extend(signature_blocks(v.signature))
        out.append(Heading("Metrics", 3))
        if v.metrics:
            out.append(
                Table(
                    ["metric", "value"],
                    [[k, val] for k, val in v.metrics.items()],
                    title="From the source run",
                )
            )
        else:
            out.append(Note("No metrics: the version has no source run with logged metrics."))
        for kind, title in SECTIONS.items():
            out.append(Heading(title, 3))
            report = self.reports.get(kind)
            if report is None:
                out.append(
                    Note(
                        "Not evaluated yet; run "
                        + FILL[kind].format(ref=f"{v.name}@{v.version}")
                        + "."
                    )
                )
                continue
            data = (report.subject or {}).get("data") or {}
            where = data.get("ref") or data.get("path") or data.get("name") or "unnamed data"
            out.append(
                Note(
                    f"Evaluation #{report.evaluation_id} on {where} ({data.get('rows', '?')} rows)."
                )
            )
            out.extend(report.explain())
        out.append(Heading("Promotion", 3))
        out.append(
            Fields(
                [
                    ("gates", ", ".join(v.gates) or "none"),
                    (
                        "approval",
                        "required from a second person" if v.requires_approval else "not required",
                    ),
                ]
            )
        )
        if self.gate_report is not None:
            out.append(
                Note(
                    f"Latest gate check (#{self.gate_report.evaluation_id}): "
                    f"{self.gate_report.sentence()}",
                    "ok" if self.gate_report.passed else "alert",
                )
            )
        if v.history:
            out.append(history_table(v.history))
        out.append(Heading("Caveats", 3))
        caveats = self.caveats()
        out.extend([Note(c, "warn") for c in caveats] or [Note("None recorded.")])
        return out


def card(
    ref: str, *, out: str | None = None, markdown: bool = False, store: Store | None = None
) -> ModelCard:
    """The model card of a version; ``out`` writes it as Markdown (``.md``) or self-contained HTML
    (``.html``).

    Example:
        >>> mo.models.card("churn@production", out="churn-card.md")  # doctest: +SKIP
    """
    store = store or open_current()
    version = describe_version(ref, store=store)
    reports: dict[str, Any] = {}
    gate_report = None
    for e in version.evaluations:
        if e["kind"] in SECTIONS:
            reports[e["kind"]] = open_report(e["id"], store=store)
        elif e["kind"] == "gates":
            gate_report = open_report(e["id"], store=store)
    result = ModelCard(version, reports, gate_report, markdown=markdown)
    if out is not None:
        suffix = os.path.splitext(out)[1].lower()
        if suffix not in (".md", ".markdown", ".html", ".htm"):
            raise InvalidInput(f"Cannot tell which format {out} should be; name it .md or .html.")
        text = (
            result.to_markdown()
            if suffix in (".md", ".markdown")
            else result.to_html(self_contained=True)
        )
        try:
            with open(out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            raise InvalidInput(f"Cannot write {out}: {e.strerror or e}.") from None
    return result
