"""Immutable, content-addressed objects over fsspec (a local folder, S3, ...).

An object's name is the BLAKE3 digest of its bytes, stored as
``<root>/<first two hex digits>/<the other 62>``. Writes go to a temporary name
and are renamed into place (local folders), or are a single PUT (object stores,
where a PUT is atomic), so a reader never sees half an object and writing the
same bytes twice stores them once.

Garbage collection deletes unreferenced objects older than a grace period.
Writing bytes that are already stored is a "dedup hit": the object is not
written again, but it is *freshened* (its modification time moved to now) when
it is older than ``FRESHEN_AFTER_S``, so a commit about to reference an old
unreferenced object can never lose it to a concurrent ``mlops gc`` (git does
the same). If the object vanished in between, it is written again.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import blake3

from ..errors import IntegrityError, InvalidInput, MissingDependency, NotFound, StoreUnavailable
from ..redaction import redact

CHUNK = 1 << 20
FRESHEN_AFTER_S = 600.0  # gc's smallest safe grace period is this plus the longest commit
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def digest_bytes(data: bytes | memoryview) -> str:
    """The BLAKE3 hex digest used to name objects.

    Example:
        >>> len(digest_bytes(b"hello"))
        64
    """
    return blake3.blake3(
        data, max_threads=blake3.blake3.AUTO if len(data) > 1 << 22 else 1
    ).hexdigest()


def check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidInput(f"{digest!r} is not an object digest (64 lower-case hex digits).")
    return digest


class ObjectStore:
    """Content-addressed bytes under one fsspec URL.

    Example:
        >>> objects = ObjectStore("/tmp/objects")  # doctest: +SKIP
        >>> d = objects.put(b"hello"); objects.get(d)  # doctest: +SKIP
        b'hello'
    """

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        import fsspec  # lazy: start-up time

        self.url = url
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **(options or {}))
        except ImportError as e:
            protocol = url.split("://", 1)[0]
            package = {
                "s3": "s3fs",
                "gs": "gcsfs",
                "gcs": "gcsfs",
                "az": "adlfs",
                "abfs": "adlfs",
            }.get(protocol, protocol)
            raise MissingDependency(
                package, "s3" if protocol == "s3" else protocol, f"Objects at {redact(url)}"
            ) from e
        except ValueError as e:
            raise InvalidInput(f"The objects URL {redact(url)} is not valid: {e}.") from None
        self.root = root.rstrip("/")
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.local = bool({"file", "local"} & set(protocols))
        self._made: set[str] = set()

    def __repr__(self) -> str:
        return f"ObjectStore({redact(self.url)!r})"

    # ------------------------------------------------------------ naming

    def key(self, digest: str) -> str:
        """Where the object lives inside the store's file system."""
        check_digest(digest)
        return f"{self.root}/{digest[:2]}/{digest[2:]}"

    def _tmp_path(self) -> str:
        tmp = f"{self.root}/tmp"
        if tmp not in self._made:
            os.makedirs(tmp, exist_ok=True)
            self._made.add(tmp)
        return f"{tmp}/{uuid.uuid4().hex}"

    def _parent(self, key: str) -> None:
        parent = key.rsplit("/", 1)[0]
        if self.local and parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def _keep_existing(self, key: str) -> bool:
        """Whether ``key`` is already stored; an old one is freshened so gc keeps it (see the
        module doc)."""

        if self.local:
            try:
                if os.path.getmtime(key) < time.time() - FRESHEN_AFTER_S:
                    os.utime(key)
                return True
            except FileNotFoundError:
                return False
        try:
            info = self._call(self.fs.info, key)
        except FileNotFoundError:
            return False
        if _modified(info) < time.time() - FRESHEN_AFTER_S:
            # S3: a server-side copy onto itself renews LastModified
            if hasattr(self.fs, "setxattr"):
                self._call(self.fs.setxattr, key, freshened=str(int(time.time())))
            else:
                return False  # no cheap way to renew it: write it again
        return True

    # ------------------------------------------------------------ writing

    def put(self, data: bytes | bytearray | memoryview) -> str:
        """Store bytes; returns their digest. Storing the same bytes again is free."""
        digest = digest_bytes(data)
        key = self.key(digest)
        if self._keep_existing(key):
            return digest
        self._write(key, bytes(data) if not isinstance(data, bytes) else data)
        return digest

    def put_new(self, data: bytes) -> tuple[str, bool]:
        """Like :meth:`put`, also saying whether the bytes were new to the store."""
        digest = digest_bytes(data)
        key = self.key(digest)
        if self._keep_existing(key):
            return digest, False
        self._write(key, data)
        return digest, True

    def put_file(self, path: str | Path) -> tuple[str, int]:
        """Store a file's bytes, streaming; returns ``(digest, size)``."""
        path = Path(path)
        try:
            if self.local:
                return self._put_local_stream(path)
            hasher, size = blake3.blake3(), 0
            with open(path, "rb") as f:
                while block := f.read(CHUNK):
                    hasher.update(block)
                    size += len(block)
        except OSError as e:
            raise InvalidInput(f"Cannot read {path}: {e.strerror or e}.") from None
        digest = hasher.hexdigest()
        key = self.key(digest)
        if not self._keep_existing(key):
            self._call(self.fs.put_file, str(path), key)
        return digest, size

    @contextlib.contextmanager
    def _temporary(self) -> Iterator[str]:
        """A temporary file name in the store, removed unless it was renamed into place."""
        tmp = self._tmp_path()
        try:
            yield tmp
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _publish(self, tmp: str, key: str) -> None:
        if not self._keep_existing(key):
            self._parent(key)
            os.replace(tmp, key)  # atomic: readers see no object or the whole object

    def _put_local_stream(self, path: Path) -> tuple[str, int]:
        hasher, size = blake3.blake3(), 0
        with self._temporary() as tmp:
            with open(path, "rb") as src, open(tmp, "wb") as dst:
                while block := src.read(CHUNK):
                    hasher.update(block)
                    dst.write(block)
                    size += len(block)
            self._publish(tmp, self.key(hasher.hexdigest()))
        return hasher.hexdigest(), size

    def _write(self, key: str, data: bytes) -> None:
        if self.local:
            with self._temporary() as tmp:
                with open(tmp, "wb") as f:
                    f.write(data)
                self._publish(tmp, key)
        else:
            self._call(self.fs.pipe_file, key, data)

    # ------------------------------------------------------------ reading

    def get(self, digest: str, *, verify: bool = False) -> bytes:
        """The object's bytes; with ``verify`` the digest is checked first."""
        key = self.key(digest)
        try:
            if self.local:
                with open(key, "rb") as f:
                    data = f.read()
            else:
                data = self._call(self.fs.cat_file, key)
        except FileNotFoundError:
            raise NotFound(
                f"Object {digest[:12]} is missing from the object store {redact(self.url)}."
            ) from None
        if verify and digest_bytes(data) != digest:
            raise IntegrityError(
                f"Object {digest[:12]} is corrupt: its bytes no longer match its digest."
            )
        return data

    def open(self, digest: str) -> BinaryIO:
        """A binary file object for streaming reads."""
        key = self.key(digest)
        try:
            if self.local:
                return open(key, "rb")
            return self._call(self.fs.open, key, "rb")  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise NotFound(
                f"Object {digest[:12]} is missing from the object store {redact(self.url)}."
            ) from None

    def exists(self, digest: str) -> bool:
        return self._exists_key(self.key(digest))

    def _exists_key(self, key: str) -> bool:
        if self.local:
            return os.path.exists(key)
        return bool(self._call(self.fs.exists, key))

    def size(self, digest: str) -> int:
        key = self.key(digest)
        if self.local:
            return os.path.getsize(key)
        return int(self._call(self.fs.size, key))

    def verify(self, digest: str) -> bool:
        """Re-hash the stored bytes; ``False`` when they no longer match the name."""
        hasher = blake3.blake3()
        with self.open(digest) as f:
            while block := f.read(CHUNK):
                hasher.update(block)
        return hasher.hexdigest() == digest

    def mtime(self, digest: str) -> float:
        """When the object was written (epoch seconds)."""
        key = self.key(digest)
        if self.local:
            return os.path.getmtime(key)
        return _modified(self._call(self.fs.info, key))

    def __iter__(self) -> Iterator[str]:
        """Every digest in the store (temporary files excluded)."""
        for digest, _size, _mtime in self.entries():
            yield digest

    def entries(self) -> Iterator[tuple[str, int, float]]:
        """``(digest, size, modified epoch seconds)`` of every object, from one listing."""
        if self.local:
            if not os.path.isdir(self.root):
                return
            for prefix in sorted(os.listdir(self.root)):
                if len(prefix) != 2:
                    continue
                with os.scandir(f"{self.root}/{prefix}") as found:
                    for entry in sorted(found, key=lambda e: e.name):
                        if _DIGEST.match(prefix + entry.name):
                            try:
                                st = entry.stat()
                            except FileNotFoundError:  # deleted while listing
                                continue
                            yield prefix + entry.name, st.st_size, st.st_mtime
            return
        self.fs.invalidate_cache(self.root)  # a cached listing would miss new and freshened objects
        try:
            found = self._call(self.fs.find, self.root, detail=True)
        except FileNotFoundError:
            return
        for path, info in sorted(found.items()):
            parts = path.rstrip("/").split("/")
            if len(parts) >= 2 and _DIGEST.match(parts[-2] + parts[-1]):
                yield parts[-2] + parts[-1], int(info.get("size") or 0), _modified(info)

    def delete(self, digest: str) -> None:
        key = self.key(digest)
        if self.local:
            try:
                os.unlink(key)
            except FileNotFoundError:
                pass
        else:
            self._call(self.fs.rm_file, key)

    def delete_if_older(self, digest: str, cutoff: float) -> bool:
        """Delete the object unless it was written or freshened since ``cutoff``; returns whether it
        was.

        On a local folder the object is first renamed aside, then its time is
        checked: a writer freshening it at that moment either did so before
        the rename (the time is new: it is put back) or after (it finds no
        file and writes the object again), so a reused object is never lost.
        """
        key = self.key(digest)
        if not self.local:
            try:
                if _modified(self._call(self.fs.info, key)) >= cutoff:
                    return False
                self._call(self.fs.rm_file, key)
            except FileNotFoundError:
                return False
            return True
        aside = f"{self._tmp_path()}-gc"
        try:
            os.rename(key, aside)
        except FileNotFoundError:
            return False
        if os.path.getmtime(aside) >= cutoff:
            os.replace(aside, key)  # freshened just now: a commit needs it
            return False
        os.unlink(aside)
        return True

    def temporaries(self) -> list[tuple[str, float]]:
        """``(path, modified)`` of temporary files: writes in progress, or left by killed
        writers."""
        tmp = f"{self.root}/tmp"
        if not self.local or not os.path.isdir(tmp):
            return []  # object stores write with one atomic PUT: nothing temporary
        found = []
        for name in os.listdir(tmp):
            try:
                found.append((f"{tmp}/{name}", os.path.getmtime(f"{tmp}/{name}")))
            except FileNotFoundError:
                pass
        return found

    def delete_stale_temporaries(self, older_than: float) -> int:
        """Remove temporary files left by killed writers; returns how many."""

        removed = 0
        for path, modified in self.temporaries():
            if modified < time.time() - older_than:
                try:
                    os.unlink(path)
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def write_many(self, blobs: Iterable[bytes]) -> list[str]:
        """Store several objects; object stores upload them concurrently."""
        pending: dict[str, bytes] = {}
        digests = []
        for data in blobs:
            digest = digest_bytes(data)
            digests.append(digest)
            if digest not in pending and not self.local:
                pending[digest] = data
            elif self.local:
                self.put(data)
        if pending:
            missing = {
                self.key(d): b for d, b in pending.items() if not self._keep_existing(self.key(d))
            }
            if missing:
                self._call(self.fs.pipe, missing)
        return digests

    # ------------------------------------------------------------ errors

    def _call(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return fn(*args, **kwargs)
        except (FileNotFoundError, NotFound):
            raise
        except PermissionError as e:
            raise StoreUnavailable(
                f"The object store {redact(self.url)} refused access: {redact(str(e))}."
            ) from None
        except OSError as e:
            raise StoreUnavailable(
                f"Cannot reach the object store {redact(self.url)}: {redact(str(e))}."
            ) from None
        except Exception as e:
            # botocore/aiohttp errors (no endpoint, bad credentials) are not OSErrors
            if type(e).__module__.split(".")[0] in ("botocore", "aiobotocore", "aiohttp", "s3fs"):
                raise StoreUnavailable(
                    f"Cannot reach the object store {redact(self.url)}: {redact(str(e))}."
                ) from None
            raise


def _modified(info: dict[str, Any]) -> float:
    """An fsspec ``info`` dict's modification time as epoch seconds."""
    modified = info.get("LastModified") or info.get("mtime") or info.get("created")
    return modified.timestamp() if hasattr(modified, "timestamp") else float(modified or 0)
