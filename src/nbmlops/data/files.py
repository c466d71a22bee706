"""Whole files and folders as versions: each file a content-addressed object, listed in a file
manifest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, InvalidInput
from ..store.objects import CHUNK, digest_bytes

if TYPE_CHECKING:
    from ..store import Store

FORMAT = "nbmlops.files/1"


def _listing(root: Path) -> list[tuple[str, Path]]:
    """(relative posix path, path) of every file under ``root``, sorted; unreadable ones refused
    up front."""
    if root.is_file():
        found = [(root.name, root)]
    else:
        found = []
        for folder, dirs, names in os.walk(root, onerror=_refuse):
            dirs.sort()
            for name in sorted(names):
                path = Path(folder) / name
                if path.is_file():
                    found.append((path.relative_to(root).as_posix(), path))
    for rel, path in found:
        try:
            with open(path, "rb"):
                pass
        except OSError as e:
            raise InvalidInput(
                f"Cannot read {rel} in {root}: {e.strerror or e}; nothing was committed."
            ) from None
    if not found:
        raise InvalidInput(f"{root} holds no files; nothing was committed.")
    return found


def _refuse(error: OSError) -> None:
    raise InvalidInput(
        f"Cannot list {error.filename}: {error.strerror or error}; nothing was committed."
    )


def write_files(
    store: Store, root: Path, parent: dict[str, Any] | None
) -> tuple[dict[str, Any], int]:
    """Store every file under ``root`` (a folder or one file); returns the manifest and the new
    bytes.

    Example:
        >>> manifest, added = write_files(store, Path("images"), None)  # doctest: +SKIP
    """
    from tqdm.auto import tqdm  # lazy: start-up time

    listing = _listing(root)
    known = {f["digest"] for f in parent["files"]} if parent else set()
    files, added = [], 0
    total = sum(p.stat().st_size for _, p in listing)
    with tqdm(
        total=total,
        desc=f"commit {root.name}",
        unit="B",
        unit_scale=True,
        leave=False,
        disable=total < 64 << 20,
    ) as bar:
        for rel, path in listing:
            digest, size = _hash_file(path)
            if digest not in known and not store.objects.exists(digest):
                store.objects.put_file(path)
                added += size
            files.append({"path": rel, "digest": digest, "size": size})
            bar.update(size)
    return {
        "format": FORMAT,
        "root": root.name,
        "files": files,
        "bytes": sum(f["size"] for f in files),
    }, added


def _hash_file(path: Path) -> tuple[str, int]:
    import blake3  # lazy: start-up time

    hasher, size = blake3.blake3(), 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            hasher.update(block)
            size += len(block)
    return hasher.hexdigest(), size


def content_digest(manifest: dict[str, Any]) -> str:
    """The identity of a set of files: their paths and digests."""
    lines = "\n".join(f"{f['digest']} {f['path']}" for f in manifest["files"])
    return digest_bytes(lines.encode())


def restore_files(
    store: Store, manifest: dict[str, Any], dest: Path, *, force: bool = False
) -> int:
    """Write the files of a version under ``dest``; returns how many. Existing different files
    need ``force``."""
    dest = Path(dest)
    clashes = [
        f["path"]
        for f in manifest["files"]
        if (dest / f["path"]).exists()
        and not force
        and (dest / f["path"]).stat().st_size != f["size"]
    ]
    if clashes:
        raise Conflict(
            f"{dest / clashes[0]} already exists with other content; choose an empty folder or "
            "add --force."
        )
    for f in manifest["files"]:
        target = dest / f["path"]
        if not target.resolve().is_relative_to(dest.resolve()):
            raise InvalidInput(
                f"The stored path {f['path']!r} points outside {dest}; it was not restored."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".mlops-tmp")
        with store.objects.open(f["digest"]) as src, open(tmp, "wb") as out:
            while block := src.read(CHUNK):
                out.write(block)
        os.replace(tmp, target)
    return len(manifest["files"])
