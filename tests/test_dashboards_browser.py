"""A published dashboard served by `mlops dashboard serve`, read in headless Chromium: goals green
and red,
charts, no code, no traceback, no request leaving the machine; and its kernel cannot write."""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
from browser_servers import ARTIFACTS, BIN, IMAGES, free_port, jupyter_env, server
from nbformat.v4 import new_code_cell, new_notebook
from samples import churn_frame, fit_classifier, store_state

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GOALS = ["accuracy>=0.85", "demographic_parity_ratio>=0.95"]
WRITE_ATTEMPT = """import nbmlops as mo
try:
    mo.models.promote("churn@2", to="production")
    print("WROTE")
except mo.MlopsError as e:
    print("REFUSED:", e)"""


@pytest.fixture(scope="module")
def published(tmp_path_factory):  # type: ignore[no-untyped-def]
    import nbmlops as mo
    from nbmlops.store import forget_stores
    from nbmlops.workspace import Workspace

    root = tmp_path_factory.mktemp("dash")
    ws, _ = Workspace.init(root)
    store = ws.store()
    frame = churn_frame()
    clf = fit_classifier(frame)
    for accuracy in (0.82, 0.88, 0.91):
        with mo.start_run(name="train", store=store) as run:
            run.log_metric("accuracy", accuracy)
        mo.models.register(clf, "churn", run=run.id, store=store)
        mo.evaluate.bias(clf, frame, "churned", sensitive="gender", store=store)
    mo.models.promote("churn@3", to="production", note="quarterly release", store=store)
    forget_stores()
    env = jupyter_env(root / ".jupyter-scratch", MLOPS_HOME=str(root))
    published = subprocess.run(
        [
            str(BIN / "mlops"),
            "dashboard",
            "publish",
            "churn",
            *[a for g in GOALS for a in ("--goal", g)],
        ],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert published.returncode == 0, published.stderr
    return root, env


def test_dashboard_in_voila_shows_goals_and_no_code(published, local_page) -> None:
    root, env = published
    requests: list[str] = []
    page = local_page
    page.on("request", lambda r: requests.append(r.url))
    page.set_viewport_size({"width": 1200, "height": 1600})
    port = free_port()
    command = [str(BIN / "mlops"), "dashboard", "serve", "churn", f"--port={port}", "--no-browser"]
    with server(command, env=env, cwd=root, port=port, name="voila-dashboard") as url:
        page.goto(url + "/", timeout=120_000)
        page.get_by_text("of 2 goals are met").wait_for(timeout=120_000)
        page.wait_for_function(
            "() => document.querySelectorAll('.js-plotly-plot').length >= 1", timeout=60_000
        )
        met = page.locator(".nbm-goal-met").first
        missed = page.locator(".nbm-goal-not-met").first
        assert met.evaluate("el => getComputedStyle(el).color") == "rgb(26, 127, 55)"
        assert missed.evaluate("el => getComputedStyle(el).color") == "rgb(180, 35, 24)"
        body = page.locator("body").inner_text()
        assert "Version 3 of churn is in production since" in body
        assert "Selection rate for group" in body and "quarterly release" in body
        assert "No drift check is stored for churn yet" in body
        for leak in ("Traceback", "show(model", "import ", "Error"):
            assert leak not in body
        assert page.locator(".jp-InputArea-editor:visible, .cm-editor:visible").count() == 0
        page.wait_for_timeout(500)
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / "dashboard.png"), full_page=True)
    outside = [
        u
        for u in requests
        if not u.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
    ]
    assert outside == []


def test_serve_listens_on_the_address_given_and_nowhere_else(published) -> None:
    """127.0.0.2 is loopback too, so the test can tell an address Voila listens on from one it
    does not."""
    import socket
    import urllib.request

    root, env = published
    port = free_port()
    command = [
        str(BIN / "mlops"),
        "dashboard",
        "serve",
        "churn",
        f"--port={port}",
        "--ip",
        "127.0.0.2",
        "--no-browser",
    ]
    with server(command, env=env, cwd=root, port=port, name="voila-ip", host="127.0.0.2") as url:
        assert url == f"http://127.0.0.2:{port}"
        with urllib.request.urlopen(url + "/", timeout=120) as page:
            assert page.status == 200 and "<title>churn</title>" in page.read().decode()
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection(("127.0.0.1", port), timeout=5),
        ):
            pass
    assert (
        f"Serving the churn dashboard at http://127.0.0.2:{port}/"
        in (ARTIFACTS / "voila-ip.log").read_text()
    )


def test_the_dashboards_kernel_cannot_write(published, local_page, monkeypatch) -> None:
    """A cell asking for a write, run by Voila the way serve runs dashboards, is refused with a
    sentence."""
    from nbmlops.dashboards import voila_command
    from nbmlops.workspace import Workspace

    root, env = published
    store = Workspace.find(root).store()
    before = store_state(store)
    notebook = root / "dashboards" / "attempt.ipynb"
    nb = new_notebook(cells=[new_code_cell(WRITE_ATTEMPT)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(nb, str(notebook))
    port = free_port()
    monkeypatch.setenv("MLOPS_HOME", str(root))
    command, serve_env = voila_command(notebook, port=port, browser=False)
    serve_env = {
        **env,
        **{
            k: v
            for k, v in serve_env.items()
            if k in ("MLOPS_READONLY", "JUPYTER_PATH", "MLOPS_HOME")
        },
    }
    assert command[:3] == [sys.executable, "-m", "voila"]
    with server(command, env=serve_env, cwd=root, port=port, name="voila-write") as url:
        local_page.goto(url + "/", timeout=120_000)
        local_page.get_by_text(
            re.compile("REFUSED: This workspace is open read-only; writes are refused.")
        ).wait_for(timeout=120_000)
        assert "WROTE" not in local_page.locator("body").inner_text()
    assert store_state(store) == before
