"""Where the front-end files (``widgets/``) and templates (``templates/``) are.

In a wheel they are inside the package (``nbmlops/_assets/``, see pyproject's
``force-include``); in a source checkout they are the top-level folders of the
repository. Both layouts are looked up, so an editable install works too.
"""

from __future__ import annotations

from pathlib import Path

from .errors import MlopsError

_PACKAGE = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE / "_assets", _PACKAGE.parent.parent)


def asset_dir(kind: str) -> Path:
    """The folder holding ``widgets`` or ``templates`` files.

    Example:
        >>> (asset_dir("widgets") / "table.js").is_file()
        True
    """
    for root in _CANDIDATES:
        folder = root / kind
        if folder.is_dir() and any(folder.iterdir()):
            return folder
    raise MlopsError(
        f"This nbmlops installation misses its {kind} files; reinstall it with "
        "pip install --force-reinstall nbmlops."
    )


def asset(kind: str, name: str) -> Path:
    """One file of ``widgets/`` or ``templates/``.

    Example:
        >>> asset("templates", "dashboard.ipynb").name
        'dashboard.ipynb'
    """
    return asset_dir(kind) / name
