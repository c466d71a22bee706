"""What an evaluation is about: the model, the rows, the labels, and checks on each.

Commands hand over whatever the user named: in a notebook a variable (an
estimator, a DataFrame, a Series), on the command line a file (a saved model,
CSV or Parquet) or a reference (``churn@3`` for a registered model, ``loans@2``
for a dataset version). Everything here turns those into arrays, or refuses with
one sentence that says what to fix.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import data
from ..data.committing import TABLE_SUFFIXES
from ..errors import InvalidInput, NotFound
from ..modelstore import formats, versions
from ..refs import parse_ref

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store

MODEL_SUFFIXES = (".skops", ".joblib", ".pkl", ".pickle")


@dataclasses.dataclass
class ModelInput:
    """A model ready to predict, with where it came from."""

    model: Any
    label: str
    version_id: int | None = None
    ref: str | None = None
    signature: dict[str, Any] | None = None


@dataclasses.dataclass
class TableInput:
    """Rows to evaluate on, and a description to store with the evaluation."""

    frame: Any
    label: str
    description: dict[str, Any]


# ---------------------------------------------------------------- tables


def _read_file(path: str) -> pd.DataFrame:
    import pandas as pd  # lazy: start-up time

    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".tsv"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except (OSError, ValueError) as e:
        raise InvalidInput(f"Cannot read {path}: {str(e).splitlines()[0]}.") from None
    raise InvalidInput(f"Cannot read {path}: give a CSV, TSV or Parquet file.")


def load_dataset(ref: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A dataset version's rows and identity, through the data module (``loans@2``)."""

    parse_ref(ref, "dataset")
    # contract: VersionInfo(id, name, version, digest, rows, columns, ref, created_at)
    info = data.resolve(ref)
    frame = data.load(info.ref)  # the exact version resolved, even if @latest moves meanwhile
    return frame, {"ref": info.ref, "dataset_version_id": info.id, "digest": info.digest}


def fingerprint(frame: Any) -> str:
    """A content digest of a table or array, so two evaluations can tell whether they saw the
    same rows."""
    import blake3  # lazy: start-up time
    import pandas as pd  # lazy: start-up time

    if isinstance(frame, (pd.DataFrame, pd.Series)):
        values = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        header = repr(
            list(frame.columns) if isinstance(frame, pd.DataFrame) else [frame.name]
        ).encode()
        return blake3.blake3(header + values.tobytes()).hexdigest()
    array = np.ascontiguousarray(np.asarray(frame))
    if array.dtype.kind == "O":
        return fingerprint(pd.DataFrame(array))
    return blake3.blake3(
        repr((array.shape, str(array.dtype))).encode() + array.tobytes()
    ).hexdigest()


def load_table(value: Any, label: str) -> TableInput:
    """A table given as an object, a CSV/Parquet path or a dataset reference.

    Example:
        >>> load_table("test.csv", "test.csv").frame.shape  # doctest: +SKIP
        (500, 8)
    """
    import pandas as pd  # lazy: start-up time

    if isinstance(value, str):
        if os.path.isfile(value):
            frame = _read_file(value)
            desc: dict[str, Any] = {"path": os.path.abspath(value)}
        elif value.lower().endswith(TABLE_SUFFIXES):
            raise NotFound(f"No file named {value!r}.")
        else:
            frame, desc = load_dataset(value)
    elif isinstance(value, (pd.DataFrame, np.ndarray)):
        frame, desc = value, {"name": label}
    elif isinstance(value, pd.Series):
        frame, desc = value.to_frame(), {"name": label}
    elif isinstance(value, (list, tuple)):
        frame, desc = np.asarray(value), {"name": label}
    else:
        raise InvalidInput(
            f"{label} is a {type(value).__name__}; give a DataFrame, an array, a CSV/Parquet "
            "file or a dataset reference."
        )
    if len(frame) == 0:
        raise InvalidInput(f"{label} has no rows to evaluate.")
    shape = np.shape(frame)
    desc.update(
        rows=int(shape[0]),
        columns=int(shape[1]) if len(shape) > 1 else 1,
        fingerprint=fingerprint(frame),
    )
    return TableInput(frame, label, desc)


def split_target(table: TableInput, y: Any, y_label: str | None) -> tuple[Any, np.ndarray, str]:
    """Separate the labels from the rows: ``y`` is a column of the table, an array, or a file of one
    column.

    Returns the rows without the label column, the labels, and what to call them.
    """
    import pandas as pd  # lazy: start-up time

    frame = table.frame
    if y is None:
        raise InvalidInput(
            f"Give the true labels: a column of {table.label} (e.g. --target churned) or an array."
        )
    if isinstance(y, str) and isinstance(frame, pd.DataFrame) and y in frame.columns:
        return frame.drop(columns=[y]), as_vector(frame[y], y), y
    if isinstance(y, str):
        if not os.path.isfile(y) and not isinstance(frame, pd.DataFrame):
            raise NotFound(f"No file or variable named {y!r} holds the labels.")
        if not os.path.isfile(y):
            shown = ", ".join(map(str, list(frame.columns)[:12]))
            raise NotFound(
                f"{y!r} is neither a column of {table.label} (columns: {shown}) nor a file of "
                "labels."
            )
        y = _read_file(y)
    labels = as_vector(y, y_label or "y")
    if len(labels) != len(frame):
        raise InvalidInput(
            f"{y_label or 'y'} has {len(labels)} labels but {table.label} has {len(frame)} rows."
        )
    return frame, labels, y_label or "y"


def as_vector(values: Any, label: str) -> np.ndarray:
    """One column of values as a 1-D array (a Series, list, array or one-column table)."""
    import pandas as pd  # lazy: start-up time

    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise InvalidInput(f"{label} has {values.shape[1]} columns; give one column of labels.")
        values = values.iloc[:, 0]
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise InvalidInput(
            f"{label} must be one column of values, not an array of shape {array.shape}."
        )
    return array


# ---------------------------------------------------------------- models


def load_model(value: Any, label: str, *, store: Store | None = None) -> ModelInput:
    """A model given as an object, a saved model file or a registry reference (``churn@3``).

    An object registered or loaded in this session is linked to its model version,
    so evaluations of it are attached to that version.
    """

    if not isinstance(value, str):
        if not callable(getattr(value, "predict", None)):
            raise InvalidInput(
                f"{label} is a {type(value).__name__}, which has no predict(); give a fitted model."
            )
        found = versions.version_of(value)
        if found is None:
            return ModelInput(value, label)
        version_id, ref = found
        shown = ref if label == "model" else f"{label} ({ref})"
        return ModelInput(
            value, shown, version_id, ref, versions.signature_of(version_id, store=store)
        )
    if os.path.isfile(value):
        return ModelInput(formats.read_model_file(value), os.path.basename(value))
    if value.lower().endswith(MODEL_SUFFIXES):
        raise NotFound(f"No file named {value!r}.")
    loaded = versions.load_version(value, store=store)
    label = loaded.ref if value == loaded.ref else f"{value} ({loaded.ref})"
    return ModelInput(loaded.model, label, loaded.version_id, loaded.ref, loaded.signature)


def feature_frame(model: ModelInput, frame: Any, drop: list[str] | tuple[str, ...] = ()) -> Any:
    """The columns the model was trained on, taken from the evaluation table.

    Sensitive columns are often kept out of training; they stay in the table for
    grouping and are left out here when the model does not know them.
    """
    import pandas as pd  # lazy: start-up time

    if not isinstance(frame, pd.DataFrame):
        return frame
    names = getattr(model.model, "feature_names_in_", None)
    if (
        names is None
        and model.signature
        and model.signature.get("inputs")
        and model.signature.get("named")
    ):
        names = [c["name"] for c in model.signature["inputs"]]
    if names is not None:
        names = [str(n) for n in names]
        missing = [n for n in names if n not in frame.columns]
        if missing:
            shown = ", ".join(repr(n) for n in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise InvalidInput(
                f"The table lacks column(s) {shown} that {model.label} was trained with."
            )
        return frame[names]
    expected = getattr(model.model, "n_features_in_", None)
    if expected is None:
        return frame
    kept = frame.drop(columns=[c for c in drop if c in frame.columns])
    chosen = kept if frame.shape[1] != expected and kept.shape[1] == expected else frame
    # fitted on an array: column names would only draw scikit-learn's warning
    return chosen.to_numpy()


def predict(model: ModelInput, features: Any) -> np.ndarray:
    """The model's predictions, refused when the model fails or predicts NaN."""
    try:
        raw = model.model.predict(features)
    except Exception as e:  # noqa: BLE001 - the model's own error, shown as one line
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidInput(
            f"{model.label} could not predict on these rows: {message.rstrip('.')}."
        ) from None
    y_pred = as_vector(raw, f"the predictions of {model.label}")
    if len(y_pred) != len(features):
        raise InvalidInput(
            f"{model.label} returned {len(y_pred)} predictions for {len(features)} rows."
        )
    check_finite(y_pred, f"{model.label} predicted", "check the model or drop those rows")
    return y_pred


def check_finite(values: np.ndarray, subject: str, fix: str = "drop those rows first") -> None:
    """Refuse NaN, infinite and missing values, saying how many and where the first one is."""
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values)
    elif values.dtype.kind == "O":
        import pandas as pd  # lazy: start-up time

        bad = np.asarray(pd.isna(values), dtype=bool)
    else:
        return
    if bad.any():
        first = int(np.argmax(bad))
        raise InvalidInput(
            f"{subject} {int(bad.sum())} NaN or missing values out of {len(values)} (first at "
            f"row {first}); {fix}."
        )
