"""Files written atomically, for state that must survive a crash or a power cut and for caches other
processes read: a temporary file of the writer's own beside the target, flushed and fsynced, renamed over
it (a reader sees the old file or the new one, never part of one), then the directory fsynced so that
the rename itself is on disk. On failure the temporary file is removed and the error raised."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | os.PathLike, content: bytes | Callable[[BinaryIO], None], private: bool = False) -> Path:
    """Write ``content`` (bytes, or a function that writes to the open file) to ``path``. The file gets
    the usual permissions (0666 less the umask), or the owner's alone where ``private``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content)
            f.flush()
            os.fsync(f.fileno())
        if not private:  # mkstemp made it 0600
            os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the filesystem can: some cannot fsync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask, read from /proc where it can be (setting it to read it, the fallback, would
    briefly give any other thread's new files a umask of 0)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask
