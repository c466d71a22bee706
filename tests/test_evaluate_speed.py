"""Meta-performance: latency percentiles, throughput, size, memory, load and import time."""

import numpy as np
import pytest
from samples import churn_frame, fit_classifier

import nbmlops as mo
from nbmlops.evaluate.storage import get_evaluation


def test_perf_of_a_registered_model_measures_and_stores_everything(workspace):
    frame = churn_frame(3000)
    clf = fit_classifier(frame)
    version = mo.models.register(clf, "churn")
    report = mo.evaluate.perf("churn@1", frame, batch_size=500, budget_s=1.0, cold_start=False)
    s = report.summary
    assert len(report.single_ms) >= 5 and len(report.batch_ms) >= 5
    assert s["p50_latency_ms"] == pytest.approx(np.percentile(report.single_ms, 50))
    assert s["p95_latency_ms"] == pytest.approx(np.percentile(report.single_ms, 95))
    assert s["p99_latency_ms"] == pytest.approx(np.percentile(report.single_ms, 99))
    assert s["p50_latency_ms"] <= s["p95_latency_ms"] <= s["p99_latency_ms"]
    assert s["throughput_rows_per_s"] == pytest.approx(
        500 / (np.percentile(report.batch_ms, 50) / 1000)
    )
    assert s["size_bytes"] == version.size and report.format == "skops"
    assert s["load_time_ms"] > 0 and s["peak_memory_mb"] > 0 and s["import_time_ms"] is None
    stored = get_evaluation(report.evaluation_id)
    assert (
        stored.model_version_id == version.id
        and stored.summary["p95_latency_ms"] == s["p95_latency_ms"]
    )
    text = str(report)
    assert "One prediction takes" in text and "rows per second" in text


@pytest.mark.slow
def test_cold_start_import_time_is_measured_in_a_fresh_process(workspace):
    frame = churn_frame(300)
    report = mo.evaluate.perf(fit_classifier(frame), frame, budget_s=0.3)
    assert report.import_module == "sklearn.linear_model._logistic"
    assert report.import_time_ms is not None and report.import_time_ms > 1
    assert report.evaluation_id is not None and report.size_bytes > 0
