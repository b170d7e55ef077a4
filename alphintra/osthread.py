"""Give the calling thread its Python name at the operating-system level too.

Before Python 3.14 every thread of the daemon shows as ``python`` in ``top -H``, ``ps -L``, ``/proc/PID/task/*/comm``
and profilers, so an operator (or a benchmark) cannot tell the engine thread's CPU from the projector's or a
venue's. Linux keeps up to 15 bytes of name per thread (``prctl(PR_SET_NAME)``); elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading

_PR_SET_NAME = 15
_libc: ctypes.CDLL | None = None
_loaded = False


def _prctl() -> ctypes.CDLL | None:
    global _libc, _loaded
    if not _loaded:
        _loaded = True
        if sys.platform.startswith("linux"):
            try:
                _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            except OSError:
                _libc = None
    return _libc


def name_os_thread(name: str | None = None) -> None:
    """Set the OS name of the calling thread (default: its ``threading`` name), cut to 15 bytes; never raises."""
    libc = _prctl()
    if libc is None:
        return
    text = (name or threading.current_thread().name).encode("utf-8", "replace")[:15]
    try:
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(text), 0, 0, 0)
    except (AttributeError, OSError):  # no prctl in this libc: the name is a convenience, not a requirement
        return


__all__ = ["name_os_thread"]
