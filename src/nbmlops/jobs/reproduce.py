"""``job reproduce``: execute a past job again, exactly as it ran, and say whether it came out the
same.

"Exactly as it ran" means the stored notebook snapshot (not today's file), the
same parameters, every data reference pinned to the version it resolved to
then, the same kernel and timeout. The new run's metrics are compared with the
old (exactly, or within a tolerance), and so are the data versions it read and
the environment it ran in (Python and the installed package set).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..errors import InvalidInput
from ..refs import resolve_run
from ..result import Block, Fields, Heading, Note, Table, fmt, status_cell
from ..store.meta import dataset_versions, datasets, jobs, lineage, package_sets, runs
from ..store.objects import digest_bytes
from ..verdict import Finding, Verdict
from ..workspace import open_current
from . import notebook as nbk
from . import parameters as prm
from .execute import execute_with_retries, prepare
from .results import run_metrics

if TYPE_CHECKING:
    from ..store import Store
    from .results import JobResult

SHOWN_PACKAGES = 40


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def compare_metrics(
    old: dict[str, float], new: dict[str, float], tolerance: float
) -> list[dict[str, Any]]:
    """One row per metric of either run: both values, the difference, whether they agree.

    Example:
        >>> compare_metrics({"acc": 0.9}, {"acc": 0.9000001}, 1e-6)[0]["match"]
        True
    """
    rows = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        diff = None if a is None or b is None else b - a
        rows.append(
            {
                "metric": key,
                "original": a,
                "reproduced": b,
                "difference": diff,
                "match": _close(a, b, tolerance),
            }
        )
    return rows


def _packages(conn: Any, digest: str | None) -> dict[str, str]:
    if not digest:
        return {}
    body = conn.execute(
        select(package_sets.c.packages).where(package_sets.c.digest == digest)
    ).scalar()
    return dict(p.split("==", 1) for p in json.loads(body or "[]") if "==" in p)


def compare_packages(old: dict[str, str], new: dict[str, str]) -> list[dict[str, str | None]]:
    """Packages added, removed or at another version between two package sets.

    Example:
        >>> compare_packages({"numpy": "2.0"}, {"numpy": "2.1"})
        [{'package': 'numpy', 'original': '2.0', 'reproduced': '2.1'}]
    """
    out: list[dict[str, str | None]] = []
    for name in sorted(set(old) | set(new), key=str.lower):
        if old.get(name) != new.get(name):
            out.append({"package": name, "original": old.get(name), "reproduced": new.get(name)})
    return out


def _inputs(conn: Any, run_id: str) -> dict[int, str]:
    """Data versions a run read (lineage inputs), as ``{version id: "name@version"}``."""
    query = (
        select(lineage.c.entity_id, datasets.c.name, dataset_versions.c.version)
        .select_from(
            lineage.join(dataset_versions, dataset_versions.c.id == lineage.c.entity_id).join(
                datasets, datasets.c.id == dataset_versions.c.dataset_id
            )
        )
        .where(
            lineage.c.run_id == run_id,
            lineage.c.direction == "input",
            lineage.c.entity_type == "dataset_version",
        )
    )
    return {r.entity_id: f"{r.name}@{r.version}" for r in conn.execute(query)}


@dataclasses.dataclass(repr=False)
class Reproduction(Verdict):
    """A past job executed again, compared with the original."""

    original: str
    reproduction: str
    name: str
    status: str
    tolerance: float
    parameters: dict[str, Any]
    metrics: list[dict[str, Any]]
    inputs: dict[str, list[str]]
    packages: list[dict[str, str | None]]
    python: tuple[str | None, str | None]
    notes: list[str]

    @property
    def findings(self) -> list[Finding]:
        if self.status != "FINISHED":
            return [Finding("run", self.reproduction[:8], f"the new run {self.status.lower()}")]
        out = [
            Finding(
                "metric differs", m["metric"], f"{fmt(m['original'])} then {fmt(m['reproduced'])}"
            )
            for m in self.metrics
            if not m["match"]
        ]
        if self.inputs["original"] != self.inputs["reproduced"]:
            read = ", ".join(self.inputs["reproduced"]) or "none"
            out.append(
                Finding(
                    "data read", read, f"originally {', '.join(self.inputs['original']) or 'none'}"
                )
            )
        return out

    @property
    def reproduced(self) -> bool:
        return self.passed

    def blocks(self) -> list[Block]:
        out: list[Block] = [
            Heading(f"Reproduction of {self.name} · {self.original[:8]} → {self.reproduction[:8]}")
        ]
        differ = [m["metric"] for m in self.metrics if not m["match"]]
        within = "exactly" if self.tolerance == 0 else f"within {self.tolerance:g}"
        if self.reproduced:
            out.append(
                Note(
                    f"Reproduced: all {len(self.metrics)} metrics agree {within}"
                    + (
                        " and the same data versions were read." if self.inputs["original"] else "."
                    ),
                    "ok",
                )
            )
        elif self.status != "FINISHED":
            out.append(
                Note(
                    f"Not reproduced: the new run {self.status.lower()}; see `mlops job show "
                    f"{self.reproduction[:8]}`.",
                    "alert",
                )
            )
        else:
            reasons = []
            if differ:
                reasons.append(
                    f"{len(differ)} of {len(self.metrics)} metrics differ beyond {within} "
                    f"({', '.join(differ[:5])})"
                )
            if self.inputs["original"] != self.inputs["reproduced"]:
                reasons.append("other data versions were read")
            out.append(Note("Not reproduced: " + "; ".join(reasons) + ".", "alert"))
        if self.metrics:
            rows = [
                [
                    m["metric"],
                    m["original"],
                    m["reproduced"],
                    m["difference"],
                    "yes" if m["match"] else "NO",
                ]
                for m in self.metrics
            ]
            marked = {i for i, m in enumerate(self.metrics) if not m["match"]}
            out.append(
                Table(
                    ["metric", "original", "reproduced", "difference", "match"],
                    rows,
                    title="Metrics",
                    marked_rows=marked,
                )
            )
        if self.inputs["original"] or self.inputs["reproduced"]:
            out.append(
                Fields(
                    [
                        ("data read originally", ", ".join(self.inputs["original"]) or "none"),
                        ("data read now", ", ".join(self.inputs["reproduced"]) or "none"),
                    ]
                )
            )
        fields: list[tuple[str, Any]] = [
            ("original run", self.original),
            ("new run", self.reproduction),
            ("status", status_cell(self.status)),
            (
                "parameters",
                ", ".join(f"{k}={fmt(v)}" for k, v in self.parameters.items()) or "(defaults)",
            ),
        ]
        if self.python[0] != self.python[1]:
            fields.append(("python", f"{self.python[0]} then, {self.python[1]} now"))
        out.append(Fields(fields))
        if self.packages:
            out.append(
                Note(
                    f"The environment differs: {len(self.packages)} package(s) changed since "
                    "the original run.",
                    "warn",
                )
            )
            rows = [
                [p["package"], p["original"] or "(absent)", p["reproduced"] or "(absent)"]
                for p in self.packages[:SHOWN_PACKAGES]
            ]
            more = len(self.packages) - SHOWN_PACKAGES
            out.append(
                Table(
                    ["package", "original", "reproduced"],
                    rows,
                    title="Package differences",
                    footer=f"and {more} more; to_dict() lists them all" if more > 0 else None,
                )
            )
        else:
            out.append(Note("Same Python and package set as the original run."))
        out.extend(Note(n) for n in self.notes)
        return out


def reproduce(
    ref: str, *, tolerance: float = 0.0, progress: bool = True, store: Store | None = None
) -> Reproduction:
    """Re-execute job ``ref`` from its stored notebook snapshot, parameters and data versions;
    compare.

    Example:
        >>> reproduce("3f2a", tolerance=1e-9).reproduced  # doctest: +SKIP
        True
    """

    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise InvalidInput(f"The tolerance must be a number of zero or more, not {tolerance!r}.")
    store = store or open_current()
    with store.read() as conn:
        run = resolve_run(conn, ref)
        job = conn.execute(select(jobs).where(jobs.c.run_id == run.id)).first()
    short = run.id[:8]
    if run.kind == "sweep":
        raise InvalidInput(
            f"Run {short} is a sweep; reproduce one of its points (`mlops job show {short}` "
            "lists them)."
        )
    if job is None:
        raise InvalidInput(
            f"Run {short} was not run as a job (no notebook snapshot was stored), so it cannot be "
            "re-executed; only runs made by `mlops job run` or a sweep can be reproduced."
        )
    if run.status == "RUNNING":
        raise InvalidInput(f"Job {short} is still running; reproduce it once it has finished.")
    source = store.objects.get(job.notebook_digest, verify=True)
    nb = nbk.notebook_from_bytes(source, job.notebook)
    data_refs = json.loads(job.data_refs)
    parameters = prm.with_pinned(json.loads(job.parameters), data_refs)
    cwd = job.cwd if job.cwd and Path(job.cwd).is_dir() else None
    spec = prepare(
        nb,
        parameters,
        store=store,
        name=run.name,
        tags={"reproduces": run.id},
        kernel=job.kernel,
        cwd=cwd,
        timeout=job.timeout,
        mode="reproduction",
        progress=progress,
    )
    spec.reproduces = run.id
    new = execute_with_retries(spec, store)
    return _compare(store, run, new, parameters, tolerance, nb)


def _compare(
    store: Store,
    old: Any,
    new: JobResult,
    parameters: dict[str, Any],
    tolerance: float,
    nb: nbk.Notebook,
) -> Reproduction:

    with store.read() as conn:
        metrics = run_metrics(conn, [old.id, new.run_id])
        new_row = conn.execute(select(runs.c.context).where(runs.c.id == new.run_id)).scalar()
        old_ctx, new_ctx = json.loads(old.context or "{}"), json.loads(new_row or "{}")
        packages = compare_packages(
            _packages(conn, (old_ctx.get("packages") or {}).get("digest")),
            _packages(conn, (new_ctx.get("packages") or {}).get("digest")),
        )
        inputs = {
            "original": sorted(_inputs(conn, old.id).values()),
            "reproduced": sorted(_inputs(conn, new.run_id).values()),
        }
    rows = compare_metrics(metrics[old.id], metrics[new.run_id], tolerance)
    notes = []
    on_disk = Path(nb.path)
    if on_disk.is_file() and digest_bytes(on_disk.read_bytes()) != nb.digest:
        notes.append(
            f"{on_disk.name} has changed since the original run; the stored snapshot was "
            "executed, not the file."
        )
    if not rows:
        notes.append("Neither run logged metrics, so only success and data versions were compared.")
    return Reproduction(
        old.id,
        new.run_id,
        old.name,
        new.status,
        float(tolerance),
        parameters,
        rows,
        inputs,
        packages,
        (old_ctx.get("python"), new_ctx.get("python")),
        notes,
    )
