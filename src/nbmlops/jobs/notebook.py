"""A notebook as a job sees it: the file, its ``parameters`` cell, and what an execution left in it.

Reading goes through nbformat, so anything Jupyter can open works and anything
else is refused with one sentence. The parameters cell is inspected with
papermill's own translators (the same code that injects the values later), so
"declared" means exactly what papermill will override.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from ..store.objects import digest_bytes

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
PAPERMILL_MARKER_TAG = "papermill-error-cell-tag"
DEFAULT_KERNEL = "python3"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclasses.dataclass
class Notebook:
    """A notebook file read for execution: its bytes (what gets stored), the parsed node, its
    kernel."""

    path: str  # absolute
    data: bytes
    node: Any  # nbformat.NotebookNode
    digest: str
    kernel: str
    language: str

    @property
    def name(self) -> str:
        return Path(self.path).stem


def _parse(data: bytes, path: str) -> Any:
    import nbformat  # lazy: start-up time

    try:
        node = nbformat.reads(data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not a Jupyter notebook: it is not UTF-8 text.") from None
    except Exception as e:  # noqa: BLE001 - nbformat raises JSON, schema and version errors alike
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise InvalidInput(f"{path} is not a Jupyter notebook ({reason}).") from None
    if not isinstance(node.get("cells"), list):
        raise InvalidInput(f"{path} is not a Jupyter notebook (it has no list of cells).")
    return node


def notebook_from_bytes(data: bytes, path: str) -> Notebook:
    """A :class:`Notebook` from stored bytes (a snapshot), keeping the path it ran from.

    Example:
        >>> notebook_from_bytes(store.objects.get(digest),
        ...                     "/work/train.ipynb").kernel  # doctest: +SKIP
        'python3'
    """
    node = _parse(data, path)
    spec = node.metadata.get("kernelspec") or {}
    info = node.metadata.get("language_info") or {}
    kernel = spec.get("name") or DEFAULT_KERNEL
    language = spec.get("language") or info.get("name") or "python"
    return Notebook(path, data, node, digest_bytes(data), kernel, language)


def read_notebook(path: str | os.PathLike[str]) -> Notebook:
    """Read a notebook file, refusing what is missing or not a notebook.

    Example:
        >>> read_notebook("notebooks/train.ipynb").kernel  # doctest: +SKIP
        'python3'
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInput(f"A notebook is given by its path, not by a {type(path).__name__}.")
    file = Path(path).expanduser()
    if file.is_dir():
        raise InvalidInput(f"{path} is a folder; give the path of an .ipynb notebook.")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            f"No notebook at {str(path)!r}; check the path (it is relative to {os.getcwd()})."
        ) from None
    except OSError as e:
        raise InvalidInput(f"Cannot read {path}: {e.strerror or e}.") from None
    return notebook_from_bytes(data, str(file.resolve()))


# ---------------------------------------------------------------- the parameters cell


def tags_of(cell: Any) -> list[str]:
    tags = cell.get("metadata", {}).get("tags") or []
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def parameters_cell_indexes(node: Any) -> list[int]:
    """Indexes of the cells tagged ``parameters`` (papermill uses the first)."""
    return [i for i, c in enumerate(node.cells) if PARAMETERS_TAG in tags_of(c)]


@dataclasses.dataclass
class Declared:
    """One parameter of the parameters cell: its default as written, and as a value when literal."""

    name: str
    source: str
    type_name: str
    help: str
    value: Any = None
    literal: bool = False


def declared_parameters(nb: Notebook) -> dict[str, Declared] | None:
    """The parameters the notebook declares, or ``None`` when its language cannot be inspected.

    Example:
        >>> list(declared_parameters(read_notebook("train.ipynb")))  # doctest: +SKIP
        ['C', 'penalty', 'data']
    """
    from papermill.translators import papermill_translators  # lazy: start-up time

    indexes = parameters_cell_indexes(nb.node)
    if not indexes:
        return {}
    cell = nb.node.cells[indexes[0]]
    try:
        translator = papermill_translators.find_translator(nb.kernel, nb.language)
        found = translator.inspect(cell)
    except (NotImplementedError, ValueError):
        return None
    out: dict[str, Declared] = {}
    for p in found:
        declared = Declared(p.name, p.default, p.inferred_type_name, p.help)
        try:
            declared.value, declared.literal = ast.literal_eval(p.default), True
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
        out[p.name] = declared
    return out


def non_assignments(nb: Notebook) -> list[str]:
    """Statements of a Python parameters cell that are not plain assignments (papermill cannot
    override them)."""
    indexes = parameters_cell_indexes(nb.node)
    if not indexes or nb.language != "python":
        return []
    source = nb.node.cells[indexes[0]].source
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return [f"line {e.lineno}: {e.msg}"]
    odd = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.Pass)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring-like comment
        odd.append(
            f"line {stmt.lineno}: {ast.get_source_segment(source, stmt) or type(stmt).__name__}"[
                :80
            ]
        )
    return odd


# ---------------------------------------------------------------- what an execution left behind


def strip_widgets(node: Any) -> Any:
    """Drop saved widget state: it can weigh megabytes and cannot be replayed outside a live
    kernel."""
    node.metadata.pop("widgets", None)
    return node


def plain(text: Any) -> str:
    """Text without ANSI colours (tracebacks are coloured)."""
    if isinstance(text, list):
        text = "".join(text)
    return _ANSI.sub("", str(text or ""))


@dataclasses.dataclass
class Failure:
    """Where and why an executed notebook stopped."""

    cell: int  # index in the executed notebook
    count: int | None  # execution count, the "In [n]" Jupyter shows
    ename: str
    evalue: str
    source: str

    @property
    def where(self) -> str:
        return f"In [{self.count}]" if self.count is not None else f"cell {self.cell + 1}"

    @property
    def message(self) -> str:
        return f"{self.ename}: {self.evalue}".rstrip(": ") if self.evalue else self.ename


def find_failure(node: Any) -> Failure | None:
    """The first cell with an error output (``SystemExit(0)`` is a clean stop), as papermill judges
    it.

    Example:
        >>> find_failure(executed).where  # doctest: +SKIP
        'In [3]'
    """
    for index, cell in enumerate(node.cells):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if output.get("ename") == "SystemExit" and output.get("evalue") in ("", "0"):
                continue
            return Failure(
                index,
                cell.get("execution_count"),
                output.get("ename", "Error"),
                plain(output.get("evalue", "")),
                cell.source,
            )
        if cell.get("metadata", {}).get("papermill", {}).get("exception") is True:
            return Failure(
                index, cell.get("execution_count"), "CellExecutionError", "", cell.source
            )
    return None


def last_started_cell(node: Any) -> int | None:
    """The last cell papermill started: where execution stopped when the kernel died or timed
    out."""
    started = None
    for index, cell in enumerate(node.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("start_time"):
            started = index
    return started


def read_output(path: str) -> Any | None:
    """The executed notebook papermill saved, or ``None`` when it never got written."""
    import nbformat  # lazy: start-up time

    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError, json.JSONDecodeError):
        return None


def to_bytes(node: Any) -> bytes:
    import nbformat  # lazy: start-up time

    return nbformat.writes(node).encode("utf-8")
