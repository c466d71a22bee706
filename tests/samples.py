"""Data and models shared by the registry and evaluation tests (generated in code, seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from nbmlops.store import meta


def churn_frame(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Customers with two features, two sensitive columns, a region and a churn label that
    depends on gender."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 12, n).round(2),
            "tenure": rng.integers(1, 120, n),
            "gender": rng.choice(["F", "M"], n),
            "age_band": rng.choice(["18-30", "30-50", "50+"], n, p=[0.3, 0.5, 0.2]),
            "region": rng.choice(["north", "south", "east", "west"], n),
        }
    )
    score = (
        frame.income / 10
        - frame.tenure / 40
        + np.where(frame.gender == "M", 1.0, 0.0)
        + rng.normal(0, 1, n)
    )
    frame["churned"] = (score > 4.5).astype(int)
    return frame


FEATURES = ["income", "tenure"]


def fit_classifier(frame: pd.DataFrame, C: float = 1.0):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=500).fit(frame[FEATURES], frame.churned)


def store_state(store) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Row counts of every table and the set of stored objects: equal before and after means
    nothing was written."""
    with store.read() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar()
            for t in meta.metadata.sorted_tables
        }
        counts["audit_head"] = conn.execute(select(meta.audit_head.c.seq)).scalar()
    return {"rows": counts, "objects": set(store.objects)}


def add_dataset_version(
    store, run_id: str, name: str = "loans", version: int = 2, rows: int = 1200
) -> int:  # type: ignore[no-untyped-def]
    """A dataset version read by ``run_id``, written as the data module records one (rows,
    lineage, audit)."""
    import time

    now = time.time()
    digest = store.objects.put(f"{name}@{version}".encode())
    with store.write() as conn:
        dataset_id = conn.execute(
            meta.datasets.insert()
            .values(name=name, kind="table", created_at=now, created_by="tester", description="")
            .returning(meta.datasets.c.id)
        ).scalar_one()
        version_id = conn.execute(
            meta.dataset_versions.insert()
            .values(
                dataset_id=dataset_id,
                version=version,
                digest=digest,
                manifest=digest,
                rows=rows,
                columns=6,
                bytes_total=10,
                bytes_added=10,
                message="",
                author="tester",
                created_at=now,
            )
            .returning(meta.dataset_versions.c.id)
        ).scalar_one()
        conn.execute(
            meta.lineage.insert().values(
                run_id=run_id,
                direction="input",
                entity_type="dataset_version",
                entity_id=version_id,
                created_at=now,
            )
        )
        store.audit(conn, "dataset.commit", "dataset_version", f"{name}@{version}")
    return int(version_id)
