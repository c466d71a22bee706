"""Model cards are filled from what the store holds, in Markdown and self-contained HTML."""

import pytest
from samples import add_dataset_version, churn_frame, fit_classifier

import nbmlops as mo
from nbmlops.errors import InvalidInput


def test_card_gathers_details_data_metrics_evaluations_gates_and_caveats(workspace, tmp_path):
    frame = churn_frame()
    clf = fit_classifier(frame)
    with mo.start_run(name="train") as run:
        mo.log_metric("accuracy", 0.91)
        add_dataset_version(workspace.store(), run.id, "customers", 4)
    mo.models.register(
        clf, "churn", run=run.id, example=frame, description="Flags customers likely to leave."
    )
    bias = mo.evaluate.bias(clf, frame, "churned", sensitive="gender,age_band", min_group_size=200)
    mo.models.gate("churn", require=["accuracy>=0.8"])
    mo.models.promote("churn@1", to="production")
    card = mo.models.card("churn@production")
    text = card.to_markdown()
    assert text.startswith("## Model card: churn v1\n")
    assert "Flags customers likely to leave." in text
    assert "| customers@4 |" in text and "| accuracy | 0.91 |" in text
    assert bias.explain()[0].text in text  # the fairness sentence, exactly as the report says it
    assert "Not evaluated yet; run evaluate slices churn@1 X_test y_test --by <column>." in text
    assert "Latest gate check" in text and "All 1 gate pass." in text
    assert "Fairness numbers for small groups" in text  # intersections below 200 rows
    assert "| v1 | production | promote |" in text
    out = tmp_path / "card.html"
    mo.models.card("churn@1", out=str(out))
    page = out.read_text()
    assert "<table>" in page and "<h2>" in page
    assert "Model card: churn v1" in page and "Flags customers likely to leave." in page
    (tmp_path / "card.md").write_text("")
    mo.models.card("churn@1", out=str(tmp_path / "card.md"))
    assert (tmp_path / "card.md").read_text() == text


def test_card_of_a_bare_version_says_what_is_missing(workspace):
    mo.models.register(fit_classifier(churn_frame()), "churn")
    caveats = mo.models.card("churn@1").caveats()
    assert (
        "No dataset versions are recorded for the source run, so the training data cannot be "
        "traced." in caveats
    )
    assert (
        "The signature was not taken from training rows, so input types are not recorded."
        in caveats
    )
    with pytest.raises(InvalidInput, match="name it .md or .html"):
        mo.models.card("churn@1", out="card.txt")
