"""Every reference from the metadata to stored content, in one registry.

``mlops fsck`` checks each reference and ``mlops gc`` keeps everything they
reach, so both stay right as concepts are added. A concept whose rows point at
objects adds ONE entry to :data:`REFERENCE_KINDS`, usually a :func:`column`::

    column("model artifact", model_versions.c.artifact, "model version #{id}", model_versions.c.id),
    column("dataset manifest", dataset_versions.c.manifest, "dataset version #{id}",
           dataset_versions.c.id, follow="nbmlops.data:manifest_references"),

``follow`` names a function ``(bytes) -> iterable of (digest, what)``: fsck and
gc load the referenced object (its digest checked first) and follow what it
references in turn (a manifest's chunks), so those objects are checked and kept
too. A follow function raises ``ValueError`` (or ``KeyError``/``TypeError``)
when the object cannot be read; fsck reports it and gc refuses to delete
anything, because what the object references is then unknown.

A find function that meets a row it cannot read (a context that is not JSON)
yields ``(UNKNOWN, what)``: fsck reports it and gc refuses to delete anything.

Targets: ``"object"`` (the object store) or ``"package_set"`` (a row of
``package_sets``, whose digest is re-hashed from its package list).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Column, Connection, select

from ..store.meta import artifacts, dataset_versions, evaluations, jobs, model_versions, runs

TARGETS = ("object", "package_set")
UNKNOWN = ""  # the digest yielded for a reference whose row cannot be read
Follow = Callable[[bytes], Iterable[tuple[str, str]]]


@dataclasses.dataclass(frozen=True)
class ReferenceKind:
    """One way the metadata names stored content: a name, how to find them, and what they point
    into.

    Example:
        >>> kind = column("artifact", artifacts.c.digest, "artifact {name!r} of run {run_id:.8}",
        ...               artifacts.c.name, artifacts.c.run_id)
        >>> kind.target
        'object'
    """

    name: str
    find: Callable[[Connection], Iterable[tuple[str, str]]]  # yields (digest, what refers to it)
    target: str = "object"
    follow: str | Follow | None = None  # "module:function" (imported on first use) or the function

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"reference target must be one of {TARGETS}, not {self.target!r}")

    def follower(self) -> Follow | None:
        """The follow function, imported on first use."""
        if self.follow is None or callable(self.follow):
            return self.follow
        module, _, attr = self.follow.partition(":")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def column(
    name: str,
    digest_column: Column[Any],
    describe: str,
    *columns: Column[Any],
    target: str = "object",
    follow: str | Follow | None = None,
) -> ReferenceKind:
    """A reference kind for a table column holding digests; ``describe`` formats each row.

    Example:
        >>> column("evaluation report", evaluations.c.report, "evaluation #{id} ({kind})",
        ...        evaluations.c.id, evaluations.c.kind).name
        'evaluation report'
    """

    def find(conn: Connection) -> Iterator[tuple[str, str]]:
        query = select(digest_column.label("_digest"), *columns).where(digest_column.is_not(None))
        for row in conn.execute(query):
            yield row._digest, describe.format(**row._mapping)

    return ReferenceKind(name, find, target, follow)


def _contexts(conn: Connection) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """``(run id, context)``; ``None`` for a context that is not a JSON object."""
    for run_id, text in conn.execute(
        select(runs.c.id, runs.c.context).where(runs.c.context.is_not(None))
    ):
        try:
            context = json.loads(text)
        except ValueError:
            context = None
        yield run_id, context if isinstance(context, dict) else None


def _context_objects(conn: Connection) -> Iterator[tuple[str, str]]:
    """The notebook snapshot, executed-cells history and git diff a run's context names."""
    for run_id, ctx in _contexts(conn):
        if ctx is None:
            yield UNKNOWN, f"context of run {run_id[:8]} (not a JSON object)"
            continue
        for label, digest in (
            ("notebook snapshot", (ctx.get("notebook") or {}).get("digest")),
            ("executed cells", (ctx.get("history") or {}).get("digest")),
            ("git diff", (ctx.get("git") or {}).get("diff_digest")),
        ):
            if digest is not None:
                yield str(digest), f"{label} of run {run_id[:8]}"


def _context_package_sets(conn: Connection) -> Iterator[tuple[str, str]]:
    for run_id, ctx in _contexts(conn):
        if ctx is None:
            continue  # reported once, by the run context kind
        digest = (ctx.get("packages") or {}).get("digest")
        if digest is not None:
            yield str(digest), f"package set of run {run_id[:8]}"


REFERENCE_KINDS: list[ReferenceKind] = [
    column(
        "artifact",
        artifacts.c.digest,
        "artifact {name!r} of run {run_id:.8}",
        artifacts.c.name,
        artifacts.c.run_id,
    ),
    column(
        "evaluation report",
        evaluations.c.report,
        "evaluation #{id} ({kind})",
        evaluations.c.id,
        evaluations.c.kind,
    ),
    ReferenceKind("run context", _context_objects),
    ReferenceKind("package set", _context_package_sets, target="package_set"),
    column("model artifact", model_versions.c.artifact, "model version #{id}", model_versions.c.id),
    column(
        "dataset manifest",
        dataset_versions.c.manifest,
        "dataset version #{id}",
        dataset_versions.c.id,
        follow="nbmlops.data:manifest_references",
    ),
    column("job notebook", jobs.c.notebook_digest, "notebook of job {run_id:.8}", jobs.c.run_id),
    column(
        "job output", jobs.c.output_digest, "executed notebook of job {run_id:.8}", jobs.c.run_id
    ),
]


def register(kind: ReferenceKind) -> ReferenceKind:
    """Add a reference kind (replacing one of the same name); returns it.

    Example:
        >>> register(column("model artifact", model_versions.c.artifact, "model version #{id}",
        ...                 model_versions.c.id))  # doctest: +SKIP
    """
    REFERENCE_KINDS[:] = [k for k in REFERENCE_KINDS if k.name != kind.name]
    REFERENCE_KINDS.append(kind)
    return kind


def unregister(name: str) -> None:
    """Remove the reference kind called ``name`` (tests that register their own)."""
    REFERENCE_KINDS[:] = [k for k in REFERENCE_KINDS if k.name != name]
