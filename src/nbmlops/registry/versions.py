"""Find model versions by reference, load them with their digest checked, and point aliases at them.

References read ``churn@3``, ``churn@latest`` (or ``churn``) and
``churn@production``. Objects registered or loaded in this session are
remembered, so an evaluation of the object attaches to its version.
"""

from __future__ import annotations

import dataclasses
import json
import time
import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, and_, func, insert, select

from ..errors import IntegrityError, InvalidInput, NotFound
from ..refs import check_name, check_selector_name, parse_ref, row_named
from ..result import Message
from ..store.engine import dialect_insert
from ..store.meta import model_aliases, model_transitions, model_versions, models
from ..workspace import open_current
from . import formats

if TYPE_CHECKING:
    from ..store import Store

PROTECTED = ("production", "champion")
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
    return row_named(conn, models, name, missing=f"No model is named {name!r}", known="registered models",
                     none="none is registered yet (model register)")


def find_version(conn: Connection, ref: str) -> Row:  # type: ignore[type-arg]
    """The ``model_versions`` row (plus the model ``name``) that ``ref`` names."""
    parsed = parse_ref(ref, "model")
    model = model_row(conn, parsed.name)
    query = select(*VERSION_COLUMNS).join(models, models.c.id == model_versions.c.model_id)
    if parsed.selector == "latest":
        row = conn.execute(query.where(model_versions.c.model_id == model.id)
                           .order_by(model_versions.c.version.desc()).limit(1)).first()
        if row is None:
            raise NotFound(f"Model {parsed.name!r} has no versions yet.")
        return row
    if parsed.version is not None:
        row = conn.execute(query.where(model_versions.c.model_id == model.id,
                                       model_versions.c.version == parsed.version)).first()
        if row is None:
            latest = conn.execute(select(func.max(model_versions.c.version))
                                  .where(model_versions.c.model_id == model.id)).scalar()
            have = f"its versions are 1 to {latest}" if latest else "it has no versions yet"
            raise NotFound(f"{parsed.name} has no version {parsed.version}; {have}.")
        return row
    row = conn.execute(query.join(model_aliases, and_(model_aliases.c.version_id == model_versions.c.id))
                       .where(model_aliases.c.model_id == model.id, model_aliases.c.alias == parsed.selector)).first()
    if row is None:
        aliases = conn.execute(select(model_aliases.c.alias).where(model_aliases.c.model_id == model.id)
                               .order_by(model_aliases.c.alias)).scalars().all()
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
        import joblib

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
    """``(version id, ref)`` when ``model`` was registered or loaded in this session and is unchanged since."""
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
        row = conn.execute(select(*VERSION_COLUMNS).join(models, models.c.id == model_versions.c.model_id)
                           .where(model_versions.c.id == version_id)).first()
    if row is None:
        raise NotFound(f"No model version has id {version_id}.")
    return _verified(store, row), row.format


def _verified(store: Store, row: Any) -> bytes:
    try:
        return store.objects.get(row.artifact, verify=True)
    except IntegrityError:
        raise IntegrityError(
            f"The artifact of {version_ref(row)} no longer matches its digest (it changed after registration), "
            "so it was not loaded."
        ) from None


def load_version(ref: str, *, trusted: tuple[str, ...] | list[str] = (), store: Store | None = None) -> Loaded:
    """Deserialise a version after checking its digest; the result links back to the version."""
    store = store or open_current()
    with store.read() as conn:
        row = find_version(conn, ref)
    data = _verified(store, row)
    model = formats.deserialize(data, row.format, trusted=trusted, what=version_ref(row))
    remember(model, row.id, version_ref(row))
    return Loaded(model, version_ref(row), row.id, json.loads(row.signature) if row.signature else None)


def load(ref: str, *, trusted: tuple[str, ...] | list[str] = (), store: Store | None = None) -> Any:
    """The model ``ref`` names, deserialised only after its digest matched.

    Example:
        >>> model = mo.models.load("churn@production")  # doctest: +SKIP
    """
    return load_version(ref, trusted=trusted, store=store).model


def signature_of(version_id: int, *, store: Store | None = None) -> dict[str, Any] | None:
    store = store or open_current()
    with store.read() as conn:
        text = conn.execute(select(model_versions.c.signature).where(model_versions.c.id == version_id)).scalar()
    return json.loads(text) if text else None


# ---------------------------------------------------------------- aliases


def check_alias(alias: str | None) -> None:
    if alias is None:
        return
    check_selector_name(alias, "model alias")
    if alias in PROTECTED:
        raise InvalidInput(f"The alias {alias!r} is set only through model promote, which runs the gates.")


def point_alias(conn: Connection, store: Store, model_id: int, version_id: int, ref: str, alias: str, *,
                 note: str, action: str = "alias", request_id: int | None = None,
                 evaluation_id: int | None = None) -> int | None:
    """Point ``alias`` at a version, recording the move (and the demotion of the previous holder).

    Returns the version number the alias pointed to before, if any.
    """
    now, user = time.time(), store.user
    held = conn.execute(select(model_aliases.c.version_id, model_versions.c.version)
                        .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
                        .where(model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)).first()
    previous = held.version_id if held is not None else None
    ins = dialect_insert(conn)(model_aliases).values(model_id=model_id, alias=alias, version_id=version_id,
                                                     updated_at=now, updated_by=user)
    conn.execute(ins.on_conflict_do_update(index_elements=["model_id", "alias"], set_={
        "version_id": ins.excluded.version_id, "updated_at": now, "updated_by": user}))
    if previous is not None and previous != version_id:
        conn.execute(insert(model_transitions).values(version_id=previous, alias=alias, action="demote", status="done",
                                                      request_id=request_id, username=user, at=now,
                                                      note=f"replaced by {ref}"))
    conn.execute(insert(model_transitions).values(version_id=version_id, alias=alias, action=action, status="done",
                                                  request_id=request_id, evaluation_id=evaluation_id,
                                                  username=user, at=now, note=note))
    store.audit(conn, f"model.{action}", "model_version", ref, alias=alias, previous_version_id=previous,
                request_id=request_id, evaluation_id=evaluation_id)
    return held.version if held is not None and previous != version_id else None


def set_alias(ref: str, alias: str, *, store: Store | None = None) -> Message:
    """Point a free alias (``challenger``, ``candidate``, ...) at a version; production/champion go through promote.

    Example:
        >>> mo.models.set_alias("churn@4", "challenger")  # doctest: +SKIP
    """
    check_alias(alias)
    store = store or open_current()
    with store.write() as conn:
        row = find_version(conn, ref)
        current = conn.execute(select(model_aliases.c.version_id).where(
            model_aliases.c.model_id == row.model_id, model_aliases.c.alias == alias)).scalar()
        if current == row.id:
            return Message(f"{version_ref(row)} already is {row.name}@{alias}; nothing changed.")
        point_alias(conn, store, row.model_id, row.id, version_ref(row), alias, note="")
    return Message(f"{row.name}@{alias} now points to version {row.version}.", "ok")


def remove_alias(name: str, alias: str, *, store: Store | None = None) -> Message:
    """Remove an alias from a model; removing production or champion is recorded as a demotion.

    Example:
        >>> mo.models.remove_alias("churn", "challenger")  # doctest: +SKIP
    """
    check_name(name, "model")
    store = store or open_current()
    with store.write() as conn:
        model = model_row(conn, name)
        version_id = conn.execute(select(model_aliases.c.version_id).where(
            model_aliases.c.model_id == model.id, model_aliases.c.alias == alias)).scalar()
        if version_id is None:
            raise NotFound(f"{name} has no alias {alias!r}.")
        number = conn.execute(select(model_versions.c.version).where(model_versions.c.id == version_id)).scalar()
        conn.execute(model_aliases.delete().where(model_aliases.c.model_id == model.id, model_aliases.c.alias == alias))
        action = "demote" if alias in PROTECTED else "unalias"
        conn.execute(insert(model_transitions).values(version_id=version_id, alias=alias, action=action, status="done",
                                                      username=store.user, at=time.time(), note="alias removed"))
        store.audit(conn, f"model.{action}", "model_version", f"{name}@{number}", alias=alias)
    return Message(f"Removed {name}@{alias} (it pointed to version {number}).", "ok")


__all__ = ["load", "load_version", "resolve_version", "find_version", "set_alias", "remove_alias",
           "version_of", "artifact_bytes", "signature_of", "PROTECTED"]
