"""What export and import share: the MLflow connection, its errors, key rules and the report.

MLflow is talked to only through its public ``MlflowClient``. Its own progress
bars, retry loops and INFO logging are turned down while we work, so a bad URI
fails in seconds with one sentence, and our progress bar is the only one shown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import posixpath
import re
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from ..errors import InvalidInput, MlopsError, NotFound, StoreUnavailable, require
from ..redaction import redact
from ..result import Block, Fields, Heading, Note, Result, Table, fmt_bytes, fmt_duration

# tags that carry nbmlops identity through MLflow, so a second transfer finds what the first one
# wrote
RUN_ID_TAG = "nbmlops.run_id"
VERSION_TAG = "nbmlops.model_version"
ARTIFACT_TAG = "nbmlops.artifact"
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
_QUIET_ENV = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}
_KEY_OK = re.compile(r"^[/\w.\- :]*$")
_KEY_BAD_CHARS = re.compile(r"[^/\w.\- :]")


@dataclasses.dataclass(repr=False)
class MlflowTransfer(Result):
    """What an export to or import from MLflow moved, what it skipped as already there, and what
    it changed."""

    direction: str  # export | import
    uri: str
    experiments: list[str]
    runs: int = 0
    runs_skipped: int = 0
    params: int = 0
    metric_points: int = 0
    tags: int = 0
    artifacts: int = 0
    artifact_bytes: int = 0
    model_versions: int = 0
    model_versions_skipped: int = 0
    aliases: int = 0
    seconds: float = 0.0
    notes: list[str] = dataclasses.field(default_factory=list)
    # ours -> MLflow's (export) or back (import)
    run_ids: dict[str, str] = dataclasses.field(default_factory=dict)

    def blocks(self) -> list[Block]:
        verb = "Exported to" if self.direction == "export" else "Imported from"
        out: list[Block] = [
            Heading(f"{verb} MLflow", 2),
            Fields(
                [
                    ("tracking URI", self.uri),
                    ("experiments", ", ".join(self.experiments) or "-"),
                    ("took", fmt_duration(self.seconds)),
                ]
            ),
            Table(
                ["what", "moved", "already there"],
                [
                    ["runs", self.runs, self.runs_skipped],
                    ["params", self.params, ""],
                    ["metric points", self.metric_points, ""],
                    ["tags", self.tags, ""],
                    ["artifacts", f"{self.artifacts} ({fmt_bytes(self.artifact_bytes)})", ""],
                    ["model versions", self.model_versions, self.model_versions_skipped],
                    ["aliases", self.aliases, ""],
                ],
            ),
        ]
        out += [Note(text, "warn") for text in self.notes]
        if (
            not self.runs
            and not self.model_versions
            and (self.runs_skipped or self.model_versions_skipped)
        ):
            out.append(Note("Everything was already there; nothing was written.", "ok"))
        return out


# importing mlflow takes over these loggers of other libraries (handlers, level, propagation)
_LOGGERS_MLFLOW_TAKES = ("sqlalchemy.engine", "alembic", "huey")


@contextlib.contextmanager
def _host_logging_kept() -> Iterator[None]:
    """Give the loggers mlflow's import reconfigures back to the host application as they were."""
    if "mlflow" in sys.modules:
        yield
        return
    saved = [
        (lg, list(lg.handlers), lg.level, lg.propagate)
        for lg in map(logging.getLogger, _LOGGERS_MLFLOW_TAKES)
    ]
    try:
        yield
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers = handlers
            logger.setLevel(level)
            logger.propagate = propagate


def _quiet_loggers() -> list[tuple[logging.Logger, int]]:
    saved = []
    for name in ("mlflow", "alembic"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.ERROR)
    return saved


@contextlib.contextmanager
def connect(uri: str, *, create: bool) -> Iterator[Any]:
    """An ``MlflowClient`` for ``uri``; MLflow's failures come out as one sentence.

    ``create`` allows a new local store (export); import refuses a store that is not there.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInput(
            "Name the MLflow tracking URI, e.g. sqlite:///mlflow.db or http://mlflow:5000."
        )
    uri = uri.strip()
    if not create:
        _check_exists(uri)
    saved_env = {k: os.environ.get(k) for k in _QUIET_ENV}
    os.environ.update(_QUIET_ENV)
    saved_levels: list[tuple[logging.Logger, int]] = []
    caught = warnings.catch_warnings()
    caught.__enter__()
    # MLflow's own notices (its SQLAlchemy use, its type hints, its deprecations) are not the user's
    # to act on
    warnings.simplefilter("ignore")
    try:
        with _host_logging_kept():
            require(
                "mlflow", package="mlflow", extra="mlflow", feature="Moving runs to and from MLflow"
            )
        # after the import: importing mlflow sets its logger's level
        saved_levels = _quiet_loggers()
        from mlflow import MlflowClient  # lazy: start-up time
        from mlflow.exceptions import MlflowException  # lazy: start-up time

        try:
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            yield client
        except MlflowException as e:
            raise _sentence(uri, e) from None
        except MlopsError:
            raise
        except OSError as e:
            raise StoreUnavailable(
                f"MLflow at {redact(uri)} cannot be used: {e.strerror or e}."
            ) from None
    finally:
        caught.__exit__(None, None, None)
        for logger, level in saved_levels:
            logger.setLevel(level)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check_exists(uri: str) -> None:
    path = None
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///") :]
    elif "://" not in uri and not uri.startswith("databricks"):
        path = uri  # a local folder store
    if path is not None and path != ":memory:" and not os.path.exists(path):
        raise NotFound(f"There is no MLflow store at {redact(uri)}.")


def _sentence(uri: str, error: Any) -> MlopsError:
    message = (
        str(getattr(error, "message", error)).strip().splitlines()[0]
        if str(error).strip()
        else type(error).__name__
    )
    message = redact(message).rstrip(".")
    code = getattr(error, "error_code", "")
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return NotFound(f"MLflow at {redact(uri)}: {message}.")
    if code in (
        "INVALID_PARAMETER_VALUE",
        "BAD_REQUEST",
        "INVALID_STATE",
        "RESOURCE_ALREADY_EXISTS",
    ):
        return InvalidInput(f"MLflow at {redact(uri)} refused: {message}.")
    return StoreUnavailable(f"MLflow at {redact(uri)} cannot be used: {message}.")


def mlflow_key(key: str, what: str, notes: list[str]) -> str | None:
    """``key`` as MLflow accepts it (characters, length, no path tricks), noting a rename;
    ``None`` if impossible."""
    if _KEY_OK.match(key) and len(key) <= MAX_KEY and not _path_like(key):
        return key
    fixed = _KEY_BAD_CHARS.sub("_", key)[:MAX_KEY].strip("/")
    fixed = "/".join(part for part in fixed.split("/") if part not in ("", ".", ".."))
    if not fixed or _path_like(fixed):
        notes.append(f"{what} {key[:40]!r} has no name MLflow accepts; it was left out.")
        return None
    notes.append(
        f"{what} {key[:40]!r} is named {fixed!r} in MLflow (MLflow allows letters, digits, _ - . "
        ": / and "
        f"spaces, at most {MAX_KEY} characters)."
    )
    return fixed


def _path_like(key: str) -> bool:
    norm = posixpath.normpath(key)
    return norm != key or norm in (".",) or norm.startswith(("..", "/"))


def clip(value: str, limit: int, what: str, notes: list[str]) -> str:
    """``value`` cut to MLflow's ``limit``, noting the cut."""
    if len(value) <= limit:
        return value
    notes.append(f"{what} was {len(value):,} characters; MLflow keeps {limit:,}, so it was cut.")
    return value[:limit]


def to_ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1000))


__all__ = [
    "MlflowTransfer",
    "connect",
    "mlflow_key",
    "clip",
    "to_ms",
    "RUN_ID_TAG",
    "VERSION_TAG",
    "ARTIFACT_TAG",
]
