"""Turn what a user logs (a figure, a DataFrame, a file, bytes) into stored bytes, and back.

Every artifact is one object in the store plus a row naming it inside its run.
Names are relative paths that can never leave the store: no ``..``, no
absolute paths, no NUL bytes, at most 512 characters.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import mimetypes
import os
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound

MAX_NAME = 512
PLOTLY = "application/vnd.plotly.v1+json"
PARQUET = "application/vnd.apache.parquet"


def check_artifact_name(name: Any, what: str = "Artifact") -> str:
    """Validate an artifact name (a relative path inside the run).

    Example:
        >>> check_artifact_name("plots/loss.png")
        'plots/loss.png'
    """
    if not isinstance(name, str):
        raise InvalidInput(f"{what} names must be text, not {type(name).__name__}.")
    if not name or name.strip() != name:
        raise InvalidInput(f"{what} name {name!r} is empty or has surrounding spaces.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"{what} name is {len(name)} characters long; the limit is {MAX_NAME}.")
    if "\x00" in name or "\\" in name:
        raise InvalidInput(f"{what} name {name!r} contains a NUL byte or a backslash.")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{what} name {name!r} is not valid UTF-8 (a file name in another encoding?); rename "
            "it."
        ) from None
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise InvalidInput(
            f"{what} name {name!r} is an absolute path; use a relative name such as "
            "'plots/loss.png'."
        )
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise InvalidInput(
            f"{what} name {name!r} has an empty, '.' or '..' part; names cannot leave the run."
        )
    return name


@dataclasses.dataclass
class Encoded:
    """One artifact ready to store: bytes in memory, or a file to stream."""

    name: str
    media_type: str
    data: bytes | None = None
    path: Path | None = None
    default_name: bool = False


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def encode(obj: Any, name: str | None = None) -> list[Encoded]:
    """Encode ``obj`` for storage; a folder becomes one artifact per file.

    Example:
        >>> encode(b"abc", "raw.bin")[0].media_type
        'application/octet-stream'
    """
    if name is not None:
        check_artifact_name(name)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return [
            Encoded(
                name or "artifact.bin",
                "application/octet-stream",
                bytes(obj),
                default_name=name is None,
            )
        ]
    if isinstance(obj, os.PathLike) or (isinstance(obj, str) and name is None):
        return _encode_path(Path(obj), name)
    if isinstance(obj, str):
        media = mimetypes.guess_type(name or "")[0] or "text/plain"
        return [Encoded(name or "text.txt", media, obj.encode("utf-8"))]
    module = _module(obj)
    if module == "pandas" and (hasattr(obj, "columns") or hasattr(obj, "to_frame")):
        frame = obj if hasattr(obj, "columns") else obj.to_frame()
        buf = io.BytesIO()
        try:
            frame.to_parquet(buf)
        except Exception as e:  # noqa: BLE001 - Arrow names the column it cannot store
            raise InvalidInput(
                f"This DataFrame cannot be stored as Parquet: {str(e).splitlines()[0]}."
            ) from None
        return [
            Encoded(name or "frame.parquet", PARQUET, buf.getvalue(), default_name=name is None)
        ]
    if module == "plotly" and hasattr(obj, "to_json"):
        return [
            Encoded(
                name or "figure.plotly.json",
                PLOTLY,
                obj.to_json().encode(),
                default_name=name is None,
            )
        ]
    if module == "matplotlib" and hasattr(obj, "savefig"):
        buf = io.BytesIO()
        obj.savefig(buf, format="png", bbox_inches="tight")
        return [
            Encoded(name or "figure.png", "image/png", buf.getvalue(), default_name=name is None)
        ]
    if module == "PIL" and hasattr(obj, "save"):
        buf = io.BytesIO()
        obj.save(buf, format="PNG")
        return [
            Encoded(name or "image.png", "image/png", buf.getvalue(), default_name=name is None)
        ]
    if isinstance(obj, (dict, list, tuple)):
        try:
            body = json.dumps(obj, indent=2, default=_json_default, allow_nan=True).encode()
        except (TypeError, ValueError) as e:
            raise InvalidInput(
                f"This {type(obj).__name__} cannot be stored as JSON: {e}."
            ) from None
        return [Encoded(name or "data.json", "application/json", body, default_name=name is None)]
    raise InvalidInput(
        f"Cannot store a {type(obj).__name__} as an artifact; log a plotly or matplotlib figure, "
        "a DataFrame, a file path, a dict, text with a name, or bytes."
    )


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _encode_path(path: Path, name: str | None) -> list[Encoded]:
    if path.is_file():
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return [Encoded(name or check_artifact_name(path.name), media, path=path)]
    if path.is_dir():
        base = name or path.resolve().name
        files = sorted(p for p in path.rglob("*") if p.is_file())
        if not files:
            raise InvalidInput(f"The folder {path} has no files to store.")
        return [
            Encoded(
                check_artifact_name(f"{base}/{p.relative_to(path).as_posix()}"),
                mimetypes.guess_type(p.name)[0] or "application/octet-stream",
                path=p,
            )
            for p in files
        ]
    raise NotFound(f"No file or folder named {str(path)!r}; to store text, pass name='notes.txt'.")


def media_type_of(name: str) -> str:
    """The media type of a stored file by its name, knowing the names :func:`encode` gives.

    Example:
        >>> media_type_of("plots/figure.plotly.json")
        'application/vnd.plotly.v1+json'
    """
    lowered = name.lower()
    if lowered.endswith(".plotly.json"):
        return PLOTLY
    if lowered.endswith(".parquet"):
        return PARQUET
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def decode(data: bytes, media_type: str) -> Any:
    """Rebuild the logged object: a DataFrame, a plotly figure, JSON data, text, or bytes."""
    if media_type == PARQUET:
        import pandas as pd  # lazy: start-up time

        return pd.read_parquet(io.BytesIO(data))
    if media_type == PLOTLY:
        import plotly.graph_objects as go  # lazy: start-up time

        return go.Figure(_typed_arrays(json.loads(data)))
    if media_type == "application/json":
        return json.loads(data)
    if media_type.startswith("text/"):
        return data.decode("utf-8", errors="replace")
    return data


def _typed_arrays(value: Any) -> Any:
    """Turn plotly's base64 typed arrays (``{"dtype", "bdata", "shape"}``) back into numpy arrays,
    which ``plotly.io.from_json`` leaves as dicts."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value and set(value) <= {"bdata", "dtype", "shape"}:
            import numpy as np  # lazy: start-up time

            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            shape = value.get("shape")
            if shape:
                dims = (
                    [int(d) for d in str(shape).split(",")]
                    if isinstance(shape, str)
                    else list(shape)
                )
                array = array.reshape(dims)
            return array
        return {k: _typed_arrays(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed_arrays(v) for v in value]
    return value


def write_file(path: str, data: bytes) -> None:
    """Write bytes a user asked for to ``path``; a path that cannot be written is one sentence.

    Example:
        >>> write_file("loss.png", png_bytes)  # doctest: +SKIP
    """
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        raise InvalidInput(f"Cannot write {path}: {e.strerror or e}.") from None


def unique_name(name: str, taken: set[str]) -> str:
    """``figure.png`` -> ``figure-2.png`` when the first is taken."""
    if name not in taken:
        return name
    stem, dot, suffix = name.partition(".")
    n = 2
    while f"{stem}-{n}{dot}{suffix}" in taken:
        n += 1
    return f"{stem}-{n}{dot}{suffix}"
