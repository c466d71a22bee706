"""Content-addressed objects on a local folder and on S3 (moto)."""

from __future__ import annotations

import os

import pytest

from nbmlops.errors import IntegrityError, InvalidInput, NotFound
from nbmlops.store.objects import digest_bytes


def test_put_get_dedupe_and_iterate(backend_store):
    objects = backend_store.objects
    a = objects.put(b"hello")
    assert objects.put(b"hello") == a and objects.put_new(b"hello") == (a, False)
    b, new = objects.put_new(b"world")
    assert new and objects.get(b, verify=True) == b"world"
    assert objects.exists(a) and objects.size(a) == 5 and objects.verify(a)
    assert sorted(objects) == sorted([a, b])
    with objects.open(a) as f:
        assert f.read() == b"hello"
    assert objects.write_many([b"x", b"y", b"x"]) == [
        digest_bytes(b"x"),
        digest_bytes(b"y"),
        digest_bytes(b"x"),
    ]
    assert objects.get(digest_bytes(b"y")) == b"y"
    objects.delete(a)
    assert not objects.exists(a)
    with pytest.raises(NotFound, match=f"Object {a[:12]} is missing"):
        objects.get(a)


def test_streamed_files(backend_store, tmp_path):
    payload = os.urandom(3 * (1 << 20) + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(payload)
    digest, size = backend_store.objects.put_file(path)
    assert digest == digest_bytes(payload) and size == len(payload)
    assert backend_store.objects.get(digest, verify=True) == payload


def test_corruption_is_detected(store):
    digest = store.objects.put(b"precious bytes")
    key = store.objects.key(digest)
    with open(key, "r+b") as f:
        f.write(b"P")
    assert not store.objects.verify(digest)
    with pytest.raises(IntegrityError, match="corrupt"):
        store.objects.get(digest, verify=True)


def test_no_temporaries_are_left_and_digests_are_checked(store):
    store.objects.put(b"abc")
    assert os.listdir(store.objects.root + "/tmp") == []
    for bad in ("../../etc/passwd", "ab", "G" * 64):
        with pytest.raises(InvalidInput, match="is not an object digest"):
            store.objects.get(bad)
