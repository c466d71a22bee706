"""How a model becomes bytes, and bytes a model again, without running code nobody vetted.

scikit-learn models are stored with skops when it can represent them: loading
a skops file builds only the types it lists, and nbmlops builds only types from
scikit-learn, NumPy and SciPy unless the caller trusts more by name. Anything
else (a custom class, a model from another library) is stored with joblib
(pickle); loading a pickle runs code, so it is loaded only from the object
store after its digest has been checked, and only when the user asks for it.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidInput, PermissionDenied, require

SKOPS, JOBLIB = "skops", "joblib"
TRUSTED_ROOTS = ("sklearn", "numpy", "scipy")
DESCRIPTIONS = {
    SKOPS: "skops: only scikit-learn, NumPy and SciPy types are built at load; no code runs",
    JOBLIB: "joblib (pickle): loading runs code, so the artifact's digest is checked first",
}


@dataclasses.dataclass
class Serialized:
    """A model as bytes, with how to read it back."""

    data: bytes
    format: str
    flavor: str
    class_name: str
    trusted_types: list[str]


def class_name(model: Any) -> str:
    """``sklearn.linear_model._logistic.LogisticRegression`` for a LogisticRegression."""
    kind = type(model)
    return f"{kind.__module__}.{kind.__qualname__}"


def flavor_of(model: Any) -> str:
    """The library a model comes from (``sklearn``, ``xgboost``, ...) or ``python`` for notebook
    classes."""
    root = type(model).__module__.split(".")[0]
    return "python" if root in ("__main__", "builtins") else root


def trusted_by_default(type_name: str) -> bool:
    """Types from scikit-learn, NumPy and SciPy are safe to build; nothing else is without the
    user's word."""
    return type_name.split(".")[0] in TRUSTED_ROOTS


def _skops(model: Any) -> Serialized | None:
    """The skops bytes when skops can store the model with trusted types only, else ``None``."""
    try:
        sio = __import__("skops.io", fromlist=["dumps"])
    except ImportError:
        return None
    try:
        data = sio.dumps(model)
        needed = sio.get_untrusted_types(data=data)
        if not all(trusted_by_default(t) for t in needed):
            return None
        sio.loads(data, trusted=needed)  # a model that stores but cannot load falls back to joblib
    except Exception:  # noqa: BLE001 - skops cannot represent everything; joblib is the fallback
        return None
    return Serialized(data, SKOPS, flavor_of(model), class_name(model), list(needed))


def serialize(model: Any) -> Serialized:
    """Model bytes: skops for scikit-learn models it can represent, joblib otherwise.

    Example:
        >>> serialize(LogisticRegression().fit(X, y)).format  # doctest: +SKIP
        'skops'
    """
    if not callable(getattr(model, "predict", None)):
        raise InvalidInput(f"A {type(model).__name__} is not a model: it has no predict() method.")
    if flavor_of(model) == "sklearn":
        stored = _skops(model)
        if stored is not None:
            return stored
    joblib = require("joblib", package="joblib", extra="sklearn", feature="Storing models")
    buffer = io.BytesIO()
    try:
        joblib.dump(model, buffer)
    except Exception as e:  # noqa: BLE001 - pickling failures come in many types
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidInput(
            f"This {type(model).__name__} cannot be stored ({reason}); a model must be "
            "picklable, so replace "
            "lambdas, open files and classes defined inside functions."
        ) from None
    return Serialized(buffer.getvalue(), JOBLIB, flavor_of(model), class_name(model), [])


def deserialize(
    data: bytes, fmt: str, *, trusted: Sequence[str] = (), what: str = "This model"
) -> Any:
    """The model from its bytes; skops files that need types outside the trusted ones are refused.

    Only call this on bytes whose digest was checked (the registry does) or on a
    file the user chose to open.
    """
    if fmt == SKOPS:
        sio = require("skops.io", package="skops", extra="sklearn", feature="Loading skops models")
        needed = sio.get_untrusted_types(data=data)
        refused = [t for t in needed if not trusted_by_default(t) and t not in trusted]
        if refused:
            shown = ", ".join(refused[:5]) + (" ..." if len(refused) > 5 else "")
            raise PermissionDenied(
                f"{what} needs types that are not trusted by default ({shown}); pass "
                "trusted=[...] naming them "
                "only if you trust whoever stored it."
            )
        return sio.loads(data, trusted=needed)
    if fmt == JOBLIB:
        joblib = require("joblib", package="joblib", extra="sklearn", feature="Loading models")
        return joblib.load(io.BytesIO(data))
    raise InvalidInput(
        f"{what} is stored as {fmt!r}, a format this version of nbmlops cannot read."
    )


def read_model_file(path: str, *, trusted: Sequence[str] = ()) -> Any:
    """A model saved by the user: ``.skops`` (type-checked) or ``.joblib``/``.pkl`` (pickle, the
    user's own file).

    Example:
        >>> read_model_file("model.skops")  # doctest: +SKIP
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InvalidInput(f"Cannot read {path}: {e.strerror or e}.") from None
    return model_from_bytes(data, path, trusted=trusted)


def model_from_bytes(data: bytes, name: str, *, trusted: Sequence[str] = ()) -> Any:
    """A saved model given as the bytes of a file called ``name`` (its suffix says the format).

    Example:
        >>> model_from_bytes(open("model.joblib", "rb").read(), "model.joblib")  # doctest: +SKIP
    """
    suffix = os.path.splitext(name)[1].lower()
    if suffix == ".skops":
        fmt = SKOPS
    elif suffix in (".joblib", ".pkl", ".pickle"):
        fmt = JOBLIB
    else:
        raise InvalidInput(f"Cannot tell how {name} was saved; use a .skops, .joblib or .pkl file.")
    try:
        model = deserialize(data, fmt, trusted=trusted, what=os.path.basename(name))
    except (InvalidInput, PermissionDenied):
        raise
    except Exception as e:  # noqa: BLE001 - a corrupt or foreign file
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidInput(f"Cannot load a model from {name}: {reason}.") from None
    if not callable(getattr(model, "predict", None)):
        raise InvalidInput(f"{name} holds a {type(model).__name__}, which has no predict() method.")
    return model
