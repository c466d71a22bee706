"""The live view: the chart follows a run while its cell is still executing."""

from __future__ import annotations

import pytest

from nbmlops.tracking.buffer import BUFFER

PLOTLY = "application/vnd.plotly.v1+json"

CELL = """
import time
import nbmlops as mo
from nbmlops.tracking.buffer import BUFFER
view = next(h.__self__ for h in BUFFER.tick_hooks if type(getattr(h, "__self__", None)).__name__ ==
"LiveView")
for s in range(5):
    mo.log_metric("loss", 1 / (s + 1), step=s)
    mo.log_metric("accuracy", 0.5 + s / 20, step=s)
BUFFER.wake()  # the writer thread flushes now instead of within a second
deadline = time.time() + 30
while view.updates == 0 and time.time() < deadline:
    time.sleep(0.02)
mid = {t["name"]: list(t["y"]) for t in
view.chart.outputs[0]["data"]["application/vnd.plotly.v1+json"]["data"]}
for s in range(5, 9):
    mo.log_metric("loss", 1 / (s + 1), step=s)
"""


def test_live_chart_updates_while_the_cell_runs(ip) -> None:
    result = ip.run_cell_magic("mlops", "run --live --name live", CELL)
    assert "finished" in str(result)
    mid = ip.user_ns["mid"]
    assert mid["loss"] == pytest.approx([1 / (s + 1) for s in range(5)])
    assert mid["accuracy"] == pytest.approx([0.5 + s / 20 for s in range(5)])
    view = ip.user_ns["view"]
    final = {t["name"]: t["y"] for t in view.chart.outputs[0]["data"][PLOTLY]["data"]}
    assert final["loss"] == pytest.approx([1 / (s + 1) for s in range(9)])
    assert "finished" in view.status.value
    assert view.update not in BUFFER.tick_hooks  # stopped following


def test_live_needs_a_notebook(cli, workspace) -> None:
    res = cli("run", "--live", "--", "true")
    assert res.exit_code != 0 and "notebook" in res.stderr


def test_live_without_a_run_says_how_to_start_one(ip) -> None:
    from nbmlops.errors import InvalidInput
    from nbmlops.panels import live

    with pytest.raises(InvalidInput, match="No run is active"):
        live()
