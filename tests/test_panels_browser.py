"""Panels in a real JupyterLab, in headless Chromium: 10,000 runs, sorting and filtering in the
store,
a live chart that moves while its cell runs, and the approve button of the models panel."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import nbformat
import pytest
from browser_servers import IMAGES, free_port, jupyter_env, lab_command, server
from bulk_runs import bulk_runs
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE_CELL = """%%mlops run --live --name live
import time
for s in range(60):
    mo.log_metric("loss", 1 / (s + 1), step=s)
    time.sleep(0.2)"""


def _notebook(path: Path, cells: list[str]) -> None:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A workspace with 10,000 runs, a model awaiting approval and a dataset of two versions, in
    JupyterLab."""
    import numpy as np
    import pandas as pd
    from samples import churn_frame, fit_classifier

    import nbmlops as mo
    from nbmlops.store import forget_stores
    from nbmlops.workspace import Workspace

    root = tmp_path_factory.mktemp("lab")
    ws, _ = Workspace.init(root)
    bulk_runs(ws.store(), 10_000, n_params=6, n_metrics=3)
    frame = churn_frame()
    with mo.start_run(name="train", store=ws.store()) as run:
        run.log_metric("accuracy", 0.9)
    mo.models.register(fit_classifier(frame), "churn", run=run.id, store=ws.store())
    mo.models.gate("churn", require=["accuracy>=0.8"], approval=True, store=ws.store())
    mo.models.promote("churn@1", to="production", store=ws.store())  # requested by "tester"
    loans = pd.DataFrame(
        {"loan_id": np.arange(300), "amount": np.linspace(100.0, 3000.0, 300), "rate": 0.1}
    )
    mo.data.commit(loans, "loans", message="Q1 applications", store=ws.store())
    mo.data.set_tag("loans@1", "prod", store=ws.store())
    mo.data.commit(
        loans.drop(columns=["rate"]).assign(amount=loans.amount * 2),
        "loans",
        message="Q2 refresh: amounts in cents, rate dropped",
        store=ws.store(),
    )
    forget_stores()
    _notebook(
        root / "panels.ipynb",
        [
            "%load_ext nbmlops\nimport nbmlops as mo",
            "%mlops panel runs",
            LIVE_CELL,
            "%mlops panel models churn",
            "%mlops panel data loans",
        ],
    )
    env = jupyter_env(
        root / ".jupyter-scratch",
        MLOPS_HOME=str(root),
        MLOPS_FLUSH_INTERVAL="0.3",
        MLOPS_USER="reviewer",
    )
    port = free_port()
    with server(lab_command(root, port), env=env, cwd=root, port=port, name="lab") as url:
        yield url, root, np


def _sql(root: Path, query: str) -> list[tuple]:
    with sqlite3.connect(f"file:{root / '.mlops' / 'meta.db'}?mode=ro", uri=True) as conn:
        return conn.execute(query).fetchall()


def test_runs_panel_live_view_and_approval_in_jupyterlab(lab, local_page) -> None:
    url, root, _np = lab
    page = local_page
    page.set_viewport_size({"width": 1300, "height": 1700})
    page.goto(url + "/lab/tree/panels.ipynb?reset", timeout=90_000)
    page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).wait_for(timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

    # ---- runs panel: 10,000 rows, but only the visible ones in the DOM
    panel = page.locator(".nbm-runs-panel").first
    panel.locator(".nbm-data[data-key]").first.wait_for(timeout=90_000)
    total = _sql(root, "select count(*) from runs where name != 'live'")[0][
        0
    ]  # the live cell may have begun
    assert total > 10_000 and panel.locator(".nbm-count").inner_text().startswith(f"{total:,} rows")
    in_dom = panel.locator(".nbm-data").count()
    assert 10 < in_dom < 80

    # ---- the live cell runs now: its chart must grow while the kernel is busy
    live = page.locator(".nbm-live-view .js-plotly-plot").first
    live.wait_for(timeout=60_000)
    points = "el => el.data && el.data[0] ? el.data[0].x.length : 0"
    first = live.evaluate(points)
    page.wait_for_function(
        "n => { const el = document.querySelector('.nbm-live-view .js-plotly-plot');"
        " return el && el.data && el.data[0].x.length > n; }",
        arg=first,
        timeout=30_000,
    )
    assert page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Busy")).count() == 1
    assert 0 < first < 60

    # ---- scroll to the middle: rows arrive from Python, the DOM stays small
    viewport = panel.locator(".nbm-viewport")
    viewport.evaluate("el => { el.scrollTop = 5000 * 26; }")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.nbm-runs-panel .nbm-data')]"
        ".some(r => r.textContent.includes('run-04999'))",
        timeout=60_000,
    )
    assert panel.locator(".nbm-data").count() < 80

    # ---- sort by accuracy (click the header): the store's smallest accuracy comes first
    viewport.evaluate("el => { el.scrollTop = 0; }")
    panel.locator(".nbm-th", has_text="accuracy").click()
    lowest = _sql(
        root,
        "select r.name from latest_metrics m join runs r on r.id = m.run_id "
        "where m.key = 'accuracy' order by m.value asc limit 1",
    )[0][0]
    page.wait_for_function(
        f"() => document.querySelector('.nbm-runs-panel .nbm-data[data-index=\"0\"]')"
        f"?.textContent.includes('{lowest}')",
        timeout=60_000,
    )
    assert panel.locator(".nbm-arrow").inner_text().strip() == "\u25b2"

    # ---- filter in the store's language
    rf = _sql(root, "select count(*) from params where key = 'model' and value = 'rf'")[0][0]
    box = panel.locator(".nbm-filter")
    box.fill("params.model = 'rf'")
    box.press("Enter")
    page.wait_for_function(
        f"() => document.querySelector('.nbm-runs-panel .nbm-count')"
        f".textContent.startsWith('{rf:,} rows')",
        timeout=60_000,
    )

    # ---- select two runs: metric curves and parallel coordinates
    panel.locator(".nbm-data[data-index='0']").click()
    panel.locator(".nbm-data[data-index='1']").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.nbm-runs-panel .js-plotly-plot').length >= 2",
        timeout=60_000,
    )
    assert (
        panel.locator(".parcoords, .js-plotly-plot .parcoords").count() >= 1
        or panel.locator(".js-plotly-plot").count() >= 2
    )
    panel.locator("select").first.select_option("loss")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.nbm-runs-panel .gtitle')]"
        ".some(t => t.textContent.startsWith('loss over steps'))",
        timeout=60_000,
    )
    page.wait_for_timeout(500)  # plotly's transition
    IMAGES.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(IMAGES / "runs-panel.png"))

    # ---- models panel: approve the pending promotion with a confirmation
    models = page.locator(".nbm-models-panel").first
    page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).wait_for(timeout=90_000)
    models.locator(".nbm-data[data-key='churn@1']").click()
    models.get_by_role("button", name="Approve").click()
    models.get_by_text("Approve the promotion of churn@1 to production?").wait_for(timeout=30_000)
    assert _sql(root, "select count(*) from model_aliases")[0][0] == 0  # asking wrote nothing
    models.get_by_role("button", name="Confirm").click()
    models.get_by_text(re.compile("Approved: churn@production is now version 1")).wait_for(
        timeout=30_000
    )
    assert _sql(
        root,
        "select v.version from model_aliases a join model_versions v on v.id = a.version_id "
        "where a.alias = 'production'",
    ) == [(1,)]

    # ---- data panel: the newest two versions compared, what moved coloured; one version shows its
    # schema
    data = page.locator(".nbm-data-panel").first
    data.get_by_text("loans@1 → loans@2: rows 300 → 300 (+0)").wait_for(timeout=60_000)
    assert data.locator(".js-plotly-plot").count() == 1
    removed = data.locator(".nbm-data[data-key='schema:rate'] .nbm-tone-alert")
    assert removed.inner_text() == "removed"
    mean = data.locator(".nbm-data[data-key='mean:amount'] .nbm-tone-alert")
    assert mean.inner_text().startswith("+1,550") or mean.inner_text().startswith("+1550")
    page.wait_for_timeout(500)  # plotly's transition
    data.screenshot(path=str(IMAGES / "data-panel.png"))
    data.locator(".nbm-data[data-key='loans@1']").click()
    data.get_by_text("Select a second version to compare the two.").wait_for(timeout=30_000)
    data.get_by_text("Schema").first.wait_for(timeout=30_000)
