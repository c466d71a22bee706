"""``mlops fsck`` and ``mlops gc``: prove the store is whole, and collect its garbage safely.

fsck re-hashes every object, follows every reference the metadata makes (the
registry in ``reachability.py``: artifacts, evaluation reports, run context
snapshots, package sets, and whatever later concepts add), re-hashes package
sets and verifies the audit chain. Each problem names what it affects.

gc removes objects nothing references that are older than a grace period, and
temporary files left by killed writers. Objects are written before the rows
that reference them, so a young unreferenced object may belong to a commit in
flight: the grace period keeps it, and a commit that reuses an old object
freshens it first (see ``store/objects.py``), so gc never removes an object a
concurrent commit is about to reference. gc refuses to delete anything when a
reference cannot be read (what it points at is then unknown).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import blake3
from sqlalchemy import Connection, select

from ..errors import IntegrityError, MlopsError, NotFound, PermissionDenied
from ..result import Block, Fields, Heading, Note, Result, Table, fmt_bytes, fmt_duration
from ..store.audit_chain import verify as verify_chain
from ..store.meta import package_sets
from ..store.objects import check_digest
from ..timespec import parse_duration
from ..verdict import Finding, Verdict
from ..workspace import open_current
from .reachability import REFERENCE_KINDS, UNKNOWN, ReferenceKind

if TYPE_CHECKING:
    from ..store import Store

DEFAULT_GRACE = "24h"
PROGRESS_FROM = 200  # objects; smaller stores finish before a bar would help
GC_EVENT_DIGESTS = 1000  # digests listed in the gc audit event


@dataclasses.dataclass
class Problem:
    """One thing wrong: what, which object or event, and everything it affects."""

    problem: str
    subject: str
    affected: list[str]
    detail: str = ""


@dataclasses.dataclass
class _Ref:
    kind: ReferenceKind
    digest: str
    what: str


def _references(conn: Connection) -> Iterator[_Ref]:
    for kind in REFERENCE_KINDS:
        for digest, what in kind.find(conn):
            yield _Ref(kind, digest, what)


def _follow(store: Store, ref: _Ref) -> list[_Ref]:
    """What an object such as a manifest references in turn; raises MlopsError/ValueError when
    unreadable."""
    follow = ref.kind.follower()
    if follow is None:
        return []
    data = store.objects.get(ref.digest, verify=True)
    child = dataclasses.replace(ref.kind, name=f"{ref.kind.name} entry", follow=None)
    return [_Ref(child, str(d), f"{what} in {ref.what}") for d, what in follow(data)]


def _valid(digest: str) -> bool:
    try:
        check_digest(digest)
        return True
    except MlopsError:
        return False


def _package_sets(conn: Connection) -> tuple[set[str], set[str]]:
    """Digests of package sets whose list re-hashes to their name, and of those that do not."""
    good, bad = set(), set()
    for digest, text in conn.execute(select(package_sets.c.digest, package_sets.c.packages)):
        try:
            names = json.loads(text)
            ok = blake3.blake3("\n".join(names).encode()).hexdigest() == digest
        except (ValueError, TypeError):
            ok = False
        (good if ok else bad).add(digest)
    return good, bad


def _progress(total: int, desc: str):  # type: ignore[no-untyped-def]
    from tqdm.auto import tqdm  # lazy: start-up time

    return tqdm(total=total, desc=desc, unit="obj", leave=False, disable=total < PROGRESS_FROM)


def _rehash(store: Store, digests: list[str]) -> tuple[set[str], set[str]]:
    """``(corrupt, vanished)`` among ``digests``, re-hashed in parallel."""

    def check(digest: str) -> str:
        try:
            return "ok" if store.objects.verify(digest) else "corrupt"
        except (NotFound, FileNotFoundError):
            return "vanished"  # removed while we looked (a concurrent gc)

    corrupt, vanished = set(), set()
    with (
        ThreadPoolExecutor(max_workers=2 if store.objects.local else 8) as pool,
        _progress(len(digests), "re-hashing objects") as bar,
    ):
        for digest, verdict in zip(digests, pool.map(check, digests), strict=True):
            if verdict == "corrupt":
                corrupt.add(digest)
            elif verdict == "vanished":
                vanished.add(digest)
            bar.update(1)
    return corrupt, vanished


# ---------------------------------------------------------------- fsck


@dataclasses.dataclass(repr=False)
class FsckReport(Verdict):
    """What ``mlops fsck`` checked and every problem it found."""

    objects: int
    bytes: int
    rehashed: bool
    references: dict[str, int]
    problems: list[Problem]
    unreferenced: int
    unreferenced_bytes: int
    temporaries: int
    audit_events: int
    seconds: float

    @property
    def findings(self) -> list[Finding]:
        return [
            Finding(
                p.problem, p.subject, "; ".join(filter(None, [", ".join(p.affected), p.detail]))
            )
            for p in self.problems
        ]

    def blocks(self) -> list[Block]:
        checked = "re-hashed" if self.rehashed else "listed (not re-hashed: --quick)"
        out: list[Block] = [Heading("Store check (fsck)")]
        if self.passed:
            out.append(
                Note(
                    f"No damage: {self.objects} objects {checked}, {sum(self.references.values())} "
                    f"references resolved, audit chain of {self.audit_events} events intact.",
                    "ok",
                )
            )
        else:
            out.append(
                Note(
                    f"{len(self.problems)} problem(s) found; the table says what each one affects.",
                    "alert",
                )
            )
            rows = [
                [
                    p.problem,
                    p.subject,
                    "; ".join(p.affected[:5])
                    + (f" and {len(p.affected) - 5} more" if len(p.affected) > 5 else ""),
                    p.detail,
                ]
                for p in self.problems
            ]
            out.append(
                Table(
                    ["problem", "object / event", "affects", "detail"],
                    rows,
                    marked_rows=set(range(len(rows))),
                )
            )
        out.append(
            Fields(
                [
                    ("objects", f"{self.objects} ({fmt_bytes(self.bytes)}), {checked}"),
                    *((f"{kind} references", n) for kind, n in self.references.items()),
                    (
                        "unreferenced objects",
                        f"{self.unreferenced} ({fmt_bytes(self.unreferenced_bytes)}), for mlops gc",
                    ),
                    (
                        "temporary files",
                        f"{self.temporaries} (in progress or left by killed writers)",
                    ),
                    ("audit events", self.audit_events),
                    ("took", fmt_duration(self.seconds)),
                ]
            )
        )
        return out


def fsck(*, rehash: bool = True, store: Store | None = None) -> FsckReport:
    """Re-hash every object and check every reference the metadata makes; problems name what they
    affect.

    Example:
        >>> report = fsck()  # doctest: +SKIP
        >>> report.passed, [p.problem for p in report.problems]  # doctest: +SKIP
        (True, [])
    """
    started = time.time()
    store = store or open_current()
    listing = {d: (size, mtime) for d, size, mtime in store.objects.entries()}
    corrupt, vanished = _rehash(store, sorted(listing)) if rehash else (set(), set())
    present = set(listing) - vanished
    found: dict[tuple[str, str], Problem] = {}

    def report(problem: str, subject: str, what: str, detail: str = "") -> None:
        found.setdefault((problem, subject), Problem(problem, subject, [], detail)).affected.append(
            what
        )

    counts: dict[str, int] = {k.name: 0 for k in REFERENCE_KINDS}
    referenced: set[str] = set()
    with store.read() as conn:
        good_sets, bad_sets = _package_sets(conn)
        pending = list(_references(conn))
        verdict = verify_chain(conn)
    while pending:
        ref = pending.pop()
        counts[ref.kind.name] = counts.get(ref.kind.name, 0) + 1
        if ref.digest == UNKNOWN:
            report("unreadable reference", "-", ref.what, "the objects it names are unknown")
        elif not _valid(ref.digest):
            report(
                "broken reference", ref.digest[:16] or "(empty)", ref.what, "not an object digest"
            )
        elif ref.kind.target == "package_set":
            if ref.digest in bad_sets:
                report(
                    "corrupt package set",
                    ref.digest[:12],
                    ref.what,
                    "its package list no longer matches its digest",
                )
            elif ref.digest not in good_sets:
                report("missing package set", ref.digest[:12], ref.what)
        else:
            referenced.add(ref.digest)
            # listed before a concurrent commit?
            if ref.digest not in present and not store.objects.exists(ref.digest):
                report("missing object", ref.digest[:12], ref.what, "deleted from the object store")
            elif ref.digest in corrupt:
                report(
                    "corrupt object",
                    ref.digest[:12],
                    ref.what,
                    "its bytes no longer match its digest",
                )
            else:
                try:
                    pending.extend(_follow(store, ref))
                except IntegrityError:
                    report(
                        "corrupt object",
                        ref.digest[:12],
                        ref.what,
                        "its bytes no longer match its digest",
                    )
                except (MlopsError, ValueError, KeyError, TypeError) as e:
                    report(
                        "unreadable object",
                        ref.digest[:12],
                        ref.what,
                        f"cannot read the {ref.kind.name}: {e}",
                    )
    for digest in sorted(corrupt - referenced):
        report("corrupt object", digest[:12], "nothing (unreferenced; mlops gc removes it)")
    if not verdict.passed:
        report("audit chain", f"event {verdict.first_bad}", "the audit trail", verdict.reason)
    orphans = present - referenced
    return FsckReport(
        objects=len(present),
        bytes=sum(listing[d][0] for d in present),
        rehashed=rehash,
        references={k: n for k, n in counts.items() if n},
        problems=list(found.values()),
        unreferenced=len(orphans),
        unreferenced_bytes=sum(listing[d][0] for d in orphans),
        temporaries=len(store.objects.temporaries()),
        audit_events=verdict.events,
        seconds=time.time() - started,
    )


# ---------------------------------------------------------------- gc


@dataclasses.dataclass(repr=False)
class GcReport(Result):
    """What ``mlops gc`` removed (or would remove, with ``--dry-run``)."""

    dry_run: bool
    grace_s: float
    removed: list[tuple[str, int, float]]  # digest, size, age in seconds
    kept_young: int
    referenced: int
    temporaries: int

    @property
    def removed_bytes(self) -> int:
        return sum(size for _, size, _ in self.removed)

    def blocks(self) -> list[Block]:
        verb = "Would remove" if self.dry_run else "Removed"
        out: list[Block] = [
            Note(
                f"{verb} {len(self.removed)} unreferenced objects "
                f"({fmt_bytes(self.removed_bytes)}) and "
                f"{self.temporaries} stale temporary files.",
                "info" if self.dry_run else "ok",
            )
        ]
        if self.grace_s < 600:
            out.append(
                Note(
                    f"A grace period of {fmt_duration(self.grace_s)} is only safe while nothing "
                    "else writes to this workspace.",
                    "warn",
                )
            )
        if self.removed:
            rows = [
                [d[:12], fmt_bytes(size), fmt_duration(age)] for d, size, age in self.removed[:20]
            ]
            footer = f"and {len(self.removed) - 20} more" if len(self.removed) > 20 else None
            out.append(Table(["object", "size", "age"], rows, footer=footer))
        out.append(
            Fields(
                [
                    ("grace period", fmt_duration(self.grace_s)),
                    ("kept: referenced", self.referenced),
                    ("kept: unreferenced but younger than the grace period", self.kept_young),
                ]
            )
        )
        return out


def _reachable(store: Store, conn: Connection) -> set[str]:
    """Every object digest the metadata reaches; raises IntegrityError when that cannot be known."""
    reached: set[str] = set()
    pending = list(_references(conn))
    while pending:
        ref = pending.pop()
        if ref.digest == UNKNOWN:
            raise IntegrityError(
                f"gc stopped before deleting anything: the {ref.what} cannot be read, so the "
                "objects it references are unknown; run `mlops fsck` and repair it first."
            )
        if ref.kind.target != "object" or not _valid(ref.digest) or ref.digest in reached:
            continue
        reached.add(ref.digest)
        try:
            pending.extend(_follow(store, ref))
        except (MlopsError, ValueError, KeyError, TypeError) as e:
            raise IntegrityError(
                f"gc stopped before deleting anything: the {ref.kind.name} {ref.digest[:12]} "
                f"({ref.what}) cannot be "
                f"read ({str(e).rstrip('.')}), so the objects it references are unknown; run "
                "`mlops fsck` first."
            ) from None
    return reached


def gc(
    *, grace: str | float = DEFAULT_GRACE, dry_run: bool = False, store: Store | None = None
) -> GcReport:
    """Remove unreferenced objects older than ``grace`` (and stale temporary files); ``dry_run``
    only lists them.

    Example:
        >>> gc(grace="1h", dry_run=True).removed  # doctest: +SKIP
        []
    """
    grace_s = parse_duration(grace, "grace period")
    store = store or open_current()
    if store.readonly:
        raise PermissionDenied("This workspace is open read-only; gc cannot remove objects.")
    # listed before the references are read: see the module doc
    listing = list(store.objects.entries())
    with store.read() as conn:
        reached = _reachable(store, conn)
    now = time.time()
    cutoff = now - grace_s
    candidates = [(d, size, mtime) for d, size, mtime in listing if d not in reached]
    old = [(d, size, now - mtime) for d, size, mtime in candidates if mtime < cutoff]
    removed = []
    if dry_run:
        removed = old
    else:
        with _progress(len(old), "removing objects") as bar:
            for digest, size, age in old:
                # unless a commit freshened it since
                if store.objects.delete_if_older(digest, cutoff):
                    removed.append((digest, size, age))
                bar.update(1)
    temporaries = (
        sum(1 for _, m in store.objects.temporaries() if m < cutoff)
        if dry_run
        else store.objects.delete_stale_temporaries(grace_s)
    )
    if removed and not dry_run:
        with store.write() as conn:
            store.audit(
                conn,
                "objects.gc",
                "objects",
                "gc",
                removed=len(removed),
                bytes=sum(s for _, s, _ in removed),
                grace_s=grace_s,
                digests=[d for d, _, _ in removed[:GC_EVENT_DIGESTS]],
            )
    return GcReport(
        dry_run, grace_s, removed, len(candidates) - len(old), len(reached), temporaries
    )


__all__ = ["fsck", "gc", "FsckReport", "GcReport", "Problem"]
