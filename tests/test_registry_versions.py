"""Registering, finding, loading and aliasing model versions, on the real store."""

import json
import operator
import os

import numpy as np
import pytest
from samples import FEATURES, add_dataset_version, churn_frame, fit_classifier, store_state
from sqlalchemy import select

import nbmlops as mo
from nbmlops.errors import IntegrityError, InvalidInput, NotFound, PermissionDenied
from nbmlops.modelstore import formats
from nbmlops.modelstore.versions import version_of
from nbmlops.store import meta


class Handmade:
    """A model that is not scikit-learn: stored with joblib."""

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, X):  # type: ignore[no-untyped-def]
        return (np.asarray(X)[:, 0] > self.cut).astype(int)


class Unpicklable(Handmade):
    def __init__(self) -> None:
        super().__init__(50.0)
        self.hook = lambda x: x


class Boom:
    """Unpickling this creates a file: proof that bytes were deserialised."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.path, "w"))


def test_register_records_artifact_signature_run_facts_data_and_code(workspace):
    frame = churn_frame()
    clf = fit_classifier(frame)
    store = workspace.store()
    with mo.start_run(name="train") as run:
        mo.log_params(C=1.0, features=FEATURES)
        mo.log_metric("accuracy", 0.87)
        add_dataset_version(store, run.id)
        version = mo.models.register(
            clf, "churn", example=frame, description="Who will leave next month"
        )
    assert (version.name, version.version, version.format, version.run_id) == (
        "churn",
        1,
        "skops",
        run.id,
    )
    assert version.metrics == {
        "accuracy": 0.87
    }  # logged a moment before, still buffered: flushed first
    assert version.params == {"C": 1.0, "features": FEATURES}
    assert [d["ref"] for d in version.data] == ["loans@2"]
    assert version.signature["source"] == "example"
    assert version.signature["inputs"] == [
        {"name": "income", "type": "float64", "nullable": False},
        {"name": "tenure", "type": "int64", "nullable": False},
    ]
    assert version.signature["outputs"]["classes"] == [0, 1]
    assert version.context["python"] and "packages" in version.context
    assert version.class_name == "sklearn.linear_model._logistic.LogisticRegression"
    with store.read() as conn:
        edge = conn.execute(select(meta.lineage).where(meta.lineage.c.direction == "output")).one()
        events = [r.action for r in conn.execute(select(meta.audit_events.c.action))]
    assert (edge.run_id, edge.entity_type, edge.entity_id) == (run.id, "model_version", version.id)
    assert "model.register" in events
    assert "skops: only scikit-learn" in str(version) and "loans@2" in str(version)


def test_versions_count_up_and_references_resolve(workspace):
    frame = churn_frame()
    for C in (0.1, 1.0, 10.0):
        mo.models.register(fit_classifier(frame, C), "churn")
    mo.models.set_alias("churn@2", "challenger")
    assert mo.models.resolve_version("churn").version == 3
    assert mo.models.resolve_version("churn@latest").version == 3
    assert mo.models.resolve_version("churn@challenger").version == 2
    loaded = mo.models.load("churn@1")
    assert loaded.C == 0.1
    np.testing.assert_array_equal(
        loaded.predict(frame[FEATURES]), fit_classifier(frame, 0.1).predict(frame[FEATURES])
    )
    with pytest.raises(NotFound, match=r"churn has no version 7; its versions are 1 to 3\."):
        mo.models.load("churn@7")
    with pytest.raises(NotFound, match=r"churn has no alias 'prod'; its aliases are challenger\."):
        mo.models.load("churn@prod")
    with pytest.raises(NotFound, match=r"No model is named 'chrun'; registered models: churn\."):
        mo.models.load("chrun")
    listed = mo.models.list_models()
    assert listed.models[0]["versions"] == 3 and listed.models[0]["aliases"] == {"challenger": 2}


def test_models_that_skops_cannot_vouch_for_are_stored_with_joblib(workspace):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame = churn_frame()
    odd = make_pipeline(FunctionTransformer(operator.neg), fit_classifier(frame)).fit(
        frame[FEATURES], frame.churned
    )
    v1 = mo.models.register(odd, "odd")
    v2 = mo.models.register(Handmade(50.0), "handmade")
    assert v1.format == v2.format == "joblib"
    assert "joblib (pickle)" in str(v2)
    assert mo.models.load("handmade@1").cut == 50.0


def test_a_skops_file_needing_untrusted_types_is_refused_unless_trusted(tmp_path):
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame = churn_frame(300)
    model = make_pipeline(FunctionTransformer(operator.neg), fit_classifier(frame)).fit(
        frame[FEATURES], frame.churned
    )
    path = tmp_path / "odd.skops"
    sio.dump(model, path)
    with pytest.raises(
        PermissionDenied, match=r"needs types that are not trusted by default \(_operator.neg\)"
    ):
        formats.read_model_file(str(path))
    assert formats.read_model_file(str(path), trusted=["_operator.neg"]).predict(
        frame[FEATURES]
    ).shape == (300,)


def test_load_refuses_an_artifact_whose_bytes_changed_before_deserialising(workspace, tmp_path):
    import pickle

    store = workspace.store()
    version = mo.models.register(Handmade(1.0), "handmade")
    marker = tmp_path / "pwned"
    key = store.objects.key(version.artifact)
    os.chmod(key, 0o644)
    with open(key, "wb") as f:
        f.write(pickle.dumps(Boom(str(marker))))
    with pytest.raises(
        IntegrityError, match=r"The artifact of handmade@1 no longer matches its digest"
    ):
        mo.models.load("handmade@1")
    assert not marker.exists()


def test_a_model_that_cannot_be_serialised_is_refused_and_nothing_is_written(workspace):
    store = workspace.store()
    before = store_state(store)
    with pytest.raises(
        InvalidInput, match=r"This Unpicklable cannot be stored .*; a model must be picklable"
    ):
        mo.models.register(Unpicklable(), "broken")
    assert store_state(store) == before


@pytest.mark.parametrize(
    "alias, message",
    [
        ("2", "'2' cannot be a model alias: it would collide with a version number"),
        ("latest", "'latest' cannot be a model alias"),
        ("production", "'production' is set only through model promote"),
        ("bad alias", "'bad alias' is not a valid model alias"),
    ],
)
def test_aliases_that_collide_or_bypass_promotion_are_refused(workspace, alias, message):
    mo.models.register(fit_classifier(churn_frame()), "churn")
    store = workspace.store()
    before = store_state(store)
    with pytest.raises(InvalidInput, match=message):
        mo.models.set_alias("churn@1", alias)
    with pytest.raises(InvalidInput, match=message):
        mo.models.register(fit_classifier(churn_frame()), "churn", alias=alias)
    assert store_state(store) == before


def test_alias_moves_and_removal_are_in_the_stage_history(workspace):
    frame = churn_frame()
    mo.models.register(fit_classifier(frame), "churn", alias="challenger")
    mo.models.register(fit_classifier(frame, 5.0), "churn")
    mo.models.set_alias("churn@2", "challenger")
    mo.models.remove_alias("churn", "challenger")
    actions = [(t["version"], t["action"]) for t in mo.models.history("churn").transitions]
    assert actions == [(2, "unalias"), (2, "alias"), (1, "demote"), (1, "alias")]
    with pytest.raises(NotFound, match="churn has no alias 'challenger'"):
        mo.models.load("churn@challenger")


def test_objects_registered_or_loaded_here_know_their_version_until_refitted(workspace):
    frame = churn_frame()
    clf = fit_classifier(frame)
    version = mo.models.register(clf, "churn")
    assert version_of(clf) == (version.id, "churn@1")
    loaded = mo.models.load("churn@1")
    assert version_of(loaded) == (version.id, "churn@1")
    clf.set_params(C=3.0).fit(frame[FEATURES], frame.churned)
    assert version_of(clf) is None


def test_signature_of_a_model_fitted_on_arrays_comes_from_the_example_columns(workspace):
    frame = churn_frame(300)
    clf = fit_classifier(frame).fit(frame[FEATURES].to_numpy(), frame.churned)
    version = mo.models.register(clf, "plain", example=frame[FEATURES])
    assert version.signature["inputs"] == [
        {"name": "0", "type": "float64"},
        {"name": "1", "type": "float64"},
    ]
    assert version.signature["named"] is False and version.signature["source"] == "example"


def test_show_describes_format_signature_and_gates(workspace):
    frame = churn_frame()
    mo.models.register(fit_classifier(frame), "churn", example=frame)
    detail = mo.models.show("churn@1")
    data = json.loads(detail.to_json())
    assert data["format"] == "skops" and data["signature"]["inputs"][0]["name"] == "income"
    overview = mo.models.show("churn")
    assert [v["version"] for v in overview.versions] == [1]
    assert "Versions" in overview._repr_html_()


def test_concurrent_registrations_get_distinct_versions(backend):
    from concurrent.futures import ThreadPoolExecutor

    frame = churn_frame(200)
    models = [fit_classifier(frame, C) for C in (0.1, 0.2, 0.3, 0.4)]
    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda m: mo.models.register(m, "churn").version, models))
    assert sorted(versions) == [1, 2, 3, 4]
    assert {mo.models.load(f"churn@{v}").C for v in versions} == {0.1, 0.2, 0.3, 0.4}


def test_round_trip_on_every_backend(backend):
    frame = churn_frame(400)
    clf = fit_classifier(frame)
    mo.models.register(clf, "churn", example=frame)
    mo.models.register(Handmade(40.0), "churn")
    mo.models.set_alias("churn@1", "challenger")
    model = mo.models.load("churn@challenger")
    np.testing.assert_array_equal(model.predict(frame[FEATURES]), clf.predict(frame[FEATURES]))
    assert mo.models.load("churn@2").cut == 40.0
    assert mo.models.promote("churn@2", to="production").tone == "ok"
    assert mo.models.resolve_version("churn@production").version == 2
