"""``mlops model ...`` in a terminal and ``%mlops model ...`` in a notebook: the same commands."""

import json

import numpy as np
import pytest
import skops.io as sio
from samples import FEATURES, churn_frame, fit_classifier

import nbmlops as mo
from nbmlops.errors import NotFound, PermissionDenied


@pytest.fixture
def files(workspace, tmp_path):
    frame = churn_frame(800)
    clf = fit_classifier(frame)
    sio.dump(clf, tmp_path / "model.skops")
    frame.to_csv(tmp_path / "test.csv", index=False)
    return clf, frame, tmp_path


def test_cli_register_evaluate_gate_promote_load_and_card(files, cli):
    clf, frame, folder = files
    out = cli(
        "model",
        "register",
        str(folder / "model.skops"),
        "--name",
        "churn",
        "--example",
        str(folder / "test.csv"),
        "--description",
        "churn risk",
    )
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("OK: Registered churn@1 (skops,")
    out = cli(
        "evaluate",
        "bias",
        "churn@1",
        str(folder / "test.csv"),
        "churned",
        "--sensitive",
        "gender,age_band",
        "--json",
    )
    assert out.exit_code == 0, out.stderr
    bias = json.loads(out.stdout)
    assert bias["subject"]["model_ref"] == "churn@1" and bias["features"] == ["gender", "age_band"]
    ratio = bias["summary"]["demographic_parity_ratio"]
    out = cli(
        "model", "gate", "churn", "--require", f"demographic_parity_ratio>={ratio + 0.05:.4f}"
    )
    assert out.exit_code == 0, out.stderr
    out = cli("model", "promote", "churn@1", "--to", "production")
    assert out.exit_code == 4 and out.stdout == ""
    assert out.stderr.startswith(
        "Error: churn@1 was not promoted to production: gate demographic_parity_ratio>="
    )
    assert len(out.stderr.strip().splitlines()) == 1
    cli("model", "gate", "churn", "--require", f"demographic_parity_ratio>={ratio - 0.05:.4f}")
    out = cli("model", "promote", "churn@1", "--to", "production", "--note", "ship it")
    assert out.exit_code == 0 and "churn@production is now version 1" in out.stdout
    out = cli("model", "load", "churn@production", "--out", str(folder / "prod.skops"))
    assert out.exit_code == 0, out.stderr
    again = sio.load(
        folder / "prod.skops", trusted=sio.get_untrusted_types(file=folder / "prod.skops")
    )
    np.testing.assert_array_equal(again.predict(frame[FEATURES]), clf.predict(frame[FEATURES]))
    out = cli("model", "card", "churn@1", "--markdown")
    assert out.stdout.startswith("## Model card: churn v1") and "churn risk" in out.stdout
    out = cli("model", "history", "churn", "--json")
    assert [t["status"] for t in json.loads(out.stdout)["transitions"]] == ["done", "refused"]
    out = cli("model", "list")
    assert "production→v1" in out.stdout


def test_cli_refusals_exit_non_zero_with_one_line(files, cli):
    _, _, folder = files
    cli("model", "register", str(folder / "model.skops"), "--name", "churn")
    cases = [
        (
            ("model", "promote", "churn@5", "--to", "production"),
            3,
            "Error: churn has no version 5; its versions are 1 to 1.",
        ),
        (("model", "alias", "churn@1", "12"), 2, "Error: '12' cannot be a model alias"),
        (
            ("model", "register", "nothing.skops", "--name", "x"),
            3,
            "Error: No file named 'nothing.skops' holds a model",
        ),
        (
            ("model", "gate", "churn", "--require", "accuracy=0.9"),
            2,
            "Error: The gate 'accuracy=0.9' is not understood",
        ),
        (("model", "load", "churn@1"), 2, "Error: Say where the model goes: --out FILE"),
        (
            (
                "evaluate",
                "bias",
                "churn@1",
                str(folder / "test.csv"),
                "churned",
                "--sensitive",
                "religion",
            ),
            2,
            "Error: Sensitive column 'religion' is not in",
        ),
    ]
    for args, code, start in cases:
        out = cli(*args)
        assert (
            out.exit_code,
            out.stderr.startswith(start),
            len(out.stderr.strip().splitlines()),
        ) == (code, True, 1), out


def test_cli_registers_an_artifact_of_a_run(workspace, cli, tmp_path):
    import joblib

    frame = churn_frame(300)
    joblib.dump(fit_classifier(frame), tmp_path / "model.joblib")
    with mo.start_run(name="train") as run:
        mo.log_artifact(str(tmp_path / "model.joblib"))
        mo.log_metric("accuracy", 0.8)
    out = cli("model", "register", "model.joblib", "--name", "churn", "--run", run.id[:8])
    assert out.exit_code == 0, out.stderr
    version = mo.models.show("churn@1")
    assert (
        version.run_id == run.id
        and version.metrics == {"accuracy": 0.8}
        and version.format == "skops"
    )


def test_notebook_magics_use_variables_and_link_evaluations_to_the_version(ip):
    frame = churn_frame(600)
    clf = fit_classifier(frame)
    with mo.start_run(name="train") as run:
        mo.log_metric("accuracy", 0.88)
    ip.user_ns.update(
        clf=clf, X_test=frame.drop(columns="churned"), y_test=frame.churned, X_train=frame[FEATURES]
    )
    registered = ip.run_line_magic(
        "mlops", f"model register clf --name churn --run {run.id} --example X_train"
    )
    assert registered.version == 1 and registered.signature["source"] == "example"
    report = ip.run_line_magic(
        "mlops", "evaluate bias clf X_test y_test --sensitive gender,age_band"
    )
    assert report.subject["model"] == "clf (churn@1)" and report.features == ["gender", "age_band"]
    assert mo.models.show("churn@1").evaluations[0]["id"] == report.evaluation_id
    slices = ip.run_line_magic("mlops", "evaluate slices clf X_test y_test --by region --folds 3")
    assert slices.subject["model_ref"] == "churn@1"
    ip.run_line_magic("mlops", "model load churn@1 --as served")
    np.testing.assert_array_equal(
        ip.user_ns["served"].predict(frame[FEATURES]), clf.predict(frame[FEATURES])
    )
    with pytest.raises(NotFound, match="No model is named 'nope'"):
        ip.run_line_magic("mlops", "model show nope")


def test_notebook_error_is_one_red_line(ip):
    from IPython.utils.capture import capture_output

    mo.models.register(fit_classifier(churn_frame(200)), "churn")
    mo.models.gate("churn", approval=True)
    mo.models.promote("churn@1", to="production")
    with capture_output() as shown:
        outcome = ip.run_cell("%mlops model approve churn@1 --to production")
    assert isinstance(outcome.error_in_exec, PermissionDenied)
    lines = [line for line in (shown.stdout + shown.stderr).splitlines() if line.strip()]
    assert lines == [
        "\x1b[31mError: You (tester) requested this promotion, so someone else must approve "
        "it.\x1b[0m"
    ]


def test_every_model_and_evaluate_command_has_help(cli):
    import click

    from nbmlops.commands.evaluate import evaluate
    from nbmlops.commands.models import model

    for group in (model, evaluate):
        assert group.help
        for name in group.list_commands(click.Context(group)):
            command = group.get_command(click.Context(group), name)
            assert command.help and len(command.help.split()) > 4, name
            assert cli(group.name, name, "--help").exit_code == 0
