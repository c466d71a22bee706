"""Monitors end to end: definition, checks with OK/WARN/ALERT, audit trail, notifiers, history,
retraining policy."""

import json
import time

import nbformat
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from samples import store_state
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy import select, update

import nbmlops as mo
from nbmlops.errors import Conflict, InvalidInput, NotFound
from nbmlops.examples import FEATURES, credit_applications
from nbmlops.result import Chart
from nbmlops.store import meta

CATEGORIES = ["region", "purpose", "occupation"]


def train_credit_model():
    frame = credit_applications(6000, seed=10)
    numeric = [f for f in FEATURES if f not in CATEGORIES]
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), CATEGORIES), (StandardScaler(), numeric)
        ),
        LogisticRegression(max_iter=500),
    ).fit(frame[FEATURES], frame["default"])
    mo.models.register(model, "credit", example=frame[FEATURES])
    mo.models.promote("credit@1", to="production")
    return model


def audit(store, action):
    with store.read() as conn:
        rows = conn.execute(
            select(meta.audit_events)
            .where(meta.audit_events.c.action == action)
            .order_by(meta.audit_events.c.seq)
        ).all()
    return [json.loads(r.payload) for r in rows]


def test_checks_alert_audit_notify_and_chart_on_every_backend(backend_store, tmp_path):
    store = backend_store
    model = train_credit_model()
    reference = credit_applications(8000, seed=1)
    reference.to_parquet(tmp_path / "reference.parquet")
    mo.monitor.create(
        "credit-prod",
        reference=str(tmp_path / "reference.parquet"),
        model="credit@production",
        max_drift_share=0.25,
        minimum=["accuracy=0.7"],
        target="default",
        window="14d",
        exclude=["application_id"],
    )
    calm = credit_applications(3000, seed=2)
    ok = mo.monitor.check("credit-prod", calm, label="calm")
    assert ok.status in ("OK", "WARN") and not any(r["level"] == "ALERT" for r in ok.reasons)
    drifted = credit_applications(3000, seed=3, drifted=True)
    alert = mo.monitor.check("credit-prod", drifted, label="november")
    assert alert.status == "ALERT"
    texts = [r["text"] for r in alert.reasons if r["level"] == "ALERT"]
    share = alert.report.drift_share
    assert share > 0.25 and texts[0].startswith(
        f"drift share {share:.0%} is above the limit of 25% ("
    )
    # the model predicted the batch itself: its accuracy is what scikit-learn computes
    expected = accuracy_score(drifted["default"], model.predict(drifted[FEATURES]))
    accuracy = next(m for m in alert.report.performance["metrics"] if m["metric"] == "accuracy")
    assert accuracy["current"] == pytest.approx(expected)
    evaluation = mo.evaluate.open_report(alert.evaluation_id)
    assert evaluation.summary["drift_share"] == share
    with store.read() as conn:
        version_id = conn.execute(select(meta.model_versions.c.id)).scalar_one()
        linked = conn.execute(
            select(meta.evaluations.c.model_version_id).where(
                meta.evaluations.c.id == alert.evaluation_id
            )
        ).scalar_one()
    assert linked == version_id
    checks = audit(store, "monitor.check")
    assert [c["status"] for c in checks] == [ok.status, "ALERT"]
    alerts = audit(store, "monitor.alert")
    assert len(alerts) == 1 and alerts[0]["result_id"] == alert.result_id
    assert alerts[0]["reasons"][0].startswith("ALERT: drift share")
    logged = [
        json.loads(line)
        for line in (store.workspace.root / ".mlops" / "alerts.jsonl").read_text().splitlines()
    ]
    assert [(a["monitor"], a["status"], a["result_id"]) for a in logged] == [
        ("credit-prod", "ALERT", alert.result_id)
    ]
    assert alert.notifications == [
        {
            "notifier": "logfile",
            "status": "sent",
            "detail": f"appended to {store.workspace.root / '.mlops' / 'alerts.jsonl'}",
        }
    ]
    html = alert._repr_html_()
    assert "ALERT: drift share" in html and "#b42318" in html
    hist = mo.monitor.history("credit-prod")
    assert [r["status"] for r in hist.results] == [ok.status, "ALERT"]
    figure = go.Figure(next(b for b in hist.blocks() if isinstance(b, Chart)).figure)
    assert list(figure.data[0].y) == pytest.approx([ok.report.drift_share, share])
    assert hist.to_frame()["status"].tolist() == [ok.status, "ALERT"]
    listed = mo.monitor.list_monitors()
    assert listed.monitors[0]["status"] == "ALERT" and listed.monitors[0]["checks"] == 2


def test_bad_definitions_are_one_sentence_and_change_nothing(workspace, tmp_path):
    store = workspace.store()
    credit_applications(500, seed=1).to_csv(tmp_path / "ref.csv", index=False)
    ref = str(tmp_path / "ref.csv")
    before = store_state(store)
    cases = [
        (
            dict(reference=pd.DataFrame({"a": [1]})),
            InvalidInput,
            "A monitor reads its reference again at every check",
        ),
        (
            dict(reference=ref, max_drift_share=1.5),
            InvalidInput,
            "The share threshold 1.5 is out of range",
        ),
        (
            dict(reference=ref, minimum=["accuracy=0.8"]),
            InvalidInput,
            "Metric limits (--min/--max) need the label column",
        ),
        (
            dict(reference=ref, minimum=["accuracy=2"], target="default"),
            InvalidInput,
            "--min accuracy=2 is out of range",
        ),
        (
            dict(reference=ref, minimum=["speed=2"], target="default"),
            InvalidInput,
            "Unknown metric 'speed'",
        ),
        (dict(reference=ref, model="nope@production"), NotFound, "No model is named 'nope'"),
        (
            dict(reference=ref, notifiers=["pager"]),
            InvalidInput,
            "No notifier is called 'pager'; installed: logfile",
        ),
        (
            dict(reference=ref, thresholds=["ks=0"]),
            InvalidInput,
            "The ks threshold 0 is out of range",
        ),
        (
            dict(reference=ref, window="fortnight"),
            InvalidInput,
            "The window 'fortnight' is not understood",
        ),
        (dict(reference="nope.parquet"), NotFound, "No file named 'nope.parquet'."),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error) as caught:
            mo.monitor.create("m", **kwargs)
        assert str(caught.value).startswith(message), str(caught.value)
    with pytest.raises(InvalidInput, match="not a valid monitor name"):
        mo.monitor.create("bad name", reference=ref)
    assert store_state(store) == before
    mo.monitor.create("m", reference=ref)
    with pytest.raises(
        Conflict, match=r"^A monitor called 'm' exists; pass --replace to redefine it"
    ):
        mo.monitor.create("m", reference=ref)
    mo.monitor.create("m", reference=ref, max_drift_share=0.4, replace=True)
    assert mo.monitor.show("m").config["max_drift_share"] == 0.4
    with pytest.raises(NotFound, match=r"^No monitor is called 'x'; monitors: m\.$"):
        mo.monitor.check("x", ref)


def write_notebook(path, parameters_source=None):
    nb = nbformat.v4.new_notebook()
    if parameters_source is not None:
        cell = nbformat.v4.new_code_cell(parameters_source)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_code_cell("print(data)"))
    nbformat.write(nb, str(path))


def test_policy_is_validated_stored_and_applied_as_a_pending_action(workspace, tmp_path):
    store = workspace.store()
    train_credit_model()
    credit_applications(3000, seed=1).to_parquet(tmp_path / "ref.parquet")
    mo.monitor.create(
        "credit",
        reference=str(tmp_path / "ref.parquet"),
        model="credit@production",
        max_drift_share=0.2,
        exclude=["application_id"],
    )
    write_notebook(tmp_path / "no_params.ipynb")
    write_notebook(tmp_path / "other.ipynb", "n_estimators = 100")
    write_notebook(tmp_path / "retrain.ipynb", "data = None\nn_estimators: int = 100")
    (tmp_path / "broken.ipynb").write_text("{not json")
    for kwargs, message in [
        (
            dict(retrain=str(tmp_path / "no_params.ipynb")),
            f"{tmp_path / 'no_params.ipynb'} has no cell tagged 'parameters'",
        ),
        (
            dict(retrain=str(tmp_path / "other.ipynb")),
            f"The parameters cell of {tmp_path / 'other.ipynb'} does not set 'data' (it sets "
            "n_estimators)",
        ),
        (
            dict(retrain=str(tmp_path / "broken.ipynb")),
            f"{tmp_path / 'broken.ipynb'} is not a readable notebook",
        ),
        (dict(approval="required"), "--approval only applies with --retrain NOTEBOOK"),
        (dict(max_age="soon"), "--max-age 'soon' is not understood"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            mo.monitor.set_policy("credit", **kwargs)
        assert str(caught.value).startswith(message), str(caught.value)
    done = mo.monitor.set_policy(
        "credit",
        on="alert",
        retrain=str(tmp_path / "retrain.ipynb"),
        approval="required",
        max_age="30d",
    )
    assert "retrain with" in done.text and "then wait for approval" in done.text
    policy = mo.monitor.show("credit").policy
    assert (
        policy["level"] == "approval"
        and policy["max_age_days"] == 30
        and policy["data_parameter"] == "data"
    )
    assert audit(store, "monitor.policy")[-1]["policy"]["notebook"] == policy["notebook"]
    # the production model is 40 days old: the age trigger fires even though the data is calm
    with store.write() as conn:
        conn.execute(update(meta.model_versions).values(created_at=time.time() - 40 * 86_400))
    calm = credit_applications(2000, seed=5)
    result = mo.monitor.check("credit", calm, label="calm_batch")
    assert result.status == "WARN"
    assert any(
        r["text"] == "credit@production is 40 days old, older than the 30-day limit of the policy"
        for r in result.reasons
    )
    [action] = result.actions
    assert action["action"] == "retrain" and action["status"] == "pending"
    assert action["parameters"] == {"data": "calm_batch"}
    assert "model older than 30 days: retrain with" in action["reason"]
    assert (
        "pending because calm_batch is data in this process's memory, which a job cannot read"
        in action["reason"]
    )
    assert f"mlops job run {policy['notebook']} -p data calm_batch" in action["reason"]
    recorded = audit(store, "monitor.action")
    assert recorded[-1]["status"] == "pending" and recorded[-1]["result_id"] == result.result_id
    assert result.notifications[0]["status"] == "sent"  # a triggered policy tells the notifiers too
    # a batch the model cannot score is still checked, without the model, and says why
    partial = mo.monitor.check("credit", calm.drop(columns=["income"]), label="no_income")
    assert {
        "level": "WARN",
        "text": "model credit@production not used: The table lacks column(s) 'income' that "
        "credit@production (credit@1) was trained with.",
    } in partial.reasons
    assert "income" in partial.report.schema["only_reference"]


def test_notifier_plugins_come_from_entry_points_and_a_failing_one_is_recorded(
    workspace, tmp_path, monkeypatch
):
    plugin = tmp_path / "plugins"
    (plugin / "fake_notifiers-1.0.dist-info").mkdir(parents=True)
    (plugin / "fake_notifiers-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-notifiers\nVersion: 1.0\n"
    )
    (plugin / "fake_notifiers-1.0.dist-info" / "entry_points.txt").write_text(
        "[nbmlops.notifiers]\nrecorder = fake_notifiers:Recorder\nbroken = fake_notifiers:broken\n"
    )
    (plugin / "fake_notifiers.py").write_text(
        "import json, os\n"
        "class Recorder:\n"
        "    def notify(self, alert):\n"
        "        with open(os.environ['FAKE_NOTIFY_FILE'], 'a') as f:\n"
        "            f.write(json.dumps(alert.to_dict()) + '\\n')\n"
        "        return 'recorded'\n"
        "def broken(alert):\n"
        "    raise RuntimeError('pager unreachable')\n"
    )
    monkeypatch.syspath_prepend(str(plugin))
    monkeypatch.setenv("FAKE_NOTIFY_FILE", str(tmp_path / "received.jsonl"))
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=500)}).to_csv(tmp_path / "ref.csv", index=False)
    mo.monitor.create(
        "plugins", reference=str(tmp_path / "ref.csv"), notifiers=["recorder", "broken"]
    )
    result = mo.monitor.check(
        "plugins", pd.DataFrame({"x": rng.normal(3, 1, size=500)}), label="shifted"
    )
    assert result.status == "ALERT"
    assert result.notifications == [
        {"notifier": "recorder", "status": "sent", "detail": "recorded"},
        {"notifier": "broken", "status": "failed", "detail": "RuntimeError: pager unreachable"},
    ]
    received = json.loads((tmp_path / "received.jsonl").read_text())
    assert received["monitor"] == "plugins" and received["reasons"][0].startswith(
        "ALERT: dataset drift"
    )
    # logfile was not chosen for this monitor
    assert not (workspace.root / ".mlops" / "alerts.jsonl").exists()
    assert "Actions" in str(result) and "pager unreachable" in str(result)


def test_magic_commands_and_the_alert_in_the_notebook(ip, tmp_path):
    rng = np.random.default_rng(1)
    pd.DataFrame({"x": rng.normal(size=800), "c": rng.choice(["a", "b"], 800)}).to_parquet(
        tmp_path / "ref.parquet"
    )
    ip.user_ns["batch"] = pd.DataFrame(
        {"x": rng.normal(2, 1, size=800), "c": rng.choice(["a", "b"], 800)}
    )
    ip.run_line_magic(
        "mlops",
        f"monitor create churn --reference {tmp_path / 'ref.parquet'} --max-drift-share 0.3",
    )
    result = ip.run_line_magic("mlops", "monitor check churn batch")
    assert result.status == "ALERT" and result.data == "batch"
    assert "ALERT: drift share 50% is above the limit of 30% (x)" in str(result)
    shown = ip.run_line_magic("mlops", "monitor show churn")
    assert "drift share <= 30%" in str(shown) and "no retraining policy" in str(shown)
    assert "ALERT" in ip.run_line_magic("mlops", "monitor list")._repr_html_()


def test_cli_check_can_fail_a_scheduler_on_alert(workspace, cli, tmp_path):
    rng = np.random.default_rng(2)
    pd.DataFrame({"x": rng.normal(size=400)}).to_csv(tmp_path / "ref.csv", index=False)
    pd.DataFrame({"x": rng.normal(size=400)}).to_csv(tmp_path / "same.csv", index=False)
    pd.DataFrame({"x": rng.normal(4, 1, size=400)}).to_csv(tmp_path / "moved.csv", index=False)
    assert cli("monitor", "create", "m", "--reference", str(tmp_path / "ref.csv")).exit_code == 0
    calm = cli("monitor", "check", "m", str(tmp_path / "same.csv"), "--fail-on", "alert")
    assert calm.exit_code == 0 and "Monitor m: OK" in calm.stdout
    moved = cli("monitor", "check", "m", str(tmp_path / "moved.csv"), "--fail-on", "alert")
    assert (
        moved.exit_code == 1
        and "Monitor m: ALERT" in moved.stdout
        and "ALERT: dataset drift" in moved.stdout
    )
    assert cli("monitor", "check", "m", str(tmp_path / "moved.csv")).exit_code == 0
    history = cli("monitor", "history", "m", "--json")
    assert [r["status"] for r in json.loads(history.stdout)["results"]] == ["OK", "ALERT", "ALERT"]
