"""The smallest end-to-end round trip: a run logged in Python is read back by the CLI."""

import nbmlops as mo


def test_run_round_trip_through_cli(workspace, cli):
    with mo.start_run(name="baseline", tags={"team": "risk"}) as run:
        mo.log_params(C=0.5)
        for step in range(100):
            mo.log_metric("loss", 1.0 / (step + 1), step=step)
        mo.log_metric("accuracy", 0.91)
    out = cli("runs", "list", "--filter", "metrics.accuracy > 0.9", "--json")
    assert out.exit_code == 0, out.stderr
    import json

    listed = json.loads(out.stdout)
    assert [r["id"] for r in listed["runs"]] == [run.id]
    assert listed["runs"][0]["metrics"] == {"accuracy": 0.91, "loss": 0.01}
