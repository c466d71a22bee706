"""Small notebooks the job tests execute, written with nbformat into the test's folder.

``train.ipynb`` logs what a test can check against a formula it computes on
its own: ``score = 1 / (1 + C)`` (``1 / (2 + C)`` with penalty l1), a ``loss``
series ``1 / (i + 1)`` of ``n_points`` values, and the ``C`` it received.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

TRAIN_PARAMETERS = """C = 1.0
penalty = "l2"
n_points = 20
fail = False
die = False
noise = False
widget = False
data = None"""

TRAIN_CELLS = [
    """import os
import nbmlops as mo
print("cwd", os.getcwd())
score = 1 / (1 + C) if penalty == "l2" else 1 / (2 + C)
for i in range(n_points):
    mo.log_metric("loss", 1 / (i + 1))
mo.log_metrics({"score": score, "C_seen": C, "malloc_fixed": "MALLOC_TRIM_THRESHOLD_" in
os.environ})
print("score", score)""",
    """if die:
    os._exit(3)
if fail:
    raise ValueError("asked to fail")""",
    """if noise:
    import random
    mo.log_metric("noise", random.random())
if data is not None:
    frame = mo.data.load(data)
    mo.log_metric("rows", len(frame))""",
    "%load_ext nbmlops",
    """%%mlops run --name inner
mo.log_metric("inner", score * 2)""",
    """if widget:
    import ipywidgets
    display(ipywidgets.IntSlider(value=3))""",
]


def write_notebook(
    path: Path,
    parameters: str | None,
    cells: list[str],
    *,
    tags: dict[int, list[str]] | None = None,
) -> Path:
    """A notebook with a ``parameters`` cell (unless ``None``) followed by ``cells``."""
    nb = new_notebook()
    if parameters is not None:
        cell = new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.append(new_markdown_cell("A test notebook."))
    for i, source in enumerate(cells):
        cell = new_code_cell(source)
        if tags and i in tags:
            cell.metadata["tags"] = tags[i]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_train(path: Path) -> Path:
    return write_notebook(path, TRAIN_PARAMETERS, TRAIN_CELLS)


def score(C: float, penalty: str = "l2") -> float:
    """The oracle for the train notebook's score."""
    return 1 / (1 + C) if penalty == "l2" else 1 / (2 + C)
