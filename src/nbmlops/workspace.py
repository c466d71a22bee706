"""Find the workspace, read its configuration, and say who the user is.

A workspace is the nearest parent folder holding ``.mlops/`` (like git), or the
folder named by ``MLOPS_HOME``. ``.mlops/config.toml`` holds ``db_url`` and
``objects_url``; ``MLOPS_DB_URL`` and ``MLOPS_OBJECTS_URL`` override them.
Relative paths in either are relative to the workspace folder, not to the
current directory, so a notebook in a sub-folder sees the same store.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, MlopsError, WorkspaceNotFound
from .redaction import is_secret_name, redact
from .result import Message
from .store import meta, open_store
from .store.migrate import HEAD

if TYPE_CHECKING:
    from .store import Store

MLOPS_DIR = ".mlops"
CONFIG_FILE = "config.toml"
DEFAULT_DB_URL = "sqlite:///.mlops/meta.db"
DEFAULT_OBJECTS_URL = ".mlops/objects"


@dataclasses.dataclass(frozen=True)
class Config:
    """What ``.mlops/config.toml`` and the ``MLOPS_*`` variables say."""

    db_url: str = DEFAULT_DB_URL
    objects_url: str = DEFAULT_OBJECTS_URL
    readonly_db_url: str | None = None
    objects_options: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Config:
        data: dict[str, Any] = {}
        if path.exists():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as e:
                raise InvalidInput(f"{path} is not valid TOML ({e}); fix or delete it.") from None
            except UnicodeDecodeError:
                raise InvalidInput(f"{path} is not UTF-8 text; fix or delete it.") from None
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(
                f"{path} has unknown setting {unknown[0]!r}; known settings are "
                f"{', '.join(sorted(known))}."
            )
        for name in ("db_url", "objects_url", "readonly_db_url"):
            if name in data and not isinstance(data[name], str):
                raise InvalidInput(f"{path}: {name} must be a string.")
        if not isinstance(data.get("objects_options", {}), dict):
            raise InvalidInput(f"{path}: objects_options must be a table.")
        env = {
            "db_url": os.environ.get("MLOPS_DB_URL"),
            "objects_url": os.environ.get("MLOPS_OBJECTS_URL"),
            "readonly_db_url": os.environ.get("MLOPS_READONLY_DB_URL"),
        }
        data.update({k: v for k, v in env.items() if v})
        return cls(**data)

    def __repr__(self) -> str:
        options = {k: "***" if is_secret_name(k) else v for k, v in self.objects_options.items()}
        return (
            f"Config(db_url={redact(self.db_url)!r}, objects_url={redact(self.objects_url)!r}, "
            f"readonly_db_url={redact(self.readonly_db_url) if self.readonly_db_url else None!r}, "
            f"objects_options={options!r})"
        )

    def dump(self) -> str:
        lines = ["# nbmlops workspace; MLOPS_DB_URL and MLOPS_OBJECTS_URL override these."]
        for name in ("db_url", "objects_url", "readonly_db_url"):
            value = getattr(self, name)
            if value is not None:
                lines.append(f"{name} = {json.dumps(value)}")
        if self.objects_options:
            lines.append("[objects_options]")
            lines.extend(f"{k} = {json.dumps(v)}" for k, v in self.objects_options.items())
        return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class Workspace:
    """A workspace folder and its configuration.

    Example:
        >>> ws = Workspace.init(tmp_path)  # doctest: +SKIP
        >>> ws.db_url                       # doctest: +SKIP
        'sqlite:////tmp/.../.mlops/meta.db'
    """

    root: Path
    config: Config
    readonly: bool = False

    @property
    def mlops_dir(self) -> Path:
        return self.root / MLOPS_DIR

    @property
    def db_url(self) -> str:
        """The database URL with a relative SQLite path made absolute against the workspace."""
        url = (
            self.config.readonly_db_url
            if self.readonly and self.config.readonly_db_url
            else self.config.db_url
        )
        return _absolute_sqlite(url, self.root)

    @property
    def objects_url(self) -> str:
        url = self.config.objects_url
        if "://" in url and not url.startswith("file://"):
            return url
        path = Path(url.removeprefix("file://")).expanduser()
        return str(path if path.is_absolute() else self.root / path)

    @classmethod
    def find(cls, start: str | Path | None = None, *, readonly: bool = False) -> Workspace:
        """The workspace for ``start`` (default: ``MLOPS_HOME`` or the current folder).

        ``MLOPS_READONLY=1`` makes every workspace of the process read-only (dashboards run so).
        """
        readonly = readonly or os.environ.get("MLOPS_READONLY", "").lower() in ("1", "true", "yes")
        home = os.environ.get("MLOPS_HOME")
        if home and start is None:
            root = Path(home).expanduser().resolve()
            if not (root / MLOPS_DIR).is_dir() and not os.environ.get("MLOPS_DB_URL"):
                raise WorkspaceNotFound(
                    f"MLOPS_HOME is {root} but it holds no .mlops/ folder; run `mlops init {root}`."
                )
            return cls(root, Config.load(root / MLOPS_DIR / CONFIG_FILE), readonly)
        here = Path(start or os.getcwd()).expanduser().resolve()
        for folder in (here, *here.parents):
            if (folder / MLOPS_DIR).is_dir():
                return cls(folder, Config.load(folder / MLOPS_DIR / CONFIG_FILE), readonly)
        if os.environ.get("MLOPS_DB_URL") and os.environ.get("MLOPS_OBJECTS_URL"):
            return cls(here, Config.load(here / MLOPS_DIR / CONFIG_FILE), readonly)
        raise WorkspaceNotFound(
            f"No nbmlops workspace in {here} or its parents; run `mlops init` (or %mlops init) "
            "to create one."
        )

    @classmethod
    def init(
        cls, path: str | Path = ".", *, db_url: str | None = None, objects_url: str | None = None
    ) -> tuple[Workspace, bool]:
        """Create ``.mlops/`` under ``path`` (idempotent); returns the workspace and whether it
        is new."""
        root = Path(path).expanduser().resolve()
        config_path = root / MLOPS_DIR / CONFIG_FILE
        created = not config_path.exists()
        if created:
            config = Config(
                db_url=db_url or DEFAULT_DB_URL, objects_url=objects_url or DEFAULT_OBJECTS_URL
            )
            (root / MLOPS_DIR).mkdir(parents=True, exist_ok=True)
            tmp = config_path.with_suffix(".tmp")
            tmp.write_text(config.dump(), encoding="utf-8")
            os.replace(tmp, config_path)
        ws = cls(root, Config.load(config_path))
        if not created and (
            (db_url and db_url != ws.config.db_url)
            or (objects_url and objects_url != ws.config.objects_url)
        ):
            raise InvalidInput(
                f"{root} is already a workspace with other URLs; edit {config_path} to change them."
            )
        return ws, created

    def store(self) -> Store:
        """The opened store (cached per process and configuration)."""

        return open_store(self)


def _absolute_sqlite(url: str, root: Path) -> str:
    prefix = next((p for p in ("sqlite:///", "sqlite+pysqlite:///") if url.startswith(p)), None)
    if prefix is None:
        return url
    rest = url[len(prefix) :]
    path, sep, query = rest.partition("?")
    if not path or path == ":memory:" or path.startswith("file:") or Path(path).is_absolute():
        return url
    return f"{prefix}{root / path}{sep}{query}"


def open_current(*, readonly: bool = False) -> Store:
    """The store of the current workspace.

    Example:
        >>> store = open_current()  # doctest: +SKIP
    """
    return Workspace.find(readonly=readonly).store()


# ---------------------------------------------------------------- API: init and status


# a file where the folder should be, no permission, a NUL byte
def init_workspace(
    path: str | Path | None = None, *, db_url: str | None = None, objects_url: str | None = None
):  # type: ignore[no-untyped-def]
    """Create a workspace in ``path`` (idempotent) and its store; returns a Result.

    Example:
        >>> import nbmlops as mo
        >>> mo.init("/tmp/project")  # doctest: +SKIP  (default: $MLOPS_HOME, else here)
        Initialised an nbmlops workspace in /tmp/project (SQLite + local objects).
    """

    if path is None:
        path = os.environ.get("MLOPS_HOME") or "."
    try:
        root = Path(path).expanduser().resolve()
        if not (root / MLOPS_DIR / CONFIG_FILE).exists():
            _reach(root, db_url, objects_url)
        ws, created = Workspace.init(root, db_url=db_url, objects_url=objects_url)
    except MlopsError:
        raise
    except (
        OSError,
        ValueError,
    ) as e:
        raise InvalidInput(
            f"Cannot create a workspace in {str(path)[:200]!r}: "
            f"{getattr(e, 'strerror', None) or e}."
        ) from None
    store = ws.store()
    where = (
        "SQLite + local objects"
        if store.dialect == "sqlite" and store.objects.local
        else f"{store.dialect} + "
        f"{ws.objects_url.split('://')[0] if '://' in ws.objects_url else 'local'} objects"
    )
    fields = [("database", redact(ws.db_url)), ("objects", redact(ws.objects_url))]
    if created:
        return Message(f"Initialised an nbmlops workspace in {ws.root} ({where}).", "ok", fields)
    return Message(f"{ws.root} is already an nbmlops workspace; nothing changed.", "info", fields)


def _reach(root: Path, db_url: str | None, objects_url: str | None) -> None:
    """Open (and migrate) both stores before a new workspace's config is written, so a bad
    or unreachable URL leaves no half-made workspace behind."""

    made = not (root / MLOPS_DIR).exists()
    candidate = Workspace(
        root,
        Config(db_url=db_url or DEFAULT_DB_URL, objects_url=objects_url or DEFAULT_OBJECTS_URL),
    )
    try:
        candidate.store().objects.exists("0" * 64)
    except BaseException:
        if made:
            shutil.rmtree(root / MLOPS_DIR, ignore_errors=True)
        raise


def status(*, readonly: bool = False):  # type: ignore[no-untyped-def]
    """Where the current workspace is, what backs it, and how much it holds.

    Example:
        >>> mo.status()  # doctest: +SKIP
    """
    from sqlalchemy import func, select  # lazy: start-up time

    ws = Workspace.find(readonly=readonly)
    store = ws.store()
    counted = [
        ("runs", meta.runs),
        ("datasets", meta.datasets),
        ("dataset versions", meta.dataset_versions),
        ("models", meta.models),
        ("model versions", meta.model_versions),
        ("monitors", meta.monitors),
        ("audit events", meta.audit_events),
    ]
    with store.read() as conn:
        counts = [
            (label, conn.execute(select(func.count()).select_from(table)).scalar_one())
            for label, table in counted
        ]
    fields = [
        ("workspace", str(ws.root)),
        ("database", f"{redact(ws.db_url)} ({store.dialect}, schema {HEAD})"),
        ("objects", redact(ws.objects_url)),
        ("user", store.user),
        ("access", "read-only" if store.readonly else "read-write"),
        *counts,
    ]
    return Message(f"nbmlops workspace {ws.root}", "info", fields)
