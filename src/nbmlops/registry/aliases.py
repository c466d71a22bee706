"""Aliases: free names (``challenger``, ``candidate``) set directly, and the protected ones
(``production``, ``champion``) that only promotion moves, each move recorded as a transition.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select

from ..errors import InvalidInput, NotFound
from ..modelstore.versions import find_version, model_row, version_ref
from ..refs import check_name, check_selector_name
from ..result import Message
from ..store.database import dialect_insert
from ..store.meta import model_aliases, model_transitions, model_versions
from ..workspace import open_current

if TYPE_CHECKING:
    from ..store import Store

PROTECTED = ("production", "champion")


def check_alias(alias: str | None) -> None:
    if alias is None:
        return
    check_selector_name(alias, "model alias")
    if alias in PROTECTED:
        raise InvalidInput(
            f"The alias {alias!r} is set only through model promote, which runs the gates."
        )


def point_alias(
    conn: Connection,
    store: Store,
    model_id: int,
    version_id: int,
    ref: str,
    alias: str,
    *,
    note: str,
    action: str = "alias",
    request_id: int | None = None,
    evaluation_id: int | None = None,
) -> int | None:
    """Point ``alias`` at a version, recording the move (and the demotion of the previous holder).

    Returns the version number the alias pointed to before, if any.
    """
    now, user = time.time(), store.user
    held = conn.execute(
        select(model_aliases.c.version_id, model_versions.c.version)
        .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
        .where(model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)
    ).first()
    previous = held.version_id if held is not None else None
    ins = dialect_insert(conn)(model_aliases).values(
        model_id=model_id, alias=alias, version_id=version_id, updated_at=now, updated_by=user
    )
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["model_id", "alias"],
            set_={"version_id": ins.excluded.version_id, "updated_at": now, "updated_by": user},
        )
    )
    if previous is not None and previous != version_id:
        conn.execute(
            insert(model_transitions).values(
                version_id=previous,
                alias=alias,
                action="demote",
                status="done",
                request_id=request_id,
                username=user,
                at=now,
                note=f"replaced by {ref}",
            )
        )
    conn.execute(
        insert(model_transitions).values(
            version_id=version_id,
            alias=alias,
            action=action,
            status="done",
            request_id=request_id,
            evaluation_id=evaluation_id,
            username=user,
            at=now,
            note=note,
        )
    )
    store.audit(
        conn,
        f"model.{action}",
        "model_version",
        ref,
        alias=alias,
        previous_version_id=previous,
        request_id=request_id,
        evaluation_id=evaluation_id,
    )
    return held.version if held is not None and previous != version_id else None


def set_alias(ref: str, alias: str, *, store: Store | None = None) -> Message:
    """Point a free alias (``challenger``, ``candidate``, ...) at a version; production/champion go
    through promote.

    Example:
        >>> mo.models.set_alias("churn@4", "challenger")  # doctest: +SKIP
    """
    check_alias(alias)
    store = store or open_current()
    with store.write() as conn:
        row = find_version(conn, ref)
        current = conn.execute(
            select(model_aliases.c.version_id).where(
                model_aliases.c.model_id == row.model_id, model_aliases.c.alias == alias
            )
        ).scalar()
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
        version_id = conn.execute(
            select(model_aliases.c.version_id).where(
                model_aliases.c.model_id == model.id, model_aliases.c.alias == alias
            )
        ).scalar()
        if version_id is None:
            raise NotFound(f"{name} has no alias {alias!r}.")
        number = conn.execute(
            select(model_versions.c.version).where(model_versions.c.id == version_id)
        ).scalar()
        conn.execute(
            model_aliases.delete().where(
                model_aliases.c.model_id == model.id, model_aliases.c.alias == alias
            )
        )
        action = "demote" if alias in PROTECTED else "unalias"
        conn.execute(
            insert(model_transitions).values(
                version_id=version_id,
                alias=alias,
                action=action,
                status="done",
                username=store.user,
                at=time.time(),
                note="alias removed",
            )
        )
        store.audit(conn, f"model.{action}", "model_version", f"{name}@{number}", alias=alias)
    return Message(f"Removed {name}@{alias} (it pointed to version {number}).", "ok")


__all__ = ["check_alias", "point_alias", "set_alias", "remove_alias", "PROTECTED"]
