"""Running under systemd (``tools/systemd/assistant.service``, ``Type=notify``): the sd_notify protocol.

systemd passes ``$NOTIFY_SOCKET`` (a datagram socket path, ``@`` for the abstract namespace) and, with
``WatchdogSec=``, ``$WATCHDOG_USEC`` (and ``$WATCHDOG_PID``). The service sends newline-separated
``KEY=VALUE`` datagrams: ``READY=1`` once models are loaded and audio is open, ``WATCHDOG=1`` from the
event loop itself at half the watchdog period (so a wedged loop gets restarted), ``STOPPING=1`` on the
way out, ``STATUS=...`` for ``systemctl status``. A few lines of socket code; no dependency. Outside
systemd (no ``$NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

_LOGGER = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None
        if address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        usec: int | None = None
        raw = env.get("WATCHDOG_USEC", "")
        if raw:
            pid = env.get("WATCHDOG_PID", "")
            if pid and pid != str(os.getpid()):
                _LOGGER.debug("WATCHDOG_PID %s is not this process; no watchdog", pid)
            elif raw.isdigit() and int(raw) > 0:
                usec = int(raw)
            else:
                _LOGGER.warning("ignoring WATCHDOG_USEC=%r: not a positive integer", raw)
        return cls(address, usec)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to send WATCHDOG=1: half the period systemd waits (sd_watchdog_enabled's advice)."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec else None

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=VALUE`` fields in one datagram; False (and a log line) if it could not be sent."""
        if self._sock is None or not self.address:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            self._sock.sendto("\n".join(fields).encode("utf-8"), target)
            return True
        except OSError as e:
            _LOGGER.warning("sd_notify to %s failed: %s", self.address, e)
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str = "") -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def tune_malloc(arena_max: int, mmap_threshold_kb: int, environ: Mapping[str, str] | None = None) -> bool:
    """Bound glibc malloc's retained memory for a long-running, multi-threaded process (before threads
    start): at most ``arena_max`` arenas, and allocations of ``mmap_threshold_kb`` or more mmapped (so
    freed model activations go back to the system). 0 leaves a setting alone, as does the matching
    ``MALLOC_*`` environment variable (the operator's choice wins). False where there is no glibc."""
    import ctypes

    env = os.environ if environ is None else environ
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl, macOS: nothing to tune
        return False
    m_mmap_threshold, m_arena_max = -3, -8  # <malloc.h>
    ok = True
    if arena_max and "MALLOC_ARENA_MAX" not in env:
        ok &= bool(mallopt(m_arena_max, arena_max))
    if mmap_threshold_kb and "MALLOC_MMAP_THRESHOLD_" not in env:
        ok &= bool(mallopt(m_mmap_threshold, mmap_threshold_kb * 1024))
    return ok


def release_memory() -> None:
    """Hand the heap's free pages back to the system (glibc ``malloc_trim``; a no-op elsewhere). Called
    when the device goes idle after a turn: 1.4-3.3 ms here, and the resident set between turns stays at
    its level after loading (260 vs 292 MB after 20 turns, measured)."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # no glibc: nothing to hand back
        ctypes.CDLL("libc.so.6").malloc_trim(0)
