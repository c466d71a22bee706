"""Find model versions by reference and load them with their digest checked.

References read ``churn@3``, ``churn@latest`` (or ``churn``) and
``churn@production``. Objects registered or loaded in this session are
remembered, so an evaluation of the object attaches to its version.
"""

from __future__ import annotations

import dataclasses
import json
import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, and_, func, select

from ..errors import IntegrityError, InvalidInput, NotFound
from ..refs import parse_ref, row_named
from ..result import Message
from ..store.meta import model_aliases, model_versions, models
from ..tracking.artifacts import write_file
from ..workspace import open_current
from . import formats

if TYPE_CHECKING:
    from ..store import Store

VERSION_COLUMNS = [*model_versions.c, models.c.name]


@dataclasses.dataclass
class Loaded:
    """A deserialised model and the version it came from."""

    model: Any
    ref: str
    version_id: int
    signature: dict[str, Any] | None


# ---------------------------------------------------------------- finding versions


def model_row(conn: Connection, name: str) -> Row:  # type: ignore[type-arg]
    return row_named(
        conn,
        models,
        name,
        missing=f"No model is named {name!r}",
        known="registered models",
        none="none is registered yet (model register)",
    )


def find_version(conn: Connection, ref: str) -> Row:  # type: ignore[type-arg]
    """The ``model_versions`` row (plus the model ``name``) that ``ref`` names."""
    parsed = parse_ref(ref, "model")
    model = model_row(conn, parsed.name)
    query = select(*VERSION_COLUMNS).join(models, models.c.id == model_versions.c.model_id)
    if parsed.selector == "latest":
        row = conn.execute(
            query.where(model_versions.c.model_id == model.id)
            .order_by(model_versions.c.version.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFound(f"Model {parsed.name!r} has no versions yet.")
        return row
    if parsed.version is not None:
        row = conn.execute(
            query.where(
                model_versions.c.model_id == model.id, model_versions.c.version == parsed.version
            )
        ).first()
        if row is None:
            latest = conn.execute(
                select(func.max(model_versions.c.version)).where(
                    model_versions.c.model_id == model.id
                )
            ).scalar()
            have = f"its versions are 1 to {latest}" if latest else "it has no versions yet"
            raise NotFound(f"{parsed.name} has no version {parsed.version}; {have}.")
        return row
    row = conn.execute(
        query.join(model_aliases, and_(model_aliases.c.version_id == model_versions.c.id)).where(
            model_aliases.c.model_id == model.id, model_aliases.c.alias == parsed.selector
        )
    ).first()
    if row is None:
        aliases = (
            conn.execute(
                select(model_aliases.c.alias)
                .where(model_aliases.c.model_id == model.id)
                .order_by(model_aliases.c.alias)
            )
            .scalars()
            .all()
        )
        known = f"its aliases are {', '.join(aliases)}" if aliases else "it has no aliases yet"
        raise NotFound(f"{parsed.name} has no alias {parsed.selector!r}; {known}.")
    return row


def resolve_version(ref: str, *, store: Store | None = None) -> Row:  # type: ignore[type-arg]
    """The version row for ``churn@3`` / ``churn@latest`` / ``churn@production``.

    Example:
        >>> resolve_version("churn@production").version  # doctest: +SKIP
        3
    """
    store = store or open_current()
    with store.read() as conn:
        return find_version(conn, ref)


def version_ref(row: Any) -> str:
    return f"{row.name}@{row.version}"


# ---------------------------------------------------------------- objects seen in this session

_known: dict[int, tuple[Any, str, int, str]] = {}


def _fingerprint(model: Any) -> str | None:
    try:
        import joblib  # lazy: start-up time

        return str(joblib.hash(model))
    except Exception:  # noqa: BLE001 - an object joblib cannot hash is simply not tracked
        return None


def remember(model: Any, version_id: int, ref: str) -> None:
    """Link an in-memory model to its version, so evaluating the object attaches to that version."""
    digest = _fingerprint(model)
    if digest is None:
        return
    key = id(model)

    def forget(dead: weakref.ref[Any]) -> None:
        if key in _known and _known[key][0] is dead:
            del _known[key]

    try:
        handle = weakref.ref(model, forget)
    except TypeError:  # objects without weak references are simply not tracked
        return
    _known[key] = (handle, digest, version_id, ref)


def version_of(model: Any) -> tuple[int, str] | None:
    """``(version id, ref)`` when ``model`` was registered or loaded in this session and is
    unchanged since."""
    entry = _known.get(id(model))
    if entry is None or entry[0]() is not model:
        return None
    if _fingerprint(model) != entry[1]:  # refitted since: it is no longer that version
        return None
    return entry[2], entry[3]


# ---------------------------------------------------------------- loading


def artifact_bytes(version_id: int, *, store: Store | None = None) -> tuple[bytes, str]:
    """The verified artifact bytes and format of a version (by id)."""
    store = store or open_current()
    with store.read() as conn:
        row = conn.execute(
            select(*VERSION_COLUMNS)
            .join(models, models.c.id == model_versions.c.model_id)
            .where(model_versions.c.id == version_id)
        ).first()
    if row is None:
        raise NotFound(f"No model version has id {version_id}.")
    return _verified(store, row), row.format


def _verified(store: Store, row: Any) -> bytes:
    try:
        return store.objects.get(row.artifact, verify=True)
    except IntegrityError:
        raise IntegrityError(
            f"The artifact of {version_ref(row)} no longer matches its digest (it changed after "
            "registration), "
            "so it was not loaded."
        ) from None


def load_version(
    ref: str, *, trusted: tuple[str, ...] | list[str] = (), store: Store | None = None
) -> Loaded:
    """Deserialise a version after checking its digest; the result links back to the version."""
    store = store or open_current()
    with store.read() as conn:
        row = find_version(conn, ref)
    data = _verified(store, row)
    model = formats.deserialize(data, row.format, trusted=trusted, what=version_ref(row))
    remember(model, row.id, version_ref(row))
    return Loaded(
        model, version_ref(row), row.id, json.loads(row.signature) if row.signature else None
    )


def load(ref: str, *, trusted: tuple[str, ...] | list[str] = (), store: Store | None = None) -> Any:
    """The model ``ref`` names, deserialised only after its digest matched.

    Example:
        >>> model = mo.models.load("churn@production")  # doctest: +SKIP
    """
    return load_version(ref, trusted=trusted, store=store).model


def save_version(ref: str, out: str, *, store: Store | None = None) -> Message:
    """Write a version's artifact, its digest checked, to the file ``out`` (named for its format).

    Example:
        >>> save_version("churn@production", "churn.skops")  # doctest: +SKIP
    """
    row = resolve_version(ref, store=store)
    data, fmt = artifact_bytes(row.id, store=store)
    suffix = ".skops" if fmt == "skops" else ".joblib"
    if not out.endswith(suffix):
        raise InvalidInput(
            f"{row.name}@{row.version} is stored as {fmt}; name the file with {suffix} so it "
            "opens again."
        )
    write_file(out, data)
    return Message(
        f"Wrote {row.name}@{row.version} ({fmt}, {len(data):,} bytes, digest verified) to {out}.",
        "ok",
    )


def signature_of(version_id: int, *, store: Store | None = None) -> dict[str, Any] | None:
    store = store or open_current()
    with store.read() as conn:
        text = conn.execute(
            select(model_versions.c.signature).where(model_versions.c.id == version_id)
        ).scalar()
    return json.loads(text) if text else None


__all__ = [
    "load",
    "load_version",
    "resolve_version",
    "find_version",
    "model_row",
    "version_ref",
    "version_of",
    "artifact_bytes",
    "signature_of",
    "save_version",
]
