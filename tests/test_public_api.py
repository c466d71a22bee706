"""The public surface: every name a user may rely on is listed here and must keep resolving.

A module that moves inside the package must leave ``import nbmlops as mo`` and these
names unchanged; a name removed from the API fails this test on purpose.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import nbmlops as mo
from nbmlops.commands import cli
from nbmlops.errors import MlopsError
from nbmlops.result import Result
from nbmlops.verdict import Verdict

TOP = {
    "load_ipython_extension", "init", "status", "Workspace",
    "start_run", "end_run", "active_run", "Run", "log_metric", "log_metrics", "log_param",
    "log_params", "set_tag", "set_tags", "tag_run", "log_artifact", "note", "autolog",
    "list_runs", "get_run", "compare_runs", "metric_history", "load_artifact",
    "fsck", "gc", "audit_log", "verify_audit", "run_job",
    "models", "evaluate", "jobs", "drift", "monitor", "data", "panels", "dashboards", "interop",
    "MlopsError", "InvalidInput", "NotFound", "Ambiguous", "WorkspaceNotFound", "Conflict",
    "IntegrityError", "StoreUnavailable", "MissingDependency", "PermissionDenied", "GateFailed",
}  # fmt: skip

NAMESPACES = {
    "models": {
        "register", "load", "save_version", "show", "list_models", "describe_version",
        "resolve_version", "set_alias", "remove_alias", "gate", "check_gates", "promote",
        "approve", "reject", "history", "card", "compare",
    },
    "evaluate": {"bias", "assess", "slices", "perf", "open_report", "list_reports"},
    "jobs": {
        "run_job", "sweep", "validate", "reproduce", "list_jobs", "get_job", "job_log",
        "save_output", "notebook_parameters", "load_job", "executor_url", "open_executor",
        "register_executor", "JobResult", "SweepResult", "ValidationResult", "Reproduction",
        "JobList", "JobDetail", "JobLog", "JobSpec", "ClusterUnavailable",
    },
    "drift": {"compare", "DriftReport", "Options", "METHODS", "DEFAULTS"},
    "monitor": {"create", "set_policy", "check", "history", "list_monitors", "show", "assess",
                "status_of"},
    "data": {
        "commit", "load", "iter_batches", "checkout", "resolve", "VersionInfo", "set_tag",
        "remove_tag", "log", "list_datasets", "show", "lineage", "diff", "infer_schema",
        "validate", "manifest_references",
    },
    "panels": {"runs", "live", "models", "data", "drift", "bias", "jobs"},
    "dashboards": {"publish", "serve", "export", "show", "overview", "dashboard_path",
                   "voila_command", "DashboardView"},
    "interop": {"export_mlflow", "import_mlflow", "MlflowTransfer"},
}  # fmt: skip

COMMANDS = {
    "init", "status", "copy", "run", "runs", "autolog", "fsck", "gc", "audit", "model", "evaluate",
    "job", "drift", "monitor", "data", "panel", "dashboard", "export", "import",
}  # fmt: skip


def test_every_public_name_resolves_and_nothing_is_dropped():
    assert TOP <= set(mo.__all__), sorted(TOP - set(mo.__all__))
    for name in TOP:
        assert getattr(mo, name) is not None, name
    for namespace, names in NAMESPACES.items():
        module = getattr(mo, namespace)
        assert names <= set(module.__all__), (namespace, sorted(names - set(module.__all__)))
        for name in names:
            value = getattr(module, name)
            assert callable(value) or isinstance(value, (dict, tuple, frozenset)), (namespace, name)


def test_errors_are_one_family():
    for name in ("InvalidInput", "NotFound", "Ambiguous", "WorkspaceNotFound", "Conflict",
                 "IntegrityError", "StoreUnavailable", "MissingDependency", "PermissionDenied",
                 "GateFailed"):  # fmt: skip
        assert issubclass(getattr(mo, name), MlopsError), name


def test_every_command_is_still_there():
    ctx = cli.make_context("mlops", ["--help"], resilient_parsing=True)
    assert COMMANDS <= set(cli.list_commands(ctx))
    for name in COMMANDS:
        assert cli.get_command(ctx, name) is not None, name


@pytest.mark.parametrize(
    "cls",
    ["nbmlops.maintenance.integrity:FsckReport", "nbmlops.maintenance.audit:AuditVerdict",
     "nbmlops.data.validation:ValidationReport", "nbmlops.registry.gates:GateReport",
     "nbmlops.jobs:ValidationResult", "nbmlops.jobs:Reproduction"],
)  # fmt: skip
def test_every_check_says_passed_the_same_way(cls):
    import importlib

    module, _, name = cls.partition(":")
    klass = getattr(importlib.import_module(module), name)
    assert issubclass(klass, Verdict) and issubclass(klass, Result)


def test_importing_the_package_stays_light():
    code = (
        "import sys, nbmlops as mo; mo.init; mo.log_metric; "
        "heavy = {'pandas', 'numpy', 'plotly', 'papermill', 'scipy', 'sklearn', 'IPython'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
