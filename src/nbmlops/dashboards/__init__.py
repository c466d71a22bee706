"""Read-only dashboards for business readers: publish a notebook, serve it with Voila, export static
HTML.

``publish`` writes ``dashboards/<model>.ipynb`` in the workspace from
``templates/dashboard.ipynb`` with the model and its goals filled in; ``serve``
runs Voila on it with the workspace opened read-only (``MLOPS_READONLY=1``:
SQLite in ``mode=ro``, PostgreSQL through ``readonly_db_url`` or a read-only
transaction); ``export`` writes one self-contained HTML file (plotly.js inside,
nothing fetched) to send to people with no server.

Example:
    >>> from nbmlops import dashboards
    >>> dashboards.publish("churn", ["accuracy>=0.85",
    ...                    "demographic_parity_ratio>=0.8"])  # doctest: +SKIP
    >>> dashboards.export("churn")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import importlib.util
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .. import registry
from ..assets import asset, asset_dir
from ..errors import InvalidInput, MissingDependency, MlopsError, NotFound
from ..refs import check_name
from ..result import Message, Note, render_html
from ..workspace import Workspace, open_current
from .goals import check_known, parse_goals
from .page import DashboardView, overview

FOLDER = "dashboards"
DEFAULT_PORT = 8866
DEFAULT_IP = "127.0.0.1"

__all__ = [
    "publish",
    "serve",
    "export",
    "show",
    "overview",
    "dashboard_path",
    "voila_command",
    "DashboardView",
]


def dashboard_path(model: str, workspace: Workspace | None = None) -> Path:
    """Where the published dashboard of ``model`` lives:
    ``<workspace>/dashboards/<model>.ipynb``."""
    check_name(model, "model")
    ws = workspace or Workspace.find()
    return ws.root / FOLDER / f"{model}.ipynb"


def publish(
    model: str, goals: list[str] | tuple[str, ...] = (), *, title: str | None = None
) -> Message:
    """Write the dashboard notebook of ``model`` with its goals (checked against what is stored).

    Example:
        >>> publish("churn", ["accuracy>=0.85", "demographic_parity_ratio>=0.8"])  # doctest: +SKIP
    """
    import nbformat  # lazy: start-up time

    gates = parse_goals(list(goals))
    if len({g.metric for g in gates}) != len(gates):
        raise InvalidInput("Each metric may have one goal; merge the repeated ones.")
    store = open_current()
    shown = registry.show(model, store=store)  # NotFound, with the known models, when there is none
    ref = next(
        (
            f"{model}@{a}"
            for a in ("production", "prod", "champion")
            if a in getattr(shown, "aliases", {})
        ),
        f"{model}@latest",
    )
    check_known(gates, registry.resolve_version(ref, store=store), store, ref)
    nb = nbformat.read(asset("templates", "dashboard.ipynb"), as_version=4)
    values = {
        "model": model,
        "goals": [g.text for g in gates],
        "title": title or f"{model}: model health",
    }
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
    nb.metadata["nbmlops"] = values
    path = dashboard_path(model, store.workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, path)
    goals_text = ", ".join(values["goals"]) or "none"
    return Message(
        f"Published the dashboard of {model} to {path}; serve it with mlops dashboard serve "
        f"{model} "
        f"or send mlops dashboard export {model}.",
        "ok",
        [("goals", goals_text), ("checked on", ref)],
    )


def _published(model: str) -> tuple[Path, dict[str, Any]]:
    import nbformat  # lazy: start-up time

    path = dashboard_path(model)
    if not path.is_file():
        raise NotFound(
            f"No dashboard is published for {model}; publish one with "
            f'mlops dashboard publish {model} --goal "accuracy>=0.85".'
        )
    return path, dict(nbformat.read(path, as_version=4).metadata.get("nbmlops", {}))


def check_address(ip: str) -> str:
    """An address Voila may listen on: an IP address (``0.0.0.0`` for every interface) or a host
    name."""

    text = ip.strip() if isinstance(ip, str) else ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if re.fullmatch(
        r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*",
        text,
    ):
        return text
    raise InvalidInput(
        f"{str(ip)[:80]!r} is not an address to listen on; give an IP address such as 127.0.0.1 "
        "or 0.0.0.0 (every interface), or a host name."
    )


def voila_command(
    notebook: Path, *, port: int = DEFAULT_PORT, browser: bool = True, ip: str = DEFAULT_IP
) -> tuple[list[str], dict[str, str]]:
    """The Voila command line and environment that serve ``notebook`` read-only, with no code
    shown."""
    ip = check_address(ip)
    if shutil.which("voila") is None and not _has_voila():
        raise MissingDependency("voila", "dashboard", "Serving a dashboard")
    env = {
        **os.environ,
        "MLOPS_READONLY": "1",
        "MLOPS_HOME": str(Workspace.find().root),
        "JUPYTER_PATH": os.pathsep.join(
            filter(None, [str(asset_dir("templates")), os.environ.get("JUPYTER_PATH")])
        ),
    }
    command = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        f"--port={port}",
        "--template=nbmlops",
        "--theme=light",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--Voila.ip={ip}",
    ]
    if not browser:
        command.append("--no-browser")
    return command, env


def _has_voila() -> bool:

    return importlib.util.find_spec("voila") is not None


def serve(
    model: str, *, port: int = DEFAULT_PORT, browser: bool = True, ip: str = DEFAULT_IP
) -> Message:
    """Serve the published dashboard of ``model`` with Voila until interrupted (read-only, no code).

    ``ip`` is the address Voila listens on: loopback by default; ``0.0.0.0`` shares it on the
    network (Voila asks for no login, so put a proxy with one in front on a shared network).

    Example:
        >>> serve("churn", port=8866, browser=False)  # doctest: +SKIP
    """
    ip = check_address(ip)
    path, _ = _published(model)
    command, env = voila_command(path, port=port, browser=browser, ip=ip)
    shown = "127.0.0.1" if ip in ("0.0.0.0", "::") else f"[{ip}]" if ":" in ip else ip
    where = " (listening on every interface)" if ip in ("0.0.0.0", "::") else ""
    print(
        f"Serving the {model} dashboard at http://{shown}:{port}/{where} (read-only); Ctrl-C "
        "stops it.",
        file=sys.stderr,
    )
    try:
        code = subprocess.run(command, env=env, check=False).returncode
    except KeyboardInterrupt:
        code = 0
    if code not in (0, -2, 130):
        raise MlopsError(f"Voila stopped with status {code}; is port {port} free? Try --port.")
    return Message(f"Stopped serving the {model} dashboard.")


def export(model: str, out: str | os.PathLike[str] | None = None) -> Message:
    """Write the dashboard of ``model`` as one self-contained HTML file (plotly.js embedded once).

    Example:
        >>> export("churn", "churn.html")  # doctest: +SKIP
    """
    _path, meta = _published(model)
    store = open_current(readonly=True)
    view = overview(model, meta.get("goals", []), title=meta.get("title"), store=store)
    target = Path(out) if out is not None else Path(f"{model}-dashboard.html")
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(view.title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:24px "
        "auto;padding:0 24px;"
        "color:#1f2328}table{border-collapse:collapse;margin:8px 0 16px}th,td{padding:6px 12px;"
        "border-bottom:1px solid #d8dee4;vertical-align:top;text-align:left}</style></head><body>\n"
        f"{view.to_html(self_contained=True)}\n</body></html>\n"
    )
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as e:
        raise InvalidInput(f"Cannot write {target}: {e.strerror or e}.") from None
    return Message(
        f"Wrote the {model} dashboard to {target} ({len(page) // 1000:,} kB, opens with no "
        "server).",
        "ok",
    )


def show(model: str, goals: list[str] | tuple[str, ...] = (), *, title: str | None = None) -> None:
    """Display the dashboard (the published notebook calls this); any failure is one sentence,
    never a traceback."""
    from IPython.display import HTML, display  # lazy: start-up time

    try:
        store = open_current(readonly=True)
        display(overview(model, goals, title=title, store=store))
    except MlopsError as e:
        display(
            HTML(render_html([Note(f"This dashboard cannot be shown right now: {e}", "alert")]))
        )
    except Exception as e:  # noqa: BLE001 - a business reader gets a sentence, the logs keep the detail
        # the process's own stderr is the server log; the kernel's sys.stderr would show on the page
        print(f"nbmlops dashboard: {type(e).__name__}: {e}", file=sys.__stderr__)
        display(
            HTML(
                render_html(
                    [
                        Note(
                            "This dashboard cannot be shown right now because of an internal "
                            "error; "
                            "the details are in the server log.",
                            "alert",
                        )
                    ]
                )
            )
        )
