"""Job parameters: parsed like papermill's command line, checked, and pinned to data versions.

``-p C 0.5`` parses the value as YAML (``0.5`` is a number, ``l2`` text,
``[1, 2]`` a list), as papermill's ``-y`` does; ``-r`` keeps it raw text;
``-f params.yaml`` reads a file. A value such as ``loans@3`` or
``loans@latest`` that names a stored data version is recorded with the exact
version it resolved to, so a reproduction loads the same data.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import data
from ..errors import InvalidInput, NotFound
from ..refs import parse_ref

if TYPE_CHECKING:
    from .notebook import Declared

RESERVED = {"pm"}  # papermill's built-in parameter namespace


def parse_value(name: str, text: str) -> Any:
    """One ``-p NAME VALUE`` value, read as YAML.

    Example:
        >>> parse_value("C", "0.5"), parse_value("penalty", "l2"), parse_value("data", "loans@3")
        (0.5, 'l2', 'loans@3')
    """
    import yaml  # lazy: start-up time

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InvalidInput(
            f"The value of parameter {name!r} is not valid YAML ({problem}): {text!r}; "
            f"quote it, or pass it as raw text with -r {name} VALUE."
        ) from None


def read_parameter_file(path: str) -> dict[str, Any]:
    """A YAML file of ``name: value`` lines (papermill's ``-f``).

    Example:
        >>> read_parameter_file("params.yaml")  # doctest: +SKIP
        {'C': 0.5, 'penalty': 'l2'}
    """
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"No parameter file at {path!r}.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(
            f"Cannot read the parameter file {path}: {getattr(e, 'strerror', None) or e}."
        ) from None
    return _mapping(
        parse_value(f"file {path}", text) if text.strip() else {}, f"The parameter file {path}"
    )


def parse_yaml_mapping(text: str) -> dict[str, Any]:
    """Parameters given as one YAML document (papermill's ``-y``)."""
    return _mapping(parse_value("-y", text), "The -y parameters")


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(
            f"{what} must be a YAML mapping of name: value lines, not a {type(value).__name__}."
        )
    return {str(k): v for k, v in value.items()}


def collect(
    *,
    files: Iterable[str] = (),
    yaml_text: str | None = None,
    values: Iterable[tuple[str, str]] = (),
    raw: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Merge parameters the way papermill does: files, then ``-y``, then ``-p`` / ``-r`` in order.

    Example:
        >>> collect(values=[("C", "0.5")], raw=[("tag", "007")])
        {'C': 0.5, 'tag': '007'}
    """
    merged: dict[str, Any] = {}
    for path in files:
        merged.update(read_parameter_file(path))
    if yaml_text:
        merged.update(parse_yaml_mapping(yaml_text))
    for name, text in values:
        merged[name] = parse_value(name, text)
    for name, text in raw:
        merged[name] = text
    return merged


def _plain(name: str, value: Any) -> Any:
    """A value papermill can inject and JSON can store, the same on both sides."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return _plain(name, value.item())
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return str(value)  # papermill injects str(value) for these; store what the notebook sees
    if isinstance(value, (list, tuple)):
        return [_plain(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(name, v) for k, v in value.items()}
    raise InvalidInput(
        f"Parameter {name!r} is a {type(value).__name__}; parameters must be numbers, text, "
        "booleans, "
        "None, lists or mappings of those."
    )


def check(parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate names (Python identifiers) and values (what papermill can inject).

    Example:
        >>> check({"C": 0.5})
        {'C': 0.5}
    """
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise InvalidInput(
            f"Parameters must be a mapping of name to value, not a {type(parameters).__name__}."
        )
    out = {}
    for name, value in parameters.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidInput(
                f"Parameter name {name!r} is not a valid Python name (letters, digits, _)."
            )
        if name in RESERVED:
            raise InvalidInput(
                f"Parameter name {name!r} is reserved by papermill; choose another name."
            )
        out[name] = _plain(name, value)
    return out


def unknown(
    parameters: Mapping[str, Any], declared: Mapping[str, Declared] | None, notebook: str
) -> list[str]:
    """One warning per parameter the parameters cell does not declare (papermill warns and goes
    on)."""
    if declared is None:
        return []
    if not declared:
        return (
            [
                f"{Path(notebook).name} has no cell tagged 'parameters', so the parameters were "
                "injected "
                "at the top of the notebook."
            ]
            if parameters
            else []
        )
    known = ", ".join(declared) or "none"
    return [
        f"Parameter {name!r} is not declared in the parameters cell of {Path(notebook).name} "
        f"(declared: {known}); it was passed anyway."
        for name in parameters
        if name not in declared
    ]


def effective(
    parameters: Mapping[str, Any], declared: Mapping[str, Declared] | None
) -> dict[str, Any]:
    """Defaults that are plain literals, overridden by what was passed: the run's params."""
    out = {
        name: d.value for name, d in (declared or {}).items() if d.literal and _storable(d.value)
    }
    out.update(parameters)
    return out


def _storable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return False
    return not (isinstance(value, float) and math.isnan(value))


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=True)


# ---------------------------------------------------------------- data versions


def pin_data_refs(parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """For each text parameter naming a stored data version (``loans@3``, ``loans@latest``), what it
    is now.

    Text that does not parse as a reference, or names no stored dataset, is an
    ordinary parameter. Returns ``{param: {"ref", "pinned", "digest", "version_id"}}``.

    Example:
        >>> pin_data_refs({"data": "loans@latest", "C": 0.5})  # doctest: +SKIP
        {'data': {'ref': 'loans@latest', 'pinned': 'loans@3', 'digest': '9f1c...', 'version_id': 7}}
    """
    candidates = {k: v for k, v in parameters.items() if isinstance(v, str) and "@" in v}
    if not candidates:
        return {}
    pinned = {}
    for name, text in candidates.items():
        try:
            parse_ref(text)
            info = data.resolve(text)
        except (InvalidInput, NotFound):
            continue
        pinned[name] = {
            "ref": text,
            "pinned": f"{info.name}@{info.version}",
            "digest": info.digest,
            "version_id": info.id,
        }
    return pinned


def with_pinned(
    parameters: Mapping[str, Any], data_refs: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The parameters with every data reference replaced by the exact version it resolved to."""
    out = dict(parameters)
    for name, ref in data_refs.items():
        if name in out:
            out[name] = ref["pinned"]
    return out
