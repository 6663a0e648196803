"""The one place that chooses the native extension or the numpy twins.

``ASSISTANT_PURE_PYTHON=1`` forces the twins. Nothing else in the package imports ``assistant._native``:
each kernel asks ``kernel(name, impl)`` for its native half, with one vocabulary ("native", "python";
None: the best available) and one error (``NativeUnavailable``) when the native half was asked for and
cannot be had.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType
from typing import Any

__all__ = ["IMPLEMENTATION", "IMPLEMENTATIONS", "NativeUnavailable", "choose", "kernel", "native"]

native: ModuleType | None = None
if not os.environ.get("ASSISTANT_PURE_PYTHON"):
    with contextlib.suppress(ImportError):
        from assistant import _native as native  # type: ignore[no-redef]

IMPLEMENTATIONS = ("native", "python")
IMPLEMENTATION = "native" if native is not None else "python"
"""what ``impl=None`` means: the native kernels where the extension is built"""


class NativeUnavailable(RuntimeError):
    """The native implementation was asked for, but the extension is not built (or is forced off)."""


def choose(impl: str | None, name: str = "") -> str:
    """``impl`` checked ("native", "python"), or the best available for the kernel ``name`` when None."""
    if impl is None:
        return "native" if native is not None and (not name or hasattr(native, name)) else "python"
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"unknown implementation {impl!r} (native or python)")
    if impl == "native":
        kernel(name)
    return impl


def kernel(name: str) -> Any:
    """The native extension's ``name`` (a class or function); ``NativeUnavailable`` if it cannot be had."""
    if native is None:
        why = "ASSISTANT_PURE_PYTHON is set" if os.environ.get("ASSISTANT_PURE_PYTHON") else "it is not built"
        raise NativeUnavailable(f"the native {name or 'extension'} is not available: {why}")
    if name and not hasattr(native, name):
        raise NativeUnavailable(f"the native extension has no {name}: rebuild it (pip install -e .)")
    return getattr(native, name) if name else native
