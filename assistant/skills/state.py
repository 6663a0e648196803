"""State that survives a restart or a power cut: one JSON document per skill under ``runtime.state_dir``.

Writes are atomic: the new document goes to a temporary file in the same folder, is flushed and
fsynced, then renamed over the old one (and the folder fsynced), so a reader sees the old document or
the new one, never a mix. A document damaged from outside (a bad disk, a hand edit, an older or newer version) is moved aside
to ``<name>.json.corrupt`` and the skill starts afresh; ``problems`` says so, for the dialogue to tell
the user. Damaged means: unreadable, not JSON, NaN or Infinity anywhere, nested deeper than
``MAX_DEPTH``, or not of the document's schema (a dataclass whose fields' types are checked by
``check_schema``). The device never fails to start because of its own state.

The directory is held by one process at a time (``lock``: an exclusive ``flock`` on ``.lock`` in it),
so ``assistant chat`` beside the running service cannot lose the service's acknowledged updates.

Nothing here is async: a write of a few kB is far below a frame of audio.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import math
import os
import re
import threading
import time
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from assistant.atomic import write_atomic

__all__ = ["MAX_DEPTH", "SchemaError", "StateError", "StateLocked", "StateStore", "check_schema"]

MAX_DEPTH = 32
LOCK_POLL_S = 0.05
"""how often a process waiting for the state directory tries its lock again"""
"""JSON nested deeper than this is damage, not state"""

_LOGGER = logging.getLogger(__name__)
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class StateError(RuntimeError):
    """The state directory cannot be created or written."""


class StateLocked(StateError):
    """Another process holds the state directory."""


class SchemaError(ValueError):
    """A document that does not have its schema's shape (the message names the path in it)."""


def _no_constant(name: str) -> Any:
    raise SchemaError(f"holds {name}, which is not a number")


def check_schema(schema: Any, value: Any, where: str = "$", depth: int = 0) -> None:
    """Raise ``SchemaError`` unless ``value`` (parsed JSON) fits ``schema``: a dataclass (a JSON object
    with its fields; those with defaults may be left out, unknown keys are allowed for other versions),
    ``list[T]``, ``dict[str, T]``, ``T | None``, ``Literal[...]``, ``int`` (not bool), ``float``
    (finite; ints too), ``str``, ``bool`` or ``Any`` (any JSON value)."""
    if depth > MAX_DEPTH:
        raise SchemaError(f"{where}: nested deeper than {MAX_DEPTH}")
    origin = typing.get_origin(schema)
    if schema is Any:
        if isinstance(value, dict):
            for k, v in value.items():
                check_schema(Any, v, f"{where}.{k}", depth + 1)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                check_schema(Any, v, f"{where}[{i}]", depth + 1)
        elif isinstance(value, float) and not math.isfinite(value):
            raise SchemaError(f"{where}: not a finite number")
        return
    if dataclasses.is_dataclass(schema):
        if not isinstance(value, dict):
            raise SchemaError(f"{where}: expected an object, got {type(value).__name__}")
        hints = typing.get_type_hints(schema)
        for f in dataclasses.fields(schema):
            if f.name not in value:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise SchemaError(f"{where}.{f.name}: missing")
                continue
            check_schema(hints[f.name], value[f.name], f"{where}.{f.name}", depth + 1)
        return
    if origin in (Union, types.UnionType):
        errors = []
        for option in typing.get_args(schema):
            try:
                check_schema(option, value, where, depth)
                return
            except SchemaError as e:
                errors.append(str(e))
        raise SchemaError(errors[-1] if errors else f"{where}: no type fits")
    if origin is Literal:
        if value not in typing.get_args(schema):
            raise SchemaError(f"{where}: {value!r} is not one of {typing.get_args(schema)}")
        return
    if origin is list:
        if not isinstance(value, list):
            raise SchemaError(f"{where}: expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(schema)
        for i, v in enumerate(value):
            check_schema(item, v, f"{where}[{i}]", depth + 1)
        return
    if origin is dict:
        if not isinstance(value, dict):
            raise SchemaError(f"{where}: expected an object, got {type(value).__name__}")
        _, item = typing.get_args(schema)
        for k, v in value.items():
            check_schema(item, v, f"{where}.{k}", depth + 1)
        return
    if schema is type(None):
        if value is not None:
            raise SchemaError(f"{where}: expected null, got {type(value).__name__}")
        return
    if schema is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise SchemaError(f"{where}: expected a finite number, got {value!r}"[:200])
        return
    if schema in (int, str, bool):
        if type(value) is not schema:
            raise SchemaError(f"{where}: expected {schema.__name__}, got {type(value).__name__}")
        return
    raise TypeError(f"check_schema: unsupported schema {schema!r}")


_HELD: dict[str, int] = {}
"""state directories this process holds -> the locked descriptor (kept open until exit)"""
_HELD_LOCK = threading.Lock()


def _take_lock(directory: Path, wait_s: float) -> int:
    """An exclusive flock on ``directory/.lock`` (holding this pid), waited for up to ``wait_s``."""
    try:
        fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise StateError(f"cannot use the state directory {directory}: {e.strerror or e}") from None
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(LOCK_POLL_S)
                continue
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = os.pread(fd, 32, 0).decode().strip()
            os.close(fd)
            raise StateLocked(
                f"the state directory {directory} is in use by another assistant process"
                + (f" (pid {holder})" if holder else "")
                + "; stop it first (systemctl stop assistant) or give this one another runtime.state_dir"
            ) from None
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


class StateStore:
    def __init__(self, state_dir: Path | str) -> None:
        self.dir = Path(state_dir)
        self.problems: list[str] = []
        """human-readable notes about documents that were damaged and set aside"""
        self._lock = threading.Lock()
        self._dir_lock: int | None = None
        self._clean_stale_temp_files()

    def lock(self, wait_s: float = 0.0) -> None:
        """Hold the state directory for this process (until exit): an exclusive flock on
        ``<dir>/.lock``, waited for up to ``wait_s``. Stores of one process share it. Raises
        ``StateLocked`` naming the holder's pid when another process has it, ``StateError`` when it
        cannot be created."""
        if self._dir_lock is not None:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            key = str(self.dir.resolve())
        except OSError as e:
            raise StateError(f"cannot use the state directory {self.dir}: {e.strerror or e}") from None
        with _HELD_LOCK:
            if key not in _HELD:
                _HELD[key] = _take_lock(self.dir, wait_s)
            self._dir_lock = _HELD[key]

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

    def load(self, name: str, default: Any, schema: Any = None) -> Any:
        """The saved document, or ``default`` if there is none or it was damaged (then set aside): not
        JSON, NaN or Infinity, deeper than ``MAX_DEPTH``, or (given a ``schema``, see
        ``check_schema``) of another shape."""
        path = self.path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return default
        except (OSError, UnicodeDecodeError) as e:
            return self._set_aside(path, f"unreadable ({e})", default)
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as e:
            return self._set_aside(path, f"not valid JSON ({e.msg} at line {e.lineno})", default)
        except RecursionError:
            return self._set_aside(path, f"nested deeper than {MAX_DEPTH}", default)
        except SchemaError as e:
            return self._set_aside(path, str(e), default)
        if type(data) is not type(default):
            return self._set_aside(
                path, f"holds a {type(data).__name__}, expected a {type(default).__name__}", default
            )
        try:
            check_schema(Any if schema is None else schema, data)
        except SchemaError as e:
            return self._set_aside(path, f"does not fit its schema: {e}", default)
        except RecursionError:
            return self._set_aside(path, f"nested deeper than {MAX_DEPTH}", default)
        return data

    def save(self, name: str, data: Any) -> None:
        path = self.path(name)
        try:
            payload = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True, allow_nan=False).encode()
        except ValueError as e:  # NaN or Infinity: it would not load again
            raise StateError(f"cannot write {path}: {e}") from None
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
        message = f"{path.name} was damaged ({why[:300]}); kept it as {aside.name} and started afresh"
        _LOGGER.warning("state: %s", message)
        self.problems.append(message)
        return default
