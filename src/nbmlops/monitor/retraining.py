"""Retraining policies: what a monitor does about an alert, and how much of it is automatic.

Three levels: ``notify`` (the alert goes to the notifiers, a human decides),
``approval`` (on a trigger, run the retraining notebook as a job with the new
data as a parameter, register the result as a challenger and wait for a human
to approve its promotion), ``auto`` (the same, and promote when the model's
gates pass). Triggers: the monitor's status (``--on alert`` or ``--on warn``)
and the age of the production model (``--max-age 30d``).

:func:`respond` is the one place a monitor check asks what to do; every action it
decides is returned with its reason and stored with the check result.
:func:`carry_out` then does it, after the check is recorded and the notifiers are
told: the notebook runs as a job (synchronously, with its progress shown) with
the new data version or file as its data parameter, the version it registers
becomes the ``challenger``, and a promotion to the alias the monitor watches is
requested (``approval``) or made when the gates pass (``auto``). Each step is
written back to the check's actions and audited as ``monitor.retrain``. No second
retraining starts while an earlier one runs or its challenger awaits approval.

Data held only in the notebook's memory cannot reach a job's kernel: such an
action stays *pending*, with the command that retrains by hand once the data is
committed as a version.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import time
from typing import TYPE_CHECKING, Any

from ..errors import GateFailed, InvalidInput, MlopsError, NotFound
from ..jobs import run_job
from ..modelstore.versions import resolve_version
from ..refs import parse_ref
from ..store.meta import model_versions, models, monitor_results, runs, tags
from ..tracking.reading import reap_dead_runs

if TYPE_CHECKING:
    from ..store import Store

LEVELS = ("notify", "approval", "auto")
TRIGGERS = ("alert", "warn")
RANK = {"OK": 0, "WARN": 1, "ALERT": 2}
PARAMETERS_TAG = "parameters"
CHECK_TAG = "monitor_check"  # on a retraining job's run: the monitor result that launched it


def parameters_cell_names(path: str) -> set[str]:
    """The names assigned in the notebook's ``parameters`` cell, or one sentence saying why it
    cannot be used.

    Example:
        >>> sorted(parameters_cell_names("notebooks/retrain.ipynb"))  # doctest: +SKIP
        ['data', 'n_estimators']
    """
    import nbformat  # lazy: start-up time

    if not os.path.isfile(path):
        raise NotFound(f"No notebook named {path!r}.")
    try:
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    except Exception as e:  # noqa: BLE001 - nbformat raises several types for broken files
        raise InvalidInput(
            f"{path} is not a readable notebook ({str(e).splitlines()[0][:120]})."
        ) from None
    cells = [c for c in nb.cells if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise InvalidInput(
            f"{path} has no cell tagged 'parameters', so the new data cannot be passed in; tag "
            "the cell "
            "that sets the defaults with 'parameters' (papermill's convention)."
        )
    names: set[str] = set()
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as e:
        raise InvalidInput(
            f"The parameters cell of {path} is not valid Python (line {e.lineno})."
        ) from None
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def file_digest(path: str) -> str:
    import blake3  # lazy: start-up time

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
        raise InvalidInput(
            f"--max-age {text!r} is not understood; write a number of days such as 30d (or "
            "weeks: 4w)."
        ) from None
    if not days > 0:
        raise InvalidInput(f"--max-age must be more than 0 days, not {text!r}.")
    return days


def define(
    *,
    on: str = "alert",
    retrain: str | None = None,
    approval: str | None = None,
    max_age: str | None = None,
    data_parameter: str = "data",
    root: str | None = None,
) -> dict[str, Any]:
    """A validated policy: the trigger, the level, the retraining notebook and its data parameter.

    Example:
        >>> define(on="alert", retrain="notebooks/retrain.ipynb",
        ...        approval="required")["level"]  # doctest: +SKIP
        'approval'
    """
    if on not in TRIGGERS:
        raise InvalidInput(f"--on {on!r} is not a trigger; use alert or warn.")
    if approval is not None and approval not in ("required", "auto"):
        raise InvalidInput(
            f"--approval {approval!r} is not understood; use required (a human approves) or auto "
            "(promote when the gates pass)."
        )
    if approval is not None and retrain is None:
        raise InvalidInput(
            "--approval only applies with --retrain NOTEBOOK (the notebook that retrains the "
            "model)."
        )
    policy: dict[str, Any] = {"on": on, "level": "notify", "max_age_days": parse_age(max_age)}
    if retrain is not None:
        if not data_parameter.isidentifier():
            raise InvalidInput(f"--data-parameter {data_parameter!r} is not a Python name.")
        names = parameters_cell_names(retrain)
        if data_parameter not in names:
            shown = ", ".join(sorted(names)) or "nothing"
            raise InvalidInput(
                f"The parameters cell of {retrain} does not set {data_parameter!r} (it sets "
                f"{shown}); add "
                f"`{data_parameter} = None` there or name another one with --data-parameter."
            )
        full = os.path.abspath(retrain)
        shown_path = (
            os.path.relpath(full, root)
            if root and full.startswith(os.path.abspath(root) + os.sep)
            else full
        )
        policy.update(
            level="auto" if approval == "auto" else "approval",
            notebook=shown_path,
            notebook_digest=file_digest(full),
            data_parameter=data_parameter,
        )
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
        parts.append(
            f"retrain with {policy['notebook']} ({policy['data_parameter']}=<new data>), then "
            f"{then}"
        )
    if policy.get("max_age_days"):
        parts.append(f"; also when the model is older than {policy['max_age_days']:g} days")
    return "".join(parts)


def model_age_days(model_ref: str, store: Store) -> float:
    """Days since the model version that ``model_ref`` points to was registered.

    Example:
        >>> round(model_age_days("churn@production", store))  # doctest: +SKIP
        41
    """

    return (time.time() - float(resolve_version(model_ref, store=store).created_at)) / 86_400


def _jobs_available() -> bool:
    return importlib.util.find_spec("nbmlops.jobs") is not None


def _retrain(policy: dict[str, Any], why: str, data_ref: str, runnable: bool) -> dict[str, Any]:
    parameter = policy["data_parameter"]
    by_hand = f"mlops job run {policy['notebook']} -p {parameter} {data_ref}"
    then = (
        "register the result as a challenger and wait for a human approval"
        if policy["level"] == "approval"
        else "register the result and promote it if the model's gates pass"
    )
    action = {
        "action": "retrain",
        "status": "queued",
        "notebook": policy["notebook"],
        "parameters": {parameter: data_ref},
        "level": policy["level"],
        "trigger": why,
        "reason": f"{why}: retrain with {policy['notebook']}, then {then}",
    }
    if not _jobs_available():
        pending = "this installation has no jobs service to run notebooks"
    elif not runnable:
        pending = (
            f"{data_ref} is data in this process's memory, which a job cannot read; commit it as "
            "a dataset "
            "version (or save it to a file) and check that"
        )
    else:
        return action
    action.update(
        status="pending",
        reason=f"{action['reason']}; pending because {pending} (to retrain by hand: "
        f"{by_hand} with the version or file)",
    )
    return action


def respond(
    policy: dict[str, Any],
    status: str,
    *,
    data_ref: str,
    model_ref: str | None,
    store: Store,
    runnable: bool = True,
) -> tuple[list[dict[str, str]], list[dict[str, Any]], bool]:
    """What the policy does for a check: extra reasons (the age trigger), retraining actions with
    their
    reasons, and whether the notifiers are told (always on ALERT, and whenever the policy triggers).

    ``runnable`` says whether ``data_ref`` is something a job can read (a dataset
    version or a file); a retraining action is ``queued`` for :func:`carry_out`, or
    ``pending`` with the reason it cannot run.

    Example:
        >>> reasons, actions, notify = respond(policy, "ALERT", data_ref="loans@4",
        ...                                    model_ref="churn@production",
        ...                                    store=store)  # doctest: +SKIP
        >>> actions[0]["status"]  # doctest: +SKIP
        'queued'
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
                text = (
                    f"{model_ref} is {age:.0f} days old, older than the {limit:g}-day limit "
                    "of the policy"
                )
                reasons.append({"level": "WARN", "text": text})
                triggered.append(f"model older than {limit:g} days")
    elif limit:
        reasons.append(
            {"level": "WARN", "text": "model age not checked: the monitor names no model"}
        )
    if triggered and policy.get("level", "notify") != "notify":
        actions.append(_retrain(policy, " and ".join(triggered), data_ref, runnable))
    return reasons, actions, bool(triggered) or status == "ALERT"


def _alias_of(model_ref: str | None) -> str | None:
    """The alias a monitor watches (``churn@production`` -> ``production``); None for a fixed
    version."""

    if not model_ref:
        return None
    selector = parse_ref(model_ref, "model").selector
    return selector if selector and not selector.isdigit() and selector != "latest" else None


def _in_flight(monitor_id: int, store: Store) -> str | None:
    """Why an earlier retraining of this monitor is not finished yet, or None."""
    from sqlalchemy import select  # lazy: start-up time

    from ..registry.promotion import awaiting_approval  # lazy: imports numpy

    reap_dead_runs(store)  # a check killed mid-job leaves its job RUNNING until reaped
    with store.read() as conn:
        rows = conn.execute(
            select(monitor_results.c.id, monitor_results.c.actions)
            .where(monitor_results.c.monitor_id == monitor_id)
            .order_by(monitor_results.c.id.desc())
            .limit(50)
        ).all()
        for row in rows:
            for action in json.loads(row.actions):
                if action.get("action") != "retrain":
                    continue
                if action.get("status") == "running":
                    job = conn.execute(
                        select(runs.c.id)
                        .join(tags, tags.c.run_id == runs.c.id)
                        .where(
                            tags.c.key == CHECK_TAG,
                            tags.c.value == str(row.id),
                            runs.c.status == "RUNNING",
                        )
                    ).scalar()
                    if job is not None:
                        return f"the retraining job {job[:8]} from check #{row.id} is still running"
                if action.get("status") == "awaiting approval" and awaiting_approval(
                    conn, action["challenger"], action["alias"]
                ):
                    return (
                        f"{action['challenger']} from the retraining of check #{row.id} still "
                        "awaits approval "
                        f"to become {action['alias']}"
                    )
    return None


def _registered_by(run_id: str, model_name: str, store: Store) -> str | None:
    from sqlalchemy import select  # lazy: start-up time

    with store.read() as conn:
        version = conn.execute(
            select(model_versions.c.version)
            .join(models, models.c.id == model_versions.c.model_id)
            .where(model_versions.c.run_id == run_id, models.c.name == model_name)
            .order_by(model_versions.c.version.desc())
        ).scalar()
    return None if version is None else f"{model_name}@{version}"


def _run_retraining(
    action: dict[str, Any],
    policy: dict[str, Any],
    *,
    monitor: str,
    check_id: int,
    model_ref: str | None,
    record: Any,
    store: Store,
) -> dict[str, Any]:
    from ..registry import promote, set_alias  # lazy: imports numpy

    notebook = os.path.join(str(store.workspace.root), policy["notebook"])
    parameters = dict(action["parameters"])
    model_name = parse_ref(model_ref, "model").name if model_ref else None
    if model_name and "model_name" in parameters_cell_names(notebook):
        parameters["model_name"] = model_name
    changed = file_digest(notebook) != policy.get("notebook_digest")
    record(
        {
            "status": "running",
            "parameters": parameters,
            **({"notebook_changed": True} if changed else {}),
        }
    )
    job = run_job(
        notebook,
        parameters,
        name=f"retrain {model_name or monitor}",
        store=store,
        tags={"monitor": monitor, CHECK_TAG: str(check_id), "trigger": action["trigger"]},
    )
    if job.status != "FINISHED":
        where = f" in cell {job.error_cell}" if job.error_cell is not None else ""
        return {
            "status": "failed",
            "run_id": job.run_id,
            "outcome": f"the retraining job {job.run_id[:8]} {job.status.lower()}{where}: "
            f"{job.error}",
        }
    if model_name is None:
        return {
            "status": "finished",
            "run_id": job.run_id,
            "outcome": f"the retraining job {job.run_id[:8]} finished; the monitor names no "
            "model to update",
        }
    challenger = _registered_by(job.run_id, model_name, store)
    if challenger is None:
        return {
            "status": "failed",
            "run_id": job.run_id,
            "outcome": f"the retraining job {job.run_id[:8]} finished but registered no version "
            f"of {model_name}; "
            f"call mo.models.register(model, {model_name!r}) in {policy['notebook']}",
        }
    set_alias(challenger, "challenger", store=store)
    done = {"run_id": job.run_id, "challenger": challenger, "metrics": job.metrics}
    alias = _alias_of(model_ref)
    if alias is None:
        return {
            **done,
            "status": "registered",
            "outcome": f"{challenger} is the challenger; {model_ref} is a fixed version, so "
            "nothing is promoted",
        }
    note = f"retraining by monitor {monitor}: {action['trigger']}"
    try:
        message = promote(
            challenger,
            to=alias,
            note=note,
            approval=True if policy["level"] == "approval" else None,
            store=store,
        )
    except GateFailed as e:
        return {
            **done,
            "alias": alias,
            "status": "gates failed",
            "outcome": f"{challenger} is the challenger; {e}",
        }
    waiting = "awaits approval" in message.text
    return {
        **done,
        "alias": alias,
        "status": "awaiting approval" if waiting else "promoted",
        "outcome": f"{challenger} is the challenger; {message.text}",
    }


def carry_out(
    actions: list[dict[str, Any]],
    policy: dict[str, Any],
    *,
    monitor: str,
    monitor_id: int,
    result_id: int,
    model_ref: str | None,
    store: Store,
) -> list[dict[str, Any]]:
    """Run the queued retraining actions of a check; each step is stored in the check's actions and
    audited.

    A failure of the retraining (the notebook fails, registers nothing, the gates
    refuse) is an outcome recorded with its reason, not an error of the check.

    Example:
        >>> carry_out(result.actions, policy, monitor="churn-prod", monitor_id=1, result_id=7,
        ...           model_ref="churn@production", store=store)[0]["status"]  # doctest: +SKIP
        'awaiting approval'
    """
    from sqlalchemy import select, update  # lazy: start-up time

    def record(index: int, changes: dict[str, Any], audited: bool = False) -> None:
        actions[index].update(changes)
        with store.write() as conn:
            stored = json.loads(
                conn.execute(
                    select(monitor_results.c.actions).where(monitor_results.c.id == result_id)
                ).scalar_one()
            )
            retrains = [i for i, a in enumerate(stored) if a.get("action") == "retrain"]
            mine = [i for i, a in enumerate(actions) if a.get("action") == "retrain"].index(index)
            stored[retrains[mine]] = actions[index]
            conn.execute(
                update(monitor_results)
                .where(monitor_results.c.id == result_id)
                .values(actions=json.dumps(stored, default=str))
            )
            if audited:
                store.audit(
                    conn,
                    "monitor.retrain",
                    "monitor",
                    str(monitor_id),
                    name=monitor,
                    result_id=result_id,
                    **{k: v for k, v in actions[index].items() if k not in ("action", "reason")},
                )

    for index, action in enumerate(actions):
        if action.get("action") != "retrain" or action.get("status") != "queued":
            continue
        busy = _in_flight(monitor_id, store)
        if busy is not None:
            record(index, {"status": "skipped", "outcome": f"not started: {busy}"}, audited=True)
            continue
        try:
            outcome = _run_retraining(
                action,
                policy,
                monitor=monitor,
                check_id=result_id,
                model_ref=model_ref,
                record=lambda changes, i=index: record(i, changes),
                store=store,
            )
        except MlopsError as e:
            outcome = {"status": "failed", "outcome": f"the retraining could not start: {e}"}
        except BaseException:
            record(
                index,
                {"status": "failed", "outcome": "the retraining was interrupted"},
                audited=True,
            )
            raise
        record(index, outcome, audited=True)
    return actions
