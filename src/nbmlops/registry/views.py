"""What the registry shows: the list of models, one model with its versions, one version in full."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..evaluate.reports import HEADLINE
from ..evaluate.storage import list_evaluations
from ..modelstore.formats import DESCRIPTIONS
from ..modelstore.versions import find_version, model_row
from ..refs import parse_ref
from ..result import (
    Block,
    Fields,
    Heading,
    Note,
    Result,
    Table,
    fmt,
    fmt_bytes,
    status_cell,
    timestamp,
)
from ..store.meta import model_aliases, model_transitions, model_versions, models
from ..workspace import open_current

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ..store import Store

HEADLINES = ("accuracy", "f1", "roc_auc", "r2", "rmse", "mae", "loss")


def transitions_of(
    conn: Connection, model_id: int, version_id: int | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Stage history rows, newest first, with version numbers."""
    query = (
        select(model_transitions, model_versions.c.version)
        .join(model_versions, model_versions.c.id == model_transitions.c.version_id)
        .where(model_versions.c.model_id == model_id)
        .order_by(model_transitions.c.id.desc())
        .limit(limit)
    )
    if version_id is not None:
        query = query.where(model_transitions.c.version_id == version_id)
    return [
        {
            "id": r.id,
            "version": r.version,
            "alias": r.alias,
            "action": r.action,
            "status": r.status,
            "user": r.username,
            "at": r.at,
            "note": r.note,
            "evaluation_id": r.evaluation_id,
            "request_id": r.request_id,
        }
        for r in conn.execute(query)
    ]


def history_table(rows: list[dict[str, Any]], title: str = "Stage history") -> Table:
    body = [
        [
            timestamp(r["at"]),
            f"v{r['version']}",
            r["alias"],
            r["action"],
            status_cell(r["status"].upper()),
            r["user"],
            f"#{r['evaluation_id']}" if r["evaluation_id"] else "",
            r["note"],
        ]
        for r in rows
    ]
    return Table(
        ["when", "version", "alias", "action", "status", "by", "gates", "note"], body, title=title
    )


def _aliases(conn: Connection, model_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(model_aliases.c.alias, model_versions.c.version)
        .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
        .where(model_aliases.c.model_id == model_id)
        .order_by(model_aliases.c.alias)
    )
    return {alias: version for alias, version in rows}


# ---------------------------------------------------------------- one version


@dataclasses.dataclass(repr=False)
class ModelVersion(Result):
    """Everything stored about one model version."""

    name: str
    version: int
    id: int
    aliases: list[str]
    format: str
    flavor: str
    class_name: str
    size: int
    artifact: str
    signature: dict[str, Any] | None
    metrics: dict[str, float]
    params: dict[str, Any]
    data: list[dict[str, Any]]
    context: dict[str, Any]
    run_id: str | None
    description: str
    created_at: float
    created_by: str
    evaluations: list[dict[str, Any]]
    history: list[dict[str, Any]]
    gates: list[str]
    requires_approval: bool
    note: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame([{"metric": k, "value": v} for k, v in self.metrics.items()])

    def blocks(self) -> list[Block]:
        out: list[Block] = []
        if self.note:
            out.append(Note(self.note, "ok"))
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        out.append(Heading(f"{self.name} v{self.version}{aliases}"))
        fields: list[tuple[str, Any]] = [
            ("reference", self.ref),
            ("model", self.class_name),
            ("stored as", DESCRIPTIONS.get(self.format, self.format)),
            ("size", fmt_bytes(self.size)),
            ("artifact digest", self.artifact[:16]),
            ("registered", f"{fmt(timestamp(self.created_at))} by {self.created_by}"),
            ("source run", self.run_id[:8] if self.run_id else "none"),
        ]
        if self.description:
            fields.append(("description", self.description))
        out.append(Fields(fields))
        out.extend(signature_blocks(self.signature))
        if self.metrics:
            out.append(
                Table(
                    ["metric", "value"],
                    [[k, v] for k, v in self.metrics.items()],
                    title="Metrics (source run)",
                )
            )
        if self.params:
            out.append(
                Table(
                    ["param", "value"],
                    [
                        [k, json.dumps(v) if not isinstance(v, str) else v]
                        for k, v in self.params.items()
                    ],
                    title="Parameters (source run)",
                )
            )
        if self.data:
            out.append(
                Table(
                    ["dataset version", "digest", "rows"],
                    [[d["ref"], str(d.get("digest") or "")[:12], d.get("rows")] for d in self.data],
                    title="Data used",
                )
            )
        out.extend(context_blocks(self.context))
        if self.evaluations:
            rows = [
                [
                    f"#{e['id']}",
                    e["kind"],
                    status_cell("" if e["passed"] is None else ("PASS" if e["passed"] else "FAIL")),
                    e["headline"],
                    timestamp(e["created_at"]),
                ]
                for e in self.evaluations
            ]
            out.append(
                Table(
                    ["evaluation", "kind", "result", "headline", "when"],
                    rows,
                    title="Latest evaluations",
                )
            )
        gate_text = ", ".join(self.gates) if self.gates else "none"
        out.append(
            Fields(
                [
                    ("gates", gate_text),
                    (
                        "approval",
                        "required (a second person signs off)"
                        if self.requires_approval
                        else "not required",
                    ),
                ]
            )
        )
        if self.history:
            out.append(history_table(self.history[:10]))
        return out


def signature_blocks(signature: dict[str, Any] | None) -> list[Block]:
    if not signature or not signature.get("inputs"):
        return [Note("No signature: the model does not say which columns it reads.")]
    rows = [[c["name"], c.get("type", ""), c.get("nullable", "")] for c in signature["inputs"][:50]]
    footer = f"{len(signature['inputs'])} inputs" + (
        ", first 50 shown" if len(signature["inputs"]) > 50 else ""
    )
    source = (
        "training rows"
        if signature.get("source") == "example"
        else "the fitted model (no example given)"
    )
    outputs = signature.get("outputs") or {}
    described = ", ".join(f"{k}: {v}" for k, v in outputs.items() if k != "methods")
    return [
        Table(
            ["input", "type", "has missing"],
            rows,
            title=f"Signature (from {source})",
            footer=footer,
        ),
        Fields(
            [
                ("outputs", described or "not recorded"),
                ("methods", ", ".join(outputs.get("methods", []))),
            ]
        ),
    ]


def context_blocks(context: dict[str, Any]) -> list[Block]:
    if not context:
        return []
    pairs: list[tuple[str, Any]] = []
    git = context.get("git")
    if git:
        state = "dirty" if git.get("dirty") else "clean"
        pairs.append(
            ("git", f"{(git.get('commit') or 'no commit')[:12]} on {git.get('branch')} ({state})")
        )
    if context.get("notebook"):
        pairs.append(("notebook", context["notebook"].get("path")))
    if context.get("python"):
        pairs.append(("python", context["python"]))
    if context.get("packages"):
        pairs.append(
            (
                "packages",
                f"{context['packages'].get('count')} (set "
                f"{str(context['packages'].get('digest'))[:12]})",
            )
        )
    if context.get("host"):
        pairs.append(("host", context["host"]))
    return [Heading("Code", 4), Fields(pairs)] if pairs else []


def _headline(summary: dict[str, Any]) -> str:

    keys = [k for keys in HEADLINE.values() for k in keys]
    return ", ".join(
        f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in summary.items() if k in keys
    )


def latest_evaluations(version_id: int, store: Store) -> list[dict[str, Any]]:
    """The newest evaluation of each kind for a version."""
    seen: dict[str, dict[str, Any]] = {}
    for e in list_evaluations(model_version_id=version_id, limit=200, store=store):
        if e.kind not in seen:
            seen[e.kind] = {
                "id": e.id,
                "kind": e.kind,
                "passed": e.passed,
                "summary": e.summary,
                "headline": _headline(e.summary),
                "created_at": e.created_at,
            }
    return list(seen.values())


def describe_version(
    ref: str, *, store: Store | None = None, note: str | None = None
) -> ModelVersion:
    """Everything stored about the version ``ref`` names.

    Example:
        >>> describe_version("churn@production")  # doctest: +SKIP
    """
    store = store or open_current()
    with store.read() as conn:
        row = find_version(conn, ref)
        model = conn.execute(select(models).where(models.c.id == row.model_id)).one()
        aliases = [a for a, v in _aliases(conn, row.model_id).items() if v == row.version]
        history = transitions_of(conn, row.model_id, row.id)
    return ModelVersion(
        name=row.name,
        version=row.version,
        id=row.id,
        aliases=aliases,
        format=row.format,
        flavor=row.flavor,
        class_name=row.class_name,
        size=row.size,
        artifact=row.artifact,
        signature=json.loads(row.signature) if row.signature else None,
        metrics=json.loads(row.metrics),
        params=json.loads(row.params),
        data=json.loads(row.data),
        context=json.loads(row.context or "{}"),
        run_id=row.run_id,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        evaluations=latest_evaluations(row.id, store),
        history=history,
        gates=json.loads(model.gates),
        requires_approval=bool(model.requires_approval),
        note=note,
    )


# ---------------------------------------------------------------- one model, all models


@dataclasses.dataclass(repr=False)
class ModelOverview(Result):
    """A model with all its versions, aliases, gates and pending requests."""

    name: str
    description: str
    versions: list[dict[str, Any]]
    aliases: dict[str, int]
    gates: list[str]
    requires_approval: bool
    pending: list[dict[str, Any]]

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame(self.versions)

    def blocks(self) -> list[Block]:
        out: list[Block] = [Heading(f"Model {self.name}")]
        if self.description:
            out.append(Note(self.description))
        by_version: dict[int, list[str]] = {}
        for alias, version in self.aliases.items():
            by_version.setdefault(version, []).append(alias)
        keys = [k for k in HEADLINES if any(k in v["metrics"] for v in self.versions)][:3]
        rows = [
            [
                f"v{v['version']}",
                ", ".join(by_version.get(v["version"], [])),
                v["class_name"].rsplit(".", 1)[-1],
                v["format"],
                *[v["metrics"].get(k) for k in keys],
                (v["run_id"] or "")[:8],
                timestamp(v["created_at"]),
                v["created_by"],
            ]
            for v in self.versions
        ]
        out.append(
            Table(
                ["version", "aliases", "model", "format", *keys, "run", "registered", "by"],
                rows,
                title="Versions",
            )
        )
        out.append(
            Fields(
                [
                    ("gates", ", ".join(self.gates) or "none"),
                    ("approval", "required" if self.requires_approval else "not required"),
                ]
            )
        )
        for p in self.pending:
            out.append(
                Note(
                    f"v{p['version']} → {p['alias']} awaits approval (requested by {p['user']}).",
                    "warn",
                )
            )
        return out


@dataclasses.dataclass(repr=False)
class ModelList(Result):
    """Every registered model."""

    models: list[dict[str, Any]]

    def blocks(self) -> list[Block]:
        if not self.models:
            return [
                Note("No models yet; register one with %mlops model register clf --name churn.")
            ]
        rows = [
            [
                m["name"],
                m["versions"],
                f"v{m['latest']}" if m["latest"] else "",
                ", ".join(f"{a}→v{v}" for a, v in m["aliases"].items()),
                len(m["gates"]),
                "yes" if m["requires_approval"] else "no",
                timestamp(m["updated_at"]),
            ]
            for m in self.models
        ]
        return [
            Table(
                ["model", "versions", "latest", "aliases", "gates", "approval", "last registered"],
                rows,
            )
        ]


def show(ref: str, *, store: Store | None = None) -> Result:
    """A model with its versions (``churn``) or one version in full (``churn@3``,
    ``churn@production``).

    Example:
        >>> mo.models.show("churn@production")  # doctest: +SKIP
    """
    parsed = parse_ref(ref, "model")
    if "@" in ref:
        return describe_version(ref, store=store)
    store = store or open_current()
    with store.read() as conn:
        model = model_row(conn, parsed.name)
        rows = conn.execute(
            select(model_versions)
            .where(model_versions.c.model_id == model.id)
            .order_by(model_versions.c.version.desc())
        ).all()
        aliases = _aliases(conn, model.id)
        pending = [
            t
            for t in transitions_of(conn, model.id)
            if t["action"] == "request" and t["status"] == "pending"
        ]
    versions = [
        {
            "version": r.version,
            "class_name": r.class_name,
            "format": r.format,
            "run_id": r.run_id,
            "created_at": r.created_at,
            "created_by": r.created_by,
            "metrics": {
                k: v
                for k, v in json.loads(r.metrics).items()
                if not (isinstance(v, float) and math.isnan(v))
            },
        }
        for r in rows
    ]
    return ModelOverview(
        model.name,
        model.description,
        versions,
        aliases,
        json.loads(model.gates),
        bool(model.requires_approval),
        pending,
    )


def list_models(*, store: Store | None = None) -> ModelList:
    """Every registered model with its version count, latest version and aliases.

    Example:
        >>> mo.models.list_models()  # doctest: +SKIP
    """
    store = store or open_current()
    with store.read() as conn:
        stats = {
            r.model_id: r
            for r in conn.execute(
                select(
                    model_versions.c.model_id,
                    func.count().label("n"),
                    func.max(model_versions.c.version).label("latest"),
                    func.max(model_versions.c.created_at).label("updated"),
                ).group_by(model_versions.c.model_id)
            )
        }
        found = []
        for m in conn.execute(select(models).order_by(models.c.name)):
            s = stats.get(m.id)
            found.append(
                {
                    "name": m.name,
                    "versions": s.n if s else 0,
                    "latest": s.latest if s else None,
                    "aliases": _aliases(conn, m.id),
                    "gates": json.loads(m.gates),
                    "requires_approval": bool(m.requires_approval),
                    "updated_at": s.updated if s else m.created_at,
                }
            )
    return ModelList(found)
