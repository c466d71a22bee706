"""``job validate``: is this notebook ready to run unattended?

Checks, in order: a ``parameters`` cell exists (and holds plain assignments
papermill can override); the saved execution counts run top to bottom (no
outputs that came from cells run out of order); the notebook runs top to
bottom in a fresh kernel with its default parameters; and, optionally, cells
marked the nbval way (tag ``nbval-check-output`` or a ``# NBVAL_CHECK_OUTPUT``
comment) print what the saved notebook shows, compared as nbval compares them.

The fresh-kernel execution is itself a job run (mode ``validation``), so what
the notebook logs while being validated is kept, and ``run_job(validated=True)``
reuses a passing validation of the same notebook content instead of running it
twice.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..errors import GateFailed, InvalidInput
from ..result import Block, Fields, Heading, Note, fmt_duration
from ..store.meta import jobs, runs
from ..verdict import Finding, Verdict
from ..workspace import open_current
from . import notebook as nbk
from .execute import execute, prepare
from .results import short_path

if TYPE_CHECKING:
    from ..store import Store

COMPARE_MODES = ("tagged", "all", "none")
CHECK_TAG, IGNORE_TAG = "nbval-check-output", "nbval-ignore-output"
CHECK_MARK, IGNORE_MARK = (
    re.compile(r"^\s*#\s*NBVAL_CHECK_OUTPUT\s*$", re.M),
    re.compile(r"^\s*#\s*NBVAL_IGNORE_OUTPUT\s*$", re.M),
)
# what nbval leaves out of a comparison (random widget ids, images unless --nbdime, bookkeeping)
SKIP_KEYS = frozenset(
    {
        "metadata",
        "traceback",
        "prompt_number",
        "output_type",
        "name",
        "execution_count",
        "application/vnd.jupyter.widget-view+json",
        "image/png",
        "image/jpeg",
    }
)


def _check(name: str, status: str, detail: str) -> dict[str, str]:
    return {"check": name, "status": status, "detail": detail}


def parameters_check(nb: nbk.Notebook) -> list[dict[str, str]]:
    indexes = nbk.parameters_cell_indexes(nb.node)
    if not indexes:
        return [
            _check(
                "parameters cell",
                "FAIL",
                "No cell is tagged 'parameters'; tag the cell that sets the "
                "defaults (JupyterLab: Property Inspector, Cell Tags) so papermill can override "
                "them.",
            )
        ]
    declared = nbk.declared_parameters(nb)
    names = (
        ", ".join(declared)
        if declared
        else ("none" if declared is not None else f"not inspectable for {nb.language}")
    )
    out = [_check("parameters cell", "PASS", f"cell {indexes[0] + 1} declares: {names}.")]
    if len(indexes) > 1:
        out.append(
            _check(
                "parameters cell",
                "WARN",
                f"{len(indexes)} cells are tagged 'parameters'; papermill "
                f"injects after the first (cell {indexes[0] + 1}) only.",
            )
        )
    odd = nbk.non_assignments(nb)
    if odd:
        out.append(
            _check(
                "parameters cell",
                "WARN",
                "Papermill can only override assignments, and the cell also "
                f"holds {len(odd)} other statement(s) ({odd[0]}).",
            )
        )
    return out


def execution_order_check(node: Any) -> dict[str, str]:
    """Judge the saved execution counts: out of order is hidden state, gaps are a warning."""
    code = [
        (i, c)
        for i, c in enumerate(node.cells)
        if c.get("cell_type") == "code" and c.source.strip()
    ]
    counted = [(i, c.execution_count) for i, c in code if c.get("execution_count") is not None]
    name = "saved execution order"
    if not counted:
        return _check(
            name, "SKIP", "The saved notebook has no execution counts (never run, or cleared)."
        )
    for (i0, n0), (i1, n1) in zip(counted, counted[1:], strict=False):
        if n1 <= n0:
            return _check(
                name,
                "FAIL",
                f"Cell {i1 + 1} (In [{n1}]) was run before cell {i0 + 1} (In [{n0}]) above it, "
                "so the saved outputs depend on out-of-order execution; restart the kernel and "
                "run all.",
            )
    first, last = counted[0][0], counted[-1][0]
    skipped = [i for i, c in code if first < i < last and c.get("execution_count") is None]
    if skipped:
        return _check(
            name,
            "WARN",
            f"Cell {skipped[0] + 1} was not run when the notebook was saved, though cells "
            "after it were; restart the kernel and run all.",
        )
    counts = [n for _, n in counted]
    if counts[0] != 1 or counts[-1] - counts[0] != len(counts) - 1:
        return _check(
            name,
            "WARN",
            f"Execution counts go from In [{counts[0]}] to In [{counts[-1]}] over "
            f"{len(counts)} cells: cells were re-run or deleted; restart and run all to be sure.",
        )
    return _check(name, "PASS", f"{len(counts)} cells ran in order, In [1] to In [{counts[-1]}].")


def _marked(cell: Any, tag: str, mark: re.Pattern[str]) -> bool:
    return tag in nbk.tags_of(cell) or bool(mark.search(cell.source))


def _flatten(outputs: list[Any]) -> dict[str, list[Any]]:
    """nbval's view of a cell's outputs: streams merged by name, data flattened by MIME type."""
    streams: dict[str, str] = {}
    flat: dict[str, list[Any]] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            streams[output.get("name", "stdout")] = streams.get(
                output.get("name", "stdout"), ""
            ) + nbk.plain(output.get("text", ""))
            continue
        for key, value in output.items():
            if key in SKIP_KEYS:
                continue
            if key == "data":
                for mime, body in value.items():
                    if mime not in SKIP_KEYS:
                        flat.setdefault(mime, []).append(body)
            else:
                flat.setdefault(key, []).append(value)
    for name, text in streams.items():
        while True:  # nbval: backspaces cancel the character before, \r overwrites the line
            shorter = re.sub(r"[^\n]\x08", "", text)
            if shorter == text:
                break
            text = shorter
        flat.setdefault(name, []).append(re.sub(r"^.*\r(?=[^\n])", "", text, flags=re.M))
    return flat


def _clip(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= 60 else text[:59] + "…")


def output_check(saved: Any, executed: Any | None, mode: str) -> dict[str, str]:
    name = "outputs match"
    if mode == "none":
        return _check(name, "SKIP", "Output comparison is off (--compare none).")
    if executed is None:
        return _check(name, "SKIP", "The notebook did not run, so there are no outputs to compare.")
    ran = [c for c in executed.cells if nbk.PAPERMILL_MARKER_TAG not in nbk.tags_of(c)]
    chosen = []
    for index, cell in enumerate(saved.cells):
        if cell.get("cell_type") != "code" or index >= len(ran):
            continue
        if (mode == "tagged" and _marked(cell, CHECK_TAG, CHECK_MARK)) or (
            mode == "all" and not _marked(cell, IGNORE_TAG, IGNORE_MARK)
        ):
            chosen.append(index)
    if not chosen:
        return _check(
            name, "SKIP", f"No cell is tagged '{CHECK_TAG}' (or marked # NBVAL_CHECK_OUTPUT)."
        )
    for index in chosen:
        want, got = (
            _flatten(saved.cells[index].get("outputs", [])),
            _flatten(ran[index].get("outputs", [])),
        )
        if set(want) != set(got):
            missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
            what = f"lacks {', '.join(missing)}" if missing else f"also has {', '.join(extra)}"
            return _check(
                name,
                "FAIL",
                f"Cell {index + 1}'s new output {what} compared with the saved notebook.",
            )
        for key in want:
            if want[key] != got[key]:
                return _check(
                    name,
                    "FAIL",
                    f"Cell {index + 1} now gives {_clip(got[key][0] if got[key] else '')} for "
                    f"{key} where the saved notebook has "
                    f"{_clip(want[key][0] if want[key] else '')}.",
                )
    return _check(name, "PASS", f"{len(chosen)} compared cell(s) give the saved outputs.")


@dataclasses.dataclass(repr=False)
class ValidationResult(Verdict):
    """The checks of one validation and its run."""

    notebook: str
    run_id: str
    status: str
    checks: list[dict[str, str]]
    duration_s: float | None

    @property
    def findings(self) -> list[Finding]:
        failed = [
            Finding("check failed", c["check"], c["detail"])
            for c in self.checks
            if c["status"] == "FAIL"
        ]
        if not failed and self.status != "FINISHED":
            failed.append(
                Finding("validation run", self.run_id[:8], f"the run {self.status.lower()}")
            )
        return failed

    def blocks(self) -> list[Block]:
        warned = [c for c in self.checks if c["status"] == "WARN"]
        verdict = (
            Note(
                f"{short_path(self.notebook)} passed validation"
                + (f" with {len(warned)} warning(s)." if warned else "."),
                "ok",
            )
            if self.passed
            else Note(
                f"{short_path(self.notebook)} failed validation: {self.findings[0].detail}", "alert"
            )
        )
        tones = {"PASS": "ok", "FAIL": "alert", "WARN": "warn", "SKIP": "info"}
        checks = [
            Note(
                f"{c['check']}: {c['detail']}"
                if c["status"] != "SKIP"
                else f"{c['check']} (skipped): {c['detail']}",
                tones[c["status"]],
            )
            for c in self.checks
        ]
        return [
            Heading(f"Validation of {os.path.basename(self.notebook)}"),
            verdict,
            *checks,
            Fields([("run", self.run_id), ("execution", fmt_duration(self.duration_s))]),
        ]


def validate(
    notebook: str | os.PathLike[str] | nbk.Notebook,
    *,
    compare: str = "tagged",
    kernel: str | None = None,
    timeout: float | None = None,
    progress: bool = True,
    store: Store | None = None,
) -> ValidationResult:
    """Check that a notebook can run as a job: parameters cell, execution order, a fresh run,
    outputs.

    Example:
        >>> validate("train.ipynb").passed  # doctest: +SKIP
        True
    """
    if compare not in COMPARE_MODES:
        raise InvalidInput(f"compare must be one of {', '.join(COMPARE_MODES)}, not {compare!r}.")
    store = store or open_current()
    nb = notebook if isinstance(notebook, nbk.Notebook) else nbk.read_notebook(notebook)
    static = parameters_check(nb) + [execution_order_check(nb.node)]
    spec = prepare(
        nb,
        None,
        store=store,
        name=f"validate {nb.name}",
        kernel=kernel,
        timeout=timeout,
        mode="validation",
        progress=progress,
    )
    checks: list[dict[str, str]] = []

    def review(executed: Any, error: str | None) -> tuple[str | None, list[dict[str, str]]]:
        ran = (
            _check(
                "fresh kernel",
                "FAIL",
                f"Running top to bottom with the default parameters failed: {error}",
            )
            if error
            else _check("fresh kernel", "PASS", "Ran top to bottom with the default parameters.")
        )
        checks.extend(
            [*static, ran, output_check(nb.node, executed if not error else None, compare)]
        )
        failed = [c for c in checks if c["status"] == "FAIL"]
        return (f"Validation failed: {failed[0]['detail']}" if failed else None), checks

    result = execute(spec, store=store, review=review)
    return ValidationResult(nb.path, result.run_id, result.status, checks, result.duration_s)


def require_validation(nb: nbk.Notebook, *, store: Store, kernel: str | None = None) -> str:
    """The id of a passing validation of this exact notebook content, validating now if there is
    none."""
    with store.read() as conn:
        found = conn.execute(
            select(runs.c.id)
            .select_from(runs.join(jobs, jobs.c.run_id == runs.c.id))
            .where(
                jobs.c.mode == "validation",
                jobs.c.notebook_digest == nb.digest,
                runs.c.status == "FINISHED",
            )
            .order_by(runs.c.start_time.desc())
            .limit(1)
        ).scalar()
    if found:
        return str(found)
    result = validate(nb, kernel=kernel, progress=False, store=store)
    if not result.passed:
        failed = next(c for c in result.checks if c["status"] == "FAIL")
        raise GateFailed(
            f"{os.path.basename(nb.path)} did not pass validation "
            f"({failed['detail'].rstrip('.')}); "
            f"`mlops job validate {nb.path}` shows every check."
        )
    return result.run_id
