"""State that survives a restart or a power cut: one JSON document per skill under ``runtime.state_dir``.

Writes are atomic: the new document goes to a temporary file in the same folder, is flushed and
fsynced, then renamed over the old one (and the folder fsynced), so a reader sees the old document or
the new one, never a mix. A document damaged from outside (a bad disk, a hand edit) is moved aside to
``<name>.json.corrupt`` and the skill starts afresh; ``problems`` says so, for the dialogue to tell the
user. Nothing here is async: a write of a few kB is far below a frame of audio.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from assistant.atomic import write_atomic

__all__ = ["StateError", "StateStore"]

_LOGGER = logging.getLogger(__name__)
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class StateError(RuntimeError):
    """The state directory cannot be created or written."""


class StateStore:
    def __init__(self, state_dir: Path | str) -> None:
        self.dir = Path(state_dir)
        self.problems: list[str] = []
        """human-readable notes about documents that were damaged and set aside"""
        self._lock = threading.Lock()
        self._clean_stale_temp_files()

    def _clean_stale_temp_files(self) -> None:
        """Temporary files a crash left behind mid-write (their documents are still the old ones)."""
        try:
            stale = list(self.dir.glob(".*.json.*.tmp"))
        except OSError:
            return
        for path in stale:
            with contextlib.suppress(OSError):
                path.unlink()
                _LOGGER.info("state: removed %s, left by an interrupted write", path.name)

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"state document name {name!r} must match {_NAME.pattern}")
        return self.dir / f"{name}.json"

    def load(self, name: str, default: Any) -> Any:
        """The saved document, or ``default`` if there is none or it was damaged (then set aside)."""
        path = self.path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return default
        except (OSError, UnicodeDecodeError) as e:
            return self._set_aside(path, f"unreadable ({e})", default)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            return self._set_aside(path, f"not valid JSON ({e.msg} at line {e.lineno})", default)
        if type(data) is not type(default):
            return self._set_aside(
                path, f"holds a {type(data).__name__}, expected a {type(default).__name__}", default
            )
        return data

    def save(self, name: str, data: Any) -> None:
        path = self.path(name)
        payload = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        with self._lock:
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StateError(f"cannot write state in {self.dir}: {e}") from None
            try:
                write_atomic(path, payload, private=True)  # the user's state: the owner's alone
            except OSError as e:
                raise StateError(f"cannot write {path}: {e}") from None

    def _set_aside(self, path: Path, why: str, default: Any) -> Any:
        aside = path.with_name(path.name + ".corrupt")
        try:
            os.replace(path, aside)
        except OSError:
            aside = path
        message = f"{path.name} was damaged ({why}); kept it as {aside.name} and started afresh"
        _LOGGER.warning("state: %s", message)
        self.problems.append(message)
        return default
