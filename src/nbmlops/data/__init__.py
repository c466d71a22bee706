"""Data versioning: DataFrames and files as numbered versions, with lineage, diffs and validation.

``mo.data.commit(df, "loans")`` stores a version as a manifest of
content-addressed column chunks (only changed chunks take new space);
``mo.data.load("loans@3")`` gives the exact frame back. References read
``name@N``, ``name@latest``, ``name@tag`` or ``name@<digest prefix>``.
pandas and pyarrow are imported on first use.

Example:
    >>> import nbmlops as mo
    >>> mo.data.commit(df, "loans", message="Q3 refresh")  # doctest: +SKIP
    >>> mo.data.diff("loans@3", "loans@4", key="loan_id")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import Any

_LAZY = {
    "commit": "committing",
    "read_table_file": "committing",
    "load": "reading",
    "iter_batches": "reading",
    "checkout": "reading",
    "resolve": "versions",
    "VersionInfo": "versions",
    "set_tag": "versions",
    "remove_tag": "versions",
    "log": "views",
    "list_datasets": "views",
    "show": "views",
    "lineage": "provenance",
    "diff": "comparison",
    "infer_schema": "validation",
    "validate": "validation",
}

__all__ = [
    "commit",
    "load",
    "iter_batches",
    "checkout",
    "resolve",
    "VersionInfo",
    "set_tag",
    "remove_tag",
    "log",
    "list_datasets",
    "show",
    "lineage",
    "diff",
    "infer_schema",
    "validate",
    "manifest_references",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nbmlops.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def manifest_references(data: bytes) -> Iterator[tuple[str, str]]:
    """The objects a dataset manifest names, as ``(digest, what)``: column chunks or files (for fsck
    and gc).

    Example:
        >>> files = [{"path": "a.txt", "digest": "ab", "size": 1}]
        >>> manifest = json.dumps({"format": "nbmlops.files/1", "files": files}).encode()
        >>> list(manifest_references(manifest))
        [('ab', 'file a.txt')]
    """
    manifest = json.loads(data)
    if manifest.get("format", "").startswith("nbmlops.files/"):
        for f in manifest["files"]:
            yield f["digest"], f"file {f['path']}"
        return
    ranges = manifest["ranges"]
    index = manifest["index"]
    specs = [*manifest["columns"], *(index["levels"] if index["kind"] == "levels" else [])]
    for spec in specs:
        label = (
            f"column {spec['name']!r}"
            if spec in manifest["columns"]
            else f"index level {spec['name']!r}"
        )
        for digest, (a, b) in zip(spec["chunks"], ranges, strict=True):
            yield digest, f"{label} rows {a}-{b}"
