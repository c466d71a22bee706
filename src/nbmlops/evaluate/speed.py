"""Meta-performance: how fast, how big and how hungry a model is.

Latency is measured two ways, because services see both: one row per call
(online scoring) and one batch per call (batch scoring). Each is repeated until
enough samples are collected or the time budget is spent, after a warm-up.
Peak memory is what ``tracemalloc`` sees allocated during one batch prediction
(Python and NumPy allocations). Load time is deserialising the stored bytes;
import time is importing the model's module in a fresh Python process (a cold
start), which is what a new serving container pays.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..data.versions import reads_recorded_on_success
from ..errors import InvalidInput, MlopsError
from ..modelstore import formats
from ..modelstore.versions import artifact_bytes
from .inputs import feature_frame, load_model, load_table, predict
from .perf_report import PerfReport
from .reports import record_report

if TYPE_CHECKING:
    from ..store import Store
    from .inputs import ModelInput

SINGLE_CALLS = 300
BATCH_CALLS = 30
DISTINCT_ROWS = 64


def _rows(features: Any, start: int, stop: int) -> Any:
    return features.iloc[start:stop] if hasattr(features, "iloc") else features[start:stop]


def _time_calls(
    predict: Any, inputs: list[Any], calls: int, budget_s: float, label: str
) -> list[float]:
    """Milliseconds per call, cycling through ``inputs``; stops early when the budget is spent
    (at least 5 calls)."""
    from tqdm.auto import tqdm  # lazy: start-up time

    for item in inputs[:3]:  # warm-up: caches, lazy imports, thread pools
        predict(item)
    out: list[float] = []
    deadline = time.perf_counter() + budget_s
    clock = time.perf_counter_ns
    with tqdm(total=calls, desc=label, unit="call", leave=False, disable=calls < 50) as bar:
        for i in range(calls):
            item = inputs[i % len(inputs)]
            t0 = clock()
            predict(item)
            out.append((clock() - t0) / 1e6)
            bar.update()
            if len(out) >= 5 and time.perf_counter() > deadline:
                break
    return out


def _peak_memory(predict: Any, batch: Any) -> int:
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        predict(batch)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not tracing:
            tracemalloc.stop()
    return max(int(peak - before), 0)


def _import_time(module: str) -> float | None:
    """Seconds to import ``module`` in a fresh interpreter, or ``None`` when it lives in a
    notebook."""
    if module.split(".")[0] in ("__main__", "builtins"):
        return None
    code = (
        f"import time, importlib; t = time.perf_counter(); importlib.import_module({module!r}); "
        "print(time.perf_counter() - t)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        return float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return None


def _artifact(
    model: ModelInput, store: Store | None
) -> tuple[bytes | None, str | None, str | None]:
    """The model's stored bytes (registered) or freshly serialised ones, for size and load time."""

    if model.version_id is not None:
        data, fmt = artifact_bytes(model.version_id, store=store)
        return data, fmt, None
    try:
        stored = formats.serialize(model.model)
    except MlopsError as e:
        return None, None, f"Size and load time are unknown: {e}"
    return stored.data, stored.format, None


@reads_recorded_on_success()
def perf(
    model: Any,
    X: Any,
    *,
    batch_size: int = 1000,
    budget_s: float = 10.0,
    cold_start: bool = True,
    labels: Sequence[str] = ("model", "X"),
    record: bool = True,
    store: Store | None = None,
) -> PerfReport:
    """Measure latency (per row and per batch), throughput, size, peak memory, load and import time;
    stored.

    Example:
        >>> mo.evaluate.perf(clf, X_test).summary["p95_latency_ms"]  # doctest: +SKIP
        0.41
    """

    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(
            f"The batch size must be a whole number of at least 1, not {batch_size!r}."
        )
    if not budget_s > 0:
        raise InvalidInput(f"The time budget must be above 0 seconds, not {budget_s}.")
    model_input = load_model(model, labels[0], store=store)
    table = load_table(X, labels[1])
    features = feature_frame(model_input, table.frame)
    # refuses failures and NaN once
    predict(model_input, _rows(features, 0, min(len(features), batch_size)))
    call = model_input.model.predict
    singles = [_rows(features, i, i + 1) for i in range(min(len(features), DISTINCT_ROWS))]
    batch_rows = min(batch_size, len(features))
    batch = _rows(features, 0, batch_rows)
    single_ms = _time_calls(call, singles, SINGLE_CALLS, budget_s / 2, "one row per call")
    batch_ms = _time_calls(call, [batch], BATCH_CALLS, budget_s / 2, f"{batch_rows} rows per call")
    notes: list[str] = []
    peak = _peak_memory(call, batch)
    data, fmt, problem = _artifact(model_input, store)
    load_ms = None
    if problem:
        notes.append(problem)
    elif data is not None and fmt is not None:
        t0 = time.perf_counter()
        formats.deserialize(data, fmt, what=model_input.label)
        load_ms = (time.perf_counter() - t0) * 1000
    module = type(model_input.model).__module__
    import_s = _import_time(module) if cold_start else None
    if cold_start and import_s is None:
        notes.append(
            f"Import time was not measured: {module} cannot be imported in a fresh Python process."
        )
    report = PerfReport(
        rows=len(features),
        batch_size=batch_rows,
        single_ms=[round(v, 6) for v in single_ms],
        batch_ms=[round(v, 6) for v in batch_ms],
        size_bytes=len(data) if data is not None else None,
        format=fmt,
        load_time_ms=load_ms,
        import_module=module,
        import_time_ms=import_s * 1000 if import_s is not None else None,
        peak_memory_bytes=peak,
        cpus=os.cpu_count() or 1,
        notes=notes,
        subject={
            "model": model_input.label,
            "model_ref": model_input.ref,
            "data": table.description,
        },
    )
    if record:
        report.evaluation_id = record_report("perf", report, model_input, store=store)
    return report
