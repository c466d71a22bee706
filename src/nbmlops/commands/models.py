"""``mlops model ...`` / ``%mlops model ...``: register, inspect, gate, promote and approve models.

In a notebook MODEL names a variable holding a fitted model; on the command
line it is a saved model file (.skops, .joblib, .pkl) or, with --run, the name
of an artifact of that run.
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import InvalidInput
from ..modelstore.versions import load_version, save_version
from ..refs import parse_ref
from ..result import Message, Result
from . import Group, resolve, session


@click.group(cls=Group)
def model() -> None:
    """The model registry: versions with their data, code and metrics; aliases; gates; approvals;
    cards.

    References read churn@3 (a version), churn@latest (or churn) and
    churn@production (an alias).
    """


@model.command()
@click.argument("model_name", metavar="MODEL")
@click.option("--name", "-n", required=True, help="The registered model's name, e.g. churn.")
@click.option(
    "--run", "-r", metavar="RUN", help="Source run (id or prefix; default: the active run)."
)
@click.option(
    "--example",
    "-e",
    metavar="X",
    help="Training rows for the signature (variable, CSV/Parquet or dataset).",
)
@click.option(
    "--description", "-d", default="", help="What the model is for (shown in the model card)."
)
@click.option("--alias", "-a", help="Also point this alias at the new version (e.g. challenger).")
def register(
    model_name: str,
    name: str,
    run: str | None,
    example: str | None,
    description: str,
    alias: str | None,
) -> Result:
    """Register a model as the next version of NAME: artifact, signature, metrics, params, data
    versions, code."""
    from ..evaluate.inputs import load_table  # lazy: imports numpy
    from ..registry import register as do_register  # lazy: imports numpy

    rows = load_table(resolve(example), example).frame if example else None
    return do_register(
        resolve(model_name), name, run=run, example=rows, description=description, alias=alias
    )


@model.command("list")
def list_() -> Result:
    """List registered models with their versions and aliases."""
    from ..registry import list_models  # lazy: imports numpy

    return list_models()


@model.command()
@click.argument("ref")
def show(ref: str) -> Result:
    """Show a model (churn) or one version in full (churn@3, churn@production): format,
    signature, data, gates."""
    from ..registry import show as do_show  # lazy: imports numpy

    return do_show(ref)


@model.command()
@click.argument("ref")
@click.argument("alias")
@click.option("--remove", is_flag=True, help="Remove ALIAS from the model named by REF instead.")
def alias(ref: str, alias: str, remove: bool) -> Result:
    """Point a free alias (challenger, candidate, ...) at a version; production and champion go
    through promote."""
    from ..registry import remove_alias, set_alias  # lazy: imports numpy

    if remove:
        return remove_alias(parse_ref(ref, "model").name, alias)
    return set_alias(ref, alias)


@model.command()
@click.argument("name")
@click.option(
    "--require",
    "-r",
    multiple=True,
    metavar="GATE",
    help='A condition such as "accuracy>=0.85" or "p95_latency_ms<=20" (repeatable; replaces '
    "the set).",
)
@click.option(
    "--approval/--no-approval",
    default=None,
    help="Whether a second person must approve promotions.",
)
@click.option("--clear", is_flag=True, help="Remove every gate.")
def gate(name: str, require: tuple[str, ...], approval: bool | None, clear: bool) -> Result:
    """Set (or show) the gates a version of NAME must pass to be promoted, and whether approval
    is required."""
    from ..registry import gate as set_gate  # lazy: imports numpy

    if clear and require:
        raise InvalidInput("Use --clear alone, or --require to replace the gates, not both.")
    return set_gate(name, require=list(require), approval=approval, clear=clear)


@model.command()
@click.argument("ref")
@click.option(
    "--to", "alias", default=None, help="The alias the check is for (shown in the report)."
)
def check(ref: str, alias: str | None) -> Result:
    """Check the gates against a version without promoting it (the check is recorded)."""
    from ..registry import check_gates  # lazy: imports numpy

    return check_gates(ref, alias=alias)


def _transition_options(fn: Any) -> Any:
    fn = click.option("--note", default="", help="Why; kept in the stage history.")(fn)
    fn = click.option(
        "--to", "alias", required=True, help="The alias, e.g. production or champion."
    )(fn)
    return click.argument("ref")(fn)


@model.command()
@_transition_options
def promote(ref: str, alias: str, note: str) -> Result:
    """Promote a version to an alias if its gates pass; refused with the failing gate named."""
    from ..registry import promote as do_promote  # lazy: imports numpy

    return do_promote(ref, to=alias, note=note)


@model.command()
@_transition_options
def approve(ref: str, alias: str, note: str) -> Result:
    """Approve a pending promotion (someone other than its requester)."""
    from ..registry import approve as do_approve  # lazy: imports numpy

    return do_approve(ref, to=alias, note=note)


@model.command()
@_transition_options
def reject(ref: str, alias: str, note: str) -> Result:
    """Reject a pending promotion (or withdraw your own request)."""
    from ..registry import reject as do_reject  # lazy: imports numpy

    return do_reject(ref, to=alias, note=note)


@model.command()
@click.argument("ref")
def history(ref: str) -> Result:
    """Show the stage history: every alias move, request, approval and refusal."""
    from ..registry import history as do_history  # lazy: imports numpy

    return do_history(ref)


@model.command()
@click.argument("ref")
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False), help="Write the card to a .md or .html file."
)
@click.option("--markdown", is_flag=True, help="Print the card as Markdown.")
def card(ref: str, out: str | None, markdown: bool) -> Result:
    """The model card of a version, filled from what is stored (HTML in notebooks, Markdown with
    --markdown)."""
    from ..registry import card as make_card  # lazy: imports numpy

    result = make_card(ref, out=out, markdown=markdown)
    if out:
        return Message(f"Wrote the model card of {result.version.ref} to {out}.", "ok")
    return result


@model.command()
@click.argument("a")
@click.argument("b")
@click.option(
    "--data",
    "-d",
    "data",
    required=True,
    metavar="X",
    help="Rows to evaluate both on (variable, CSV/Parquet file or dataset reference such as "
    "loans@latest).",
)
@click.option(
    "--target",
    "-t",
    metavar="COLUMN",
    help="The label column of the data (or a variable of labels).",
)
@click.option(
    "--sensitive", "-s", metavar="COLUMNS", help="Also compare fairness across these columns."
)
@click.option(
    "--positive",
    metavar="LABEL",
    help="The favourable label (needed unless labels are 0/1 or -1/1).",
)
def compare(
    a: str, b: str, data: str, target: str | None, sensitive: str | None, positive: str | None
) -> Result:
    """Evaluate two models on the same data and show the differences (champion vs challenger)."""
    from ..registry import compare as do_compare  # lazy: imports numpy

    return do_compare(
        resolve(a),
        resolve(b),
        data=resolve(data),
        target=resolve(target) if target else None,
        sensitive=sensitive,
        positive=positive,
        labels=(a, b, data, target or "y"),
    )


@model.command()
@click.argument("ref")
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False), help="Write the verified artifact to this file."
)
@click.option(
    "--as", "variable", metavar="NAME", help="In a notebook: load the model into this variable."
)
@click.option(
    "--trust",
    multiple=True,
    metavar="TYPE",
    help="A type to trust beyond scikit-learn/NumPy/SciPy.",
)
def load(ref: str, out: str | None, variable: str | None, trust: tuple[str, ...]) -> Result:
    """Load a version after checking its digest: into a notebook variable (--as) or to a file
    (--out)."""

    s = session()
    if variable is not None:
        if not s.in_notebook:
            raise InvalidInput("--as works in a notebook; on the command line use --out FILE.")
        if not variable.isidentifier():
            raise InvalidInput(f"{variable!r} is not a valid variable name.")
        loaded = load_version(ref, trusted=list(trust))
        assert s.namespace is not None
        s.namespace[variable] = loaded.model
        return Message(
            f"Loaded {loaded.ref} into `{variable}` ({type(loaded.model).__name__}, digest "
            "verified).",
            "ok",
        )
    if out is None:
        raise InvalidInput("Say where the model goes: --out FILE (or --as NAME in a notebook).")
    return save_version(ref, out)
