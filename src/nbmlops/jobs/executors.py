"""Where sweep points run, chosen by URL through a small registry (fsspec's ``registry.py`` style).

=========================  ==============================================
``process://?workers=2``   a local pool of worker processes (the default)
``tcp://host:8786``        a running Dask scheduler (also ``tls://``)
``dask://local?workers=2`` a Dask ``LocalCluster`` started for the sweep
=========================  ==============================================

Entries are lazy ``module:Class`` paths with the package they need, so a
missing optional engine fails when used, with the pip command.
:func:`register_executor` adds a scheme. Every executor yields
``(index, result or exception)`` as points complete, so one failing point
never stops the others.
"""

from __future__ import annotations

import importlib
import os
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from ..errors import InvalidInput, MissingDependency, MlopsError
from ..redaction import redact

CONNECT_TIMEOUT_S = 3.0
PRELOAD = ["papermill", "nbmlops.jobs.sweep", "nbmlops.jobs.engine"]


class ClusterUnavailable(MlopsError, ConnectionError):
    """A Dask scheduler did not answer."""

    exit_code = 6


class Executor(Protocol):
    url: str

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]: ...

    def close(self) -> None: ...


# scheme -> (module:Class, package, extra)
_REGISTRY: dict[str, tuple[str, str | None, str | None]] = {
    "process": ("nbmlops.jobs.executors:ProcessPool", None, None),
    "tcp": ("nbmlops.jobs.executors:DaskCluster", "distributed", "dask"),
    "tls": ("nbmlops.jobs.executors:DaskCluster", "distributed", "dask"),
    "dask": ("nbmlops.jobs.executors:DaskCluster", "distributed", "dask"),
}


def register_executor(
    scheme: str, target: str, *, package: str | None = None, extra: str | None = None
) -> None:
    """Make ``scheme://...`` URLs run sweeps on ``target`` (``"module:Class"``, built as
    ``Class(url, workers)``).

    Example:
        >>> register_executor("ray", "my_pkg.executors:RayPool", package="ray",
        ...                   extra="ray")  # doctest: +SKIP
    """
    _REGISTRY[scheme] = (target, package, extra)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def executor_url(
    *, workers: int | None = None, cluster: str | None = None, executor: str | None = None
) -> str:
    """The executor URL the ``--workers`` / ``--cluster`` / ``--executor`` options mean.

    Example:
        >>> executor_url(cluster="local", workers=2)
        'dask://local?workers=2'
    """
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise InvalidInput(f"--workers must be a whole number of at least 1, not {workers!r}.")
    if executor and cluster:
        raise InvalidInput("Give --cluster or --executor, not both.")
    query = f"?workers={workers}" if workers else ""
    if executor:
        if workers and "workers=" not in executor:
            executor += ("&" if "?" in executor else "?") + query[1:]
        return executor
    if cluster is None:
        return f"process://{query}"
    if cluster == "local":
        return f"dask://local{query}"
    if "://" not in cluster:
        if ":" not in cluster:
            raise InvalidInput(
                f"--cluster expects tcp://host:port, tls://host:port or 'local', not {cluster!r}."
            )
        cluster = "tcp://" + cluster
    return cluster


def open_executor(url: str | None = None) -> Executor:
    """The executor for ``url`` (default: a local process pool with one worker per core).

    Example:
        >>> open_executor("process://?workers=2").workers  # doctest: +SKIP
        2
    """
    url = url or "process://"
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in _REGISTRY:
        known = ", ".join(f"{s}://" for s in _REGISTRY)
        raise InvalidInput(f"No executor handles {redact(url)!r}; known schemes: {known}.")
    target, package, extra = _REGISTRY[scheme]
    module, cls = target.split(":")
    if package:
        try:
            importlib.import_module(package)
        except ImportError as e:
            raise MissingDependency(
                package, extra or package, f"Sweeps on {scheme}:// executors"
            ) from e
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    try:
        workers = int(query["workers"][0]) if "workers" in query else None
    except ValueError:
        raise InvalidInput(f"workers in {redact(url)!r} must be a whole number.") from None
    return getattr(importlib.import_module(module), cls)(url, workers)  # type: ignore[no-any-return]


class ProcessPool:
    """Worker processes on this machine, forked from a clean ``forkserver`` (safe inside a
    Jupyter kernel)."""

    def __init__(self, url: str, workers: int | None = None) -> None:
        import multiprocessing  # lazy: only sweeps start processes

        self.workers = workers or default_workers()
        self.url = f"process://?workers={self.workers}"
        self.context = multiprocessing.get_context("forkserver")
        if self.workers > 1:
            # workers fork from one clean server process that imported papermill once, so later
            # sweeps start at once (forking this process is unsafe inside a Jupyter kernel); started
            # now, its imports overlap with the sweep's preparation
            from multiprocessing import forkserver  # lazy: only sweeps start processes

            self.context.set_forkserver_preload(PRELOAD)
            forkserver.ensure_running()

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        if self.workers == 1 or len(items) == 1:
            for index, item in enumerate(items):  # one worker: this process, no start-up cost
                try:
                    yield index, fn(item)
                except Exception as e:  # noqa: BLE001 - a failed point is a result, not the end
                    yield index, e
            return
        from concurrent.futures import (  # lazy: only sweeps start processes
            ProcessPoolExecutor,
            as_completed,
        )

        pool = ProcessPoolExecutor(min(self.workers, len(items)), mp_context=self.context)
        try:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                error = future.exception()
                yield futures[future], error if error is not None else future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        return None


class DaskCluster:
    """A Dask scheduler by address, or a ``LocalCluster`` started for the sweep
    (``dask://local``)."""

    def __init__(self, url: str, workers: int | None = None) -> None:
        from distributed import Client  # lazy: start-up time

        self.cluster: Any = None
        address = url.split("?", 1)[0]
        if address.startswith("dask://"):
            if address != "dask://local":
                raise InvalidInput(
                    f"{url!r}: only dask://local is known; give a scheduler as tcp://host:port."
                )
            from distributed import LocalCluster  # lazy: start-up time

            self.workers = workers or default_workers()
            saved = dict(os.environ)
            try:
                self.cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    host="127.0.0.1",
                )
            # the nanny exports its worker tuning (malloc, thread caps) into this process; undo it
            finally:
                os.environ.clear()
                os.environ.update(saved)
            self.client = Client(self.cluster)
            self.url = f"dask://local?workers={self.workers}"
            return
        try:
            self.client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as e:
            raise ClusterUnavailable(
                f"No Dask scheduler answered at {redact(address)} within {CONNECT_TIMEOUT_S:g} s "
                f"({type(e).__name__}); check the address, or use --cluster local."
            ) from None
        self.workers = len(self.client.scheduler_info().get("workers", {}))
        self.url = redact(address)

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed  # lazy: start-up time

        futures = self.client.map(fn, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures):
                if future.status == "error":
                    yield index[future.key], future.exception()
                else:
                    yield index[future.key], future.result()
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
