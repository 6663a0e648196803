"""assistant.atomic: a write replaces the file whole or not at all, and leaves no temporary file."""

from __future__ import annotations

import os
import stat

import pytest

from assistant.atomic import write_atomic


def test_a_write_replaces_the_file_with_the_usual_or_the_owners_permissions(tmp_path):
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["state.json"]
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    old_mask = os.umask(0o027)
    try:
        write_atomic(path, b"group")
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(old_mask)
    write_atomic(path, lambda f: f.write(b"private"), private=True)
    assert path.read_bytes() == b"private" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "reply.wav"
    path.write_bytes(b"old")

    def fails(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, fails)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["reply.wav"]
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "x", b"x")
