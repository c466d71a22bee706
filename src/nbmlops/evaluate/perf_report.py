"""The meta-performance report: latency percentiles, throughput, size, memory, load and import
time."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..result import Block, Chart, Fields, Heading, Note, Table, fmt_bytes
from . import charts
from .reports import Report


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else None


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 1:
        return f"{value * 1000:.0f} µs"
    if value < 1000:
        return f"{value:.3g} ms"
    return f"{value / 1000:.3g} s"


@dataclasses.dataclass(repr=False)
class PerfReport(Report):
    """Latency samples and the size and memory figures of one model."""

    rows: int
    batch_size: int
    single_ms: list[float]
    batch_ms: list[float]
    size_bytes: int | None
    format: str | None
    load_time_ms: float | None
    import_module: str
    import_time_ms: float | None
    peak_memory_bytes: int
    cpus: int
    notes: list[str] = dataclasses.field(default_factory=list)
    subject: dict[str, Any] | None = None
    evaluation_id: int | None = None

    @property
    def summary(self) -> dict[str, Any]:
        batch_p50 = _pct(self.batch_ms, 50)
        return {
            "p50_latency_ms": _pct(self.single_ms, 50),
            "p95_latency_ms": _pct(self.single_ms, 95),
            "p99_latency_ms": _pct(self.single_ms, 99),
            "batch_size": self.batch_size,
            "batch_p50_latency_ms": batch_p50,
            "batch_p95_latency_ms": _pct(self.batch_ms, 95),
            "batch_p99_latency_ms": _pct(self.batch_ms, 99),
            "per_row_in_batch_us": batch_p50 * 1000 / self.batch_size if batch_p50 else None,
            "throughput_rows_per_s": self.batch_size / (batch_p50 / 1000) if batch_p50 else None,
            "size_bytes": self.size_bytes,
            "size_mb": self.size_bytes / 1e6 if self.size_bytes is not None else None,
            "peak_memory_mb": self.peak_memory_bytes / 1e6,
            "load_time_ms": self.load_time_ms,
            "import_time_ms": self.import_time_ms,
        }

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame([{"measure": k, "value": v} for k, v in self.summary.items()])

    def explain(self) -> list[Note]:
        s = self.summary
        notes = [
            Note(
                f"One prediction takes {_ms(s['p50_latency_ms'])} typically and "
                f"{_ms(s['p95_latency_ms'])} for the "
                f"slowest 5% of calls; a batch of {self.batch_size:,} rows takes "
                f"{_ms(s['batch_p50_latency_ms'])} "
                f"(about {round(s['throughput_rows_per_s'] or 0):,} rows per second)."
            )
        ]
        stored = []
        if self.size_bytes is not None:
            stored.append(
                f"The model is {fmt_bytes(self.size_bytes)} stored ({self.format})"
                + (
                    f" and loads in {_ms(self.load_time_ms)}"
                    if self.load_time_ms is not None
                    else ""
                )
            )
        if self.import_time_ms is not None:
            stored.append(
                f"importing {self.import_module.split('.')[0]} in a fresh Python takes "
                f"{_ms(self.import_time_ms)}"
            )
        if stored:
            notes.append(Note("; ".join(stored) + "."))
        notes.append(
            Note(
                f"Predicting one batch allocated at most {fmt_bytes(self.peak_memory_bytes)} "
                "(Python and NumPy allocations)."
            )
        )
        notes.extend(Note(n, "warn") for n in self.notes)
        return notes

    def blocks(self) -> list[Block]:
        subject = self.subject or {}
        s = self.summary
        out: list[Block] = [
            Heading("Performance" + (f": {subject['model']}" if subject.get("model") else ""))
        ]
        out.extend(self.explain())
        rows = [
            [
                "one row per call",
                len(self.single_ms),
                _ms(s["p50_latency_ms"]),
                _ms(s["p95_latency_ms"]),
                _ms(s["p99_latency_ms"]),
            ],
            [
                f"{self.batch_size} rows per call",
                len(self.batch_ms),
                _ms(s["batch_p50_latency_ms"]),
                _ms(s["batch_p95_latency_ms"]),
                _ms(s["batch_p99_latency_ms"]),
            ],
        ]
        out.append(Table(["latency", "calls", "p50", "p95", "p99"], rows, title="Latency"))
        fields: list[tuple[str, Any]] = [
            ("throughput", f"{round(s['throughput_rows_per_s'] or 0):,} rows/s"),
            ("per row inside a batch", _ms((s["per_row_in_batch_us"] or 0) / 1000)),
            (
                "serialized size",
                fmt_bytes(self.size_bytes) if self.size_bytes is not None else "n/a",
            ),
            ("format", self.format or "n/a"),
            ("load time", _ms(self.load_time_ms)),
            ("import time (cold start)", _ms(self.import_time_ms)),
            ("peak memory during predict", fmt_bytes(self.peak_memory_bytes)),
            ("measured on", f"{self.rows} rows, {self.cpus} CPU(s)"),
        ]
        if self.evaluation_id is not None:
            fields.append(("evaluation", f"#{self.evaluation_id}"))
        out.append(Fields(fields))
        figure = charts.latency_boxes(
            {"one row per call": self.single_ms, f"{self.batch_size} rows per call": self.batch_ms},
            title="Latency per call",
        )
        out.append(Chart(figure, ""))
        return out
