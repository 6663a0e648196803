"""The one place that chooses the native extension or the numpy twins.

``ASSISTANT_PURE_PYTHON=1`` forces the twins. Nothing else in the package imports ``assistant._native``.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType

native: ModuleType | None = None
if not os.environ.get("ASSISTANT_PURE_PYTHON"):
    with contextlib.suppress(ImportError):
        from assistant import _native as native  # type: ignore[no-redef]

IMPLEMENTATION = "native" if native is not None else "python"
