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


def test_no_api_name_is_shadowed_by_a_submodule_of_the_same_name():
    """Importing ``nbmlops.data.commit`` (the module) must never replace ``mo.data.commit`` (the
    function)."""
    import importlib
    import pkgutil
    import types

    import nbmlops

    for namespace, module_name in nbmlops._SUBMODULES.items():
        package = importlib.import_module(module_name)
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            importlib.import_module(f"{module_name}.{info.name}")
        for name in getattr(package, "__all__", []):
            value = getattr(getattr(nbmlops, namespace), name)
            assert not isinstance(value, types.ModuleType), (
                f"mo.{namespace}.{name} is a module, not the function"
            )
