"""How runs show themselves: the runs table, one run in full, runs side by side, a history."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from ..result import (
    Block,
    Fields,
    Heading,
    Note,
    Result,
    Table,
    fmt_bytes,
    fmt_duration,
    sparkline,
    status_cell,
    timestamp,
)

if TYPE_CHECKING:
    pass


MAX_KEY_COLUMNS = 8


SPARK_POINTS = 200


def _short(run_id: str | None) -> str:
    return run_id[:8] if run_id else ""


@dataclasses.dataclass(repr=False)
class RunList(Result):
    """A page of runs with their params and latest metrics."""

    runs: list[dict[str, Any]]
    total: int
    param_keys: list[str]
    metric_keys: list[str]
    filter: str | None = None
    offset: int = 0

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        rows = []
        for r in self.runs:
            row = {k: r[k] for k in ("id", "name", "status", "kind", "user", "parent_id")}
            row["start_time"] = timestamp(r["start_time"])
            row["duration_s"] = r["duration_s"]
            row.update({f"params.{k}": v for k, v in r["params"].items()})
            row.update({f"metrics.{k}": v for k, v in r["metrics"].items()})
            row.update({f"tags.{k}": v for k, v in r["tags"].items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def blocks(self) -> list[Block]:
        if not self.runs:
            if self.filter:
                return [
                    Note(f"No runs match the filter {self.filter!r} ({self.total} runs in all).")
                ]
            return [
                Note(
                    "No runs yet; log one with %%mlops run in a notebook or `with "
                    "mo.start_run():` in Python."
                )
            ]
        nested = any(r["parent_id"] for r in self.runs)
        columns = ["id", "name", "status", "started", "duration"] + (["parent"] if nested else [])
        columns += [f"params.{k}" for k in self.param_keys] + [
            f"metrics.{k}" for k in self.metric_keys
        ]
        rows = []
        for r in self.runs:
            row: list[Any] = [
                _short(r["id"]),
                r["name"],
                status_cell(r["status"]),
                timestamp(r["start_time"]),
                fmt_duration(r["duration_s"]),
            ]
            if nested:
                row.append(_short(r["parent_id"]))
            row += [r["params"].get(k) for k in self.param_keys]
            row += [r["metrics"].get(k) for k in self.metric_keys]
            rows.append(row)
        first, last = self.offset + 1, self.offset + len(self.runs)
        footer = f"Runs {first}-{last} of {self.total}" + (
            f" matching {self.filter!r}" if self.filter else ""
        )
        return [Table(columns, rows, footer=footer + ".")]


@dataclasses.dataclass(repr=False)
class RunDetail(Result):
    """Everything stored about one run."""

    run: dict[str, Any]
    params: list[dict[str, Any]]
    tags: dict[str, str]
    metrics: list[dict[str, Any]]
    artifacts: list[dict[str, Any]]
    children: list[dict[str, Any]]
    context: dict[str, Any]
    history: dict[str, list[float | None]] = dataclasses.field(default_factory=dict)

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame(self.metrics)

    def blocks(self) -> list[Block]:
        r = self.run
        out: list[Block] = [Heading(f"Run {r['name'] or '(unnamed)'} · {r['id'][:8]}")]
        fields: list[tuple[str, Any]] = [
            ("id", r["id"]),
            ("status", status_cell(r["status"])),
            ("kind", r["kind"]),
            ("user", r["user"]),
            ("started", timestamp(r["start_time"])),
            ("ended", timestamp(r["end_time"])),
            ("duration", fmt_duration(r["duration_s"])),
        ]
        if r["parent_id"]:
            fields.append(("parent", r["parent_id"][:8]))
        if self.tags:
            fields.append(("tags", ", ".join(f"{k}={v}" for k, v in sorted(self.tags.items()))))
        if r["error"]:
            fields.append(("error", r["error"]))
        if r["notes"]:
            fields.append(("notes", r["notes"]))
        out.append(Fields(fields))
        if self.params:
            rows = [[p["key"], p["display"], p["note"] or ""] for p in self.params]
            out.append(Table(["param", "value", "note"], rows, title="Parameters"))
        if self.metrics:
            rows, marked = [], set()
            for i, m in enumerate(self.metrics):
                spark = sparkline(self.history.get(m["key"], []))
                rows.append(
                    [
                        m["key"],
                        m["last"],
                        m["step"],
                        m["count"],
                        m["min"],
                        m["max"],
                        spark,
                        m["note"],
                    ]
                )
                if m["note"]:
                    marked.add((i, 7))
            out.append(
                Table(
                    ["metric", "last", "step", "points", "min", "max", "history", "note"],
                    rows,
                    title="Metrics",
                    marked_cells=marked,
                )
            )
        if self.artifacts:
            rows = [
                [a["name"], a["media_type"], fmt_bytes(a["size"]), a["digest"][:12]]
                for a in self.artifacts
            ]
            out.append(Table(["artifact", "type", "size", "digest"], rows, title="Artifacts"))
        if self.children:
            rows = [[c["id"][:8], c["name"], status_cell(c["status"])] for c in self.children]
            out.append(Table(["child run", "name", "status"], rows, title="Child runs"))
        out.extend(_context_blocks(self.context))
        return out


def _context_blocks(ctx: dict[str, Any]) -> list[Block]:
    if not ctx:
        return []
    if "unreadable" in ctx:
        return [Heading("Context", 4), Note(ctx["unreadable"], "warn")]
    pairs: list[tuple[str, Any]] = []
    if ctx.get("notebook"):
        pairs.append(
            (
                "notebook",
                f"{ctx['notebook']['path']} (snapshot "
                f"{str(ctx['notebook'].get('digest') or '')[:12]})",
            )
        )
    if ctx.get("history"):
        pairs.append(
            (
                "executed cells",
                f"{ctx['history']['cells']} (snapshot {ctx['history']['digest'][:12]})",
            )
        )
    git = ctx.get("git")
    if git:
        state = (
            "dirty, diff " + str(git.get("diff_digest") or "")[:12] if git.get("dirty") else "clean"
        )
        pairs.append(
            ("git", f"{(git.get('commit') or 'no commit')[:12]} on {git.get('branch')} ({state})")
        )
    if ctx.get("python"):
        pairs.append(("python", f"{ctx['python']} ({ctx.get('executable')})"))
    if ctx.get("packages"):
        pairs.append(
            (
                "packages",
                f"{ctx['packages']['count']} installed (set {ctx['packages']['digest'][:12]})",
            )
        )
    pairs.append(("host", f"{ctx.get('host')} · {ctx.get('platform', '')}"))
    res = ctx.get("resources")
    if res:
        pairs.append(
            ("wall / CPU time", f"{fmt_duration(res['wall_s'])} / {fmt_duration(res['cpu_s'])}")
        )
        pairs.append(
            ("peak memory", f"{fmt_bytes(res['peak_memory_bytes'])} ({res['peak_memory_method']})")
        )
    return [Heading("Context", 4), Fields(pairs)]


@dataclasses.dataclass(repr=False)
class RunComparison(Result):
    """Params and metrics of several runs side by side; rows that differ are marked."""

    runs: list[dict[str, Any]]
    params: dict[str, list[Any]]
    metrics: dict[str, list[Any]]

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        index = [f"params.{k}" for k in self.params] + [f"metrics.{k}" for k in self.metrics]
        data = list(self.params.values()) + list(self.metrics.values())
        return pd.DataFrame(data, index=index, columns=[r["id"][:8] for r in self.runs])

    def blocks(self) -> list[Block]:
        head = [f"{r['name'] or '(unnamed)'} {r['id'][:8]}" for r in self.runs]
        out: list[Block] = [Heading("Run comparison")]
        for title, data in (("Parameters", self.params), ("Metrics", self.metrics)):
            if not data:
                continue
            rows = [[key, *values] for key, values in data.items()]
            marked = {
                i
                for i, values in enumerate(data.values())
                if len({json.dumps(v, default=str) for v in values}) > 1
            }
            out.append(Table([title.lower()[:-1], *head], rows, title=title, marked_rows=marked))
        differing = sum(
            len({json.dumps(v, default=str) for v in values}) > 1
            for values in [*self.params.values(), *self.metrics.values()]
        )
        out.append(
            Note(
                f"{differing} of {len(self.params) + len(self.metrics)} values differ "
                "(highlighted)."
            )
        )
        return out


@dataclasses.dataclass(repr=False)
class MetricHistory(Result):
    """Every point of one metric series."""

    run_id: str
    key: str
    steps: list[int]
    values: list[float]
    timestamps: list[float]

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame(
            {"step": self.steps, "value": self.values, "timestamp": self.timestamps}
        )

    def blocks(self) -> list[Block]:
        n = len(self.steps)
        head = [Heading(f"{self.key} in run {self.run_id[:8]}: {n} points")]
        if not n:
            return [*head, Note("No points.")]
        every = max(1, n // 400)
        shown = list(range(min(n, 5))) + (list(range(max(5, n - 5), n)) if n > 5 else [])
        rows = [[self.steps[i], self.values[i], timestamp(self.timestamps[i])] for i in shown]
        return [
            *head,
            sparkline(self.values[::every], width=360, height=60),
            Table(
                ["step", "value", "time"],
                rows,
                footer="first and last points; to_frame() has them all" if n > 10 else None,
            ),
        ]
