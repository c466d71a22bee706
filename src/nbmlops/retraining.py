"""Retraining policies: what a monitor does about an alert, and how much of it is automatic.

Three levels: ``notify`` (the alert goes to the notifiers, a human decides),
``approval`` (on a trigger, run the retraining notebook as a job with the new
data as a parameter, register the result as a challenger and wait for a human
to approve its promotion), ``auto`` (the same, and promote when the model's
gates pass). Triggers: the monitor's status (``--on alert`` or ``--on warn``)
and the age of the production model (``--max-age 30d``).

:func:`respond` is the one place a monitor check asks what to do; every action it
decides is returned with its reason and stored with the check result. Launching
jobs, registering challengers and promoting need the jobs service; until a
monitor can launch them, the action is recorded as *pending* with the reason and
the command that does it by hand.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import time
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, MlopsError, NotFound

if TYPE_CHECKING:
    from .store import Store

LEVELS = ("notify", "approval", "auto")
TRIGGERS = ("alert", "warn")
RANK = {"OK": 0, "WARN": 1, "ALERT": 2}
PARAMETERS_TAG = "parameters"


def parameters_cell_names(path: str) -> set[str]:
    """The names assigned in the notebook's ``parameters`` cell, or one sentence saying why it cannot be used.

    Example:
        >>> sorted(parameters_cell_names("notebooks/retrain.ipynb"))  # doctest: +SKIP
        ['data', 'n_estimators']
    """
    import nbformat

    if not os.path.isfile(path):
        raise NotFound(f"No notebook named {path!r}.")
    try:
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    except Exception as e:  # noqa: BLE001 - nbformat raises several types for broken files
        raise InvalidInput(f"{path} is not a readable notebook ({str(e).splitlines()[0][:120]}).") from None
    cells = [c for c in nb.cells if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise InvalidInput(f"{path} has no cell tagged 'parameters', so the new data cannot be passed in; tag the cell "
                           "that sets the defaults with 'parameters' (papermill's convention).")
    names: set[str] = set()
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as e:
        raise InvalidInput(f"The parameters cell of {path} is not valid Python (line {e.lineno}).") from None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _file_digest(path: str) -> str:
    import blake3

    hasher = blake3.blake3()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def parse_age(text: str | None) -> float | None:
    """Days from ``30d``, ``12w`` or a bare number of days (None stays None).

    Example:
        >>> parse_age("30d"), parse_age("2w")
        (30.0, 14.0)
    """
    if text is None:
        return None
    raw = str(text).strip().lower()
    factor = 7.0 if raw.endswith("w") else 1.0
    try:
        days = float(raw.rstrip("dw")) * factor
    except ValueError:
        raise InvalidInput(f"--max-age {text!r} is not understood; write a number of days such as 30d (or weeks: 4w).") from None
    if not days > 0:
        raise InvalidInput(f"--max-age must be more than 0 days, not {text!r}.")
    return days


def define(*, on: str = "alert", retrain: str | None = None, approval: str | None = None,
           max_age: str | None = None, data_parameter: str = "data", root: str | None = None) -> dict[str, Any]:
    """A validated policy: the trigger, the level, the retraining notebook and its data parameter.

    Example:
        >>> define(on="alert", retrain="notebooks/retrain.ipynb", approval="required")["level"]  # doctest: +SKIP
        'approval'
    """
    if on not in TRIGGERS:
        raise InvalidInput(f"--on {on!r} is not a trigger; use alert or warn.")
    if approval is not None and approval not in ("required", "auto"):
        raise InvalidInput(f"--approval {approval!r} is not understood; use required (a human approves) or auto "
                           "(promote when the gates pass).")
    if approval is not None and retrain is None:
        raise InvalidInput("--approval only applies with --retrain NOTEBOOK (the notebook that retrains the model).")
    policy: dict[str, Any] = {"on": on, "level": "notify", "max_age_days": parse_age(max_age)}
    if retrain is not None:
        if not data_parameter.isidentifier():
            raise InvalidInput(f"--data-parameter {data_parameter!r} is not a Python name.")
        names = parameters_cell_names(retrain)
        if data_parameter not in names:
            shown = ", ".join(sorted(names)) or "nothing"
            raise InvalidInput(f"The parameters cell of {retrain} does not set {data_parameter!r} (it sets {shown}); add "
                               f"`{data_parameter} = None` there or name another one with --data-parameter.")
        full = os.path.abspath(retrain)
        shown_path = os.path.relpath(full, root) if root and full.startswith(os.path.abspath(root) + os.sep) else full
        policy.update(level="auto" if approval == "auto" else "approval", notebook=shown_path,
                      notebook_digest=_file_digest(full), data_parameter=data_parameter)
    return policy


def describe(policy: dict[str, Any]) -> str:
    """One sentence for a policy.

    Example:
        >>> describe({"on": "alert", "level": "notify", "max_age_days": None})
        'on alert: notify'
    """
    if not policy:
        return "no retraining policy (alerts go to the notifiers)"
    parts = [f"on {policy['on']}: "]
    if policy["level"] == "notify":
        parts.append("notify")
    else:
        then = "wait for approval" if policy["level"] == "approval" else "promote if the gates pass"
        parts.append(f"retrain with {policy['notebook']} ({policy['data_parameter']}=<new data>), then {then}")
    if policy.get("max_age_days"):
        parts.append(f"; also when the model is older than {policy['max_age_days']:g} days")
    return "".join(parts)


def model_age_days(model_ref: str, store: Store) -> float:
    """Days since the model version that ``model_ref`` points to was registered.

    Example:
        >>> round(model_age_days("churn@production", store))  # doctest: +SKIP
        41
    """
    from .registry.versions import resolve_version

    return (time.time() - float(resolve_version(model_ref, store=store).created_at)) / 86_400


def _jobs_available() -> bool:
    return importlib.util.find_spec("nbmlops.jobs") is not None


def _retrain(policy: dict[str, Any], why: str, data_ref: str) -> dict[str, Any]:
    parameter = policy["data_parameter"]
    by_hand = f"mlops job run {policy['notebook']} -p {parameter} {data_ref}"
    then = ("register the result as a challenger and wait for a human approval" if policy["level"] == "approval"
            else "register the result and promote it if the model's gates pass")
    if _jobs_available():
        pending = "launching jobs from a monitor check is not enabled in this version"
    else:
        pending = "this installation has no jobs service to run notebooks"
    return {"action": "retrain", "status": "pending", "notebook": policy["notebook"],
            "parameters": {parameter: data_ref}, "level": policy["level"],
            "reason": f"{why}: retrain with {policy['notebook']}, then {then}; pending because {pending} "
                      f"(to retrain now: {by_hand})"}


def respond(policy: dict[str, Any], status: str, *, data_ref: str, model_ref: str | None,
            store: Store) -> tuple[list[dict[str, str]], list[dict[str, Any]], bool]:
    """What the policy does for a check: extra reasons (the age trigger), retraining actions with their
    reasons, and whether the notifiers are told (always on ALERT, and whenever the policy triggers).

    Example:
        >>> reasons, actions, notify = respond(policy, "ALERT", data_ref="loans@4", model_ref="churn@production",
        ...                                    store=store)  # doctest: +SKIP
        >>> actions[0]["status"]  # doctest: +SKIP
        'pending'
    """
    reasons: list[dict[str, str]] = []
    actions: list[dict[str, Any]] = []
    triggered = []
    if status != "OK" and RANK[status] >= RANK[str(policy.get("on", "alert")).upper()]:
        triggered.append(f"status {status}")
    limit = policy.get("max_age_days")
    if limit and model_ref:
        try:
            age = model_age_days(model_ref, store)
        except MlopsError as e:
            reasons.append({"level": "WARN", "text": f"model age not checked: {e}"})
        else:
            if age > limit:
                text = f"{model_ref} is {age:.0f} days old, older than the {limit:g}-day limit of the policy"
                reasons.append({"level": "WARN", "text": text})
                triggered.append(f"model older than {limit:g} days")
    elif limit:
        reasons.append({"level": "WARN", "text": "model age not checked: the monitor names no model"})
    if triggered and policy.get("level", "notify") != "notify":
        actions.append(_retrain(policy, " and ".join(triggered), data_ref))
    return reasons, actions, bool(triggered) or status == "ALERT"
